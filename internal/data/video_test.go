package data

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/matfile"
	"github.com/fmam/fmam/internal/matfile/matfiletest"
	"github.com/fmam/fmam/internal/sharedtest"
)

// ped2Ranges are the anomalous ranges of Ped2's test videos (README table).
var ped2Ranges = [][2]int{{61, 180}, {95, 180}, {1, 146}, {31, 180}, {1, 129}, {1, 159}, {46, 180}, {1, 180}, {1, 120}, {1, 150}, {1, 180}, {88, 180}}

func TestLoadPed2Real(t *testing.T) {
	root := ped2Dir(t)
	train, err := LoadPed2(root, Train, FrameLabels{})
	if err != nil {
		t.Fatal(err)
	}
	wantTrain := []int{120, 150, 150, 180, 180, 150, 150, 120, 180, 180, 180, 180, 180, 150, 150, 150}
	if len(train.Videos) != len(wantTrain) || train.NumFrames() != 2550 {
		t.Fatalf("train: %d videos, %d frames; want 16, 2550", len(train.Videos), train.NumFrames())
	}
	for i, v := range train.Videos {
		if v.Name != fmt.Sprintf("%02d", i+1) || len(v.Frames) != wantTrain[i] || v.Labels != nil {
			t.Errorf("train video %d: %s with %d frames, labels %v", i, v.Name, len(v.Frames), v.Labels != nil)
		}
	}
	if got := filepath.Base(train.Videos[0].Frames[0]); got != "000.jpg" {
		t.Errorf("first frame %s, want 000.jpg", got)
	}

	test, err := LoadPed2(root, Test, FrameLabels{})
	if err != nil {
		t.Fatal(err)
	}
	wantTest := []int{180, 180, 150, 180, 150, 180}
	if len(test.Videos) != 6 || test.NumFrames() != 1020 {
		t.Fatalf("test: %d videos, %d frames; want 6, 1020", len(test.Videos), test.NumFrames())
	}
	for i, v := range test.Videos {
		if len(v.Frames) != wantTest[i] || len(v.Masks) != wantTest[i] {
			t.Errorf("test video %s: %d frames, %d masks; want %d", v.Name, len(v.Frames), len(v.Masks), wantTest[i])
		}
		r := ped2Ranges[i]
		for k, l := range v.Labels {
			if want := k >= r[0]-1 && k < r[1]; (l == 1) != want {
				t.Fatalf("video %s frame %d: label %d, want anomalous=%v (range %d-%d, 1-based)", v.Name, k, l, want, r[0], r[1])
			}
		}
	}
	if got := filepath.Base(test.Videos[5].Masks[0]); got != "frame001.png" {
		t.Errorf("video 06 first mask %s, want frame001.png", got)
	}

	// The same labels from UCSDped2.m and from MNAD's npy with all video lengths.
	fromM, err := LoadPed2(root, Test, FrameLabels{UCSDm: filepath.Join(root, "UCSDped2.m")})
	if err != nil {
		t.Fatal(err)
	}
	npyPath := filepath.Join(sharedtest.Path(t), "data", "labels", "mnad", "frame_labels_ped2.npy")
	fromNPY, err := LoadPed2(root, Test, FrameLabels{NPY: npyPath, AllVideos: Ped2TestVideos()})
	if err != nil {
		t.Fatal(err)
	}
	want := string(test.Labels())
	if string(fromM.Labels()) != want || string(fromNPY.Labels()) != want {
		t.Errorf("labels differ between ped2.mat, UCSDped2.m and frame_labels_ped2.npy")
	}
	// Without the video list the npy cannot be split over 6 of 12 videos.
	_, err = LoadPed2(root, Test, FrameLabels{NPY: npyPath})
	wantErr(t, err, "frame_labels_ped2.npy", "2010 labels", "1020 frames", "AllVideos")
}

