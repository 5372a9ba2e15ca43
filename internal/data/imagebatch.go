package data

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/fmam/fmam/internal/imageio"
)

// Sample is one decoded image on its way into a batch, as an AugmentFunc
// sees it.
type Sample struct {
	// Item is the index of the image in the batcher's items.
	Item int
	// Image is in the decode Range; Mean/Std normalisation, if any, is
	// applied after the AugmentFunc (to Image and Clean), so an
	// augmentation sees the same values whatever the network expects.
	Image imageio.Image
	// Mask has the image's size; all false when the item has no mask.
	Mask imageio.Mask
	// HasMask is false for an anomalous image without a mask file: its
	// all-false Mask is a placeholder, not "no anomalous pixel". An
	// augmentation that pastes an anomaly with a known mask sets it.
	HasMask bool
	Label   uint8
	// Clean, when an AugmentFunc sets it, is the clean target of the
	// batch instead of the image as decoded: a geometric augmentation
	// (DRAEM's input rotation) must apply to both.
	Clean imageio.Image
}

// AugmentFunc changes a training sample in place (anomaly synthesis,
// flips, ...). rng is seeded from the batcher's seed, the epoch and the
// sample's position in it, so results do not depend on worker scheduling
// and repeat when a run resumes. It must keep the image and mask sizes and
// may run concurrently for different samples.
type AugmentFunc func(rng *rand.Rand, s *Sample) error

// ImageBatch is a batch of images. The arrays have room for the full batch
// size B; only the first N samples are real and the rest are zero.
type ImageBatch struct {
	// Images is [B, C, H, W], after augmentation.
	Images []float32
	// Clean is [B, C, H, W] before augmentation; nil without Augment.
	Clean []float32
	// Masks is [B, 1, H, W] with 1 for anomalous pixels.
	Masks []float32
	// HasMask tells, for each real sample, whether its mask is known
	// (ImageItem.HasMask); where it is false Masks holds zeros that mean
	// "no mask", not "normal".
	HasMask []bool
	// Labels and Items give each real sample's label and item index.
	Labels []uint8
	Items  []int
	N      int
	// Epoch and Index place the batch: the next position is
	// Position{Epoch, Index}.Next(batches per epoch).
	Epoch, Index int
}

// ImageBatchConfig configures an ImageBatcher.
type ImageBatchConfig struct {
	// Decode gives channels, size (H and W must be set), value range,
	// normalisation and resize filter.
	Decode    imageio.DecodeOptions
	BatchSize int
	// Shuffle draws a new order every epoch from (Seed, epoch).
	Shuffle  bool
	Seed     uint64
	DropLast bool
	// Augment, if set, is applied to every sample.
	Augment AugmentFunc
	// Workers decode in parallel; 0 means GOMAXPROCS.
	Workers int
	// Prefetch is how many batches are decoded ahead; 0 means 2.
	Prefetch int
	// Log, if set, is warned once about the first mask that is not binary
	// (values other than 0 and 255).
	Log *slog.Logger
}

// ImageBatcher cuts a list of images into batches.
type ImageBatcher struct {
	items []ImageItem
	cfg   ImageBatchConfig
	dec   *imageio.Decoder // without Mean/Std: they are applied after Augment
	// nonBinary warns about the first non-binary mask once.
	nonBinary sync.Once
}

// NewImageBatcher checks cfg against items.
func NewImageBatcher(items []ImageItem, cfg ImageBatchConfig) (*ImageBatcher, error) {
	var errs []error
	var dec *imageio.Decoder
	if err := cfg.Decode.Validate(); err != nil {
		errs = append(errs, err)
	} else {
		raw := cfg.Decode
		raw.Mean, raw.Std = nil, nil
		dec, _ = imageio.NewDecoder(raw)
	}
	if cfg.Decode.H == 0 {
		errs = append(errs, errors.New("batches need a fixed image size: set Decode.H and Decode.W"))
	}
	if cfg.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size must be at least 1, got %d", cfg.BatchSize))
	}
	if len(items) == 0 {
		errs = append(errs, errors.New("no images"))
	} else if cfg.DropLast && len(items) < cfg.BatchSize {
		errs = append(errs, fmt.Errorf("%d images make no full batch of %d (DropLast is set)", len(items), cfg.BatchSize))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("image batches: %w", errors.Join(errs...))
	}
	return &ImageBatcher{items: items, cfg: cfg, dec: dec}, nil
}

// BatchesPerEpoch is the number of batches in one pass over the images.
func (b *ImageBatcher) BatchesPerEpoch() int {
	return batchCount(len(b.items), b.cfg.BatchSize, b.cfg.DropLast)
}

// Order returns the item indices of an epoch in the order they are batched.
func (b *ImageBatcher) Order(epoch int) []int {
	return epochOrder(len(b.items), b.cfg.Shuffle, b.cfg.Seed, epoch)
}

