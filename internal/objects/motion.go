package objects

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/imageio"
)

// STCBoxConfig holds the per-dataset thresholds of HF2VAD's and PKG-Net's
// box extraction (DATASET_CFGS in hf2vad pre_process/extract_bboxes.py and
// PKG-Net get_STC.py, the same values), which VEC's published boxes were
// made with (yuguangnudt/VEC_VAD, fore_det/obj_det_with_motion.py).
//
// Appearance boxes, from a COCO detector with all classes kept:
//
//  1. keep score > Score;
//  2. keep (x2-x1+1)*(y2-y1+1) >= MinArea (the +1 pixel convention);
//  3. visit the boxes by area (same +1 convention), smallest first, and drop
//     a box when its intersection (+1 convention, clamped at 0) with any
//     box after it in that order, divided by its own area, is > Cover
//     (later boxes count whether or not they are dropped themselves). The
//     boxes kept come out smallest first. numpy's argsort is not stable;
//     fmam keeps the detector's order among equal areas.
//
// Motion boxes, from frames t-1, t, t+1 (the first/last frame of a video
// repeats itself for its missing neighbour, border_mode "hard"), on the
// 8-bit B, G, R channels of each frame:
//
//  1. blur each frame with cv2.GaussianBlur(Gauss x Gauss, sigma 0), which
//     for sizes 3 and 5 is the binomial kernel [1 2 1]/4, [1 4 6 4 1]/16
//     per axis, reflect-101 borders, rounded to 8 bits;
//  2. sum |blur(t-1) - blur(t)| + |blur(t) - blur(t+1)| per channel in uint8
//     arithmetic (numpy's uint8 sum wraps modulo 256, and the official code
//     has this wrap; fmam keeps it so its boxes follow the same rule);
//  3. a pixel is set when the sum is > Binary in any channel (the
//     threshold to 255, then BGR2GRAY, is non-zero then);
//  4. blank every appearance box, its corners truncated to integers, grown
//     by 2 px and clipped, both ends inclusive: rows max(0, y1-2) ..
//     min(y2+2, H-1), the same for columns;
//  5. take the bounding rectangles x, y, w, h of the external contours
//     (cv2.findContours RETR_EXTERNAL + boundingRect: these are the
//     bounding boxes of the 8-connected components of set pixels that do
//     not lie inside a hole of another component; the image border counts
//     as background, as OpenCV pads it);
//  6. keep (w+1)*(h+1) > ContourMinArea with w/h < 10 and h/w < 10, as the
//     box max(0, x-2), max(0, y-2), min(x+w+2, W), min(y+h+2, H).
//
// A frame's STC boxes are its appearance boxes followed by its motion
// boxes.
type STCBoxConfig struct {
	Score          float64 // conf_thr
	MinArea        float64 // min_area
	Cover          float64 // cover_thr
	Binary         int     // binary_thr, on the summed 8-bit gradient
	Gauss          int     // gauss_mask_size: 3 or 5
	ContourMinArea int     // contour_min_area
}

// STCBoxConfigFor returns DATASET_CFGS for ped2, avenue and shanghaitech.
func STCBoxConfigFor(dataset string) (STCBoxConfig, error) {
	switch strings.ToLower(dataset) {
	case "ped2":
		return STCBoxConfig{Score: 0.5, MinArea: 10 * 10, Cover: 0.6, Binary: 18, Gauss: 3, ContourMinArea: 10 * 10}, nil
	case "avenue":
		return STCBoxConfig{Score: 0.25, MinArea: 40 * 40, Cover: 0.6, Binary: 18, Gauss: 5, ContourMinArea: 40 * 40}, nil
	case "shanghaitech", "shanghai", "shtech":
		return STCBoxConfig{Score: 0.5, MinArea: 8 * 8, Cover: 0.65, Binary: 15, Gauss: 5, ContourMinArea: 40 * 40}, nil
	}
	return STCBoxConfig{}, fmt.Errorf("no HF2VAD box thresholds for dataset %q (they exist for ped2, avenue, shanghaitech); set them yourself", dataset)
}

// Validate reports settings that cannot be used.
func (c STCBoxConfig) Validate() error {
	if c.Gauss != 3 && c.Gauss != 5 {
		return fmt.Errorf("STC Gaussian size %d: use 3 or 5 (the sizes HF2VAD uses)", c.Gauss)
	}
	if c.Score < 0 || c.Score >= 1 || c.MinArea < 0 || c.Cover < 0 || c.Binary < 0 || c.Binary > 255 || c.ContourMinArea < 0 {
		return fmt.Errorf("STC box thresholds %+v: want 0 <= score < 1, 0 <= binary <= 255 and non-negative areas and cover", c)
	}
	return nil
}

// AppearanceBoxes applies steps 1-3 of the appearance boxes to the
// detections of one frame; the input is not modified.
func (c STCBoxConfig) AppearanceBoxes(dets []Box) []Box {
	area := func(b Box) float64 { return (b.X2 - b.X1 + 1) * (b.Y2 - b.Y1 + 1) }
	var in []Box
	for _, b := range dets {
		if b.Score > c.Score && area(b) >= c.MinArea {
			in = append(in, b)
		}
	}
	slices.SortStableFunc(in, func(a, b Box) int { return cmp.Compare(area(a), area(b)) })
	var out []Box
	for i, b := range in {
		covered := false
		for _, o := range in[i+1:] {
			w := max(0, min(b.X2, o.X2)-max(b.X1, o.X1)+1)
			h := max(0, min(b.Y2, o.Y2)-max(b.Y1, o.Y1)+1)
			if w*h/area(b) > c.Cover {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, b)
		}
	}
	return out
}

