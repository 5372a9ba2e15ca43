package objects

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/sharedtest"
)

// The published VEC box files read back with the counts their README
// gives, split into videos by the frame folders; the .npy and CSV forms of
// Ped2 hold the same boxes.
func TestVECPed2Counts(t *testing.T) {
	dir := sharedtest.Path(t, "data", "boxes", "vec")
	root := sharedtest.Path(t, "data", "ped2")
	for _, c := range []struct {
		split         data.Split
		name          string
		frames, boxes int
		videos        int
	}{
		{data.Train, "train", 2550, 31089, 16},
		{data.Test, "test", 1020, 17803, 6},
	} {
		ds, err := data.LoadVideo("ped2", root, c.split, data.FramesOptions{})
		if err != nil {
			t.Fatal(err)
		}
		npyBoxes, err := LoadSTCBoxes(filepath.Join(dir, "ped2_bboxes_"+c.name+"_obj_det_with_motion.npy"), ds)
		if err != nil {
			t.Fatal(err)
		}
		csvBoxes, err := LoadSTCBoxes(filepath.Join(dir, "ped2_"+c.name+"_vec_boxes.csv"), ds)
		if err != nil {
			t.Fatal(err)
		}
		frames := 0
		for _, v := range npyBoxes.Videos() {
			frames += npyBoxes.NumFrames(v)
		}
		if len(npyBoxes.Videos()) != c.videos || frames != c.frames || npyBoxes.Len() != c.boxes {
			t.Errorf("%s npy: %d videos, %d frames, %d boxes; want %d, %d, %d", c.name, len(npyBoxes.Videos()), frames, npyBoxes.Len(), c.videos, c.frames, c.boxes)
		}
		if csvBoxes.Len() != npyBoxes.Len() {
			t.Fatalf("%s: csv has %d boxes, npy %d", c.name, csvBoxes.Len(), npyBoxes.Len())
		}
		for _, v := range ds.Videos {
			if a, b := npyBoxes.NumFrames(v.Name), csvBoxes.NumFrames(v.Name); a != len(v.Frames) || b != len(v.Frames) {
				t.Fatalf("%s video %s: npy %d frames, csv %d, folder %d", c.name, v.Name, a, b, len(v.Frames))
			}
			for f := range v.Frames {
				a, b := npyBoxes.Frame(v.Name, f), csvBoxes.Frame(v.Name, f)
				if len(a) != len(b) {
					t.Fatalf("%s %s/%d: npy %d boxes, csv %d", c.name, v.Name, f, len(a), len(b))
				}
				for i := range a {
					// The CSV has 4 decimals.
					if d := max(math.Abs(a[i].X1-b[i].X1), math.Abs(a[i].Y1-b[i].Y1), math.Abs(a[i].X2-b[i].X2), math.Abs(a[i].Y2-b[i].Y2)); d > 6e-5 {
						t.Fatalf("%s %s/%d box %d: npy %v, csv %v", c.name, v.Name, f, i, a[i], b[i])
					}
				}
			}
		}
	}
}

// Avenue's files are the published ones unchanged; no Avenue frames are
// shared, so the test videos come from data.AvenueTestVideos and the
// training split is read as one video. A wrong frame count is an error
// naming the file and both counts.
func TestVECAvenueCounts(t *testing.T) {
	dir := sharedtest.Path(t, "data", "boxes", "vec")
	test := filepath.Join(dir, "avenue_bboxes_test_obj_det_with_motion.npy")
	s, err := ReadVECNPY(test, data.AvenueTestVideos())
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Len(); got != 104294 || len(s.Videos()) != 21 || s.NumFrames("08") != 36 {
		t.Errorf("avenue test: %d boxes, %d videos, video 08 %d frames; want 104294, 21, 36", got, len(s.Videos()), s.NumFrames("08"))
	}
	train := filepath.Join(dir, "avenue_bboxes_train_obj_det_with_motion.npy")
	s, err = ReadVECNPY(train, []data.VideoLength{{Name: "all", Frames: 15328}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 120779 {
		t.Errorf("avenue train: %d boxes, want 120779", s.Len())
	}
	_, err = ReadVECNPY(train, []data.VideoLength{{Name: "01", Frames: 15000}, {Name: "02", Frames: 300}})
	if err == nil || !strings.Contains(err.Error(), train) || !strings.Contains(err.Error(), "15328") || !strings.Contains(err.Error(), "15300") {
		t.Errorf("frame count mismatch: error %v; want one naming the file, 15328 and 15300", err)
	}
}

func TestVECCSVErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ text, want string }{
		{"video,frame,x1,y1,x2\n", "lacks column y2"},
		{"video,frame,x1,y1,x2,y2\n01,-1,0,0,1,1\n", "not a 0-based frame"},
		{"video,frame,x1,y1,x2,y2\n01,0,0,a,1,1\n", `y1 "a"`},
	} {
		p := filepath.Join(dir, "b.csv")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := ReadVECCSV(p); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.text, err, c.want)
		}
	}
	p := filepath.Join(dir, "ok.csv")
	os.WriteFile(p, []byte("video,frame,x1,y1,x2,y2\n01,2,1,2,3,4\n"), 0o644)
	ds := &data.VideoDataset{Root: "ds", Videos: []data.Video{{Name: "01", Frames: make([]string, 2)}}}
	if _, err := LoadSTCBoxes(p, ds); err == nil || !strings.Contains(err.Error(), "2 frames") {
		t.Errorf("box past the last frame: error %v", err)
	}
	ds.Videos[0].Frames = make([]string, 5)
	s, err := LoadSTCBoxes(p, ds)
	if err != nil || s.NumFrames("01") != 5 || s.Frame("01", 2)[0] != (Box{Video: "01", Frame: 2, X1: 1, Y1: 2, X2: 3, Y2: 4, Score: 1, Class: -1}) {
		t.Errorf("LoadSTCBoxes = %v, %v", s, err)
	}
}
