package data

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/fmam/fmam/internal/imageio"
)

// ClipSpec is a prediction clip: T input frames Step apart, and the frame
// Step after the last of them as the target (MNAD predicts frame t+4 from
// frames t..t+3: T = 4, Step = 1).
type ClipSpec struct {
	T, Step int
}

func (s ClipSpec) step() int { return max(s.Step, 1) }

// Span is the distance from a clip's first frame to its target.
func (s ClipSpec) Span() int { return s.T * s.step() }

// Clip is a clip of video Video whose first frame is Start; its target is
// frame Start + spec.Span().
type Clip struct {
	Video, Start int
}

// Clips lists every clip of every video, in video then frame order. A video
// shorter than Span+1 frames has none.
func Clips(ds *VideoDataset, spec ClipSpec) []Clip {
	var out []Clip
	for v, video := range ds.Videos {
		for s := 0; s+spec.Span() < len(video.Frames); s++ {
			out = append(out, Clip{Video: v, Start: s})
		}
	}
	return out
}

// ShortVideos lists the videos of ds with no clip: fewer than Span+1
// frames. Clips leaves them out; evaluations say so (ShortVideosNote).
func ShortVideos(ds *VideoDataset, spec ClipSpec) []Video {
	var out []Video
	for _, v := range ds.Videos {
		if len(v.Frames) <= spec.Span() {
			out = append(out, v)
		}
	}
	return out
}

// ShortVideosNote is the sentence a results table carries about the
// videos ShortVideos found ("" for none).
func ShortVideosNote(short []Video, spec ClipSpec) string {
	if len(short) == 0 {
		return ""
	}
	var names []string
	for _, v := range short {
		names = append(names, fmt.Sprintf("%s (%d frames)", v.Name, len(v.Frames)))
	}
	return fmt.Sprintf("%d test video(s) left out: shorter than data.frames + 1 = %d frames, they have no clip to score: %s.", len(short), spec.Span()+1, strings.Join(names, ", "))
}

// Batch is a batch of clips. Input and Target always have room for the full
// batch size B; only the first N samples are real and the rest are zero, so
// a graph with a static batch dimension can take a short last batch.
type Batch struct {
	// Input is [B, T*C, H, W]: the T frames of a clip stacked along the
	// channel axis, oldest first.
	Input []float32
	// Target is [B, C, H, W]: the frame to predict.
	Target []float32
	// Video, Frame and Label give each real sample's video index, target
	// frame index in that video, and target frame label (0 without labels).
	Video, Frame []int
	Label        []uint8
	N            int
	// Epoch and Index place the batch: the next position is
	// Position{Epoch, Index}.Next(batches per epoch).
	Epoch, Index int
}

// VideoBatchConfig configures a VideoBatcher.
type VideoBatchConfig struct {
	Clip ClipSpec
	// Decode gives channels, size (H and W must be set), value range and
	// resize filter of the frames.
	Decode    imageio.DecodeOptions
	BatchSize int
	// Shuffle draws a new clip order every epoch from (Seed, epoch);
	// without it clips come in video and frame order (for testing).
	Shuffle bool
	Seed    uint64
	// DropLast skips a last batch smaller than BatchSize.
	DropLast bool
	// Workers decode frames in parallel; 0 means GOMAXPROCS.
	Workers int
	// Prefetch is how many batches are decoded ahead; 0 means 2.
	Prefetch int
	// CacheBytes bounds the decoded-frame cache; 0 means 256 MiB and a
	// negative value disables it.
	CacheBytes int64
}

// VideoBatcher cuts a video dataset into batches of clips.
type VideoBatcher struct {
	ds    *VideoDataset
	cfg   VideoBatchConfig
	clips []Clip
	dec   *imageio.Decoder
	cache *frameCache
}

