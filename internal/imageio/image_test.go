package imageio

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	"golang.org/x/image/tiff"
)

func TestDecodeImageChannelsAndRange(t *testing.T) {
	dir := t.TempDir()
	// One RGB pixel row with hand-picked values.
	rgb := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	rgb.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	rgb.SetNRGBA(1, 0, color.NRGBA{10, 200, 50, 255})
	rgbPath := filepath.Join(dir, "rgb.png")
	writeImagePNG(t, rgbPath, rgb)
	grayPath := filepath.Join(dir, "gray.png")
	writeGrayPNG(t, grayPath, 2, 1, func(x, _ int) uint8 { return []uint8{0, 51}[x] })

	tests := []struct {
		name string
		path string
		opt  DecodeOptions
		want []float32 // CHW
	}{
		{"rgb as rgb [0,1]", rgbPath, DecodeOptions{C: 3}, []float32{1, 10.0 / 255, 0, 200.0 / 255, 0, 50.0 / 255}},
		{"rgb as rgb [-1,1]", rgbPath, DecodeOptions{C: 3, Range: RangeSigned}, []float32{1, 10/127.5 - 1, -1, 200/127.5 - 1, -1, 50/127.5 - 1}},
		// ITU-R 601 luma: 0.299*255 = 76.245; 0.299*10+0.587*200+0.114*50 = 126.09.
		{"rgb as gray", rgbPath, DecodeOptions{C: 1}, []float32{76.245 / 255, 126.09 / 255}},
		{"gray replicated", grayPath, DecodeOptions{C: 3}, []float32{0, 0.2, 0, 0.2, 0, 0.2}},
		{"gray as gray [-1,1]", grayPath, DecodeOptions{C: 1, Range: RangeSigned}, []float32{-1, 51/127.5 - 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(tc.path, tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			if img.C != tc.opt.C || img.H != 1 || img.W != 2 {
				t.Fatalf("got %dx%dx%d, want %dx1x2", img.C, img.H, img.W, tc.opt.C)
			}
			for i, w := range tc.want {
				if math.Abs(float64(img.Pix[i]-w)) > 1e-5 {
					t.Errorf("Pix[%d] = %v, want %v", i, img.Pix[i], w)
				}
			}
		})
	}
}

// refResize is an independent separable resize with a kernel k of the
// given support: output pixel centres map to (x+0.5)*s-0.5 in the source,
// the kernel is widened by s when shrinking, and the weights of in-range
// taps are renormalised.
func refResize(src []float64, sw, sh, dw, dh int, support float64, k func(float64) float64) []float64 {
	axis := func(dn, sn int) [][2][]float64 {
		s := float64(sn) / float64(dn)
		widen := math.Max(s, 1)
		out := make([][2][]float64, dn)
		for x := range dn {
			c := (float64(x)+0.5)*s - 0.5
			var idx, w []float64
			total := 0.0
			for j := range sn {
				d := math.Abs(c-float64(j)) / widen
				if d < support {
					idx = append(idx, float64(j))
					w = append(w, k(d))
					total += k(d)
				}
			}
			for i := range w {
				w[i] /= total
			}
			out[x] = [2][]float64{idx, w}
		}
		return out
	}
	ax, ay := axis(dw, sw), axis(dh, sh)
	tmp := make([]float64, sh*dw)
	for y := range sh {
		for x := range dw {
			for i, j := range ax[x][0] {
				tmp[y*dw+x] += ax[x][1][i] * src[y*sw+int(j)]
			}
		}
	}
	out := make([]float64, dh*dw)
	for y := range dh {
		for x := range dw {
			for i, j := range ay[y][0] {
				out[y*dw+x] += ay[y][1][i] * tmp[int(j)*dw+x]
			}
		}
	}
	return out
}

func TestDecodeImageResizeMatchesReference(t *testing.T) {
	const sw, sh = 13, 9
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]uint8, sw*sh)
	for i := range vals {
		vals[i] = uint8(rng.IntN(256))
	}
	path := filepath.Join(t.TempDir(), "src.png")
	writeGrayPNG(t, path, sw, sh, func(x, y int) uint8 { return vals[y*sw+x] })
	src := make([]float64, len(vals))
	for i, v := range vals {
		src[i] = float64(v)
	}
	catmull := func(t float64) float64 {
		if t < 1 {
			return (1.5*t-2.5)*t*t + 1
		}
		return ((-0.5*t+2.5)*t-4)*t + 2
	}
	for _, tc := range []struct {
		name    string
		filter  Filter
		dw, dh  int
		support float64
		k       func(float64) float64
	}{
		{"bilinear up", Bilinear, 29, 20, 1, func(t float64) float64 { return 1 - t }},
		{"bilinear down", Bilinear, 5, 4, 1, func(t float64) float64 { return 1 - t }},
		{"bilinear mixed", Bilinear, 6, 17, 1, func(t float64) float64 { return 1 - t }},
		{"catmull-rom up", CatmullRom, 26, 18, 2, catmull},
		{"catmull-rom down", CatmullRom, 4, 3, 2, catmull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Decode(path, DecodeOptions{C: 1, H: tc.dh, W: tc.dw, Filter: tc.filter})
			if err != nil {
				t.Fatal(err)
			}
			want := refResize(src, sw, sh, tc.dw, tc.dh, tc.support, tc.k)
			for i, w := range want {
				// x/image/draw rounds to 8 bits and clamps (Catmull-Rom overshoots).
				w = math.Min(255, math.Max(0, w))
				if got := float64(img.Pix[i]) * 255; math.Abs(got-w) > 1.01 {
					t.Fatalf("pixel %d: got %.2f, want %.2f", i, got, w)
				}
			}
		})
	}
}

