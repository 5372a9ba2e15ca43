package synth

import "math"

// rotatePlanes rotates each of the c planes of an h×w CHW buffer by deg
// degrees about the image centre, with bilinear interpolation and black (0)
// outside the source, which is what imgaug's Affine(rotate=...) does with its
// defaults (order=1, mode="constant", cval=0) in the DRAEM reference.
func rotatePlanes(src []float32, c, h, w int, deg float64) []float32 {
	dst := make([]float32, len(src))
	plane := h * w
	sin, cos := math.Sincos(deg * math.Pi / 180)
	cy, cx := float64(h-1)/2, float64(w-1)/2
	for y := range h {
		dy := float64(y) - cy
		for x := range w {
			dx := float64(x) - cx
			// Inverse mapping: where in the source does output (y, x) come from.
			sx := cos*dx + sin*dy + cx
			sy := -sin*dx + cos*dy + cy
			x0f, y0f := math.Floor(sx), math.Floor(sy)
			x0, y0 := int(x0f), int(y0f)
			ax, ay := float32(sx-x0f), float32(sy-y0f)
			if x0 < -1 || y0 < -1 || x0 >= w || y0 >= h {
				continue // all four neighbours are outside: stays 0
			}
			w00, w01 := (1-ay)*(1-ax), (1-ay)*ax
			w10, w11 := ay*(1-ax), ay*ax
			in00 := x0 >= 0 && y0 >= 0
			in01 := x0+1 < w && y0 >= 0
			in10 := x0 >= 0 && y0+1 < h
			in11 := x0+1 < w && y0+1 < h
			i00 := y0*w + x0
			o := y*w + x
			for k := range c {
				base := k * plane
				var v float32
				if in00 {
					v += w00 * src[base+i00]
				}
				if in01 {
					v += w01 * src[base+i00+1]
				}
				if in10 {
					v += w10 * src[base+i00+w]
				}
				if in11 {
					v += w11 * src[base+i00+w+1]
				}
				dst[base+o] = v
			}
		}
	}
	return dst
}
