package data

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/imageio"
)

// TestImageBatchesNormalize: an augmentation sees images in the decode
// range, the batch (images and clean target) is normalised after it, and
// without augmentation a batch equals DecodeImage with the same options.
func TestImageBatchesNormalize(t *testing.T) {
	root := t.TempDir()
	makeMVTec(t, root, "tile")
	ds, err := LoadMVTec(root, "tile")
	if err != nil {
		t.Fatal(err)
	}
	dec := imageio.DecodeOptions{C: 3, H: 4, W: 6, Range: imageio.RangeUnit, Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	raw := dec
	raw.Mean, raw.Std = nil, nil
	n := 4 * 6
	b, err := NewImageBatcher(ds.Test, ImageBatchConfig{Decode: dec, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	for batch, err := range b.Epoch(context.Background(), Position{}) {
		if err != nil {
			t.Fatal(err)
		}
		for i := range batch.N {
			want, err := imageio.Decode(ds.Test[batch.Items[i]].Path, dec)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(batch.Images[i*3*n:(i+1)*3*n], want.Pix) {
				t.Fatalf("batch image %d differs from imageio.Decode", i)
			}
		}
	}

	var seen []float32
	augment := func(_ *rand.Rand, s *Sample) error {
		seen = append(seen[:0], s.Image.Pix...)
		for i := range s.Image.Pix {
			s.Image.Pix[i] += 0.25
		}
		return nil
	}
	b, err = NewImageBatcher(ds.Train[:1], ImageBatchConfig{Decode: dec, BatchSize: 1, Augment: augment, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := imageio.Decode(ds.Train[0].Path, raw)
	if err != nil {
		t.Fatal(err)
	}
	for batch, err := range b.Epoch(context.Background(), Position{}) {
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(seen, plain.Pix) {
			t.Fatalf("augmentation saw %v, want the [0,1] image %v", seen, plain.Pix)
		}
		for c := range 3 {
			for k := range n {
				v := float64(plain.Pix[c*n+k])
				clean, aug := (v-dec.Mean[c])/dec.Std[c], (v+0.25-dec.Mean[c])/dec.Std[c]
				if math.Abs(float64(batch.Clean[c*n+k])-clean) > 1e-5 || math.Abs(float64(batch.Images[c*n+k])-aug) > 1e-5 {
					t.Fatalf("channel %d pixel %d: clean %v image %v, want %v and %v", c, k, batch.Clean[c*n+k], batch.Images[c*n+k], clean, aug)
				}
			}
		}
	}
}

// TestImageBatchesHasMask: a folder dataset's anomalous image without a
// mask file is told apart from a normal one in the batch, and an
// augmentation can set it.
func TestImageBatchesHasMask(t *testing.T) {
	root := t.TempDir()
	px := func(x, y int) uint8 { return uint8(40 * x) }
	writeGrayPNG(t, filepath.Join(root, "train", "a.png"), 4, 4, px)
	writeGrayPNG(t, filepath.Join(root, "test", "good", "b.png"), 4, 4, px)
	writeGrayPNG(t, filepath.Join(root, "test", "dent", "c.png"), 4, 4, px)
	writeGrayPNG(t, filepath.Join(root, "test", "dent", "d.png"), 4, 4, px)
	writeGrayPNG(t, filepath.Join(root, "ground_truth", "dent", "c_mask.png"), 4, 4, func(x, y int) uint8 { return uint8(255 * (x & y & 1)) })
	ds, err := LoadImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewImageBatcher(ds.Test, ImageBatchConfig{Decode: imageio.DecodeOptions{C: 1, H: 4, W: 4}, BatchSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for batch, err := range b.Epoch(context.Background(), Position{}) {
		if err != nil {
			t.Fatal(err)
		}
		for i := range batch.N {
			it := ds.Test[batch.Items[i]]
			marked := false
			for _, v := range batch.Masks[i*16 : (i+1)*16] {
				marked = marked || v != 0
			}
			got = append(got, filepath.Base(it.Path)+":"+map[bool]string{true: "mask", false: "nomask"}[batch.HasMask[i]]+
				map[bool]string{true: "+pixels", false: ""}[marked])
		}
	}
	if want := "c.png:mask+pixels d.png:nomask b.png:mask"; strings.Join(got, " ") != want {
		t.Errorf("got %s, want %s", strings.Join(got, " "), want)
	}

	// An augmentation that pastes an anomaly with its mask sets HasMask.
	paste := func(_ *rand.Rand, s *Sample) error {
		if !s.HasMask {
			s.Mask.Pix[0], s.HasMask = true, true
		}
		return nil
	}
	b, err = NewImageBatcher(ds.Test[1:2], ImageBatchConfig{Decode: imageio.DecodeOptions{C: 1, H: 4, W: 4}, BatchSize: 1, Augment: paste})
	if err != nil {
		t.Fatal(err)
	}
	for batch, err := range b.Epoch(context.Background(), Position{}) {
		if err != nil || !batch.HasMask[0] || batch.Masks[0] != 1 {
			t.Fatalf("augmented: HasMask %v mask %v, %v", batch.HasMask, batch.Masks[:1], err)
		}
	}
}
