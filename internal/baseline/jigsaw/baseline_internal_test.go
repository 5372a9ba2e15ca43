package jigsaw

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/objects"
	"github.com/fmam/fmam/internal/synth"
)

func obj(video string, frame int, temporal, spatial, fea float64) objectRow {
	return objectRow{Object: Object{Video: video, Frame: frame, Box: [4]float64{1, 2, 3, 4}, Temporal: temporal, Spatial: spatial}, Fea: fea}
}

// fuse by hand: in video a, S_fea 1, 3, 2 normalises to 0, 1, 0.5 and
// its normality 1, 0, 0.5 maps onto temporal [0.2, 0.8] as 0.8, 0.2, 0.5
// and onto spatial [0.6, 0.9] as 0.9, 0.6, 0.75; video b has one object,
// whose S_fea normality is 1 and whose ranges are single values.
func TestFuse(t *testing.T) {
	rows := []objectRow{obj("a", 0, 0.2, 0.6, 1), obj("a", 1, 0.8, 0.9, 3), obj("b", 0, 0.4, 0.3, 5), obj("a", 2, 0.5, 0.7, 2)}
	cases := []struct {
		lambda            float64
		temporal, spatial []float64
	}{
		{0, []float64{0.2, 0.8, 0.4, 0.5}, []float64{0.6, 0.9, 0.3, 0.7}},
		{0.5, []float64{0.5, 0.5, 0.7, 0.5}, []float64{0.75, 0.75, 0.65, 0.725}},
		{1, []float64{0.8, 0.2, 1, 0.5}, []float64{0.9, 0.6, 1, 0.75}},
	}
	for _, c := range cases {
		got, err := fuse(rows, c.lambda)
		if err != nil {
			t.Fatal(err)
		}
		var tp, sp []float64
		for _, r := range got {
			tp, sp = append(tp, r.Temporal), append(sp, r.Spatial)
		}
		close(t, "temporal", tp, c.temporal, 1e-12)
		close(t, "spatial", sp, c.spatial, 1e-12)
	}
	if rows[0].Temporal != 0.2 {
		t.Error("fuse changed its input")
	}
	if _, err := fuse([]objectRow{obj("a", 0, 0.2, 0.6, math.NaN())}, 0.5); err == nil {
		t.Error("fusing a teacher's rows (no S_fea) gave no error")
	}
}

