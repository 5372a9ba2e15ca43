package synth

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
)

func smallVideo(out string) VideoOptions {
	return VideoOptions{Out: out, Name: "tiny", Width: 40, Height: 32, TrainVideos: 2, TestVideos: 4, Frames: 30, Seed: 3}
}

func TestGenerateVideoLayout(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "video")
	opts := smallVideo(out)
	sum, err := GenerateVideo(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"frame_kinds.csv", "frame_labels_tiny.npy", "labels.json"}
	for _, dir := range []string{"testing/frames", "testing/pixel_masks", "training/frames"} {
		videos := 4
		if dir == "training/frames" {
			videos = 2
		}
		for v := 1; v <= videos; v++ {
			for f := range 30 {
				want = append(want, fmt.Sprintf("%s/%02d/%03d.png", dir, v, f))
			}
		}
	}
	slices.Sort(want)
	if got := listFiles(t, out); !slices.Equal(got, want) {
		t.Errorf("got %d files, want %d; first ones %v", len(got), len(want), got[:min(5, len(got))])
	}
	onlyEntries(t, parent, "video")
	if sum.Root != out || sum.LabelsPath != filepath.Join(out, "frame_labels_tiny.npy") ||
		sum.TrainFrames != 60 || sum.TestFrames != 120 || sum.Files != len(want) ||
		sum.Width != 40 || sum.Height != 32 || sum.TrainVideos != 2 || sum.TestVideos != 4 {
		t.Errorf("summary %+v", sum)
	}
	for _, f := range []string{"training/frames/01/000.png", "testing/frames/04/029.png", "testing/pixel_masks/02/010.png"} {
		img := readPNG(t, filepath.Join(out, f))
		if _, ok := img.(*image.Gray); !ok || img.Bounds() != image.Rect(0, 0, 40, 32) {
			t.Errorf("%s: %T %v, want 8-bit gray 40x32", f, img, img.Bounds())
		}
	}
}

// readLabels reads the .npy back and checks its header.
func readLabels(t *testing.T, path string, n int) []int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Trim(r.Header.Descr.Type, "'") != "<i8" || !slices.Equal(r.Header.Descr.Shape, []int{1, n}) || r.Header.Descr.Fortran {
		t.Fatalf("header %+v, want '<i8' shape (1, %d) C order like MNAD's ped2 labels", r.Header.Descr, n)
	}
	var labels []int64
	if err := r.Read(&labels); err != nil {
		t.Fatal(err)
	}
	return labels
}

