package synth

import (
	"fmt"
	"image"
	"image/color"
)

// Image is a planar float image: C planes of H rows of W pixels (CHW order),
// values in [0,1]. It has the same field layout as the loaders' image type so
// that converting between the two is a struct conversion.
type Image struct {
	C, H, W int
	Pix     []float32
}

// NewImage returns a black c×h×w image.
func NewImage(c, h, w int) Image {
	return Image{C: c, H: h, W: w, Pix: make([]float32, c*h*w)}
}

// Clone returns a deep copy of m.
func (m Image) Clone() Image {
	out := m
	out.Pix = append([]float32(nil), m.Pix...)
	return out
}

// check reports whether the dimensions and the pixel buffer agree.
func (m Image) check() error {
	if m.C <= 0 || m.H <= 0 || m.W <= 0 {
		return fmt.Errorf("image has non-positive size %dx%dx%d (CxHxW)", m.C, m.H, m.W)
	}
	if len(m.Pix) != m.C*m.H*m.W {
		return fmt.Errorf("image %dx%dx%d (CxHxW) needs %d pixel values, has %d", m.C, m.H, m.W, m.C*m.H*m.W, len(m.Pix))
	}
	return nil
}

// fromGoImage converts any image.Image to a 3-channel Image. Gray sources
// become three equal planes, which is what OpenCV's imread(IMREAD_COLOR), used
// by the DRAEM reference, does with gray files.
func fromGoImage(src image.Image) Image {
	b := src.Bounds()
	h, w := b.Dy(), b.Dx()
	m := NewImage(3, h, w)
	plane := h * w
	for y := range h {
		for x := range w {
			c := color.NRGBAModel.Convert(src.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
			i := y*w + x
			m.Pix[i] = float32(c.R) / 255
			m.Pix[plane+i] = float32(c.G) / 255
			m.Pix[2*plane+i] = float32(c.B) / 255
		}
	}
	return m
}

// toGray converts a 3-channel image to one channel with the ITU-R BT.601 luma
// weights (the ones OpenCV and PIL use for RGB to gray).
func toGray(m Image) Image {
	if m.C == 1 {
		return m
	}
	plane := m.H * m.W
	out := NewImage(1, m.H, m.W)
	for i := range plane {
		out.Pix[i] = 0.299*m.Pix[i] + 0.587*m.Pix[plane+i] + 0.114*m.Pix[2*plane+i]
	}
	return out
}

func clamp01(v float32) float32 {
	if v < 0 {
		return 0
	}
	if v > 1 {
		return 1
	}
	return v
}

// to8 quantizes a [0,1] value to 0..255 with rounding.
func to8(v float32) uint8 {
	return uint8(clamp01(v)*255 + 0.5)
}