// Object scores survive the CSV, S_fea's absence included.
func TestObjectsCSV(t *testing.T) {
	p := filepath.Join(t.TempDir(), "objects.csv")
	rows := []objectRow{obj("01", 3, 0.125, 0.5, 2.25), obj("02", 7, 1e-9, 0.75, math.NaN())}
	rows[1].Box = [4]float64{-1.5, 0, 359.75, 240}
	if err := writeObjects(p, rows); err != nil {
		t.Fatal(err)
	}
	got, err := readObjects(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != rows[0] || got[1].Object != rows[1].Object || !math.IsNaN(got[1].Fea) {
		t.Errorf("read %+v, wrote %+v", got, rows)
	}
	if _, err := readObjects(filepath.Join(t.TempDir(), "none.csv")); err == nil {
		t.Error("missing file gave no error")
	}
}

// The tile grid is the official one at 64 and scales with the cube.
func TestLayoutFor(t *testing.T) {
	for size, want := range map[int]Layout{64: OfficialLayout, 32: {1, 10}, 16: {0, 5}, 128: {4, 40}} {
		if got := layoutFor(size); got != want {
			t.Errorf("layoutFor(%d) = %+v, want %+v", size, got, want)
		}
	}
}

// Filter, cube and protocol settings: official for the data set, with
// the overrides of data.objects.
func TestObjectSettings(t *testing.T) {
	score, side, drop := 0.3, 4.0, false
	cases := []struct {
		kind     string
		o        config.Objects
		filter   objects.FilterConfig
		train    objects.CubeConfig
		test     objects.CubeConfig
		perFrame bool
	}{
		{"ped2", config.Objects{}, objects.FilterConfig{Score: 0.5, DropContained: true, MinSide: 10},
			objects.CubeConfig{T: 7, Size: 32, Stride: 1, Margin: 6}, objects.CubeConfig{T: 7, Size: 32, Stride: 1, Margin: 3}, false},
		{"shanghaitech", config.Objects{}, objects.FilterConfig{Score: 0.8, DropContained: true, MinSide: 10},
			objects.CubeConfig{T: 7, Size: 32, Stride: 5, Margin: 6}, objects.CubeConfig{T: 7, Size: 32, Stride: 1, Margin: 3}, true},
		{"frames", config.Objects{Score: &score, MinSide: &side, DropInside: &drop, TrainStride: 3}, objects.FilterConfig{Score: 0.3, MinSide: 4},
			objects.CubeConfig{T: 7, Size: 32, Stride: 3, Margin: 6}, objects.CubeConfig{T: 7, Size: 32, Stride: 1, Margin: 3}, false},
	}
	for _, c := range cases {
		cfg := &config.Config{Data: config.Data{Kind: c.kind, Frames: 7, Size: 32, Objects: c.o}}
		if got := filterFor(cfg); got != c.filter {
			t.Errorf("%s filter %+v, want %+v", c.kind, got, c.filter)
		}
		if got := cubeConfig(cfg, data.Train); got != c.train {
			t.Errorf("%s train cubes %+v, want %+v", c.kind, got, c.train)
		}
		if got := cubeConfig(cfg, data.Test); got != c.test {
			t.Errorf("%s test cubes %+v, want %+v", c.kind, got, c.test)
		}
		if got := protocolFor(c.kind); got.Maps == c.perFrame {
			t.Errorf("%s protocol %+v", c.kind, got)
		}
	}
}

// tinyCache writes the cubes of one generated 12-frame video with two
// boxes per frame: frames 2..9 give 16 cubes of 3 frames of 16x16.
func tinyCache(t *testing.T) (*data.VideoDataset, string, Config) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "v")
	if _, err := synth.GenerateVideo(context.Background(), synth.VideoOptions{Out: root, Width: 32, Height: 32, TrainVideos: 1, TestVideos: 1, Frames: 12, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	ds, err := data.LoadFrames(root, data.Train, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	set := objects.NewSet()
	for f := range 12 {
		set.Add(objects.Box{Video: "01", Frame: f, X1: 2, Y1: 3, X2: 20, Y2: 25, Score: 1, Class: -1})
		set.Add(objects.Box{Video: "01", Frame: f, X1: float64(f), Y1: 8, X2: float64(f) + 14, Y2: 30, Score: 1, Class: -1})
	}
	dir := filepath.Join(t.TempDir(), "cubes")
	cc := objects.CubeConfig{T: 3, Size: 16, Stride: 1, Margin: 2}
	if _, err := objects.WriteCache(context.Background(), dir, ds, set, cc, objects.CacheOptions{}); err != nil {
		t.Fatal(err)
	}
	return ds, dir, Config{Frames: 3, Size: 16, Width: 0.125, Dropout: 0.3}
}

// The training source: each batch is the official samples of the epoch's
// shuffle (checked against NewSample on the cube itself), even dataset
// indices are temporal puzzles, every cube comes once per epoch, and a
// source restored at a position yields what the first one yields next.
func TestCubeSource(t *testing.T) {
	ds, dir, cfg := tinyCache(t)
	aug := OfficialAugment
	aug.Layout = layoutFor(16)
	newSrc := func() *cubeSource {
		vs, err := objects.OpenAllVideoCubes(dir, ds)
		if err != nil {
			t.Fatal(err)
		}
		s, err := newCubeSource(cfg, aug, 4, 9, vs)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	a := newSrc()
	if len(a.index) != 16 || a.batches() != 4 {
		t.Fatalf("%d cubes, %d batches; want 16 and 4", len(a.index), a.batches())
	}
	ctx := context.Background()
	per := 3 * 3 * 16 * 16
	temporal := 0
	var first [][]float32
	for step := range 4 {
		b, err := a.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = b
		}
		if len(b) != 4 || len(b[0]) != 4*per || len(b[1]) != 4*9 || len(b[2]) != 4*81 || len(b[3]) != 4*cfg.Channels() {
			t.Fatalf("batch sizes %d %d %d %d", len(b[0]), len(b[1]), len(b[2]), len(b[3]))
		}
		for slot := range 4 {
			i := a.perm[step*4+slot]
			cube, err := a.videos[0].Cube(a.index[i][1], nil)
			if err != nil {
				t.Fatal(err)
			}
			want, err := NewSample(cube, 3, 16, i%2 == 0, aug, SampleRNG(9, step, slot))
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(b[0][slot*per:(slot+1)*per], want.Cube) {
				t.Fatalf("step %d slot %d: cube is not the official sample of cube %d", step, slot, i)
			}
			if slices.Max(b[1][slot*9:(slot+1)*9]) == 1 {
				temporal++
			}
		}
		if !slices.Equal(b[3], DropoutMask(cfg, 4, 9, step)) {
			t.Errorf("step %d: dropout mask is not the step's", step)
		}
	}
	if temporal != 8 {
		t.Errorf("%d temporal puzzles in an epoch of 16 cubes, want 8", temporal)
	}
	pos, err := a.Position()
	if err != nil {
		t.Fatal(err)
	}
	want, err := a.Next(ctx) // epoch 1, reshuffled
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(want[0], first[0]) {
		t.Error("epoch 1 starts like epoch 0")
	}
	b := newSrc()
	if err := b.Restore(pos); err != nil {
		t.Fatal(err)
	}
	got, err := b.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if !slices.Equal(got[i], want[i]) {
			t.Fatalf("restored source differs in batch input %d", i)
		}
	}
	vs, _ := objects.OpenAllVideoCubes(dir, ds)
	if _, err := newCubeSource(cfg, aug, 32, 9, vs); err == nil {
		t.Error("a batch larger than the cubes gave no error")
	}
}