// MotionBoxes applies steps 1-6 of the motion boxes to frames prev, cur,
// next (C=3, values 0..255 as imageio.RangeByte decodes them, one size; pass
// cur again for a missing neighbour) and the frame's appearance boxes.
// Boxes have Score 1 and Class -1, Video and Frame empty.
func (c STCBoxConfig) MotionBoxes(prev, cur, next imageio.Image, appearance []Box) []Box {
	w, h := cur.W, cur.H
	n := w * h
	mask := make([]bool, n)
	bp, bc, bn := blur8(prev, c.Gauss), blur8(cur, c.Gauss), blur8(next, c.Gauss)
	for i := range cur.C * n {
		d1 := uint8(absDiff8(bp[i], bc[i]))
		d2 := uint8(absDiff8(bc[i], bn[i]))
		if int(d1+d2) > c.Binary { // uint8 sum: wraps as numpy's
			mask[i%n] = true
		}
	}
	for _, b := range appearance {
		x1, y1 := max(0, int(b.X1)-2), max(0, int(b.Y1)-2)
		x2, y2 := min(int(b.X2)+2, w-1), min(int(b.Y2)+2, h-1)
		for y := y1; y <= y2; y++ {
			for x := x1; x <= x2; x++ {
				mask[y*w+x] = false
			}
		}
	}
	var out []Box
	for _, r := range externalRects(mask, w, h) {
		x, y, rw, rh := r[0], r[1], r[2], r[3]
		if (rw+1)*(rh+1) > c.ContourMinArea && float64(rw)/float64(rh) < 10 && float64(rh)/float64(rw) < 10 {
			out = append(out, Box{
				X1: float64(max(0, x-2)), Y1: float64(max(0, y-2)),
				X2: float64(min(x+rw+2, w)), Y2: float64(min(y+rh+2, h)),
				Score: 1, Class: -1,
			})
		}
	}
	return out
}

func absDiff8(a, b uint8) uint8 {
	if a > b {
		return a - b
	}
	return b - a
}

// blur8 rounds img (values 0..255) to 8 bits and blurs each channel with
// OpenCV's fixed Gaussian kernel of size k (3 or 5, sigma 0: binomial),
// reflect-101 borders, rounding half up as OpenCV's fixed-point 8-bit path.
func blur8(img imageio.Image, k int) []uint8 {
	kern := []int{1, 2, 1}
	if k == 5 {
		kern = []int{1, 4, 6, 4, 1}
	}
	r := k / 2
	total := 0
	for _, v := range kern {
		total += v
	}
	total *= total
	w, h := img.W, img.H
	refl := func(i, n int) int {
		if n == 1 {
			return 0
		}
		for i < 0 || i >= n {
			if i < 0 {
				i = -i
			}
			if i >= n {
				i = 2*(n-1) - i
			}
		}
		return i
	}
	out := make([]uint8, img.C*w*h)
	src := make([]int, w*h)
	tmp := make([]int, w*h)
	for c := range img.C {
		for i := range src {
			src[i] = int(min(max(math.Round(float64(img.Pix[c*w*h+i])), 0), 255))
		}
		for y := range h {
			for x := range w {
				s := 0
				for j, kv := range kern {
					s += kv * src[y*w+refl(x+j-r, w)]
				}
				tmp[y*w+x] = s
			}
		}
		for y := range h {
			for x := range w {
				s := 0
				for j, kv := range kern {
					s += kv * tmp[refl(y+j-r, h)*w+x]
				}
				out[c*w*h+y*w+x] = uint8((2*s + total) / (2 * total)) // round half up
			}
		}
	}
	return out
}

// externalRects returns x, y, w, h (w = last column - x + 1) of the
// 8-connected components of m that are not inside a hole of another
// component, in raster order of their first pixel: what
// cv2.findContours(RETR_EXTERNAL) + cv2.boundingRect give. A component is
// external when the pixel above its first pixel (in raster order) is
// outside the image or in the background 4-connected to the image border.
func externalRects(m []bool, w, h int) [][4]int {
	outer := make([]bool, len(m))
	var stack []int
	push := func(i int) {
		if !m[i] && !outer[i] {
			outer[i] = true
			stack = append(stack, i)
		}
	}
	for x := range w {
		push(x)
		push((h-1)*w + x)
	}
	for y := range h {
		push(y * w)
		push(y*w + w - 1)
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		x, y := p%w, p/w
		if x > 0 {
			push(p - 1)
		}
		if x < w-1 {
			push(p + 1)
		}
		if y > 0 {
			push(p - w)
		}
		if y < h-1 {
			push(p + w)
		}
	}
	seen := make([]bool, len(m))
	var out [][4]int
	for start, on := range m {
		if !on || seen[start] {
			continue
		}
		seen[start] = true
		stack = append(stack[:0], start)
		x1, y1, x2, y2 := w, h, -1, -1
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			x, y := p%w, p/w
			x1, y1, x2, y2 = min(x1, x), min(y1, y), max(x2, x), max(y2, y)
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					nx, ny := x+dx, y+dy
					if nx < 0 || ny < 0 || nx >= w || ny >= h {
						continue
					}
					if q := ny*w + nx; m[q] && !seen[q] {
						seen[q] = true
						stack = append(stack, q)
					}
				}
			}
		}
		if start < w || outer[start-w] {
			out = append(out, [4]int{x1, y1, x2 - x1 + 1, y2 - y1 + 1})
		}
	}
	return out
}
