package objects

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/fmam/fmam/internal/data"
)

// DetectBoxes tells its progress observer of every frame of the split, in
// one increasing count over all videos, and writes the boxes it found.
func TestDetectBoxesProgress(t *testing.T) {
	dir := t.TempDir()
	rects := []rect{{x: 4, y: 6, w: 10, h: 8, vx: 2}}
	ds := &data.VideoDataset{Root: dir, Videos: []data.Video{
		movingScene(t, dir, "01", 40, 24, 5, rects),
		movingScene(t, dir, "02", 40, 24, 3, rects),
	}}
	cfg := DefaultForegroundConfig()
	cfg.MinArea = 30
	var got [][2]int
	out := filepath.Join(dir, "boxes.csv")
	res, err := DetectBoxes(context.Background(), BoxesOptions{Dataset: ds, Foreground: &cfg, Out: out,
		Progress: func(done, total int) { got = append(got, [2]int{done, total}) }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8 {
		t.Fatalf("progress told %d times (%v), want once per frame: 8", len(got), got)
	}
	for i, p := range got {
		if p != [2]int{i + 1, 8} {
			t.Errorf("progress call %d: done %d of %d, want %d of 8", i, p[0], p[1], i+1)
		}
	}
	if res.Set.Len() == 0 || len(res.Empty) != 0 {
		t.Errorf("%d boxes, videos without any %v; want boxes in both videos", res.Set.Len(), res.Empty)
	}
}
