package objects

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
)

// CubeConfig says which boxes become object cubes and how they are cut.
// A cube is T frames centred on the box's frame (f-T/2 .. f+T/2), each the
// box's region ROI-sampled (see roiAlign: torchvision's roi_align) to
// Size x Size, RGB in [0, 1] (gray frames replicated), laid out
// [3, T, Size, Size].
type CubeConfig struct {
	T    int // odd
	Size int
	// Stride takes the boxes of every Stride-th usable frame only (the
	// official code keeps every 5th training frame on ShanghaiTech),
	// counted from the first usable frame as Python's range(start, end,
	// Stride); 1 takes all.
	Stride int
	// Margin skips boxes in the first and last Margin frames of a video,
	// whose cubes would run past its ends: the official code uses frames
	// Margin <= f < n-Margin with Margin = T/2 on test videos and T-1 on
	// training videos. Without Clamp, Margin must be at least T/2.
	Margin int
	// Clamp repeats the first/last frame for cube frames past a video's
	// ends instead (not the official behaviour; use with Margin 0 to give
	// every box a cube).
	Clamp bool
	// Aligned is roi_align's aligned flag; the official code leaves it
	// false (box corners sampled at pixel coordinates as given).
	Aligned bool
	// Sampling is roi_align's sampling_ratio; 0 is its adaptive default
	// (-1 in torchvision): ceil(box side / Size) samples per bin and axis.
	Sampling int
}

// CubeConfigFor returns the official Jigsaw-VAD settings: T = 7 on UCSD
// Ped2 and CUHK Avenue, 9 on ShanghaiTech; 64 x 64; every 5th training
// frame on ShanghaiTech; margins T/2 (test) and T-1 (train).
func CubeConfigFor(dataset string, split data.Split) (CubeConfig, error) {
	c := CubeConfig{T: 7, Size: 64, Stride: 1}
	switch strings.ToLower(dataset) {
	case "ped2", "ped1", "avenue":
	case "shanghaitech", "shanghai":
		c.T = 9
		if split == data.Train {
			c.Stride = 5
		}
	default:
		return c, fmt.Errorf("no Jigsaw-VAD cube settings for dataset %q (it has ped2, avenue, shanghaitech); set T yourself", dataset)
	}
	c.Margin = c.T / 2
	if split == data.Train {
		c.Margin = c.T - 1
	}
	return c, nil
}

// Validate reports settings that cannot make cubes.
func (c CubeConfig) Validate() error {
	var errs []error
	if c.T < 1 || c.T%2 == 0 {
		errs = append(errs, fmt.Errorf("cube length T = %d: want an odd number of frames >= 1", c.T))
	}
	if c.Size < 1 {
		errs = append(errs, fmt.Errorf("cube size %d: want >= 1 (64 as Jigsaw-VAD)", c.Size))
	}
	if c.Stride < 1 {
		errs = append(errs, fmt.Errorf("cube frame stride %d: want >= 1", c.Stride))
	}
	if c.Margin < 0 || (!c.Clamp && c.Margin < c.T/2) {
		errs = append(errs, fmt.Errorf("cube margin %d: want >= T/2 = %d so cubes stay inside the video, or set Clamp", c.Margin, c.T/2))
	}
	if c.Sampling < 0 {
		errs = append(errs, fmt.Errorf("roi sampling ratio %d: want >= 0 (0 adaptive)", c.Sampling))
	}
	return errors.Join(errs...)
}

// Len is the number of float32 values of one cube.
func (c CubeConfig) Len() int { return 3 * c.T * c.Size * c.Size }

// Shape is the cube layout [3, T, Size, Size].
func (c CubeConfig) Shape() []int { return []int{3, c.T, c.Size, c.Size} }

// Select returns the boxes of one video (n frames) that get cubes, in frame
// order: those of the frames Margin, Margin+Stride, ... below n-Margin.
func (c CubeConfig) Select(s *Set, video string, n int) []Box {
	var out []Box
	for f := c.Margin; f < n-c.Margin; f += max(c.Stride, 1) {
		out = append(out, s.Frame(video, f)...)
	}
	return out
}

