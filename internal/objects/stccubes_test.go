package objects

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/data"
)

// stcPixel is the colour of pixel (x, y) of frame k of the STC test video:
// linear ramps, so bilinear samples can be computed by hand.
func stcPixel(x, y, k int) [3]float64 {
	r := float64(12*x + 20*y + k)
	return [3]float64{r, 200 - r, float64(7*k + x)}
}

func stcVideo(t *testing.T, dir, name string, n int) data.Video {
	t.Helper()
	v := data.Video{Name: name}
	for k := range n {
		img := image.NewRGBA(image.Rect(0, 0, 8, 6))
		for y := range 6 {
			for x := range 8 {
				p := stcPixel(x, y, k)
				img.Set(x, y, color.RGBA{uint8(p[0]), uint8(p[1]), uint8(p[2]), 255})
			}
		}
		p := filepath.Join(dir, name, fmt.Sprintf("%03d.png", k))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
		v.Frames = append(v.Frames, p)
	}
	return v
}

func TestSTCFrames(t *testing.T) {
	for _, c := range []struct {
		t    int
		want []int
	}{{0, []int{0, 0, 0, 0, 0}}, {2, []int{0, 0, 0, 1, 2}}, {4, []int{0, 1, 2, 3, 4}}, {9, []int{5, 6, 7, 8, 9}}} {
		if got := STCFrames(c.t, 4); !slices.Equal(got, c.want) {
			t.Errorf("STCFrames(%d, 4) = %v, want %v", c.t, got, c.want)
		}
	}
}