// Epoch yields the batches of epoch from.Epoch starting at batch from.Batch.
// A yielded batch is valid until the loop body returns: its memory is
// reused for a later batch. Iteration stops at the first error.
func (b *ImageBatcher) Epoch(ctx context.Context, from Position) iter.Seq2[*ImageBatch, error] {
	perEpoch := b.BatchesPerEpoch()
	if err := checkPosition(from, perEpoch); err != nil {
		return func(yield func(*ImageBatch, error) bool) { yield(nil, fmt.Errorf("image batches: %w", err)) }
	}
	order := b.Order(from.Epoch)
	bs := b.cfg.BatchSize
	d := b.cfg.Decode
	imgLen, maskLen := d.C*d.H*d.W, d.H*d.W
	p := &pipeline[*ImageBatch]{
		workers:  workersOr(b.cfg.Workers),
		prefetch: prefetchOr(b.cfg.Prefetch),
		newBuf: func() *ImageBatch {
			ib := &ImageBatch{
				Images:  make([]float32, bs*imgLen),
				Masks:   make([]float32, bs*maskLen),
				Labels:  make([]uint8, bs),
				Items:   make([]int, bs),
				HasMask: make([]bool, bs),
			}
			if b.cfg.Augment != nil {
				ib.Clean = make([]float32, bs*imgLen)
			}
			return ib
		},
		fill: func(buf *ImageBatch, slot, pos int) error {
			idx := order[pos]
			s, err := b.sample(idx)
			if err != nil {
				return err
			}
			if b.cfg.Augment != nil {
				copy(buf.Clean[slot*imgLen:], s.Image.Pix)
				if err := b.cfg.Augment(sampleRNG(b.cfg.Seed, from.Epoch, pos), &s); err != nil {
					return fmt.Errorf("augment %s: %w", b.items[idx].Path, err)
				}
				if s.Image.C != d.C || s.Image.H != d.H || s.Image.W != d.W || len(s.Image.Pix) != imgLen ||
					s.Mask.H != d.H || s.Mask.W != d.W || len(s.Mask.Pix) != maskLen {
					return fmt.Errorf("augment %s: changed the sample's size to image %dx%dx%d, mask %dx%d; want %dx%dx%d and %dx%d",
						b.items[idx].Path, s.Image.C, s.Image.H, s.Image.W, s.Mask.H, s.Mask.W, d.C, d.H, d.W, d.H, d.W)
				}
			}
			if s.Clean.Pix != nil {
				if len(s.Clean.Pix) != imgLen {
					return fmt.Errorf("augment %s: clean image has %d values, want %d", b.items[idx].Path, len(s.Clean.Pix), imgLen)
				}
				copy(buf.Clean[slot*imgLen:], s.Clean.Pix)
			}
			in := d.Input()
			img := buf.Images[slot*imgLen : (slot+1)*imgLen]
			copy(img, s.Image.Pix)
			in.Normalize(img, d.H*d.W)
			if buf.Clean != nil {
				in.Normalize(buf.Clean[slot*imgLen:(slot+1)*imgLen], d.H*d.W)
			}
			m := buf.Masks[slot*maskLen : (slot+1)*maskLen]
			for i, v := range s.Mask.Pix {
				m[i] = 0
				if v {
					m[i] = 1
				}
			}
			// finish shortened these for the buffer's previous batch.
			buf.Labels[:bs][slot] = s.Label
			buf.Items[:bs][slot] = idx
			buf.HasMask[:bs][slot] = s.HasMask
			return nil
		},
		finish: func(buf *ImageBatch, k, n int) {
			clear(buf.Images[n*imgLen:])
			clear(buf.Masks[n*maskLen:])
			if buf.Clean != nil {
				clear(buf.Clean[n*imgLen:])
			}
			buf.Labels, buf.Items, buf.HasMask = buf.Labels[:n], buf.Items[:n], buf.HasMask[:n]
			buf.N, buf.Epoch, buf.Index = n, from.Epoch, k
		},
	}
	return p.run(ctx, from.Batch, perEpoch, bs, len(order))
}

// sample decodes item idx and its mask, checking that they have the same
// size.
func (b *ImageBatcher) sample(idx int) (Sample, error) {
	it := b.items[idx]
	d := b.cfg.Decode
	img, size, err := b.dec.DecodeWithSize(it.Path)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Item: idx, Image: img, Label: it.Label, HasMask: it.HasMask()}
	if it.MaskPath == "" {
		s.Mask = imageio.Mask{H: d.H, W: d.W, Pix: make([]bool, d.H*d.W)}
		return s, nil
	}
	m, msize, err := imageio.DecodeMaskWithSize(it.MaskPath, d.H, d.W)
	if err != nil {
		return Sample{}, err
	}
	if msize != size {
		return Sample{}, fmt.Errorf("mask %s is %dx%d but image %s is %dx%d (WxH); a mask must have its image's size",
			it.MaskPath, msize.X, msize.Y, it.Path, size.X, size.Y)
	}
	if len(m.Levels) > 0 && b.cfg.Log != nil {
		b.nonBinary.Do(func() {
			b.cfg.Log.Warn("mask is not binary: it has values other than 0 and 255; every non-zero pixel counts as anomalous (warned once for these images)",
				"mask", it.MaskPath, "values", strings.Join(m.Levels, " "))
		})
	}
	s.Mask = m
	return s, nil
}
