package imageio

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// A PNG with transparency decodes as PIL's Image.open(p).convert("RGB"):
// the stored colours, alpha dropped. Before, the default filter drew it
// premultiplied, so a fully transparent pixel became black. Expected
// values are the stored bytes / 255 (PIL is not needed to know them).
func TestTransparentPNGKeepsStoredColours(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	img.SetNRGBA(0, 0, color.NRGBA{200, 100, 50, 0}) // fully transparent
	img.SetNRGBA(1, 0, color.NRGBA{10, 20, 30, 128}) // half
	p := filepath.Join(t.TempDir(), "rgba.png")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := []float32{200.0 / 255, 10.0 / 255, 100.0 / 255, 20.0 / 255, 50.0 / 255, 30.0 / 255}
	for _, filter := range []Filter{Bilinear, PILBilinear} {
		d, err := NewDecoder(DecodeOptions{C: 3, Filter: filter})
		if err != nil {
			t.Fatal(err)
		}
		got, err := d.Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		for i := range want {
			if diff := got.Pix[i] - want[i]; diff > 1e-6 || diff < -1e-6 {
				t.Errorf("filter %v: pixel value %d is %v, want %v (all: %v)", filter, i, got.Pix[i], want[i], got.Pix)
				break
			}
		}
	}
	// A palette with a transparent entry keeps its colour as well.
	pal := image.NewPaletted(image.Rect(0, 0, 1, 1), color.Palette{color.NRGBA{40, 80, 120, 0}})
	if o := opaque(pal); o.At(0, 0) != (color.NRGBA{40, 80, 120, 255}) {
		t.Errorf("transparent palette entry: %v", o.At(0, 0))
	}
}
