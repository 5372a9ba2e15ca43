package synth

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// listFiles returns the slash-separated paths of all files under root.
func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(root, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// readPNG decodes a PNG file.
func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

// rgbAt returns the 8-bit RGB of a pixel.
func rgbAt(img image.Image, x, y int) [3]uint8 {
	c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
	return [3]uint8{c.R, c.G, c.B}
}

// rasterRGB returns the 8-bit RGB of a raster pixel (gray repeated).
func rasterRGB(r *raster, i int) [3]uint8 {
	p := r.pixel(i)
	if r.c == 1 {
		return [3]uint8{p[0], p[0], p[0]}
	}
	return [3]uint8{p[0], p[1], p[2]}
}

// maskFromPNG reads a 0/255 gray mask, failing on any other value.
func maskFromPNG(t *testing.T, path string) []bool {
	t.Helper()
	img := readPNG(t, path)
	g, ok := img.(*image.Gray)
	if !ok {
		t.Fatalf("%s is %T, want 8-bit gray", path, img)
	}
	out := make([]bool, len(g.Pix))
	for i, v := range g.Pix {
		switch v {
		case 0:
		case 255:
			out[i] = true
		default:
			t.Fatalf("%s: pixel %d is %d, want 0 or 255", path, i, v)
		}
	}
	return out
}

// sameTrees compares all file bytes of two trees.
func sameTrees(t *testing.T, a, b string) bool {
	t.Helper()
	fa, fb := listFiles(t, a), listFiles(t, b)
	if !slices.Equal(fa, fb) {
		return false
	}
	for _, f := range fa {
		x, _ := os.ReadFile(filepath.Join(a, f))
		y, _ := os.ReadFile(filepath.Join(b, f))
		if !bytes.Equal(x, y) {
			return false
		}
	}
	return true
}

// onlyEntry checks that dir holds exactly one entry, name: no temporary
// folders were left behind.
func onlyEntries(t *testing.T, dir string, names ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if !slices.Equal(got, names) {
		t.Errorf("%s holds %v, want %v", dir, got, names)
	}
}
