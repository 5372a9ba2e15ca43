package objects

import (
	"math"

	"github.com/fmam/fmam/internal/imageio"
)

// roiAlign crops box from every channel of img into an out x out grid
// written to dst[c*cStride + y*out + x], exactly as torchvision's
// ops.roi_align(input, [box], output_size=out, spatial_scale=1,
// sampling_ratio, aligned) computes it (its CPU kernel, in float64 here):
//
//   - the box is taken as is (aligned=false, Jigsaw-VAD's call) or shifted
//     by -0.5 px (aligned=true, pixel centres at i+0.5); with aligned=false
//     the box is at least 1 px wide and high;
//   - it is cut into out x out bins; each bin averages g_h x g_w bilinear
//     samples at the centres of a regular sub-grid, g = sampling (when > 0)
//     or ceil(box side / out) per axis;
//   - a sample at (y, x), with pixel i at coordinate i, is 0 when y < -1,
//     y > H, x < -1 or x > W; otherwise it is clamped to [0, H-1] x [0, W-1]
//     and interpolated from its four neighbours.
func roiAlign(dst []float32, cStride int, img imageio.Image, b Box, out, sampling int, aligned bool) {
	off := 0.0
	if aligned {
		off = 0.5
	}
	x0, y0 := b.X1-off, b.Y1-off
	rw, rh := b.X2-off-x0, b.Y2-off-y0
	if !aligned {
		rw, rh = max(rw, 1), max(rh, 1)
	}
	binW, binH := rw/float64(out), rh/float64(out)
	gw, gh := sampling, sampling
	if sampling <= 0 {
		gw, gh = int(math.Ceil(rw/float64(out))), int(math.Ceil(rh/float64(out)))
	}
	count := float64(max(gw*gh, 1))
	// Per-axis sample taps are the same for every bin row/column and
	// channel: compute them once.
	xs := sampleTaps(x0, binW, gw, out, img.W)
	ys := sampleTaps(y0, binH, gh, out, img.H)
	n := img.H * img.W
	W := img.W
	for c := range img.C {
		src := img.Pix[c*n : (c+1)*n]
		plane := dst[c*cStride : c*cStride+out*out]
		for py := range out {
			row := plane[py*out : (py+1)*out]
			for px := range row {
				sum := 0.0
				for _, ty := range ys[py*gh : (py+1)*gh] {
					if ty.zero {
						continue
					}
					o0, o1, fy := ty.lo*W, ty.hi*W, ty.f
					for _, tx := range xs[px*gw : (px+1)*gw] {
						if tx.zero {
							continue
						}
						a, b := float64(src[o0+tx.lo]), float64(src[o0+tx.hi])
						c, d := float64(src[o1+tx.lo]), float64(src[o1+tx.hi])
						top := a + (b-a)*tx.f
						sum += top + (c+(d-c)*tx.f-top)*fy
					}
				}
				row[px] = float32(sum / count)
			}
		}
	}
}

// tap is one bilinear sample position along an axis.
type tap struct {
	lo, hi int
	f      float64 // weight of hi
	zero   bool    // outside the image by more than 1 px: the sample is 0
}

// sampleTaps lists, for each of out bins, its g sample taps along one axis
// of size n starting at start with bins of size bin.
func sampleTaps(start, bin float64, g, out, n int) []tap {
	taps := make([]tap, 0, out*g)
	for p := range out {
		for i := range g {
			v := start + float64(p)*bin + (float64(i)+0.5)*bin/float64(g)
			if v < -1 || v > float64(n) {
				taps = append(taps, tap{zero: true})
				continue
			}
			v = max(v, 0)
			lo := int(v)
			var hi int
			if lo >= n-1 {
				lo, hi, v = n-1, n-1, float64(n-1)
			} else {
				hi = lo + 1
			}
			taps = append(taps, tap{lo: lo, hi: hi, f: v - float64(lo)})
		}
	}
	return taps
}