func TestDecodeFormats(t *testing.T) {
	dir := t.TempDir()
	gray := image.NewGray(image.Rect(0, 0, 8, 6))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 5)
	}
	var tb, bb bytes.Buffer
	if err := tiff.Encode(&tb, gray, nil); err != nil {
		t.Fatal(err)
	}
	if err := bmp.Encode(&bb, gray); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a.tif"), tb.Bytes())
	writeFile(t, filepath.Join(dir, "a.bmp"), bb.Bytes())
	writeImagePNG(t, filepath.Join(dir, "a.png"), gray)
	for _, name := range []string{"a.tif", "a.bmp", "a.png"} {
		img, err := Decode(filepath.Join(dir, name), DecodeOptions{C: 1})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, v := range gray.Pix {
			if got := img.Pix[i] * 255; math.Abs(float64(got)-float64(v)) > 1e-3 {
				t.Fatalf("%s: pixel %d = %v, want %d", name, i, got, v)
			}
		}
	}
}

func TestDecodeRealPed2Frame(t *testing.T) {
	path := filepath.Join(ped2Dir(t), "training", "frames", "01", "000.jpg")
	full, err := Decode(path, DecodeOptions{C: 3})
	if err != nil {
		t.Fatal(err)
	}
	// README: all frames are 360x240 JPEG with gray content.
	if full.C != 3 || full.H != 240 || full.W != 360 {
		t.Fatalf("got %dx%dx%d, want 3x240x360", full.C, full.H, full.W)
	}
	n := full.H * full.W
	maxDiff := float32(0)
	for i := range n {
		maxDiff = max(maxDiff, abs32(full.Pix[i]-full.Pix[n+i]), abs32(full.Pix[i]-full.Pix[2*n+i]))
	}
	if maxDiff > 4.0/255 {
		t.Errorf("channels differ by up to %v on a gray-content frame", maxDiff*255)
	}
	// The C=1 fast path (luma plane) agrees with converting RGB.
	g, err := Decode(path, DecodeOptions{C: 1, H: 64, W: 64, Range: RangeSigned})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Decode(path, DecodeOptions{C: 3, H: 64, W: 64, Range: RangeSigned})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 64 * 64 {
		if d := abs32(g.Pix[i] - c.Pix[i]); d > 6.0/127.5 {
			t.Fatalf("pixel %d: gray %v vs red %v", i, g.Pix[i], c.Pix[i])
		}
		if g.Pix[i] < -1 || g.Pix[i] > 1 {
			t.Fatalf("pixel %d = %v outside [-1,1]", i, g.Pix[i])
		}
	}
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestDecodeCorruptFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.png")
	writeGrayPNG(t, good, 32, 32, func(x, y int) uint8 { return uint8(x * y) })
	b, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	var jb bytes.Buffer
	if err := jpeg.Encode(&jb, image.NewGray(image.Rect(0, 0, 32, 32)), nil); err != nil {
		t.Fatal(err)
	}
	cases := map[string][]byte{
		"truncated.png": b[:len(b)/2],
		"truncated.jpg": jb.Bytes()[:jb.Len()/2],
		"text.png":      []byte("not an image"),
		"empty.bmp":     nil,
	}
	for name, data := range cases {
		path := filepath.Join(dir, name)
		writeFile(t, path, data)
		_, err := Decode(path, DecodeOptions{C: 1, H: 8, W: 8})
		wantErr(t, err, path)
		_, err = DecodeMask(path, 8, 8)
		wantErr(t, err, path)
	}
	_, err = Decode(filepath.Join(dir, "missing.png"), DecodeOptions{C: 1})
	wantErr(t, err, "missing.png")
	_, err = Decode(good, DecodeOptions{C: 2, H: 3})
	wantErr(t, err, good, "channels must be 1 or 3", "both positive or both zero")
}

