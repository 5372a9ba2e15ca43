package imageio

import (
	"image"
	"math"

	"golang.org/x/image/draw"
)

// pilBits is PIL's PRECISION_BITS for 8-bit images: weights are fixed point
// with 22 fractional bits, leaving 8 bits for the value and 2 for overflow
// of filters with negative lobes.
const pilBits = 32 - 8 - 2

// pilAxis holds the weights of PIL's resize along one axis, computed as
// Pillow's precompute_coeffs and normalize_coeffs_8bpc do (Resample.c):
// output pixel i reads n[i] source pixels from start[i] with weights
// k[i*ksize:][:n[i]].
type pilAxis struct {
	ksize    int
	start, n []int
	k        []int32
}

// triangle is PIL's bilinear filter, support 1.
func triangle(x float64) float64 {
	x = math.Abs(x)
	if x < 1 {
		return 1 - x
	}
	return 0
}

// newPILAxis computes the weights for resizing in pixels to out. The
// operations follow Pillow's order so that the weights, and the rounding
// of the results, are PIL's own.
func newPILAxis(in, out int) pilAxis {
	scale := float64(in) / float64(out)
	filterscale := max(scale, 1) // widen the filter when shrinking
	support := 1 * filterscale
	ksize := int(math.Ceil(support))*2 + 1
	ax := pilAxis{ksize: ksize, start: make([]int, out), n: make([]int, out), k: make([]int32, out*ksize)}
	w := make([]float64, ksize)
	for i := range out {
		center := (float64(i) + 0.5) * scale
		ss := 1 / filterscale
		// Conversions truncate toward zero, as C's (int) does.
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in) - lo
		total := 0.0
		for x := range hi {
			w[x] = triangle((float64(x+lo) - center + 0.5) * ss)
			total += w[x]
		}
		for x := range hi {
			if total != 0 {
				w[x] /= total
			}
			v := w[x] * (1 << pilBits)
			if v < 0 {
				ax.k[i*ksize+x] = int32(v - 0.5)
			} else {
				ax.k[i*ksize+x] = int32(v + 0.5)
			}
		}
		ax.start[i], ax.n[i] = lo, hi
	}
	return ax
}

// clip8 turns a fixed-point sum into an 8-bit value as PIL's clip8 does:
// an arithmetic shift (floor), then saturation.
func clip8(ss int32) uint8 {
	v := ss >> pilBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}

// pilResizer resizes 8-bit planes of one source size as PIL's
// ImagingResample does for mode "L" (and each band of "RGB"): a horizontal
// pass over the rows the vertical pass reads, rounded to 8 bits, then a
// vertical pass, rounded again. A pass whose size does not change is
// skipped. It is read-only once made, so it is safe for concurrent use.
type pilResizer struct {
	sw, sh, dw, dh int
	hor, ver       pilAxis
}

func newPILResizer(sw, sh, dw, dh int) *pilResizer {
	return &pilResizer{sw: sw, sh: sh, dw: dw, dh: dh, hor: newPILAxis(sw, dw), ver: newPILAxis(sh, dh)}
}

// resize returns the dw x dh plane for the sw x sh plane src.
func (r *pilResizer) resize(src []uint8) []uint8 {
	needH, needV := r.dw != r.sw, r.dh != r.sh
	if !needH && !needV {
		return src
	}
	cur, width, first := src, r.sw, 0
	if needH {
		// Only the source rows the vertical pass reads.
		first = r.ver.start[0]
		last := r.ver.start[r.dh-1] + r.ver.n[r.dh-1]
		tmp := make([]uint8, (last-first)*r.dw)
		ax := &r.hor
		for y := first; y < last; y++ {
			row := src[y*r.sw : (y+1)*r.sw]
			out := tmp[(y-first)*r.dw : (y-first+1)*r.dw]
			for x := range out {
				k := ax.k[x*ax.ksize:][:ax.n[x]]
				px := row[ax.start[x]:][:len(k)]
				ss := int32(1 << (pilBits - 1))
				for t, w := range k {
					ss += int32(px[t]) * w
				}
				out[x] = clip8(ss)
			}
		}
		cur, width = tmp, r.dw
	}
	if !needV {
		return cur
	}
	out := make([]uint8, r.dh*width)
	acc := make([]int32, width)
	ax := &r.ver
	for y := range r.dh {
		for x := range acc {
			acc[x] = 1 << (pilBits - 1)
		}
		k := ax.k[y*ax.ksize:][:ax.n[y]]
		for t, w := range k {
			row := cur[(ax.start[y]-first+t)*width:][:width]
			for x, v := range row {
				acc[x] += int32(v) * w
			}
		}
		dst := out[y*width : (y+1)*width]
		for x, ss := range acc {
			dst[x] = clip8(ss)
		}
	}
	return out
}

// pilPlanes returns the 8-bit planes PIL would resize for an output of c
// channels: one L plane for gray sources and for c = 1 (PIL's convert("L")
// of the RGB image), else R, G and B. Colour sources become RGB as PIL's
// convert("RGB") does: alpha is dropped, not composited, and JPEG's YCbCr
// is converted as libjpeg does (libjpegRGB).
func pilPlanes(src image.Image, c int) [][]uint8 {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if g, ok := src.(*image.Gray); ok {
		p := make([]uint8, w*h)
		for y := range h {
			copy(p[y*w:(y+1)*w], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return [][]uint8{p}
	}
	n := w * h
	if yc, ok := src.(*image.YCbCr); ok {
		r, g, bl := libjpegRGB(yc)
		if c == 3 {
			return [][]uint8{r, g, bl}
		}
		l := make([]uint8, n)
		for i := range l {
			l[i] = pilLuma(r[i], g[i], bl[i])
		}
		return [][]uint8{l}
	}
	var pix []uint8 // RGBA-ordered, stride 4*w
	if nr, ok := src.(*image.NRGBA); ok {
		pix = make([]uint8, 4*n)
		for y := range h {
			copy(pix[4*w*y:4*w*(y+1)], nr.Pix[nr.PixOffset(b.Min.X, b.Min.Y+y):])
		}
	} else {
		rgba := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.Draw(rgba, rgba.Bounds(), src, b.Min, draw.Src)
		pix = rgba.Pix
	}
	if c == 1 {
		l := make([]uint8, n)
		for i := range l {
			l[i] = pilLuma(pix[4*i], pix[4*i+1], pix[4*i+2])
		}
		return [][]uint8{l}
	}
	planes := [][]uint8{make([]uint8, n), make([]uint8, n), make([]uint8, n)}
	for i := range n {
		planes[0][i], planes[1][i], planes[2][i] = pix[4*i], pix[4*i+1], pix[4*i+2]
	}
	return planes
}

// pilLuma is PIL's RGB to L conversion (Convert.c): ITU-R 601 luma in
// 16-bit fixed point, rounded.
func pilLuma(r, g, b uint8) uint8 {
	return uint8((uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16)
}
