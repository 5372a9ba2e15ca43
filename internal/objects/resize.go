package objects

import (
	"fmt"
	"math"

	"github.com/fmam/fmam/internal/imageio"
)

// Interp is the bilinear sampling rule used to resize frames for a
// detector; exporters' preprocessing differs and detectors are sensitive
// to it. Neither rule antialiases when shrinking.
type Interp string

const (
	// HalfPixel samples at src = (dst + 0.5) * in/out - 0.5, clamped to
	// the image: OpenCV's INTER_LINEAR (ultralytics' letterbox), PyTorch's
	// align_corners=False, ONNX Resize half_pixel.
	HalfPixel Interp = "half-pixel"
	// Asymmetric samples at src = dst * in/out: TF1's resize_bilinear with
	// align_corners=False, half_pixel_centers=False (TF.js models such as
	// the shared CenterNet), ONNX Resize asymmetric.
	Asymmetric Interp = "asymmetric"
)

// ParseInterp validates an interpolation name.
func ParseInterp(s string) (Interp, error) {
	switch Interp(s) {
	case HalfPixel, Asymmetric:
		return Interp(s), nil
	case "":
		return HalfPixel, nil
	}
	return "", fmt.Errorf("unknown interpolation %q: use half-pixel or asymmetric", s)
}

// axisTaps gives, for each output index, the two source indices and the
// weight of the second.
func axisTaps(in, out int, mode Interp) (i0, i1 []int, w1 []float32) {
	i0, i1, w1 = make([]int, out), make([]int, out), make([]float32, out)
	scale := float64(in) / float64(out)
	for d := range out {
		var s float64
		if mode == Asymmetric {
			s = float64(d) * scale
		} else {
			s = max((float64(d)+0.5)*scale-0.5, 0)
		}
		a := int(math.Floor(s))
		if a >= in-1 {
			i0[d], i1[d], w1[d] = in-1, in-1, 0
			continue
		}
		i0[d], i1[d], w1[d] = a, a+1, float32(s-float64(a))
	}
	return i0, i1, w1
}

// resizeInto writes img resized to h x w bilinearly into dst, a C x dstH x
// dstW buffer, at offset (dx, dy).
func resizeInto(dst []float32, dstH, dstW int, img imageio.Image, h, w, dx, dy int, mode Interp) {
	y0, y1, wy := axisTaps(img.H, h, mode)
	x0, x1, wx := axisTaps(img.W, w, mode)
	n := img.H * img.W
	for c := range img.C {
		src := img.Pix[c*n : (c+1)*n]
		out := dst[c*dstH*dstW:]
		for y := range h {
			r0, r1, fy := src[y0[y]*img.W:], src[y1[y]*img.W:], wy[y]
			row := out[(y+dy)*dstW+dx:]
			for x := range w {
				a := r0[x0[x]] + (r0[x1[x]]-r0[x0[x]])*wx[x]
				b := r1[x0[x]] + (r1[x1[x]]-r1[x0[x]])*wx[x]
				row[x] = a + (b-a)*fy
			}
		}
	}
}

// geometry maps detector input pixels back to frame pixels:
// frame = (input - offset) / scale, per axis.
type geometry struct {
	sx, sy float64
	dx, dy float64
}

func (g geometry) toFrame(b Box) Box {
	b.X1, b.X2 = (b.X1-g.dx)/g.sx, (b.X2-g.dx)/g.sx
	b.Y1, b.Y2 = (b.Y1-g.dy)/g.sy, (b.Y2-g.dy)/g.sy
	return b
}

// prepare turns a C=3 frame into a 3 x inH x inW detector input: stretched
// to the input size, or letterboxed (aspect kept, scaled by
// r = min(inH/H, inW/W) to round(W*r) x round(H*r), centred with the
// smaller margin on the top/left, rest filled with pad) as ultralytics'
// LetterBox does. Values are multiplied by scale (1 for a 0..1 input, 255
// for 0..255).
func prepare(dst []float32, img imageio.Image, inH, inW int, letterbox bool, pad, scale float32, mode Interp) geometry {
	if !letterbox {
		resizeInto(dst, inH, inW, img, inH, inW, 0, 0, mode)
		scaleValues(dst, scale)
		return geometry{sx: float64(inW) / float64(img.W), sy: float64(inH) / float64(img.H)}
	}
	r := min(float64(inH)/float64(img.H), float64(inW)/float64(img.W))
	nw := min(max(int(math.RoundToEven(float64(img.W)*r)), 1), inW)
	nh := min(max(int(math.RoundToEven(float64(img.H)*r)), 1), inH)
	dx, dy := (inW-nw)/2, (inH-nh)/2
	for i := range dst[:3*inH*inW] {
		dst[i] = pad
	}
	resizeInto(dst, inH, inW, img, nh, nw, dx, dy, mode)
	// Scale only the pasted image: pad is already in input units.
	for c := range 3 {
		for y := dy; y < dy+nh; y++ {
			row := dst[(c*inH+y)*inW+dx : (c*inH+y)*inW+dx+nw]
			scaleValues(row, scale)
		}
	}
	return geometry{sx: r, sy: r, dx: float64(dx), dy: float64(dy)}
}

func scaleValues(v []float32, s float32) {
	if s == 1 {
		return
	}
	for i := range v {
		v[i] *= s
	}
}