// Crops by hand. Box (1.2, 0.5, 5, 4) spans columns ceil(1.2)=2 .. 4 and
// rows ceil(0.5)=1 .. 3: 3 x 3 pixels. To 2 x 2 with half-pixel centres
// the samples sit at 0.25 and 1.75 of the crop (src = (d+0.5)*1.5-0.5); to
// 6 x 6 at 0, 0.25, 0.75, 1.25, 1.75, 2 (clamped at both ends). The ramps
// make each sample the ramp's value there, integers by construction
// for red and green; blue is rounded to 8 bits as cv2 does.
func TestExtractSTCByHand(t *testing.T) {
	v := stcVideo(t, t.TempDir(), "01", 6)
	box := Box{Video: "01", Frame: 2, X1: 1.2, Y1: 0.5, X2: 5, Y2: 4, Score: 1, Class: -1}
	for _, c := range []struct {
		size int
		at   []float64
		bgr  bool
	}{{2, []float64{0.25, 1.75}, false}, {6, []float64{0, 0.25, 0.75, 1.25, 1.75, 2}, false}, {2, []float64{0.25, 1.75}, true}} {
		cfg := STCConfig{Context: 4, Size: c.size, BGR: c.bgr}
		var got []float32
		err := ExtractSTCVideo(context.Background(), v, []Box{box}, cfg, func(i int, cube []float32) error {
			got = slices.Clone(cube)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 5*3*c.size*c.size {
			t.Fatalf("cube of %d values", len(got))
		}
		for ti, f := range []int{0, 0, 0, 1, 2} {
			for ch := range 3 {
				for yi, sy := range c.at {
					for xi, sx := range c.at {
						// Bilinear of a ramp linear in x and y is the ramp.
						x, y := 2+sx, 1+sy
						r := 12*x + 20*y + float64(f)
						want := [3]float64{r, 200 - r, float64(7*f) + x}[ch]
						if c.bgr {
							want = [3]float64{float64(7*f) + x, 200 - r, r}[ch]
						}
						want = math.Round(want) // cv2 returns 8-bit values
						idx := ((ti*3+ch)*c.size+yi)*c.size + xi
						if g := float64(got[idx]) * 255; !near(g, want, 1e-3) {
							t.Errorf("size %d bgr %v: cube frame %d (video %d) channel %d (%d,%d) = %g, want %g", c.size, c.bgr, ti, f, ch, xi, yi, g, want)
						}
					}
				}
			}
		}
	}
	// Boxes past the frame are clipped, empty crops widened to one pixel.
	for _, c := range []struct {
		x1, x2    float64
		lo, hi, n int
	}{{-3, 2.5, 0, 3, 8}, {6.5, 12, 7, 8, 8}, {3.2, 3.8, 4, 5, 8}, {8, 9, 7, 8, 8}} {
		if lo, hi := stcCrop(c.x1, c.x2, c.n); lo != c.lo || hi != c.hi {
			t.Errorf("stcCrop(%g, %g, %d) = %d, %d; want %d, %d", c.x1, c.x2, c.n, lo, hi, c.lo, c.hi)
		}
	}
}

// The STC cache holds the cubes ExtractSTCVideo cuts (float16), one per
// box in frame order; a second run finds every video done; changed
// settings redo it.
func TestSTCCache(t *testing.T) {
	root := t.TempDir()
	fdir := filepath.Join(root, "training", "frames")
	stcVideo(t, fdir, "01", 4)
	stcVideo(t, fdir, "02", 3)
	ds, err := data.LoadFrames(root, data.Train, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := NewSet()
	s.Grow("01", 4)
	s.Grow("02", 3)
	s.Add(Box{Video: "01", Frame: 3, X1: 0, Y1: 0, X2: 4, Y2: 3, Score: 1, Class: -1})
	s.Add(Box{Video: "01", Frame: 0, X1: 2, Y1: 1, X2: 8, Y2: 6, Score: 1, Class: -1})
	s.Add(Box{Video: "01", Frame: 3, X1: 1, Y1: 1, X2: 3, Y2: 5, Score: 1, Class: -1})
	s.Add(Box{Video: "02", Frame: 1, X1: 0.5, Y1: 0.5, X2: 7.5, Y2: 5.5, Score: 1, Class: -1})
	dir := filepath.Join(root, "cache")
	cfg := STCConfig{Context: 4, Size: 4}
	sum, err := WriteSTCCache(context.Background(), dir, ds, s, cfg, CacheOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if sum != (CacheSummary{Videos: 2, Written: 2, Cubes: 4}) {
		t.Errorf("first run %+v", sum)
	}
	for _, v := range ds.Videos {
		c, err := OpenSTCCubes(dir, v.Name)
		if err != nil {
			t.Fatal(err)
		}
		want := s.Video(v.Name)
		if c.Len() != len(want) || !slices.Equal(c.Index.Shape, []int{5, 3, 4, 4}) || c.Index.Format != STCCacheFormat {
			t.Fatalf("video %s: %d cubes, shape %v, format %s", v.Name, c.Len(), c.Index.Shape, c.Index.Format)
		}
		err = ExtractSTCVideo(context.Background(), v, want, cfg, func(i int, cube []float32) error {
			if c.Index.Box(i) != want[i] {
				t.Errorf("video %s cube %d: box %v, want %v", v.Name, i, c.Index.Box(i), want[i])
			}
			got, err := c.Cube(i, nil)
			if err != nil {
				return err
			}
			for j := range cube {
				if !near(float64(got[j]), float64(cube[j]), 1e-3) {
					t.Fatalf("video %s cube %d value %d: cached %g, cut %g", v.Name, i, j, got[j], cube[j])
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	sum, err = WriteSTCCache(context.Background(), dir, ds, s, cfg, CacheOptions{})
	if err != nil || sum != (CacheSummary{Videos: 2, Skipped: 2, Cubes: 4}) {
		t.Errorf("second run %+v, %v", sum, err)
	}
	cfg.BGR = true
	sum, err = WriteSTCCache(context.Background(), dir, ds, s, cfg, CacheOptions{})
	if err != nil || sum != (CacheSummary{Videos: 2, Written: 2, Cubes: 4}) {
		t.Errorf("changed settings %+v, %v", sum, err)
	}
	// A Jigsaw reader refuses an STC cache.
	if _, err := OpenVideoCubes(dir, "01"); err == nil {
		t.Error("OpenVideoCubes read an STC cache")
	}
}
