package jigsaw_test

import (
	"math"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/baseline/jigsaw"
)

const (
	tFrames = 7
	tSize   = 64
	border  = 0.99 // pixel value outside the grid; decodes to frame 9
)

// codedCube has, in the grid, pixel value frame/10 + tile/100 + c/1000
// (tile row-major in the 3x3 grid of 20-pixel tiles after a 2-pixel
// border), and 0.99 outside the grid. decode reads frame and tile back.
func codedCube() []float32 {
	l := jigsaw.OfficialLayout
	cube := make([]float32, 3*tFrames*tSize*tSize)
	for c := range 3 {
		for f := range tFrames {
			for y := range tSize {
				for x := range tSize {
					v := float32(border)
					gy, gx := (y-l.Border)/l.Tile, (x-l.Border)/l.Tile
					if y >= l.Border && x >= l.Border && gy < 3 && gx < 3 {
						v = float32(f)/10 + float32(gy*3+gx)/100 + float32(c)/1000
					}
					cube[((c*tFrames+f)*tSize+y)*tSize+x] = v
				}
			}
		}
	}
	return cube
}

func decode(v float32) (frame, tile int) {
	k := int(math.Round(float64(v) * 100))
	return k / 10, k % 10
}

// check reads every pixel of s.Cube back: outside the grid 0; at grid
// position q of frame position i, the original frame TemporalPerm[i] and
// the original tile j with SpatialPerm[j] = q (mirrored when flipped), the
// channel intact, and one tile's pixels all from one source pixel row.
func check(t *testing.T, s jigsaw.Sample) {
	t.Helper()
	l := jigsaw.OfficialLayout
	from := make([]int, 9)
	for j, q := range s.SpatialPerm {
		from[q] = j
	}
	for c := range 3 {
		for i := range tFrames {
			for y := range tSize {
				for x := range tSize {
					v := s.Cube[((c*tFrames+i)*tSize+y)*tSize+x]
					gy, gx := (y-l.Border)/l.Tile, (x-l.Border)/l.Tile
					if y < l.Border || x < l.Border || gy >= 3 || gx >= 3 {
						if v != 0 {
							t.Fatalf("pixel (%d, %d) outside the grid is %v, want 0", y, x, v)
						}
						continue
					}
					f, tile := decode(v)
					want := from[gy*3+gx]
					if s.Flipped {
						want = want/3*3 + 2 - want%3
					}
					if f != s.TemporalPerm[i] || tile != want {
						t.Fatalf("frame position %d, grid (%d, %d): holds frame %d tile %d, want frame %d tile %d (perms %v %v, flipped %v)",
							i, gy, gx, f, tile, s.TemporalPerm[i], want, s.TemporalPerm, s.SpatialPerm, s.Flipped)
					}
					if ch := math.Round(float64(v)*1000) - float64(f*100+tile*10); int(ch) != c {
						t.Fatalf("channel %d holds channel %v", c, ch)
					}
				}
			}
		}
	}
}

func isPerm(p []int, n int) bool {
	s := slices.Clone(p)
	slices.Sort(s)
	for i, v := range s {
		if v != i {
			return false
		}
	}
	return len(p) == n
}

func TestTemporalAndSpatialSamples(t *testing.T) {
	cube := codedCube()
	orig := slices.Clone(cube)
	seen := map[string]int{}
	for idx := range 40 {
		temporal := idx%2 == 0
		s, err := jigsaw.NewSample(cube, tFrames, tSize, temporal, jigsaw.OfficialAugment, jigsaw.SampleRNG(3, 17, idx))
		if err != nil {
			t.Fatal(err)
		}
		if !isPerm(s.TemporalPerm, tFrames) || !isPerm(s.SpatialPerm, 9) {
			t.Fatalf("not permutations: %v %v", s.TemporalPerm, s.SpatialPerm)
		}
		// Frames differ by 0.6 between first and last: never static.
		if s.Temporal != temporal || s.Static {
			t.Fatalf("sample %d: temporal %v static %v", idx, s.Temporal, s.Static)
		}
		if temporal && !slices.Equal(s.SpatialPerm, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}) || !temporal && !slices.Equal(s.TemporalPerm, []int{0, 1, 2, 3, 4, 5, 6}) {
			t.Fatalf("sample %d permuted the other branch: %v %v", idx, s.TemporalPerm, s.SpatialPerm)
		}
		check(t, s)
		tt, st := s.Targets()
		for i := range tFrames {
			for k := range tFrames {
				want := float32(0)
				if temporal && k == s.TemporalPerm[i] {
					want = 1
				}
				if tt[i*tFrames+k] != want {
					t.Fatalf("temporal target [%d][%d] = %v, want %v", i, k, tt[i*tFrames+k], want)
				}
			}
		}
		for j := range 9 {
			for k := range 9 {
				want := float32(0)
				if !temporal && k == s.SpatialPerm[j] {
					want = 1
				}
				if st[j*9+k] != want {
					t.Fatalf("spatial target [%d][%d] = %v, want %v", j, k, st[j*9+k], want)
				}
			}
		}
		seen[map[bool]string{true: "flip", false: "noflip"}[s.Flipped]]++
	}
	if !slices.Equal(cube, orig) {
		t.Error("NewSample changed its input")
	}
	// 40 fair coins: both outcomes at least 8 times (probability of
	// failing about 1e-4).
	if seen["flip"] < 8 || seen["noflip"] < 8 {
		t.Errorf("flips %v", seen)
	}
}

