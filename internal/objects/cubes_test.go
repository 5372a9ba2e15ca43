package objects

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
)

// tinyPixels is a 4x3 gray frame with a bump at (1, 1), so bilinear
// weights matter.
var tinyPixels = [3][4]float64{
	{0, 10, 20, 30},
	{40, 90, 60, 70},
	{80, 90, 100, 240},
}

func tinyImage() imageio.Image {
	img := imageio.Image{C: 1, H: 3, W: 4}
	for _, r := range tinyPixels {
		for _, v := range r {
			img.Pix = append(img.Pix, float32(v))
		}
	}
	return img
}

// roiAlign against values computed by hand with torchvision's rule (see the
// comments: sample positions, then bilinear weights).
func TestROIAlignByHand(t *testing.T) {
	cases := []struct {
		name     string
		box      Box
		out      int
		sampling int
		aligned  bool
		want     []float64
	}{
		// roi 2x1, bins 1 x 0.5, one sample per bin at x = 1, 2 and
		// y = 0.75, 1.25: (0.25*10 + 0.75*90), (0.25*20 + 0.75*60),
		// (0.75*90 + 0.25*90), (0.75*60 + 0.25*100).
		{"Bilinear", Box{X1: 0.5, Y1: 0.5, X2: 2.5, Y2: 1.5}, 2, 0, false, []float64{70, 50, 90, 70}},
		// One bin of 2x2 samples at 0.5 and 1.5: the means of the four
		// 2x2 blocks, 35, 45, 75, 85, averaged.
		{"Sampling2", Box{X1: 0, Y1: 0, X2: 2, Y2: 2}, 1, 2, false, []float64{60}},
		{"AdaptiveSampling", Box{X1: 0, Y1: 0, X2: 2, Y2: 2}, 1, 0, false, []float64{60}},
		// Past the right edge: x samples 3.5 (clamped to column 3), 4.5, 5.5,
		// 6.5 (> W: zero); y 0.25 and 0.75. Bin (0,0) = (0.75*30 + 0.25*70 + 0) / 2.
		{"RightEdge", Box{X1: 3, Y1: 0, X2: 7, Y2: 1}, 2, 0, false, []float64{20, 0, 30, 0}},
		// Left of the image: x = -0.5 is clamped to 0, x = 0.5 interpolates
		// columns 0 and 1.
		{"LeftEdge", Box{X1: -1, Y1: 0, X2: 1, Y2: 1}, 2, 0, false, []float64{10, 20, 30, 50}},
		// Farther left every sample is below -1: zero.
		{"Outside", Box{X1: -4, Y1: 0, X2: -2, Y2: 1}, 2, 0, false, []float64{0, 0, 0, 0}},
		// aligned: the box shifts by -0.5: samples at x 0.5, 1.5, y 0.25, 0.75.
		{"Aligned", Box{X1: 0.5, Y1: 0.5, X2: 2.5, Y2: 1.5}, 2, 0, true, []float64{20, 30, 50, 60}},
		// A box under 1 px is widened to 1 px (aligned false): samples at
		// 1.25 and 1.75 on both axes; (1.25, 1.25) is 0.75*(0.75*90 +
		// 0.25*60) + 0.25*(0.75*90 + 0.25*100) = 85.
		{"Tiny", Box{X1: 1, Y1: 1, X2: 1.2, Y2: 1.1}, 2, 0, false, []float64{85, 75, 90, 90}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := make([]float32, c.out*c.out)
			roiAlign(got, 0, tinyImage(), c.box, c.out, c.sampling, c.aligned)
			for i, w := range c.want {
				if !near(float64(got[i]), w, 1e-4) {
					t.Errorf("value %d = %g, want %g (all %v)", i, got[i], w, got)
				}
			}
		})
	}
}

// tinyVideo writes n frames of tinyPixels + 2*frame as gray PNGs.
func tinyVideo(t *testing.T, dir, name string, n int) data.Video {
	t.Helper()
	v := data.Video{Name: name}
	for k := range n {
		p := filepath.Join(dir, name, fmt.Sprintf("%03d.png", k))
		writeGrayPNG(t, p, 4, 3, func(x, y int) uint8 { return uint8(tinyPixels[y][x] + 2*float64(k)) })
		v.Frames = append(v.Frames, p)
	}
	return v
}

