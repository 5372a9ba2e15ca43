package synth

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestPerlin2DBoundsAndLattice(t *testing.T) {
	tests := []struct{ h, w, resY, resX int }{
		{64, 64, 1, 1},
		{64, 64, 4, 8},
		{64, 64, 32, 32},
		{32, 64, 2, 16},
		{50, 70, 3, 7}, // resolution does not divide the size
	}
	for _, tc := range tests {
		noise := Perlin2D(tc.h, tc.w, tc.resY, tc.resX, rand.New(rand.NewPCG(7, uint64(tc.resX))))
		if len(noise) != tc.h*tc.w {
			t.Fatalf("%+v: got %d values, want %d", tc, len(noise), tc.h*tc.w)
		}
		var sum, sq float64
		for i, v := range noise {
			// Unit gradients bound 2-D Perlin noise by sqrt(2)/2; the
			// reference scales by sqrt(2), so |v| <= 1.
			if math.Abs(float64(v)) > 1+1e-6 {
				t.Fatalf("%+v: value %d is %v, outside [-1, 1]", tc, i, v)
			}
			y, x := i/tc.w, i%tc.w
			if y*tc.resY%tc.h == 0 && x*tc.resX%tc.w == 0 && v != 0 {
				t.Errorf("%+v: lattice point (%d,%d) is %v, want 0", tc, y, x, v)
			}
			sum += float64(v)
			sq += float64(v) * float64(v)
		}
		std := math.Sqrt(sq / float64(len(noise)))
		if std < 0.05 {
			t.Errorf("%+v: RMS %v, noise is nearly flat", tc, std)
		}
	}
}

// TestPerlin2DMatchesDefinition evaluates textbook gradient noise directly:
// the fade-weighted sum of the four corner gradients dotted with the
// offsets from the corners, with the gradients drawn from the same stream.
func TestPerlin2DMatchesDefinition(t *testing.T) {
	const h, w, resY, resX = 48, 40, 3, 5
	noise := Perlin2D(h, w, resY, resX, rand.New(rand.NewPCG(3, 4)))

	rng := rand.New(rand.NewPCG(3, 4))
	var grad [resY + 1][resX + 1][2]float64
	for r := range resY + 1 {
		for c := range resX + 1 {
			a := 2 * math.Pi * rng.Float64()
			grad[r][c] = [2]float64{math.Cos(a), math.Sin(a)}
		}
	}
	f := func(t float64) float64 { return 6*math.Pow(t, 5) - 15*math.Pow(t, 4) + 10*math.Pow(t, 3) }
	for _, p := range [][2]int{{0, 0}, {1, 1}, {7, 3}, {16, 8}, {23, 19}, {47, 39}, {30, 25}} {
		y := float64(p[0]) * resY / h
		x := float64(p[1]) * resX / w
		r0, c0 := int(y), int(x)
		var want float64
		for dr := range 2 {
			for dc := range 2 {
				g := grad[r0+dr][c0+dc]
				oy, ox := y-float64(r0+dr), x-float64(c0+dc)
				wy := f(1 - math.Abs(oy))
				wx := f(1 - math.Abs(ox))
				want += wy * wx * (g[0]*oy + g[1]*ox)
			}
		}
		want *= math.Sqrt2
		if got := float64(noise[p[0]*w+p[1]]); math.Abs(got-want) > 1e-5 {
			t.Errorf("pixel %v: got %v, want %v", p, got, want)
		}
	}
}

// TestPerlin2DAboveThreshold: over DRAEM's scales (2^0..2^5 cells per
// axis), about 5% of the sqrt(2)-scaled noise lies above the 0.5 threshold
// and none of it above 1.
func TestPerlin2DAboveThreshold(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	const n, draws = 64, 300
	var frac float64
	for range draws {
		noise := Perlin2D(n, n, 1<<rng.IntN(6), 1<<rng.IntN(6), rng)
		above := 0
		for _, v := range noise {
			if v > 0.5 {
				above++
			}
		}
		frac += float64(above) / (n * n) / draws
	}
	if frac < 0.035 || frac > 0.075 {
		t.Errorf("%.4f of noise values above 0.5, want about 0.05", frac)
	}
}

func TestPerlin2DSeeds(t *testing.T) {
	a := Perlin2D(32, 32, 4, 4, rand.New(rand.NewPCG(1, 1)))
	b := Perlin2D(32, 32, 4, 4, rand.New(rand.NewPCG(1, 1)))
	c := Perlin2D(32, 32, 4, 4, rand.New(rand.NewPCG(2, 1)))
	same, differ := true, false
	for i := range a {
		same = same && a[i] == b[i]
		differ = differ || a[i] != c[i]
	}
	if !same {
		t.Error("same seed gave different noise")
	}
	if !differ {
		t.Error("different seeds gave identical noise")
	}
}

func TestPerlin2DPanicsOnBadResolution(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("resolution 0 did not panic")
		}
	}()
	Perlin2D(8, 8, 0, 1, rand.New(rand.NewPCG(1, 1)))
}

func TestRotatePlanes(t *testing.T) {
	// 4x4 ramp: the centre (1.5, 1.5) is between pixels, so quarter turns
	// map pixels exactly onto pixels.
	src := make([]float32, 16)
	for i := range src {
		src[i] = float32(i + 1)
	}
	at := func(p []float32, y, x int) float32 { return p[y*4+x] }
	tests := []struct {
		deg  float64
		want func(y, x int) float32
	}{
		{0, func(y, x int) float32 { return at(src, y, x) }},
		{180, func(y, x int) float32 { return at(src, 3-y, 3-x) }},
		// +90 turns clockwise on screen: the top row comes from the left column, bottom up.
		{90, func(y, x int) float32 { return at(src, 3-x, y) }},
		{-90, func(y, x int) float32 { return at(src, x, 3-y) }},
	}
	for _, tc := range tests {
		got := rotatePlanes(src, 1, 4, 4, tc.deg)
		for y := range 4 {
			for x := range 4 {
				if d := math.Abs(float64(at(got, y, x) - tc.want(y, x))); d > 1e-4 {
					t.Errorf("rotate %v: (%d,%d) = %v, want %v", tc.deg, y, x, at(got, y, x), tc.want(y, x))
				}
			}
		}
	}

	// A 45-degree turn of a white square leaves the corners black (the
	// reference's constant fill) and the centre white.
	const n = 21
	white := make([]float32, 2*n*n)
	for i := range white {
		white[i] = 1
	}
	got := rotatePlanes(white, 2, n, n, 45)
	for k := range 2 {
		p := got[k*n*n : (k+1)*n*n]
		if p[0] != 0 || p[n-1] != 0 || p[n*n-1] != 0 {
			t.Errorf("plane %d: corners %v %v %v, want 0", k, p[0], p[n-1], p[n*n-1])
		}
		if p[n/2*n+n/2] != 1 {
			t.Errorf("plane %d: centre %v, want 1", k, p[n/2*n+n/2])
		}
	}
}
