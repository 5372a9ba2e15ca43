package objects

import (
	"context"
	"errors"
	"fmt"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
)

// ForegroundConfig configures the foreground detector, which finds moving
// regions from temporal gradients the way PKG-Net and HF2VAD add
// "foreground" boxes to an object detector's: per frame t, on gray frames
// in [0, 1],
//
//  1. a pixel moves when |f_t - f_{t-1}| > Threshold and
//     |f_{t+1} - f_t| > Threshold (the three-frame difference, which marks
//     the object where it is at t rather than the union of its positions;
//     with Union, either difference suffices). The first and last frames
//     use their one neighbour;
//  2. the mask is closed (dilated then eroded) with a (2*Close+1)^2 square,
//     which fills holes and joins parts up to 2*Close px apart without
//     growing the regions, then dilated with a (2*Dilate+1)^2 square;
//  3. each 8-connected component of at least MinArea pixels gives a box
//     around its pixels (x2 = last column + 1) with score 1 and class -1.
type ForegroundConfig struct {
	Threshold float64
	Union     bool
	Close     int
	Dilate    int
	MinArea   int
}

// DefaultForegroundConfig returns threshold 20/255, closing radius 2, no
// extra dilation and components of at least 100 pixels (HF2VAD's minimum
// box area on Ped2 is 10x10).
func DefaultForegroundConfig() ForegroundConfig {
	return ForegroundConfig{Threshold: 20.0 / 255, Close: 2, MinArea: 100}
}

func (c ForegroundConfig) validate() error {
	var errs []error
	if c.Threshold <= 0 || c.Threshold >= 1 {
		errs = append(errs, fmt.Errorf("foreground threshold %g: want 0 < t < 1 (gray levels in 0..1; 20/255 = 0.078)", c.Threshold))
	}
	if c.Close < 0 || c.Dilate < 0 {
		errs = append(errs, fmt.Errorf("foreground close %d, dilate %d: radii are >= 0", c.Close, c.Dilate))
	}
	if c.MinArea < 1 {
		errs = append(errs, fmt.Errorf("foreground minimum area %d: want >= 1 pixel", c.MinArea))
	}
	return errors.Join(errs...)
}

// Foreground is the temporal-gradient foreground detector.
type Foreground struct {
	cfg ForegroundConfig
}

// NewForeground checks cfg.
func NewForeground(cfg ForegroundConfig) (*Foreground, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Foreground{cfg: cfg}, nil
}

// DetectVideo decodes every frame of v once (gray) and emits the moving
// regions of each.
func (f *Foreground) DetectVideo(ctx context.Context, v data.Video, emit func(frame int, boxes []Box) error) error {
	dec, err := imageio.NewDecoder(imageio.DecodeOptions{C: 1, Range: imageio.RangeUnit})
	if err != nil {
		return err
	}
	n := len(v.Frames)
	// A window of three decoded frames slides over the video.
	win := make([]imageio.Image, n)
	load := func(i int) error {
		if i < 0 || i >= n || win[i].Pix != nil {
			return nil
		}
		img, err := dec.Decode(v.Frames[i])
		if err != nil {
			return err
		}
		if i > 0 && win[i-1].Pix != nil && (img.W != win[i-1].W || img.H != win[i-1].H) {
			return fmt.Errorf("%s is %dx%d but %s is %dx%d; frames of a video must share one size", v.Frames[i], img.W, img.H, v.Frames[i-1], win[i-1].W, win[i-1].H)
		}
		win[i] = img
		return nil
	}
	for t := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, i := range []int{t - 1, t, t + 1} {
			if err := load(i); err != nil {
				return err
			}
		}
		if t >= 2 {
			win[t-2] = imageio.Image{} // no longer needed
		}
		var prev, next *imageio.Image
		if t > 0 {
			prev = &win[t-1]
		}
		if t+1 < n {
			next = &win[t+1]
		}
		boxes := f.FrameBoxes(prev, &win[t], next)
		for j := range boxes {
			boxes[j].Video, boxes[j].Frame = v.Name, t
		}
		if err := emit(t, boxes); err != nil {
			return err
		}
	}
	return nil
}