func TestPed2MasksMatchLabels(t *testing.T) {
	test, err := LoadPed2(ped2Dir(t), Test, FrameLabels{})
	if err != nil {
		t.Fatal(err)
	}
	// Video 02 (NNN.png masks) and 06 (frameNNN.png masks).
	for _, i := range []int{1, 5} {
		v := test.Videos[i]
		for k, p := range v.Masks {
			m, err := imageio.DecodeMask(p, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if m.H != 240 || m.W != 360 {
				t.Fatalf("%s is %dx%d, want 360x240", p, m.W, m.H)
			}
			if m.Any() != (v.Labels[k] == 1) {
				t.Errorf("video %s frame %d: mask non-empty %v, label %d", v.Name, k, m.Any(), v.Labels[k])
			}
		}
	}
}

// makeFrames writes videos of tiny gray PNG frames: frame k of video v has
// every pixel equal to frameValue(v, k). Names are "%03d.png" from first.
func makeFrames(t testing.TB, dir string, lengths map[string]int, first int) {
	t.Helper()
	for name, n := range lengths {
		vi, _ := lastNumber(name)
		for k := range n {
			writeGrayPNG(t, filepath.Join(dir, name, fmt.Sprintf("%03d.png", k+first)), 4, 3,
				func(int, int) uint8 { return frameValue(vi, k) })
		}
	}
}

func frameValue(video, frame int) uint8 { return uint8(video*40 + frame) }

func TestLoadFramesSynthetic(t *testing.T) {
	root := t.TempDir()
	makeFrames(t, filepath.Join(root, "training", "frames"), map[string]int{"01": 6, "02": 5}, 0)
	makeFrames(t, filepath.Join(root, "testing", "frames"), map[string]int{"01": 4, "02": 5}, 0)
	labels := []uint8{0, 0, 1, 1, 1, 0, 0, 0, 1}
	writeNPY(t, filepath.Join(root, "frame_labels_syn.npy"), labels)

	ds, err := LoadFrames(root, Test, FramesOptions{Name: "syn"})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(ds.Videos[0].Labels, ds.Videos[1].Labels) != "[0 0 1 1] [1 0 0 0 1]" {
		t.Errorf("labels %v %v", ds.Videos[0].Labels, ds.Videos[1].Labels)
	}
	// Without a name the only frame_labels_*.npy is used.
	if ds, err := LoadFrames(root, Test, FramesOptions{}); err != nil || string(ds.Labels()) != string(labels) {
		t.Errorf("unnamed: %v, %v", ds, err)
	}
	tr, err := LoadFrames(root, Train, FramesOptions{Name: "syn"})
	if err != nil || tr.NumFrames() != 11 || tr.Labels() != nil {
		t.Errorf("train: %v, %v", tr, err)
	}
}

func TestLoadFramesErrors(t *testing.T) {
	root := t.TempDir()
	test := filepath.Join(root, "testing", "frames")
	makeFrames(t, test, map[string]int{"01": 4, "02": 5}, 0)
	short := filepath.Join(root, "short.npy")
	writeNPY(t, short, make([]uint8, 8))
	perVideo := filepath.Join(root, "masks")
	writeNPY(t, filepath.Join(perVideo, "01.npy"), make([]uint8, 4))
	writeNPY(t, filepath.Join(perVideo, "02.npy"), make([]uint8, 4))

	_, err := LoadFrames(root, Test, FramesOptions{Labels: FrameLabels{NPY: short}})
	wantErr(t, err, short, "8 labels", "9 frames")

	_, err = LoadFrames(root, Test, FramesOptions{Labels: FrameLabels{NPY: short, AllVideos: []VideoLength{{"01", 4}, {"02", 4}}}})
	wantErr(t, err, "video 02", "5 frames", "4 labels")

	_, err = LoadFrames(root, Test, FramesOptions{Labels: FrameLabels{NPYDir: perVideo}})
	wantErr(t, err, "video 02", "5 frames", filepath.Join(test, "02"), "4 labels", filepath.Join(perVideo, "02.npy"))

	_, err = LoadFrames(root, Test, FramesOptions{Labels: FrameLabels{NPYDir: perVideo, NPY: short}})
	wantErr(t, err, "exactly one", "NPYDir", "NPY=")

	_, err = LoadFrames(root, Test, FramesOptions{Name: "syn"})
	wantErr(t, err, "no frame labels found", filepath.Join(root, "frame_labels_syn.npy"))

	_, err = LoadFrames(root, Train, FramesOptions{Name: "syn"})
	wantErr(t, err, filepath.Join(root, "training", "frames"), "not found")

	// All problems at once: a gap, a duplicate, a name without a number, an
	// empty video.
	if err := os.Remove(filepath.Join(test, "01", "002.png")); err != nil {
		t.Fatal(err)
	}
	writeGrayPNG(t, filepath.Join(test, "02", "frame4.png"), 4, 3, func(int, int) uint8 { return 0 })
	writeGrayPNG(t, filepath.Join(test, "02", "last.png"), 4, 3, func(int, int) uint8 { return 0 })
	if err := os.MkdirAll(filepath.Join(test, "03"), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFrames(root, Test, FramesOptions{Labels: FrameLabels{NPY: short}})
	wantErr(t, err, "jump from 1 (001.png) to 3 (003.png)", "004.png and frame4.png have the same frame number 4",
		filepath.Join(test, "02", "last.png"), filepath.Join(test, "03")+": no image files")
}

func TestLoadUCSDOfficial(t *testing.T) {
	root := filepath.Join(t.TempDir(), "UCSDped2")
	// 1-based .tif frames in the release layout (PNG content: decoding is
	// by content, not extension; the extension is what the loader lists).
	makeFrames(t, filepath.Join(root, "Train"), map[string]int{"Train001": 5, "Train002": 6}, 1)
	makeFrames(t, filepath.Join(root, "Test"), map[string]int{"Test001": 5, "Test002": 4}, 1)
	makeFrames(t, filepath.Join(root, "Test"), map[string]int{"Test001_gt": 5}, 1)
	writeFile(t, filepath.Join(root, "Test", "UCSDped2.m"), []byte("TestVideoFile = {};\nTestVideoFile{end+1}.gt_frame = [2:3];\nTestVideoFile{end+1}.gt_frame = [1:1, 4:4];\n"))
	writeFile(t, filepath.Join(root, "Test", "Test002", ".DS_Store"), []byte("junk"))

	tr, err := LoadVideo("ped2", root, Train, FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Videos) != 2 || tr.NumFrames() != 11 || tr.Name != "ped2" {
		t.Errorf("train: %+v", tr)
	}
	ds, err := LoadUCSD(root, Test)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Videos) != 2 || fmt.Sprint(ds.Videos[0].Labels, ds.Videos[1].Labels) != "[0 1 1 0 0] [1 0 0 1]" {
		t.Fatalf("test videos %+v", ds.Videos)
	}
	if len(ds.Videos[0].Masks) != 5 || ds.Videos[1].Masks != nil {
		t.Errorf("masks: %d and %v", len(ds.Videos[0].Masks), ds.Videos[1].Masks)
	}
	// A range past the end of a video and a short mask folder.
	writeFile(t, filepath.Join(root, "Test", "UCSDped2.m"), []byte("TestVideoFile{end+1}.gt_frame = [2:3];\nTestVideoFile{end+1}.gt_frame = [1:5];\n"))
	if err := os.Remove(filepath.Join(root, "Test", "Test001_gt", "005.png")); err != nil {
		t.Fatal(err)
	}
	_, err = LoadUCSD(root, Test)
	wantErr(t, err, "video Test002 has 4 frames", "1:5", "video Test001: 5 frames but 4 pixel masks")
	_, err = LoadUCSD(t.TempDir(), Test)
	wantErr(t, err, "Test", "not found")
}

func TestLoadAvenueSynthetic(t *testing.T) {
	root := t.TempDir()
	makeFrames(t, filepath.Join(root, "testing", "frames"), map[string]int{"01": 3, "02": 2}, 0)
	w := matfiletest.Writer{Order: binary.LittleEndian}
	// volLabel{k}: a 2x2 uint8 mask; non-empty for the frames marked.
	vol := func(anom ...bool) []byte {
		var cells [][]byte
		for _, a := range anom {
			m := []byte{0, 0, 0, 0}
			if a {
				m[3] = 1
			}
			cells = append(cells, w.Matrix(matfile.Uint8, 0, []int32{2, 2}, "", w.Element(matfiletest.TypeUint8, m)))
		}
		return w.File(w.Compressed(w.Matrix(matfile.Cell, 0, []int32{1, int32(len(anom))}, "volLabel", cells...)))
	}
	gt := filepath.Join(root, "ground_truth_demo", "testing_label_mask")
	writeFile(t, filepath.Join(gt, "1_label.mat"), vol(false, true, true))
	writeFile(t, filepath.Join(gt, "2_label.mat"), vol(true, false))
	ds, err := LoadAvenue(root, Test, FrameLabels{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ds.Labels()); got != "[0 1 1 1 0]" {
		t.Errorf("labels %s", got)
	}
	writeFile(t, filepath.Join(gt, "2_label.mat"), vol(true))
	_, err = LoadAvenue(root, Test, FrameLabels{})
	wantErr(t, err, "video 02", "2 frames", "1 labels", "2_label.mat")
}

func TestLoadShanghaiTechSynthetic(t *testing.T) {
	root := t.TempDir()
	makeFrames(t, filepath.Join(root, "testing", "frames"), map[string]int{"01_0014": 3, "12_0142": 2}, 0)
	writeNPY(t, filepath.Join(root, "testing", "test_frame_mask", "01_0014.npy"), []int64{0, 1, 0})
	writeNPY(t, filepath.Join(root, "testing", "test_frame_mask", "12_0142.npy"), []int64{1, 1})
	writeFile(t, filepath.Join(root, "testing", "test_pixel_mask", "01_0014.npy"),
		rawNPY("|u1", false, []int{3, 2, 2}, []byte{0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}))
	ds, err := LoadShanghaiTech(root, Test, FrameLabels{})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(ds.Labels()); got != "[0 1 0 1 1]" {
		t.Errorf("labels %s", got)
	}
	if ds.Videos[0].MaskVolume == "" || ds.Videos[1].MaskVolume != "" {
		t.Errorf("mask volumes %q %q", ds.Videos[0].MaskVolume, ds.Videos[1].MaskVolume)
	}
	v, err := ReadMaskVolume(ds.Videos[0].MaskVolume)
	if err != nil || !v.Frame(1).Any() || v.Frame(0).Any() {
		t.Errorf("mask volume %+v, %v", v, err)
	}
	if Scene("01_0014") != "01" || Scene("12_0142") != "12" || Scene("plain") != "plain" {
		t.Error("Scene")
	}
	// MNAD's concatenated file is found when per-video labels are absent.
	if err := os.RemoveAll(filepath.Join(root, "testing", "test_frame_mask")); err != nil {
		t.Fatal(err)
	}
	writeNPY(t, filepath.Join(root, "frame_labels_shanghai.npy"), []uint8{1, 1, 1, 0, 0})
	ds, err = LoadShanghaiTech(root, Test, FrameLabels{})
	if err != nil || fmt.Sprint(ds.Labels()) != "[1 1 1 0 0]" {
		t.Errorf("from MNAD npy: %v, %v", ds, err)
	}
	// A mask volume with the wrong frame count.
	writeFile(t, filepath.Join(root, "testing", "test_pixel_mask", "12_0142.npy"), rawNPY("|u1", false, []int{3, 1, 1}, []byte{0, 0, 0}))
	_, err = LoadShanghaiTech(root, Test, FrameLabels{})
	wantErr(t, err, "video 12_0142", "2 frames", "12_0142.npy", "[3 1 1]")
}

func TestVideoLengthTables(t *testing.T) {
	sum := func(v []VideoLength) int {
		n := 0
		for _, x := range v {
			n += x.Frames
		}
		return n
	}
	if p, a := Ped2TestVideos(), AvenueTestVideos(); len(p) != 12 || sum(p) != 2010 || len(a) != 21 || sum(a) != 15324 || a[20].Name != "21" {
		t.Errorf("ped2 %d videos %d frames, avenue %d videos %d frames", len(p), sum(p), len(a), sum(a))
	}
	if !strings.Contains(fmt.Sprint(FrameLabels{NPY: "x.npy"}), "NPY=x.npy") {
		t.Error("FrameLabels string")
	}
}