func TestDecodeMask(t *testing.T) {
	dir := t.TempDir()
	// Paletted BMP whose index 0 is white: index values are not pixel values.
	pal := image.NewPaletted(image.Rect(0, 0, 4, 2), color.Palette{color.Gray{255}, color.Gray{0}})
	pal.Pix = []uint8{0, 1, 1, 1, 1, 1, 0, 1}
	var bb bytes.Buffer
	if err := bmp.Encode(&bb, pal); err != nil {
		t.Fatal(err)
	}
	bmpPath := filepath.Join(dir, "m.bmp")
	writeFile(t, bmpPath, bb.Bytes())
	m, err := DecodeMask(bmpPath, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, false, false, false, false, true, false}
	if m.H != 2 || m.W != 4 || !equalBools(m.Pix, want) {
		t.Fatalf("got %dx%d %v, want 2x4 %v", m.H, m.W, m.Pix, want)
	}

	// Nearest-neighbour resizing agrees with draw.NearestNeighbor.
	rng := rand.New(rand.NewPCG(3, 4))
	src := image.NewGray(image.Rect(0, 0, 37, 23))
	for i := range src.Pix {
		if rng.IntN(3) == 0 {
			src.Pix[i] = 255
		}
	}
	pngPath := filepath.Join(dir, "m.png")
	writeImagePNG(t, pngPath, src)
	for _, size := range [][2]int{{10, 16}, {64, 64}, {23, 37}, {5, 90}} {
		h, w := size[0], size[1]
		got, err := DecodeMask(pngPath, h, w)
		if err != nil {
			t.Fatal(err)
		}
		ref := image.NewGray(image.Rect(0, 0, w, h))
		draw.NearestNeighbor.Scale(ref, ref.Bounds(), src, src.Bounds(), draw.Src, nil)
		for i, v := range ref.Pix {
			if got.Pix[i] != (v != 0) {
				t.Fatalf("%dx%d: pixel %d = %v, draw.NearestNeighbor gives %d", h, w, i, got.Pix[i], v)
			}
		}
	}
}

func equalBools(a, b []bool) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestImageSize(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.png")
	writeGrayPNG(t, path, 7, 3, func(int, int) uint8 { return 0 })
	w, h, err := Size(path)
	if err != nil || w != 7 || h != 3 {
		t.Fatalf("got %dx%d, %v; want 7x3", w, h, err)
	}
	writeFile(t, path, []byte("junk"))
	_, _, err = Size(path)
	wantErr(t, err, path)
	if !strings.Contains(Range(RangeSigned).String(), "-1") {
		t.Errorf("RangeSigned prints as %q", RangeSigned)
	}
}
