package jigsaw

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func close(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values %v, want %d %v", what, len(got), got, len(want), want)
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s[%d] = %v, want %v (all: %v)", what, i, got[i], want[i], got)
		}
	}
}

// The ShanghaiTech aggregation on six frames with a 3-frame window.
func TestScoreFramesByHand(t *testing.T) {
	v := Video{Name: "a", Frames: 6}
	objs := []Object{
		{Frame: 1, Spatial: 0.2, Temporal: 0.5},
		{Frame: 1, Spatial: 0.6, Temporal: 0.9},
		{Frame: 2, Spatial: 0.8, Temporal: 0.3},
		{Frame: 4, Spatial: 0.5, Temporal: 0.7},
	}
	fs, err := scoreFrames(v, objs, Protocol{FrameWindow: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Spatial per-frame minima [1, .2, .8, 1, .5, 1]; frames with objects
	// normalised by min .2 and max .8: [1, 0, 1, 1, .5, 1]; 3-frame means
	// inside, ends kept: [1, 2/3, 2/3, 2.5/3, 2.5/3, 1].
	close(t, "spatial", fs.Spatial, []float64{1, 2.0 / 3, 2.0 / 3, 2.5 / 3, 2.5 / 3, 1}, 1e-12)
	// Temporal minima [1, .5, .3, 1, .7, 1]; by min .3, max .7:
	// [1, .5, 0, 1, 1, 1]; means: [1, .5, .5, 2/3, 1, 1].
	close(t, "temporal", fs.Temporal, []float64{1, 0.5, 0.5, 2.0 / 3, 1, 1}, 1e-12)
	close(t, "combined", fs.Combined, []float64{1, 7.0 / 12, 7.0 / 12, 0.75, 11.0 / 12, 1}, 1e-12)
	// The official 43-frame window leaves a 30-frame video as it is.
	long := Video{Name: "b", Frames: 30}
	fl, err := scoreFrames(long, []Object{{Frame: 3, Spatial: 0.1, Temporal: 0.2}, {Frame: 9, Spatial: 0.4, Temporal: 0.6}}, Protocol{FrameWindow: 43})
	if err != nil {
		t.Fatal(err)
	}
	if fl.Spatial[3] != 0 || fl.Spatial[9] != 1 || fl.Spatial[0] != 1 || fl.Temporal[3] != 0 || fl.Temporal[9] != 1 {
		t.Errorf("30 frames, 43-frame window: spatial %v temporal %v", fl.Spatial, fl.Temporal)
	}
}

// The Ped2/Avenue aggregation on a 3-frame, 2x4-pixel video without the
// mean filter (side 1).
func TestScoreMapsByHand(t *testing.T) {
	v := Video{Name: "a", Frames: 3, Width: 4, Height: 2}
	objs := []Object{
		{Frame: 0, Box: [4]float64{0, 0, 1, 1}, Spatial: 0.4, Temporal: 0.6},
		{Frame: 0, Box: [4]float64{1, 0, 2, 0}, Spatial: 0.2, Temporal: 0.8},
		{Frame: 2, Box: [4]float64{3, 1, 3, 1}, Spatial: 0.6, Temporal: 0.4},
	}
	p := Protocol{Maps: true, BlockScale: 1, MapFilter: 1}
	vol, lo, hi := objectMap(v, objs, p, func(o Object) float64 { return o.Spatial })
	// Frame 0: row 0 [.4, min(.4, .2), .2, 1], row 1 [.4, .4, 1, 1];
	// frame 1 untouched; frame 2 .6 at (row 1, column 3).
	want := []float64{0.4, 0.2, 0.2, 1, 0.4, 0.4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0.6}
	close(t, "spatial map", vol, want, 0)
	if lo != 0.2 || hi != 0.6 {
		t.Errorf("extremes %v %v, want .2 .6", lo, hi)
	}
	fs, err := scoreMaps(v, objs, p)
	if err != nil {
		t.Fatal(err)
	}
	// Spatial normalised by (v - .2) / .4: frame minima 0, (1-.2)/.4 = 2,
	// 1; min-max over frames: [0, 1, .5].
	close(t, "spatial", fs.Spatial, []float64{0, 1, 0.5}, 1e-12)
	// Temporal: frame 0 holds .6 and .8, frame 2 .4; by (v - .4) / .4 the
	// frame minima are .5, 1.5, 0: [1/3, 1, 0].
	close(t, "temporal", fs.Temporal, []float64{1.0 / 3, 1, 0}, 1e-12)
	// Combined .5/.5 of the unnormalised minima: .25, 1.75, .5, then
	// min-max: [0, 1, 1/6].
	close(t, "combined", fs.Combined, []float64{0, 1, 1.0 / 6}, 1e-12)
}

// Box corners are divided by the block scale and rounded half to even, as
// np.round does, and both ends are inclusive; boxes reaching past the
// frame are clipped.
func TestObjectMapBlocks(t *testing.T) {
	v := Video{Name: "a", Frames: 1, Width: 60, Height: 40} // 3 x 2 blocks of 20
	p := Protocol{Maps: true, BlockScale: 20, MapFilter: 5}
	objs := []Object{
		// 30/20 = 1.5 -> 2, 10/20 = .5 -> 0, 50/20 = 2.5 -> 2, 29/20 = 1.45 -> 1:
		// column 2, rows 0..1.
		{Box: [4]float64{30, 10, 50, 29}, Spatial: 0.3},
		// 10/20 = .5 -> 0 on both ends: block (0, 0) only.
		{Box: [4]float64{-5, 10, 10, 10}, Spatial: 0.7},
		// Past the right and bottom edges: 45/20 -> 2, 25/20 -> 1, ends 4.5
		// -> 4 and 4 clipped to 2 and 1: block (1, 2) only.
		{Box: [4]float64{45, 25, 90, 80}, Spatial: 0.1},
		// Starting past the right edge: numpy's empty slice, nothing.
		{Box: [4]float64{61, 0, 90, 40}, Spatial: 0.05},
	}
	vol, _, _ := objectMap(v, objs, p, func(o Object) float64 { return o.Spatial })
	close(t, "blocks", vol, []float64{0.7, 1, 0.3, 1, 1, 0.1}, 0)
	if h, w := mapSize(Video{Width: 640, Height: 360}, p); h != 18 || w != 32 {
		t.Errorf("Avenue map %dx%d, want 18x32", h, w)
	}
}

// The separable box filter equals the 3-D mean over k^3 cubes of the
// volume padded with ones, computed directly.
func TestBoxFilter3(t *testing.T) {
	const T, H, W = 4, 5, 6
	rng := rand.New(rand.NewPCG(1, 1))
	for _, k := range []int{3, 5} {
		vol := make([]float64, T*H*W)
		for i := range vol {
			vol[i] = rng.Float64()
		}
		at := func(f, y, x int) float64 {
			if f < 0 || f >= T || y < 0 || y >= H || x < 0 || x >= W {
				return 1
			}
			return vol[(f*H+y)*W+x]
		}
		r := k / 2
		want := make([]float64, len(vol))
		for f := range T {
			for y := range H {
				for x := range W {
					s := 0.0
					for a := -r; a <= r; a++ {
						for b := -r; b <= r; b++ {
							for c := -r; c <= r; c++ {
								s += at(f+a, y+b, x+c)
							}
						}
					}
					want[(f*H+y)*W+x] = s / float64(k*k*k)
				}
			}
		}
		got := slices.Clone(vol)
		boxFilter3(got, T, H, W, k)
		close(t, "box filter", got, want, 1e-12)
	}
}

// boxFilter3Lines is boxFilter3 as it was before it added whole rows and
// planes: each pass walks one line of cells at a time (the frame pass
// strided by a plane). boxFilter3 must give the same bits, so that the
// published tables do not move by a rounding.
func boxFilter3Lines(vol []float64, t, h, w, k int) {
	if k == 1 {
		return
	}
	r := k / 2
	line := make([]float64, max(t, h, w))
	pass := func(count, length, stride int, start func(int) int) {
		for i := range count {
			s := start(i)
			for j := range length {
				line[j] = vol[s+j*stride]
			}
			for j := range length {
				sum := 0.0
				for d := -r; d <= r; d++ {
					if q := j + d; q >= 0 && q < length {
						sum += line[q]
					} else {
						sum++
					}
				}
				vol[s+j*stride] = sum / float64(k)
			}
		}
	}
	pass(t*h, w, 1, func(i int) int { return i * w })
	pass(t*w, h, w, func(i int) int { return (i/w)*h*w + i%w })
	pass(h*w, t, h*w, func(i int) int { return i })
}

func TestBoxFilter3SameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for _, sz := range []struct{ t, h, w, k int }{{1, 1, 1, 5}, {2, 3, 4, 5}, {7, 9, 11, 3}, {12, 10, 8, 5}, {6, 4, 5, 7}, {30, 24, 36, 5}} {
		vol := make([]float64, sz.t*sz.h*sz.w)
		for i := range vol {
			vol[i] = rng.Float64()
			if i%7 == 0 {
				vol[i] = 1 // blocks no object touched, after normalisation
			}
		}
		want := slices.Clone(vol)
		boxFilter3Lines(want, sz.t, sz.h, sz.w, sz.k)
		got := slices.Clone(vol)
		boxFilter3(got, sz.t, sz.h, sz.w, sz.k)
		for i := range got {
			if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
				t.Fatalf("%+v: cell %d is %v, the line-by-line filter gives %v", sz, i, got[i], want[i])
			}
		}
	}
}
