package imageio

import "image"

// This file turns image/jpeg's YCbCr planes into RGB as libjpeg does by
// default (libjpeg-turbo is what PIL decodes with): image/jpeg leaves the
// chroma planes subsampled and image/color takes the nearest chroma sample,
// while libjpeg interpolates chroma with its "fancy" triangle filter. On
// colour 4:2:0 JPEGs that alone moves edge pixels by tens of levels. What
// remains is the inverse DCT, which differs by at most a level on a few
// per cent of pixels.

// libjpegRGB converts y to R, G and B planes of its size: chroma upsampled
// as libjpeg's h2v2 and h2v1 fancy upsamplers do (4:2:0, 4:2:2), other
// subsamplings by repetition as libjpeg's box upsamplers do, then
// converted with libjpeg's fixed-point tables (jdcolor.c).
func libjpegRGB(y *image.YCbCr) (r, g, b []uint8) {
	w, h := y.Rect.Dx(), y.Rect.Dy()
	cb, cr := fullChroma(y, y.Cb), fullChroma(y, y.Cr)
	n := w * h
	r, g, b = make([]uint8, n), make([]uint8, n), make([]uint8, n)
	for j := range h {
		row := y.Y[y.YOffset(y.Rect.Min.X, y.Rect.Min.Y+j):][:w]
		for i, yy := range row {
			k := j*w + i
			r[k], g[k], b[k] = libjpegYCC(int32(yy), int32(cb[k]), int32(cr[k]))
		}
	}
	return r, g, b
}

// libjpegYCC is jdcolor.c's ycc_rgb_convert for one pixel: 16-bit fixed
// point, the red and blue terms rounded alone, the green sum rounded once.
func libjpegYCC(y, cb, cr int32) (r, g, b uint8) {
	const (
		half = 1 << 15
		crR  = 91881  // FIX(1.40200)
		cbB  = 116130 // FIX(1.77200)
		crG  = 46802  // FIX(0.71414)
		cbG  = 22554  // FIX(0.34414)
	)
	cb, cr = cb-128, cr-128
	return clamp8(y + (crR*cr+half)>>16), clamp8(y + (-cbG*cb+half-crG*cr)>>16), clamp8(y + (cbB*cb+half)>>16)
}

func clamp8(v int32) uint8 {
	return uint8(min(max(v, 0), 255))
}

// fullChroma returns plane c of y (Cb or Cr) at the luma resolution.
func fullChroma(y *image.YCbCr, c []uint8) []uint8 {
	w, h := y.Rect.Dx(), y.Rect.Dy()
	cw, ch := chromaSize(y.SubsampleRatio, w, h)
	base := y.COffset(y.Rect.Min.X, y.Rect.Min.Y)
	at := func(i, j int) uint8 { return c[base+j*y.CStride+i] }
	out := make([]uint8, w*h)
	switch {
	case y.SubsampleRatio == image.YCbCrSubsampleRatio420 && cw > 2:
		// h2v2_fancy_upsample: per output row, column sums of 3x the
		// nearest chroma row and 1x the next nearest (edge rows
		// repeated), then 3:1 between columns; the +8/+7 biases alternate
		// so that halves do not always round up.
		sum := make([]int32, cw)
		line := make([]uint8, 2*cw)
		for oy := range h {
			near, far := oy/2, oy/2-1
			if oy%2 == 1 {
				far = oy/2 + 1
			}
			far = min(max(far, 0), ch-1)
			for i := range cw {
				sum[i] = 3*int32(at(i, near)) + int32(at(i, far))
			}
			line[0] = uint8((4*sum[0] + 8) >> 4)
			line[1] = uint8((3*sum[0] + sum[1] + 7) >> 4)
			for i := 1; i < cw-1; i++ {
				line[2*i] = uint8((3*sum[i] + sum[i-1] + 8) >> 4)
				line[2*i+1] = uint8((3*sum[i] + sum[i+1] + 7) >> 4)
			}
			last := cw - 1
			line[2*last] = uint8((3*sum[last] + sum[last-1] + 8) >> 4)
			line[2*last+1] = uint8((4*sum[last] + 7) >> 4)
			copy(out[oy*w:(oy+1)*w], line)
		}
	case y.SubsampleRatio == image.YCbCrSubsampleRatio422 && cw > 2:
		// h2v1_fancy_upsample: 3:1 between columns, biases +1/+2.
		line := make([]uint8, 2*cw)
		for oy := range h {
			v := func(i int) int32 { return int32(at(i, oy)) }
			line[0] = uint8(v(0))
			line[1] = uint8((3*v(0) + v(1) + 2) >> 2)
			for i := 1; i < cw-1; i++ {
				line[2*i] = uint8((3*v(i) + v(i-1) + 1) >> 2)
				line[2*i+1] = uint8((3*v(i) + v(i+1) + 2) >> 2)
			}
			last := cw - 1
			line[2*last] = uint8((3*v(last) + v(last-1) + 1) >> 2)
			line[2*last+1] = uint8(v(last))
			copy(out[oy*w:(oy+1)*w], line)
		}
	default:
		// Full-size chroma, or a subsampling libjpeg repeats samples for.
		for j := range h {
			for i := range w {
				out[j*w+i] = c[y.COffset(y.Rect.Min.X+i, y.Rect.Min.Y+j)]
			}
		}
	}
	return out
}

// chromaSize is the size of a chroma plane of a w x h image.
func chromaSize(r image.YCbCrSubsampleRatio, w, h int) (cw, ch int) {
	switch r {
	case image.YCbCrSubsampleRatio420:
		return (w + 1) / 2, (h + 1) / 2
	case image.YCbCrSubsampleRatio422:
		return (w + 1) / 2, h
	case image.YCbCrSubsampleRatio440:
		return w, (h + 1) / 2
	case image.YCbCrSubsampleRatio411:
		return (w + 3) / 4, h
	case image.YCbCrSubsampleRatio410:
		return (w + 3) / 4, (h + 1) / 2
	}
	return w, h
}