// TestVideoLabelsAgree checks the .npy against the masks, labels.json
// against the .npy, frame_kinds.csv against labels.json's events, and the
// planned anomaly kinds.
func TestVideoLabelsAgree(t *testing.T) {
	out := filepath.Join(t.TempDir(), "v")
	opts := smallVideo(out)
	sum, err := GenerateVideo(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	labels := readLabels(t, sum.LabelsPath, 4*30)

	raw, err := os.ReadFile(filepath.Join(out, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc videoLabels
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Train) != 2 || len(doc.Test) != 4 || doc.Name != "tiny" || doc.Width != 40 || doc.Height != 32 {
		t.Fatalf("labels.json header: %+v", doc)
	}
	wantKinds := [][]string{{KindWrongDirection}, {KindWrongSpeed}, {KindUnseenObject}, {KindWrongLook, KindWrongDirection}}
	kf, err := os.Open(filepath.Join(out, FrameKindsFile))
	if err != nil {
		t.Fatal(err)
	}
	kindRows, err := csv.NewReader(kf).ReadAll()
	kf.Close()
	if err != nil || len(kindRows) != 1+4*30 || !slices.Equal(kindRows[0], []string{"video", "frame", "kind"}) {
		t.Fatalf("%s: %d rows, header %v, error %v; want video,frame,kind and 120 frames", FrameKindsFile, len(kindRows), kindRows[:min(1, len(kindRows))], err)
	}
	anomalous := 0
	for v, entry := range doc.Test {
		if entry.Video != fmt.Sprintf("%02d", v+1) || entry.Frames != 30 {
			t.Errorf("test entry %d: %+v", v, entry)
		}
		fromRanges := make([]int64, 30)
		for _, r := range entry.AnomalousRanges {
			for f := r[0]; f <= r[1]; f++ {
				fromRanges[f] = 1
			}
		}
		var kinds []string
		for _, e := range entry.Events {
			kinds = append(kinds, e.Kind)
		}
		if !slices.Equal(kinds, wantKinds[v]) {
			t.Errorf("video %s events %v, want %v", entry.Video, kinds, wantKinds[v])
		}
		count := 0
		for f := range 30 {
			label := labels[v*30+f]
			wantKind := KindNormal
			for _, e := range entry.Events {
				if f >= e.First && f <= e.Last {
					wantKind = e.Kind
				}
			}
			if label == 0 {
				wantKind = KindNormal // an event's object may leave and come back
			}
			if got := kindRows[1+v*30+f]; !slices.Equal(got, []string{entry.Video, fmt.Sprint(f), wantKind}) {
				t.Errorf("%s row %d: %v, want %s %d %s", FrameKindsFile, 1+v*30+f, got, entry.Video, f, wantKind)
			}
			mask := maskFromPNG(t, filepath.Join(out, "testing", "pixel_masks", entry.Video, fmt.Sprintf("%03d.png", f)))
			if (label == 1) != slices.Contains(mask, true) {
				t.Errorf("video %s frame %d: label %d but mask non-empty %v", entry.Video, f, label, slices.Contains(mask, true))
			}
			if label != fromRanges[f] {
				t.Errorf("video %s frame %d: npy %d, labels.json ranges %d", entry.Video, f, label, fromRanges[f])
			}
			count += int(label)
		}
		if count != entry.AnomalousFrames || count == 0 || count == 30 {
			t.Errorf("video %s: %d anomalous frames, labels.json says %d; want some normal and some anomalous", entry.Video, count, entry.AnomalousFrames)
		}
		anomalous += count
	}
	if anomalous != sum.AnomalousFrames {
		t.Errorf("summary says %d anomalous frames, labels hold %d", sum.AnomalousFrames, anomalous)
	}
}

// TestVideoMaskIsChange renders every test frame without its anomalies and
// checks the mask marks exactly the pixels that differ from the written
// frame, and that training frames equal the normal rendering.
func TestVideoMaskIsChange(t *testing.T) {
	out := filepath.Join(t.TempDir(), "v")
	opts := smallVideo(out)
	if _, err := GenerateVideo(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if err := opts.setDefaults(); err != nil {
		t.Fatal(err)
	}
	check := func(split, folder string, videos int) {
		for v := range videos {
			sc := newVideoScene(opts, split, v)
			for f := range opts.Frames {
				name := fmt.Sprintf("%02d/%03d.png", v+1, f)
				frame := readPNG(t, filepath.Join(out, folder, "frames", name)).(*image.Gray)
				clean, _ := sc.render(f, false)
				mask := make([]bool, len(frame.Pix))
				if split == "test" {
					mask = maskFromPNG(t, filepath.Join(out, folder, "pixel_masks", name))
				}
				for i := range frame.Pix {
					if changed := frame.Pix[i] != clean.pix[i]; changed != mask[i] {
						t.Fatalf("%s %s pixel %d: changed %v, mask %v", split, name, i, changed, mask[i])
					}
				}
			}
		}
	}
	check("train", "training", opts.TrainVideos)
	check("test", "testing", opts.TestVideos)
}

// TestVideoAnomalyMotion measures the anomalous objects in the masks: the
// wrong-direction one moves vertically, the fast one 3-4 times the normal
// speed (normal walkers go at most 1.3 px/frame at 64 px width), the
// unseen object is large, and the wrong-looking one walks like a normal
// object: left-right at walking speed, at walking size.
func TestVideoAnomalyMotion(t *testing.T) {
	opts := VideoOptions{Width: 64, Height: 64, Frames: 60, Seed: 9}
	if err := opts.setDefaults(); err != nil {
		t.Fatal(err)
	}
	for v, kind := range []string{KindWrongDirection, KindWrongSpeed, KindUnseenObject, KindWrongLook} {
		sc := newVideoScene(opts, "test", v)
		if sc.events[0].kind != kind {
			t.Fatalf("video %d: event %s, want %s", v+1, sc.events[0].kind, kind)
		}
		for _, m := range sc.objects {
			if m.vy != 0 || math.Abs(m.vx) < 0.8 || math.Abs(m.vx) > 1.3 || m.size > 8 {
				t.Errorf("video %d: normal object %+v moves or looks abnormal", v+1, m)
			}
		}
		// Box of the mask in each frame where the whole object is visible.
		type box struct{ x0, y0, x1, y1, n int }
		var boxes []box
		var frames []int
		for f := sc.events[0].start; f < sc.events[0].end; f++ { // video 4 has a second event
			_, mask := sc.render(f, true)
			b := box{64, 64, -1, -1, 0}
			for i, on := range mask {
				if on {
					x, y := i%64, i/64
					b = box{min(b.x0, x), min(b.y0, y), max(b.x1, x), max(b.y1, y), b.n + 1}
				}
			}
			if b.n > 0 && b.x0 > 0 && b.y0 > 0 && b.x1 < 63 && b.y1 < 63 {
				boxes = append(boxes, b)
				frames = append(frames, f)
			}
		}
		if len(boxes) < 2 {
			t.Fatalf("video %d: the %s object is fully visible in %d frames", v+1, kind, len(boxes))
		}
		first, last := boxes[0], boxes[len(boxes)-1]
		dt := float64(frames[len(frames)-1] - frames[0])
		vx := float64(last.x0+last.x1-first.x0-first.x1) / 2 / dt
		vy := float64(last.y0+last.y1-first.y0-first.y1) / 2 / dt
		switch kind {
		case KindWrongDirection:
			if vx != 0 || math.Abs(vy) < 0.7 || math.Abs(vy) > 1.4 {
				t.Errorf("wrong direction: velocity (%.2f, %.2f) px/frame, want vertical at walking speed", vx, vy)
			}
		case KindWrongSpeed:
			if vy != 0 || math.Abs(vx) < 2.3 || math.Abs(vx) > 5.3 {
				t.Errorf("wrong speed: velocity (%.2f, %.2f) px/frame, want horizontal at 3-4x walking speed", vx, vy)
			}
		case KindUnseenObject:
			if h := first.y1 - first.y0 + 1; h < 20 {
				t.Errorf("unseen object %d px tall, want about 0.35*64", h)
			}
		case KindWrongLook:
			if vy != 0 || math.Abs(vx) < 0.7 || math.Abs(vx) > 1.4 {
				t.Errorf("wrong look: velocity (%.2f, %.2f) px/frame, want horizontal at walking speed", vx, vy)
			}
			if h := first.y1 - first.y0 + 1; h < 4 || h > 9 {
				t.Errorf("wrong look: %d px tall, want a walker's 5-8", h)
			}
			frame, _ := sc.render(frames[0], true)
			a := sc.events[0].actor
			var dark, mid int
			for i := range frame.pix {
				switch p := frame.pix[i]; {
				case p == a.value:
					dark++
				case p == a.alt:
					mid++
				}
			}
			if a.value >= 50 || dark == 0 || mid == 0 {
				t.Errorf("wrong look: value %d alt %d, %d and %d pixels of each; want a dark checkered object", a.value, a.alt, dark, mid)
			}
		}
	}
}

func TestGenerateVideoDeterministic(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := GenerateVideo(ctx, smallVideo(filepath.Join(dir, name))); err != nil {
			t.Fatal(err)
		}
	}
	other := smallVideo(filepath.Join(dir, "c"))
	other.Seed = 4
	if _, err := GenerateVideo(ctx, other); err != nil {
		t.Fatal(err)
	}
	if !sameTrees(t, filepath.Join(dir, "a"), filepath.Join(dir, "b")) {
		t.Error("same seed wrote different files")
	}
	if sameTrees(t, filepath.Join(dir, "a", "training"), filepath.Join(dir, "c", "training")) {
		t.Error("seeds 3 and 4 wrote identical training frames")
	}
}

func TestGenerateVideoOverwriteAndCancel(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "v")
	ctx := context.Background()
	if _, err := GenerateVideo(ctx, smallVideo(out)); err != nil {
		t.Fatal(err)
	}
	if _, err := GenerateVideo(ctx, smallVideo(out)); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("second run without Force: error %v", err)
	}
	opts := smallVideo(out)
	opts.Force, opts.Name = true, "other"
	if _, err := GenerateVideo(ctx, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "frame_labels_tiny.npy")); !errors.Is(err, os.ErrNotExist) {
		t.Error("Force left the old dataset's labels in place")
	}
	onlyEntries(t, parent, "v")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	opts.Out = filepath.Join(parent, "w")
	if _, err := GenerateVideo(cctx, opts); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: error %v", err)
	}
	onlyEntries(t, parent, "v")
}

func TestVideoOptionErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "v")
	tests := []struct {
		name   string
		edit   func(*VideoOptions)
		wantIn string
	}{
		{"bad name", func(o *VideoOptions) { o.Name = "a/b" }, `"a/b"`},
		{"small frame", func(o *VideoOptions) { o.Width = 8 }, "8x32"},
		{"few frames", func(o *VideoOptions) { o.Frames = 5 }, "5 frames"},
		{"many frames", func(o *VideoOptions) { o.Frames = 1000 }, "1000 frames"},
		{"many videos", func(o *VideoOptions) { o.TestVideos = 100 }, "test 100"},
		{"negative videos", func(o *VideoOptions) { o.TrainVideos = -1 }, "train -1"},
	}
	for _, tc := range tests {
		o := smallVideo(out)
		tc.edit(&o)
		if _, err := GenerateVideo(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.wantIn) {
			t.Errorf("%s: error %v, want one mentioning %s", tc.name, err, tc.wantIn)
		}
	}
}

// BenchmarkGenerateVideoDefault times the default video set (4+4 videos of
// 60 64x64 frames).
func BenchmarkGenerateVideoDefault(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := GenerateVideo(context.Background(), VideoOptions{Out: filepath.Join(dir, "v"), Force: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGenerateMVTecDefault times the default MVTec-layout set.
func BenchmarkGenerateMVTecDefault(b *testing.B) {
	dir := b.TempDir()
	for b.Loop() {
		if _, err := GenerateMVTec(context.Background(), MVTecOptions{Out: filepath.Join(dir, "m"), Force: true}); err != nil {
			b.Fatal(err)
		}
	}
}