// A cube whose last frame differs from its first by less than the
// threshold is not shuffled in time.
func TestStaticCubes(t *testing.T) {
	for _, tc := range []struct {
		diff   float32
		static bool
	}{{0.29, true}, {0.31, false}} {
		cube := make([]float32, 3*tFrames*tSize*tSize)
		// Pixel (30, 30) of channel 1 grows over the clip to 0.2 + diff.
		for f := range tFrames {
			cube[((1*tFrames+f)*tSize+30)*tSize+30] = 0.2 + tc.diff*float32(f)/(tFrames-1)
		}
		a := jigsaw.OfficialAugment
		a.FlipProb = 0
		shuffled := 0
		for i := range 20 {
			s, err := jigsaw.NewSample(cube, tFrames, tSize, true, a, jigsaw.SampleRNG(1, i, 0))
			if err != nil {
				t.Fatal(err)
			}
			if s.Static != tc.static {
				t.Fatalf("diff %v: static %v, want %v", tc.diff, s.Static, tc.static)
			}
			if !slices.Equal(s.TemporalPerm, []int{0, 1, 2, 3, 4, 5, 6}) {
				shuffled++
			}
		}
		if tc.static && shuffled != 0 || !tc.static && shuffled < 19 {
			t.Errorf("diff %v: %d of 20 shuffled", tc.diff, shuffled)
		}
	}
}

// The flip is horizontal and the same pixels come back: grid position q
// of a flipped, unpermuted cube holds the mirror tile.
func TestFlipAndIdentity(t *testing.T) {
	a := jigsaw.OfficialAugment
	a.FlipProb, a.IdentityProb = 1, 1
	s, err := jigsaw.NewSample(codedCube(), tFrames, tSize, false, a, jigsaw.SampleRNG(1, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Flipped || !slices.Equal(s.SpatialPerm, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}) {
		t.Fatalf("flipped %v, perm %v", s.Flipped, s.SpatialPerm)
	}
	check(t, s)
	// Pixel (10, 5) of frame 0, channel 0 (tile 0, column 3 of it) comes
	// from column 63 - 5 = 58, tile 2.
	if f, tile := decode(s.Cube[10*tSize+5]); f != 0 || tile != 2 {
		t.Errorf("flipped pixel holds frame %d tile %d", f, tile)
	}
}

func TestSamplesReproducible(t *testing.T) {
	cube := codedCube()
	a, _ := jigsaw.NewSample(cube, tFrames, tSize, false, jigsaw.OfficialAugment, jigsaw.SampleRNG(9, 100, 3))
	b, _ := jigsaw.NewSample(cube, tFrames, tSize, false, jigsaw.OfficialAugment, jigsaw.SampleRNG(9, 100, 3))
	if !slices.Equal(a.Cube, b.Cube) || !slices.Equal(a.SpatialPerm, b.SpatialPerm) || a.Flipped != b.Flipped {
		t.Error("same seed, step and slot gave different samples")
	}
	diff := 0
	for step := range 10 {
		c, _ := jigsaw.NewSample(cube, tFrames, tSize, false, jigsaw.OfficialAugment, jigsaw.SampleRNG(9, 101+step, 3))
		if !slices.Equal(a.SpatialPerm, c.SpatialPerm) {
			diff++
		}
	}
	if diff < 9 {
		t.Errorf("only %d of 10 other steps drew another permutation", diff)
	}
	cfg := jigsaw.Official(7)
	m1, m2 := jigsaw.DropoutMask(cfg, 4, 1, 5), jigsaw.DropoutMask(cfg, 4, 1, 5)
	if len(m1) != 4*64 || !slices.Equal(m1, m2) || slices.Equal(m1, jigsaw.DropoutMask(cfg, 4, 1, 6)) {
		t.Error("dropout masks: not a function of seed and step")
	}
}

func TestTestCube(t *testing.T) {
	cube := codedCube()
	cube[(1*tSize+20)*tSize+20] = 1.5  // channel 0, frame 1, pixel (20, 20): clamped
	cube[(2*tSize+40)*tSize+40] = -0.5 // channel 0, frame 2, pixel (40, 40)
	out, err := jigsaw.TestCube(cube, tFrames, tSize, jigsaw.OfficialLayout)
	if err != nil {
		t.Fatal(err)
	}
	if out[(1*tSize+20)*tSize+20] != 1 || out[(2*tSize+40)*tSize+40] != 0 {
		t.Errorf("not clamped: %v %v", out[(1*tSize+20)*tSize+20], out[(2*tSize+40)*tSize+40])
	}
	orig := codedCube()
	out[(1*tSize+20)*tSize+20], out[(2*tSize+40)*tSize+40] = orig[(1*tSize+20)*tSize+20], orig[(2*tSize+40)*tSize+40]
	check(t, jigsaw.Sample{Cube: out, TemporalPerm: []int{0, 1, 2, 3, 4, 5, 6}, SpatialPerm: []int{0, 1, 2, 3, 4, 5, 6, 7, 8}})
	if _, err := jigsaw.TestCube(cube[1:], tFrames, tSize, jigsaw.OfficialLayout); err == nil {
		t.Error("short cube: no error")
	}
	if _, err := jigsaw.TestCube(make([]float32, 3*tFrames*32*32), tFrames, 32, jigsaw.OfficialLayout); err == nil {
		t.Error("64-pixel layout on a 32-pixel cube: no error")
	}
}