// FrameBoxes finds the moving regions of cur given its neighbours (either
// may be nil; with both nil nothing moves); all are gray (C=1) images of
// one size. Video and Frame of the boxes are left empty.
func (f *Foreground) FrameBoxes(prev, cur, next *imageio.Image) []Box {
	if prev == nil && next == nil {
		return nil
	}
	w, h := cur.W, cur.H
	thr := float32(f.cfg.Threshold)
	mask := make([]bool, w*h)
	for i, v := range cur.Pix[:w*h] {
		var a, b bool
		if prev != nil {
			a = abs32(v-prev.Pix[i]) > thr
		}
		if next != nil {
			b = abs32(next.Pix[i]-v) > thr
		}
		switch {
		case prev == nil:
			mask[i] = b
		case next == nil:
			mask[i] = a
		case f.cfg.Union:
			mask[i] = a || b
		default:
			mask[i] = a && b
		}
	}
	if r := f.cfg.Close; r > 0 {
		mask = closing(mask, w, h, r)
	}
	if r := f.cfg.Dilate; r > 0 {
		mask = morph(mask, w, h, r, false)
	}
	return componentBoxes(mask, w, h, f.cfg.MinArea)
}

func abs32(v float32) float32 {
	if v < 0 {
		return -v
	}
	return v
}

// closing dilates then erodes m with a (2r+1)^2 square. It works on m
// padded by r empty pixels per side, so the dilation can spread past the
// border and the erosion takes it back: an object near the border keeps
// its extent, and one touching it is not eaten.
func closing(m []bool, w, h, r int) []bool {
	pw, ph := w+2*r, h+2*r
	p := make([]bool, pw*ph)
	for y := range h {
		copy(p[(y+r)*pw+r:], m[y*w:(y+1)*w])
	}
	p = morph(morph(p, pw, ph, r, false), pw, ph, r, true)
	out := make([]bool, w*h)
	for y := range h {
		copy(out[y*w:(y+1)*w], p[(y+r)*pw+r:])
	}
	return out
}

// morph dilates (erode false) or erodes a mask with a (2r+1)^2 square,
// separably through running counts. Outside the image counts as empty for
// dilation and as set for erosion.
func morph(m []bool, w, h, r int, erode bool) []bool {
	pass := func(src []bool, n, count int, at func(line, k int) int) []bool {
		dst := make([]bool, len(src))
		for line := range count {
			// ones counts set pixels in the window [k-r, k+r] clipped to the line.
			ones := 0
			for k := 0; k <= min(r, n-1); k++ {
				if src[at(line, k)] {
					ones++
				}
			}
			for k := range n {
				lo, hi := max(k-r, 0), min(k+r, n-1)
				if erode {
					dst[at(line, k)] = ones == hi-lo+1
				} else {
					dst[at(line, k)] = ones > 0
				}
				if out := k - r; out >= 0 && src[at(line, out)] {
					ones--
				}
				if in := k + r + 1; in < n && src[at(line, in)] {
					ones++
				}
			}
		}
		return dst
	}
	m = pass(m, w, h, func(y, x int) int { return y*w + x })
	return pass(m, h, w, func(x, y int) int { return y*w + x })
}

// componentBoxes returns the bounding boxes of the 8-connected components
// of m with at least minArea pixels, in raster order of their first pixel.
func componentBoxes(m []bool, w, h, minArea int) []Box {
	seen := make([]bool, len(m))
	var boxes []Box
	var stack []int
	for start, on := range m {
		if !on || seen[start] {
			continue
		}
		seen[start] = true
		stack = append(stack[:0], start)
		x1, y1, x2, y2, area := w, h, -1, -1, 0
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%w, p/w
			area++
			x1, y1, x2, y2 = min(x1, x), min(y1, y), max(x2, x), max(y2, y)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					q := ny*w + nx
					if m[q] && !seen[q] {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		if area >= minArea {
			boxes = append(boxes, Box{X1: float64(x1), Y1: float64(y1), X2: float64(x2 + 1), Y2: float64(y2 + 1), Score: 1, Class: -1})
		}
	}
	return boxes
}