// frameWindow decodes the frames of one video on demand, each once, while
// the requested frames move forward.
type frameWindow struct {
	v       data.Video
	dec     *imageio.Decoder
	frames  map[int]imageio.Image
	decodes int
}

func (w *frameWindow) get(i int) (imageio.Image, error) {
	if img, ok := w.frames[i]; ok {
		return img, nil
	}
	img, err := w.dec.Decode(w.v.Frames[i])
	if err != nil {
		return imageio.Image{}, err
	}
	w.frames[i] = img
	w.decodes++
	return img, nil
}

// forget drops the frames before i.
func (w *frameWindow) forget(i int) {
	for k := range w.frames {
		if k < i {
			delete(w.frames, k)
		}
	}
}

// ExtractVideo cuts the cubes of boxes (all of video v) and passes each,
// in the order of boxes, to emit; cube is reused after emit returns. Each
// frame is decoded once however many boxes use it, provided boxes are in
// frame order (Select's order); otherwise frames are decoded again.
func ExtractVideo(ctx context.Context, v data.Video, boxes []Box, cfg CubeConfig, emit func(i int, cube []float32) error) error {
	_, err := extractVideo(ctx, v, boxes, cfg, emit)
	return err
}

// extractVideo is ExtractVideo; it also counts the frames decoded.
func extractVideo(ctx context.Context, v data.Video, boxes []Box, cfg CubeConfig, emit func(i int, cube []float32) error) (decodes int, err error) {
	if err := cfg.Validate(); err != nil {
		return 0, err
	}
	dec, err := imageio.NewDecoder(imageio.DecodeOptions{C: 3, Range: imageio.RangeUnit})
	if err != nil {
		return 0, err
	}
	n := len(v.Frames)
	w := &frameWindow{v: v, dec: dec, frames: map[int]imageio.Image{}}
	cube := make([]float32, cfg.Len())
	half := cfg.T / 2
	plane := cfg.Size * cfg.Size
	var size [2]int
	for i, b := range boxes {
		if err := ctx.Err(); err != nil {
			return w.decodes, err
		}
		if b.Video != v.Name {
			return w.decodes, fmt.Errorf("cube %d: box of video %q given for video %s", i, b.Video, v.Name)
		}
		if b.Frame < 0 || b.Frame >= n {
			return w.decodes, fmt.Errorf("video %s frame %d: the video has %d frames", v.Name, b.Frame, n)
		}
		lo, hi := b.Frame-half, b.Frame+half
		if !cfg.Clamp && (lo < 0 || hi >= n) {
			return w.decodes, fmt.Errorf("video %s frame %d: a cube of %d frames needs frames %d-%d but the video has 0-%d; use a margin of at least %d or Clamp", v.Name, b.Frame, cfg.T, lo, hi, n-1, half)
		}
		w.forget(max(lo, 0))
		for t := range cfg.T {
			f := min(max(lo+t, 0), n-1)
			img, err := w.get(f)
			if err != nil {
				return w.decodes, err
			}
			if size == [2]int{} {
				size = [2]int{img.W, img.H}
			} else if size != [2]int{img.W, img.H} {
				return w.decodes, fmt.Errorf("%s is %dx%d but earlier frames of video %s are %dx%d", v.Frames[f], img.W, img.H, v.Name, size[0], size[1])
			}
			// Channel c of frame t starts at (c*T + t) * Size^2.
			roiAlign(cube[t*plane:], cfg.T*plane, img, b, cfg.Size, cfg.Sampling, cfg.Aligned)
		}
		if err := emit(i, cube); err != nil {
			return w.decodes, err
		}
	}
	return w.decodes, nil
}

func (CubeConfig) cacheFormat() string { return CacheFormat }

func (c CubeConfig) extract(ctx context.Context, v data.Video, boxes []Box, emit func(i int, cube []float32) error) error {
	return ExtractVideo(ctx, v, boxes, c, emit)
}
