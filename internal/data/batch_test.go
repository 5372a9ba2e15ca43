package data

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/fmam/fmam/internal/imageio"
)

// clipDataset is a test split of videos 01 (6 frames) and 02 (5 frames) of
// 4x3 frames whose pixels are all frameValue(video number, frame).
func clipDataset(t *testing.T) *VideoDataset {
	t.Helper()
	root := t.TempDir()
	makeFrames(t, filepath.Join(root, "testing", "frames"), map[string]int{"01": 6, "02": 5}, 0)
	writeNPY(t, filepath.Join(root, "frame_labels_clip.npy"), []uint8{0, 0, 0, 1, 1, 1, 0, 1, 0, 1, 0})
	ds, err := LoadFrames(root, Test, FramesOptions{Name: "clip"})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func clipConfig() VideoBatchConfig {
	return VideoBatchConfig{Clip: ClipSpec{T: 2, Step: 1}, Decode: imageio.DecodeOptions{C: 1, H: 3, W: 4}, BatchSize: 3}
}

// collect runs one epoch and copies out what each batch holds.
type sample struct {
	Video, Frame int
	Label        uint8
	Input        []float32 // one value per input frame (pixels are uniform)
	Target       float32
}

func collectVideo(t *testing.T, b *VideoBatcher, from Position) ([][]sample, error) {
	t.Helper()
	var out [][]sample
	for batch, err := range b.Epoch(context.Background(), from) {
		if err != nil {
			return out, err
		}
		frameLen := b.cfg.Decode.C * b.cfg.Decode.H * b.cfg.Decode.W
		T := b.cfg.Clip.T
		if len(batch.Input) != b.cfg.BatchSize*T*frameLen || len(batch.Target) != b.cfg.BatchSize*frameLen {
			t.Fatalf("batch arrays of %d and %d floats", len(batch.Input), len(batch.Target))
		}
		var bs []sample
		for i := range batch.N {
			s := sample{Video: batch.Video[i], Frame: batch.Frame[i], Label: batch.Label[i], Target: batch.Target[i*frameLen]}
			for k := range T {
				in := batch.Input[(i*T+k)*frameLen : (i*T+k+1)*frameLen]
				for _, v := range in {
					if v != in[0] {
						t.Fatalf("input frame not uniform: %v", in)
					}
				}
				s.Input = append(s.Input, in[0])
			}
			bs = append(bs, s)
		}
		for _, v := range batch.Input[batch.N*T*frameLen:] {
			if v != 0 {
				t.Fatal("padding of a short batch is not zero")
			}
		}
		if batch.Epoch != from.Epoch || batch.Index != from.Batch+len(out) {
			t.Fatalf("batch says epoch %d index %d, want %d %d", batch.Epoch, batch.Index, from.Epoch, from.Batch+len(out))
		}
		out = append(out, bs)
	}
	return out, nil
}

func TestVideoBatchesSequential(t *testing.T) {
	ds := clipDataset(t)
	for _, tc := range []struct {
		spec      ClipSpec
		dropLast  bool
		wantClips []Clip
	}{
		{ClipSpec{T: 2, Step: 1}, false, []Clip{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 1}, {1, 2}}},
		{ClipSpec{T: 2, Step: 2}, false, []Clip{{0, 0}, {0, 1}, {1, 0}}},
		{ClipSpec{T: 4, Step: 0}, true, []Clip{{0, 0}, {0, 1}, {1, 0}}},
	} {
		t.Run(fmt.Sprint(tc.spec, tc.dropLast), func(t *testing.T) {
			cfg := clipConfig()
			cfg.Clip, cfg.DropLast = tc.spec, tc.dropLast
			cfg.Decode.Range = imageio.RangeSigned
			b, err := NewVideoBatcher(ds, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(b.Clips(), tc.wantClips) {
				t.Fatalf("clips %v, want %v", b.Clips(), tc.wantClips)
			}
			batches, err := collectVideo(t, b, Position{})
			if err != nil {
				t.Fatal(err)
			}
			wantBatches := len(tc.wantClips) / 3
			if !tc.dropLast && len(tc.wantClips)%3 != 0 {
				wantBatches++
			}
			if len(batches) != wantBatches || b.BatchesPerEpoch() != wantBatches {
				t.Fatalf("%d batches (per epoch %d), want %d", len(batches), b.BatchesPerEpoch(), wantBatches)
			}
			i := 0
			step := max(tc.spec.Step, 1)
			for _, batch := range batches {
				for _, s := range batch {
					c := tc.wantClips[i]
					i++
					target := c.Start + tc.spec.T*step
					if s.Video != c.Video || s.Frame != target || s.Label != ds.Videos[c.Video].Labels[target] {
						t.Errorf("sample %d: video %d frame %d label %d, want clip %v target %d", i, s.Video, s.Frame, s.Label, c, target)
					}
					val := func(f int) float32 { return float32(frameValue(c.Video+1, f))/127.5 - 1 }
					for k, v := range s.Input {
						if abs32(v-val(c.Start+k*step)) > 1e-6 {
							t.Errorf("sample %d input %d = %v, want frame %d (%v)", i, k, v, c.Start+k*step, val(c.Start+k*step))
						}
					}
					if abs32(s.Target-val(target)) > 1e-6 {
						t.Errorf("sample %d target %v, want %v", i, s.Target, val(target))
					}
				}
			}
		})
	}
}

func TestVideoBatchesShuffleDeterministic(t *testing.T) {
	ds := clipDataset(t)
	run := func(workers, prefetch int, cache int64, epoch int) [][]sample {
		cfg := clipConfig()
		cfg.Shuffle, cfg.Seed = true, 42
		cfg.Workers, cfg.Prefetch, cfg.CacheBytes = workers, prefetch, cache
		b, err := NewVideoBatcher(ds, cfg)
		if err != nil {
			t.Fatal(err)
		}
		out, err := collectVideo(t, b, Position{Epoch: epoch})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	ref := run(1, 1, -1, 0)
	for _, c := range []struct {
		workers, prefetch int
		cache             int64
	}{{4, 3, 0}, {2, 1, 1}, {3, 2, -1}} {
		if got := run(c.workers, c.prefetch, c.cache, 0); !reflect.DeepEqual(got, ref) {
			t.Errorf("workers %d prefetch %d cache %d: batches differ from 1 worker", c.workers, c.prefetch, c.cache)
		}
	}
	// Each epoch covers every clip once, in its own order.
	order := func(bs [][]sample) []string {
		var o []string
		for _, b := range bs {
			for _, s := range b {
				o = append(o, fmt.Sprint(s.Video, s.Frame))
			}
		}
		return o
	}
	e0, e1 := order(ref), order(run(2, 2, 0, 1))
	if slices.Equal(e0, e1) {
		t.Error("epochs 0 and 1 have the same order")
	}
	slices.Sort(e0)
	slices.Sort(e1)
	want := []string{"0 2", "0 3", "0 4", "0 5", "1 2", "1 3", "1 4"}
	if !slices.Equal(e0, want) || !slices.Equal(e1, want) {
		t.Errorf("epoch clips %v and %v, want %v", e0, e1, want)
	}
}

func TestVideoBatchesResume(t *testing.T) {
	ds := clipDataset(t)
	cfg := clipConfig()
	cfg.Shuffle, cfg.Seed, cfg.BatchSize = true, 7, 2
	b, err := NewVideoBatcher(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	full, err := collectVideo(t, b, Position{Epoch: 3})
	if err != nil {
		t.Fatal(err)
	}
	tail, err := collectVideo(t, b, Position{Epoch: 3, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(full) != 4 || !reflect.DeepEqual(tail, full[2:]) {
		t.Errorf("resumed batches %v, want %v", tail, full[2:])
	}
	if none, err := collectVideo(t, b, Position{Epoch: 3, Batch: 4}); err != nil || len(none) != 0 {
		t.Errorf("from the end: %v, %v", none, err)
	}
	_, err = collectVideo(t, b, Position{Epoch: 0, Batch: 5})
	wantErr(t, err, "outside an epoch of 4 batches")
	if p := (Position{2, 3}).Next(4); p != (Position{3, 0}) {
		t.Errorf("Next = %v", p)
	}
	if p := (Position{2, 1}).Next(4); p != (Position{2, 2}) {
		t.Errorf("Next = %v", p)
	}
}

func TestVideoBatchesErrorsAndCancel(t *testing.T) {
	ds := clipDataset(t)
	cfg := clipConfig()
	cfg.BatchSize = 2
	b, err := NewVideoBatcher(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	base := runtime.NumGoroutine()

	// Early break releases all goroutines before the loop returns.
	for range b.Epoch(context.Background(), Position{}) {
		break
	}
	// Cancelling mid-epoch ends it with the context's error.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	n := 0
	var last error
	for batch, err := range b.Epoch(ctx, Position{}) {
		if err != nil {
			last = err
			break
		}
		if batch.N > 0 {
			n++
		}
		cancel()
	}
	if !errors.Is(last, context.Canceled) || n != 1 {
		t.Errorf("after cancel: %d batches then %v", n, last)
	}
	if got := runtime.NumGoroutine(); got > base {
		t.Errorf("%d goroutines after iterating, %d before", got, base)
	}

	// A corrupt frame stops the epoch with an error naming it.
	bad := ds.Videos[1].Frames[3]
	if err := os.WriteFile(bad, []byte("broken"), 0o644); err != nil {
		t.Fatal(err)
	}
	b, err = NewVideoBatcher(ds, cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = collectVideo(t, b, Position{})
	wantErr(t, err, "video 02 frame 3", bad)

	_, err = NewVideoBatcher(ds, VideoBatchConfig{Clip: ClipSpec{T: 0}, Decode: imageio.DecodeOptions{C: 3}})
	wantErr(t, err, "T >= 1", "fixed frame size", "batch size")
	_, err = NewVideoBatcher(ds, VideoBatchConfig{Clip: ClipSpec{T: 6}, Decode: imageio.DecodeOptions{C: 1, H: 2, W: 2}, BatchSize: 1})
	wantErr(t, err, "more than 6 frames")
}

func TestFrameCache(t *testing.T) {
	c := newFrameCache(2)
	var loads atomic.Int64
	load := func(v float32) func() ([]float32, error) {
		return func() ([]float32, error) { loads.Add(1); return []float32{v}, nil }
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got, _ := c.get(1, load(1)); got[0] != 1 {
				t.Error("wrong frame")
			}
		})
	}
	wg.Wait()
	if loads.Load() != 1 {
		t.Fatalf("8 concurrent gets loaded %d times, want 1", loads.Load())
	}
	c.get(2, load(2))
	c.get(1, load(1)) // 1 is now the most recent
	c.get(3, load(3)) // evicts 2
	c.get(1, load(1))
	if loads.Load() != 3 {
		t.Errorf("loads = %d, want 3 (1, 2, 3)", loads.Load())
	}
	c.get(2, load(2))
	if loads.Load() != 4 {
		t.Errorf("loads = %d, want 4 (2 was evicted)", loads.Load())
	}
	// Failures are not cached.
	fail := func() ([]float32, error) { loads.Add(1); return nil, errors.New("boom") }
	c.get(9, fail)
	c.get(9, fail)
	if loads.Load() != 6 {
		t.Errorf("loads = %d, want 6", loads.Load())
	}
}

func TestImageBatches(t *testing.T) {
	root := t.TempDir()
	makeMVTec(t, root, "grid")
	ds, err := LoadMVTec(root, "grid")
	if err != nil {
		t.Fatal(err)
	}
	// Masks upscaled 2x: source pixel (x=1, y=2) covers x 2-3, y 4-5.
	cfg := ImageBatchConfig{Decode: imageio.DecodeOptions{C: 3, H: 8, W: 12}, BatchSize: 2}
	b, err := NewImageBatcher(ds.Test, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var labels []uint8
	var items []int
	for batch, err := range b.Epoch(context.Background(), Position{}) {
		if err != nil {
			t.Fatal(err)
		}
		if len(batch.Images) != 2*3*8*12 || len(batch.Masks) != 2*8*12 || batch.Clean != nil {
			t.Fatalf("array sizes %d %d", len(batch.Images), len(batch.Masks))
		}
		for i := range batch.N {
			m := batch.Masks[i*96 : (i+1)*96]
			for y := range 8 {
				for x := range 12 {
					want := float32(0)
					if batch.Labels[i] == 1 && (x == 2 || x == 3) && (y == 4 || y == 5) {
						want = 1
					}
					if m[y*12+x] != want {
						t.Fatalf("item %d mask (%d,%d) = %v, want %v", batch.Items[i], x, y, m[y*12+x], want)
					}
				}
			}
		}
		for _, v := range batch.Images[batch.N*3*96:] {
			if v != 0 {
				t.Fatal("padding not zero")
			}
		}
		labels = append(labels, batch.Labels...)
		items = append(items, batch.Items...)
	}
	if fmt.Sprint(labels, items) != "[1 1 0 0 1] [0 1 2 3 4]" {
		t.Errorf("labels %v items %v", labels, items)
	}

	// A mask whose size differs from its image fails when decoded.
	bad := []ImageItem{{Path: ds.Test[0].Path, MaskPath: filepath.Join(root, "small_mask.png"), Label: 1}}
	writeGrayPNG(t, bad[0].MaskPath, 3, 3, func(int, int) uint8 { return 0 })
	b, err = NewImageBatcher(bad, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, err := range b.Epoch(context.Background(), Position{}) {
		wantErr(t, err, "small_mask.png is 3x3", ds.Test[0].Path)
	}
}

func TestImageBatchesAugment(t *testing.T) {
	root := t.TempDir()
	makeMVTec(t, root, "tile")
	ds, err := LoadMVTec(root, "tile")
	if err != nil {
		t.Fatal(err)
	}
	// Adds one random offset to the image and marks pixel 0 anomalous.
	augment := func(rng *rand.Rand, s *Sample) error {
		off := rng.Float32()
		for i := range s.Image.Pix {
			s.Image.Pix[i] += off
		}
		s.Mask.Pix[0] = true
		s.Label = 1
		return nil
	}
	run := func(workers int, from Position) [][]float32 {
		cfg := ImageBatchConfig{Decode: imageio.DecodeOptions{C: 1, H: 4, W: 6}, BatchSize: 2, Shuffle: true, Seed: 5,
			Augment: augment, Workers: workers, DropLast: true}
		b, err := NewImageBatcher(ds.Train, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if b.BatchesPerEpoch() != 1 {
			t.Fatalf("%d batches per epoch, want 1 (3 images, drop last)", b.BatchesPerEpoch())
		}
		var out [][]float32
		for batch, err := range b.Epoch(context.Background(), from) {
			if err != nil {
				t.Fatal(err)
			}
			for i := range batch.N {
				img, clean := batch.Images[i*24:(i+1)*24], batch.Clean[i*24:(i+1)*24]
				off := img[0] - clean[0]
				for k := range img {
					if d := img[k] - clean[k] - off; d > 1e-6 || d < -1e-6 || off <= 0 {
						t.Fatalf("augmented image is not clean + one offset")
					}
				}
				if batch.Masks[i*24] != 1 || batch.Masks[i*24+1] != 0 || batch.Labels[i] != 1 {
					t.Fatalf("mask or label not taken from the augmented sample")
				}
				out = append(out, slices.Clone(img))
			}
		}
		return out
	}
	a, b := run(1, Position{Epoch: 2}), run(3, Position{Epoch: 2})
	if len(a) != 2 || !reflect.DeepEqual(a, b) {
		t.Errorf("augmented batches differ between 1 and 3 workers")
	}
	if reflect.DeepEqual(a, run(2, Position{Epoch: 3})) {
		t.Errorf("epochs 2 and 3 gave the same augmented batch")
	}

	grow := func(_ *rand.Rand, s *Sample) error { s.Image.Pix = append(s.Image.Pix, 0); return nil }
	fail := func(*rand.Rand, *Sample) error { return errors.New("no texture") }
	for _, f := range []AugmentFunc{grow, fail} {
		ib, err := NewImageBatcher(ds.Train, ImageBatchConfig{Decode: imageio.DecodeOptions{C: 1, H: 4, W: 6}, BatchSize: 3, Augment: f})
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range ib.Epoch(context.Background(), Position{}) {
			wantErr(t, err, "augment", "train/good/00")
		}
	}
	_, err = NewImageBatcher(nil, ImageBatchConfig{Decode: imageio.DecodeOptions{C: 1}, BatchSize: 0})
	wantErr(t, err, "fixed image size", "batch size", "no images")
}

// An augmentation that sets Sample.Clean replaces the clean target.
func TestImageBatchesCleanOverride(t *testing.T) {
	root := t.TempDir()
	makeMVTec(t, root, "tile")
	ds, err := LoadMVTec(root, "tile")
	if err != nil {
		t.Fatal(err)
	}
	flip := func(_ *rand.Rand, s *Sample) error {
		c := imageio.Image{C: s.Image.C, H: s.Image.H, W: s.Image.W, Pix: make([]float32, len(s.Image.Pix))}
		for i, v := range s.Image.Pix {
			c.Pix[len(c.Pix)-1-i] = v
		}
		s.Clean = c
		return nil
	}
	b, err := NewImageBatcher(ds.Train, ImageBatchConfig{Decode: imageio.DecodeOptions{C: 1, H: 4, W: 6}, BatchSize: 3, Augment: flip})
	if err != nil {
		t.Fatal(err)
	}
	for batch, err := range b.Epoch(context.Background(), Position{}) {
		if err != nil {
			t.Fatal(err)
		}
		for i := range batch.N {
			img, clean := batch.Images[i*24:(i+1)*24], batch.Clean[i*24:(i+1)*24]
			for k := range img {
				if clean[23-k] != img[k] {
					t.Fatalf("clean target is not the augmentation's")
				}
			}
		}
	}
}