// NewVideoBatcher checks cfg against ds and indexes the clips.
func NewVideoBatcher(ds *VideoDataset, cfg VideoBatchConfig) (*VideoBatcher, error) {
	var errs []error
	if cfg.Clip.T < 1 || cfg.Clip.Step < 0 {
		errs = append(errs, fmt.Errorf("clip needs T >= 1 input frames and Step >= 0 (0 means 1), got T=%d Step=%d", cfg.Clip.T, cfg.Clip.Step))
	}
	dec, err := imageio.NewDecoder(cfg.Decode)
	if err != nil {
		errs = append(errs, err)
	}
	if cfg.Decode.H == 0 {
		errs = append(errs, errors.New("batches need a fixed frame size: set Decode.H and Decode.W"))
	}
	if cfg.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("batch size must be at least 1, got %d", cfg.BatchSize))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("video batches: %w", errors.Join(errs...))
	}
	clips := Clips(ds, cfg.Clip)
	if len(clips) == 0 {
		longest := 0
		for _, v := range ds.Videos {
			longest = max(longest, len(v.Frames))
		}
		return nil, fmt.Errorf("video batches: no video of the %s split in %s (%d videos, the longest %d frames) has more than %d frames, the span of a clip of data.frames %d with data.frame_step %d; lower data.frames or data.frame_step, or add longer videos",
			ds.Split, ds.where(), len(ds.Videos), longest, cfg.Clip.Span(), cfg.Clip.T, cfg.Clip.step())
	}
	if cfg.DropLast && len(clips) < cfg.BatchSize {
		return nil, fmt.Errorf("video batches: %d clips make no full batch of %d (DropLast is set)", len(clips), cfg.BatchSize)
	}
	budget := cfg.CacheBytes
	if budget == 0 {
		budget = 256 << 20
	}
	frameBytes := int64(cfg.Decode.C * cfg.Decode.H * cfg.Decode.W * 4)
	return &VideoBatcher{ds: ds, cfg: cfg, clips: clips, dec: dec, cache: newFrameCache(int(budget / frameBytes))}, nil
}

// Clips returns the clip index; do not modify it.
func (b *VideoBatcher) Clips() []Clip { return b.clips }

// BatchesPerEpoch is the number of batches in one pass over the clips.
func (b *VideoBatcher) BatchesPerEpoch() int {
	return batchCount(len(b.clips), b.cfg.BatchSize, b.cfg.DropLast)
}

// Order returns the clip indices of an epoch in the order they are batched.
func (b *VideoBatcher) Order(epoch int) []int {
	return epochOrder(len(b.clips), b.cfg.Shuffle, b.cfg.Seed, epoch)
}

// Epoch yields the batches of epoch from.Epoch starting at batch from.Batch.
// A yielded batch is valid until the loop body returns: its memory is
// reused for a later batch. Iteration stops at the first error (a frame
// that fails to decode, or ctx being done).
func (b *VideoBatcher) Epoch(ctx context.Context, from Position) iter.Seq2[*Batch, error] {
	perEpoch := b.BatchesPerEpoch()
	if err := checkPosition(from, perEpoch); err != nil {
		return func(yield func(*Batch, error) bool) { yield(nil, fmt.Errorf("video batches: %w", err)) }
	}
	order := b.Order(from.Epoch)
	bs := b.cfg.BatchSize
	d := b.cfg.Decode
	frameLen := d.C * d.H * d.W
	t := b.cfg.Clip.T
	p := &pipeline[*Batch]{
		workers:  workersOr(b.cfg.Workers),
		prefetch: prefetchOr(b.cfg.Prefetch),
		newBuf: func() *Batch {
			return &Batch{
				Input:  make([]float32, bs*t*frameLen),
				Target: make([]float32, bs*frameLen),
				Video:  make([]int, bs),
				Frame:  make([]int, bs),
				Label:  make([]uint8, bs),
			}
		},
		fill: func(buf *Batch, slot, pos int) error {
			c := b.clips[order[pos]]
			video := b.ds.Videos[c.Video]
			for i := 0; i <= t; i++ {
				f := c.Start + i*b.cfg.Clip.step()
				pix, err := b.frame(c.Video, f)
				if err != nil {
					return fmt.Errorf("video %s frame %d: %w", video.Name, f, err)
				}
				if i < t {
					copy(buf.Input[(slot*t+i)*frameLen:], pix)
				} else {
					copy(buf.Target[slot*frameLen:], pix)
				}
			}
			// finish shortened these slices for the previous batch in
			// this buffer; their capacity is the full batch.
			target := c.Start + b.cfg.Clip.Span()
			buf.Video[:bs][slot], buf.Frame[:bs][slot] = c.Video, target
			buf.Label[:bs][slot] = 0
			if video.Labels != nil {
				buf.Label[:bs][slot] = video.Labels[target]
			}
			return nil
		},
		finish: func(buf *Batch, k, n int) {
			clear(buf.Input[n*t*frameLen:])
			clear(buf.Target[n*frameLen:])
			buf.Video, buf.Frame, buf.Label = buf.Video[:n], buf.Frame[:n], buf.Label[:n]
			buf.N, buf.Epoch, buf.Index = n, from.Epoch, k
		},
	}
	return p.run(ctx, from.Batch, perEpoch, bs, len(order))
}

func (b *VideoBatcher) frame(video, frame int) ([]float32, error) {
	return b.cache.get(int64(video)<<32|int64(frame), func() ([]float32, error) {
		img, err := b.dec.Decode(b.ds.Videos[video].Frames[frame])
		return img.Pix, err
	})
}
