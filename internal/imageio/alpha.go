package imageio

import (
	"image"
	"image/color"
)

// opaque drops the alpha of images whose colours are stored
// unpremultiplied (PNG's RGBA and palettes with transparency), keeping the
// stored colour channels, as PIL's Image.convert("RGB") does. Drawing such
// an image as it is premultiplies it by its alpha, so a fully transparent
// pixel would become black. Other images are returned as they are.
func opaque(src image.Image) image.Image {
	switch s := src.(type) {
	case *image.NRGBA:
		if s.Opaque() {
			return s
		}
		out := &image.NRGBA{Pix: make([]uint8, len(s.Pix)), Stride: s.Stride, Rect: s.Rect}
		copy(out.Pix, s.Pix)
		for i := 3; i < len(out.Pix); i += 4 {
			out.Pix[i] = 0xff
		}
		return out
	case *image.NRGBA64:
		if s.Opaque() {
			return s
		}
		out := &image.NRGBA64{Pix: make([]uint8, len(s.Pix)), Stride: s.Stride, Rect: s.Rect}
		copy(out.Pix, s.Pix)
		for i := 6; i < len(out.Pix); i += 8 {
			out.Pix[i], out.Pix[i+1] = 0xff, 0xff
		}
		return out
	case *image.Paletted:
		if s.Opaque() {
			return s
		}
		pal := make(color.Palette, len(s.Palette))
		for i, c := range s.Palette {
			n := color.NRGBAModel.Convert(c).(color.NRGBA)
			n.A = 0xff
			pal[i] = n
		}
		return &image.Paletted{Pix: s.Pix, Stride: s.Stride, Rect: s.Rect, Palette: pal}
	}
	return src
}