// Cubes from files: layout [3, T, S, S], gray replicated to RGB, values in
// [0, 1], frames f-1..f+1, edge frames clamped or refused, each frame
// decoded once.
func TestExtractVideo(t *testing.T) {
	v := tinyVideo(t, t.TempDir(), "01", 5)
	cfg := CubeConfig{T: 3, Size: 2, Stride: 1, Margin: 1}
	box := Box{Video: "01", X1: 0.5, Y1: 0.5, X2: 2.5, Y2: 1.5, Score: 1, Class: -1}
	at := func(f int) Box { b := box; b.Frame = f; return b }
	bilinear := []float64{70, 50, 90, 70} // TestROIAlignByHand's first case
	check := func(name string, cube []float32, frames []int) {
		t.Helper()
		for c := range 3 {
			for ti, f := range frames {
				for i, w := range bilinear {
					want := (w + 2*float64(f)) / 255
					if got := cube[(c*3+ti)*4+i]; !near(float64(got), want, 1e-6) {
						t.Errorf("%s: channel %d, cube frame %d (video frame %d), value %d = %g, want %g", name, c, ti, f, i, got, want)
					}
				}
			}
		}
	}
	s := NewSet()
	for _, f := range []int{0, 1, 1, 2, 3, 4} {
		s.Add(at(f))
	}
	sel := cfg.Select(s, "01", 5)
	if len(sel) != 4 || sel[0].Frame != 1 || sel[3].Frame != 3 {
		t.Fatalf("selected frames %v, want boxes of frames 1, 1, 2, 3 (margin 1)", sel)
	}
	var got [][]float32
	decodes, err := extractVideo(context.Background(), v, sel, cfg, func(i int, cube []float32) error {
		got = append(got, append([]float32(nil), cube...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if decodes != 5 {
		t.Errorf("%d frame decodes for 4 cubes over frames 0-4, want 5", decodes)
	}
	for i, b := range sel {
		check(fmt.Sprintf("cube %d", i), got[i], []int{b.Frame - 1, b.Frame, b.Frame + 1})
	}

	// Ends: refused without Clamp, repeated with it.
	err = ExtractVideo(context.Background(), v, []Box{at(0)}, cfg, func(int, []float32) error { return nil })
	wantErr(t, err, "video 01 frame 0", "frames -1-1", "Clamp")
	cfg.Clamp, cfg.Margin = true, 0
	got = nil
	err = ExtractVideo(context.Background(), v, []Box{at(0), at(4)}, cfg, func(i int, cube []float32) error {
		got = append(got, append([]float32(nil), cube...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	check("clamped first", got[0], []int{0, 0, 1})
	check("clamped last", got[1], []int{3, 4, 4})

	if err := (CubeConfig{T: 4, Size: 64, Stride: 1, Margin: 3}).Validate(); err == nil {
		t.Error("even T accepted")
	}
	if err := (CubeConfig{T: 7, Size: 64, Stride: 1, Margin: 2}).Validate(); err == nil {
		t.Error("margin 2 < T/2 accepted without Clamp")
	}
}

func TestCubeConfigFor(t *testing.T) {
	for _, c := range []struct {
		name              string
		split             data.Split
		t, stride, margin int
	}{
		{"ped2", data.Test, 7, 1, 3},
		{"ped2", data.Train, 7, 1, 6},
		{"avenue", data.Test, 7, 1, 3},
		{"shanghaitech", data.Train, 9, 5, 8},
		{"shanghaitech", data.Test, 9, 1, 4},
	} {
		got, err := CubeConfigFor(c.name, c.split)
		if err != nil || got.T != c.t || got.Stride != c.stride || got.Margin != c.margin || got.Size != 64 || got.Clamp || got.Aligned || got.Sampling != 0 {
			t.Errorf("CubeConfigFor(%s, %s) = %+v, %v", c.name, c.split, got, err)
		}
	}
	// ShanghaiTech training: frames 8, 13, 18, ... below n - 8.
	s := NewSet()
	for f := range 30 {
		s.Add(Box{Video: "01_001", Frame: f, X1: 0, Y1: 0, X2: 1, Y2: 1})
	}
	cfg, _ := CubeConfigFor("shanghaitech", data.Train)
	var frames []int
	for _, b := range cfg.Select(s, "01_001", 30) {
		frames = append(frames, b.Frame)
	}
	if fmt.Sprint(frames) != "[8 13 18]" {
		t.Errorf("ShanghaiTech training frames %v, want [8 13 18] (range(8, 22, 5))", frames)
	}
}
