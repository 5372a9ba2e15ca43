package imageio

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/npyfile"
)

// diffStat accumulates absolute differences in 8-bit levels.
type diffStat struct {
	max, sum, signed float64
	n, differ        int
}

func (s *diffStat) add(got []float32, want []uint8) {
	for i, w := range want {
		s.signed += float64(got[i]) - float64(w)
		d := math.Abs(float64(got[i]) - float64(w))
		s.max = max(s.max, d)
		s.sum += d
		s.n++
		if d > 1e-4 {
			s.differ++
		}
	}
}

func (s *diffStat) String() string {
	return fmt.Sprintf("max %5.2f  mean %.4f  bias %+.4f  differ %6.2f%%", s.max, s.sum/float64(s.n), s.signed/float64(s.n), 100*float64(s.differ)/float64(s.n))
}

// readPIL reads one array written by scripts/pil_reference.py as CHW
// planes: (H, W) for mode L, (H, W, 3) for RGB.
func readPIL(t *testing.T, path string) (c, h, w int, chw []uint8) {
	t.Helper()
	a, err := npyfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	hwc, ok := a.Data.([]uint8)
	if !ok || len(a.Shape) < 2 || a.Fortran {
		t.Fatalf("%s: want a C-ordered uint8 (H, W[, 3]) array, got %s %v", path, a.DType, a.Shape)
	}
	h, w, c = a.Shape[0], a.Shape[1], 1
	if len(a.Shape) == 3 {
		c = a.Shape[2]
	}
	chw = make([]uint8, len(hwc))
	for i := range h * w {
		for k := range c {
			chw[k*h*w+i] = hwc[i*c+k]
		}
	}
	return c, h, w, chw
}

// pilImage turns PIL's decoded planes back into an image, so that fmam's
// resize can be measured on exactly PIL's pixels.
func pilImage(c, h, w int, chw []uint8) image.Image {
	if c == 1 {
		return &image.Gray{Pix: chw, Stride: w, Rect: image.Rect(0, 0, w, h)}
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range h * w {
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = chw[i], chw[h*w+i], chw[2*h*w+i], 255
	}
	return img
}

// TestPILReference compares fmam's decoding with PIL's on the images
// scripts/pil_reference.py wrote to $FMAM_PIL_REF, in 8-bit levels, in
// three parts: the JPEG decode alone (full size), the resize alone (fmam's
// resize applied to PIL's decoded pixels) and the whole pipeline. The
// PILBilinear resize must match PIL exactly on PIL's pixels and the whole
// pipeline must be closer to PIL than with the draw filter.
func TestPILReference(t *testing.T) {
	dir := os.Getenv("FMAM_PIL_REF")
	if dir == "" {
		t.Skip("set FMAM_PIL_REF to a folder written by scripts/pil_reference.py to compare with PIL")
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatalf("%v; run scripts/pil_reference.py --out %s first", err, dir)
	}
	var man struct {
		Pillow string
		Sizes  []int
		Images []struct {
			Key  int
			Path string
		}
	}
	if err := json.Unmarshal(b, &man); err != nil {
		t.Fatalf("read %s/manifest.json: %v", dir, err)
	}
	stats := map[string]*diffStat{}
	stat := func(key string) *diffStat {
		if stats[key] == nil {
			stats[key] = &diffStat{}
		}
		return stats[key]
	}
	filters := []Filter{Bilinear, PILBilinear}
	for _, im := range man.Images {
		for _, mode := range []string{"rgb", "L"} {
			c, h, w, full := readPIL(t, filepath.Join(dir, fmt.Sprintf("%d_full_%s.npy", im.Key, mode)))
			for _, f := range filters {
				d, _ := NewDecoder(DecodeOptions{C: c, Range: RangeByte, Filter: f})
				img, _, err := d.DecodeWithSize(im.Path)
				if err != nil {
					t.Fatal(err)
				}
				if img.H != h || img.W != w {
					t.Fatalf("%s: fmam decodes %dx%d, PIL %dx%d", im.Path, img.W, img.H, w, h)
				}
				stat(fmt.Sprintf("decode   full %s %-12v", mode, f)).add(img.Pix, full)
			}
			pilSrc := pilImage(c, h, w, full)
			for _, s := range man.Sizes {
				_, _, _, want := readPIL(t, filepath.Join(dir, fmt.Sprintf("%d_%d_%s.npy", im.Key, s, mode)))
				for _, f := range filters {
					d, _ := NewDecoder(DecodeOptions{C: c, H: s, W: s, Range: RangeByte, Filter: f})
					var resized Image
					if f == PILBilinear {
						resized = d.convertPIL(pilSrc)
					} else {
						resized = d.convert(pilSrc)
					}
					stat(fmt.Sprintf("resize   %3d  %s %-12v", s, mode, f)).add(resized.Pix, want)
					whole, _, err := d.DecodeWithSize(im.Path)
					if err != nil {
						t.Fatal(err)
					}
					stat(fmt.Sprintf("pipeline %3d  %s %-12v", s, mode, f)).add(whole.Pix, want)
				}
			}
		}
	}
	keys := make([]string, 0, len(stats))
	for k := range stats {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var sb strings.Builder
	fmt.Fprintf(&sb, "fmam against Pillow %s on %d images, absolute differences in 8-bit levels:\n", man.Pillow, len(man.Images))
	for _, k := range keys {
		fmt.Fprintf(&sb, "  %s %s\n", k, stats[k])
	}
	t.Log(sb.String())

	for _, s := range man.Sizes {
		for _, mode := range []string{"rgb", "L"} {
			if st := stats[fmt.Sprintf("resize   %3d  %s %-12v", s, mode, PILBilinear)]; st.max != 0 {
				t.Errorf("PILBilinear on PIL's pixels, %d %s: %v; want exactly PIL's", s, mode, st)
			}
			old, cur := stats[fmt.Sprintf("pipeline %3d  %s %-12v", s, mode, Bilinear)], stats[fmt.Sprintf("pipeline %3d  %s %-12v", s, mode, PILBilinear)]
			if cur.sum >= old.sum {
				t.Errorf("pipeline %d %s: PILBilinear (%v) is not closer to PIL than Bilinear (%v)", s, mode, cur, old)
			}
		}
	}
}
