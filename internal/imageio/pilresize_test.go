package imageio

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
)

// goldenSource is the 7x5 test image the PIL values below were made from:
//
//	g = [[(x*53 + y*97 + x*y*11) % 256 for x in range(7)] for y in range(5)]
//	b = [[(x*x*7 + y*31) % 256 for x in range(7)] for y in range(5)]
//	rgb = stack([g, 255 - g, b], -1)
//	Image.fromarray(g, "L").resize((w, h), Image.BILINEAR)         # gray
//	Image.fromarray(rgb, "RGB").resize((4, 3), Image.BILINEAR)     # rgb
//	Image.fromarray(rgb, "RGB").convert("L").resize((4, 3), ...)   # L
//
// with Pillow 9.4.0 (Debian bookworm's python3-pil).
func goldenSource() (gray *image.Gray, rgb *image.NRGBA) {
	gray = image.NewGray(image.Rect(0, 0, 7, 5))
	rgb = image.NewNRGBA(image.Rect(0, 0, 7, 5))
	for y := range 5 {
		for x := range 7 {
			g := uint8((x*53 + y*97 + x*y*11) % 256)
			gray.SetGray(x, y, color.Gray{Y: g})
			rgb.SetNRGBA(x, y, color.NRGBA{g, 255 - g, uint8((x*x*7 + y*31) % 256), 255})
		}
	}
	return gray, rgb
}

func TestPILBilinearGolden(t *testing.T) {
	dir := t.TempDir()
	gray, rgb := goldenSource()
	grayPath, rgbPath := filepath.Join(dir, "gray.png"), filepath.Join(dir, "rgb.png")
	writeImagePNG(t, grayPath, gray)
	writeImagePNG(t, rgbPath, rgb)
	for _, tc := range []struct {
		path string
		c    int
		w, h int
		want []float32
	}{
		{grayPath, 1, 3, 4, []float32{72, 135, 96, 128, 125, 150, 103, 127, 127, 147, 108, 122}},
		{grayPath, 1, 11, 2, []float32{85, 88, 97, 138, 136, 103, 144, 146, 98, 120, 144, 105, 117, 133, 136, 126, 107, 110, 119, 136, 129, 120}},
		{grayPath, 1, 2, 9, []float32{84, 103, 102, 116, 133, 138, 126, 140, 110, 138, 111, 130, 115, 121, 132, 113, 143, 108}},
		{rgbPath, 3, 4, 3, []float32{72, 131, 129, 108, 109, 119, 147, 127, 132, 135, 91, 136, 183, 124, 126, 147, 146, 136,
			108, 128, 123, 120, 164, 119, 17, 47, 124, 168, 66, 96, 162, 116, 115, 145, 171, 80}},
		{rgbPath, 1, 4, 3, []float32{131, 118, 126, 138, 126, 127, 126, 126, 125, 128, 143, 119}},
		{rgbPath, 1, 0, 0, []float32{150, 135, 122, 111, 101, 167, 161, 125, 108, 92, 151, 138, 127, 88, 101, 154, 135, 117,
			101, 160, 118, 150, 126, 104, 157, 138, 91, 149, 126, 99, 147, 123, 174, 124, 105}},
	} {
		t.Run(fmt.Sprintf("%s C%d %dx%d", filepath.Base(tc.path), tc.c, tc.w, tc.h), func(t *testing.T) {
			img, err := Decode(tc.path, DecodeOptions{C: tc.c, H: tc.h, W: tc.w, Range: RangeByte, Filter: PILBilinear})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(img.Pix, tc.want) {
				t.Errorf("got  %v\nwant %v (PIL)", img.Pix, tc.want)
			}
		})
	}
}

// pilReference resizes src (sw x sh) to dw x dh straight from the
// definition of PIL's BILINEAR, in float64 and in two dimensions at once:
// output pixel (x, y) is the sum over all source pixels (i, j) of
// tri((i+0.5 - (x+0.5)*sx) / max(sx, 1)) * tri((j+0.5 - (y+0.5)*sy) /
// max(sy, 1)) * src, each factor normalised to sum 1 over its axis. With
// round, it also rounds to 8 bits after the horizontal sums, as PIL does,
// and reports for each output whether a rounding it depends on was within
// 1e-3 of a half level, where PIL's 22-bit weights may tip it either way.
func pilReference(src []float64, sw, sh, dw, dh int, round bool) (out []float64, nearTie []bool) {
	weights := func(in, out int) [][]float64 {
		s := float64(in) / float64(out)
		widen := math.Max(s, 1)
		w := make([][]float64, out)
		for o := range out {
			w[o] = make([]float64, in)
			total := 0.0
			for i := range in {
				d := math.Abs(float64(i)+0.5-(float64(o)+0.5)*s) / widen
				if d < 1 {
					w[o][i] = 1 - d
				}
				total += w[o][i]
			}
			for i := range w[o] {
				w[o][i] /= total
			}
		}
		return w
	}
	wx, wy := weights(sw, dw), weights(sh, dh)
	r8 := func(v float64, tie *bool) float64 {
		if f := v - math.Floor(v); math.Abs(f-0.5) < 1e-3 {
			*tie = true
		}
		return math.Min(255, math.Max(0, math.Floor(v+0.5)))
	}
	out, nearTie = make([]float64, dw*dh), make([]bool, dw*dh)
	for y := range dh {
		for x := range dw {
			sum, tie := 0.0, false
			for j := range sh {
				row := 0.0
				for i := range sw {
					row += wx[x][i] * src[j*sw+i]
				}
				if round && wy[y][j] != 0 {
					row = r8(row, &tie)
				}
				sum += wy[y][j] * row
			}
			if round {
				sum = r8(sum, &tie)
			}
			out[y*dw+x], nearTie[y*dw+x] = sum, tie
		}
	}
	return out, nearTie
}

func TestPILBilinearMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ sw, sh, dw, dh int }{
		{13, 9, 29, 20},  // up
		{13, 9, 5, 4},    // down
		{13, 9, 6, 17},   // mixed
		{36, 24, 16, 16}, // down 2.25x and 1.5x (the Ped2 aspect)
		{13, 9, 13, 4},   // vertical only
		{13, 9, 3, 9},    // horizontal only
		{10, 10, 1, 1},
	} {
		t.Run(fmt.Sprintf("%dx%d to %dx%d", tc.sw, tc.sh, tc.dw, tc.dh), func(t *testing.T) {
			vals := make([]uint8, tc.sw*tc.sh)
			src := make([]float64, len(vals))
			for i := range vals {
				vals[i] = uint8(rng.IntN(256))
				src[i] = float64(vals[i])
			}
			path := filepath.Join(t.TempDir(), "src.png")
			writeGrayPNG(t, path, tc.sw, tc.sh, func(x, y int) uint8 { return vals[y*tc.sw+x] })
			img, err := Decode(path, DecodeOptions{C: 1, H: tc.dh, W: tc.dw, Range: RangeByte, Filter: PILBilinear})
			if err != nil {
				t.Fatal(err)
			}
			exact, _ := pilReference(src, tc.sw, tc.sh, tc.dw, tc.dh, false)
			rounded, nearTie := pilReference(src, tc.sw, tc.sh, tc.dw, tc.dh, true)
			ties := 0
			for i, g := range img.Pix {
				got := float64(g)
				// Two roundings of at most half a level each.
				if d := math.Abs(got - exact[i]); d > 1+1e-9 {
					t.Fatalf("pixel %d: got %v, exact resize %.3f", i, got, exact[i])
				}
				// PIL's 22-bit weights can only tip a sum lying within a
				// hair of a half level.
				if got != rounded[i] {
					if !nearTie[i] || math.Abs(got-rounded[i]) > 1 {
						t.Fatalf("pixel %d: got %v, float reference rounded per pass %v", i, got, rounded[i])
					}
					ties++
				}
			}
			t.Logf("%d of %d pixels tipped the other way at a half level", ties, len(img.Pix))
		})
	}
}

// Without resizing, PILBilinear gives the source bytes, and gray is PIL's
// integer luma.
func TestPILBilinearNoResize(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	src := image.NewNRGBA(image.Rect(0, 0, 9, 6))
	for i := range src.Pix {
		src.Pix[i] = uint8(rng.IntN(256)) // alpha too: PIL's convert("RGB") drops it
	}
	path := filepath.Join(t.TempDir(), "rgb.png")
	writeImagePNG(t, path, src)
	rgb, err := Decode(path, DecodeOptions{C: 3, Range: RangeByte, Filter: PILBilinear})
	if err != nil {
		t.Fatal(err)
	}
	gray, err := Decode(path, DecodeOptions{C: 1, Range: RangeByte, Filter: PILBilinear})
	if err != nil {
		t.Fatal(err)
	}
	n := 9 * 6
	for i := range n {
		r, g, b := src.Pix[4*i], src.Pix[4*i+1], src.Pix[4*i+2]
		if rgb.Pix[i] != float32(r) || rgb.Pix[n+i] != float32(g) || rgb.Pix[2*n+i] != float32(b) {
			t.Fatalf("pixel %d: got %v %v %v, want %d %d %d", i, rgb.Pix[i], rgb.Pix[n+i], rgb.Pix[2*n+i], r, g, b)
		}
		// PIL's Convert.c rgb2l: ITU-R 601 luma in 16-bit fixed point,
		// rounded; within a level of the float luma.
		want := (uint32(r)*19595 + uint32(g)*38470 + uint32(b)*7471 + 0x8000) >> 16
		luma := 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b)
		if gray.Pix[i] != float32(want) || math.Abs(float64(want)-luma) > 0.5+1e-3 {
			t.Fatalf("pixel %d: gray %v, want %d (float luma %.3f)", i, gray.Pix[i], want, luma)
		}
	}
}
