package metrics

import (
	"github.com/fmam/fmam/internal/metrics/metricstest"
	"math"
	"math/rand/v2"
	"testing"
)

func TestGaussianSmooth1DScipyValues(t *testing.T) {
	// The examples of scipy.ndimage.gaussian_filter1d's documentation; with
	// sigma 4 the kernel (radius 16) is wider than the input, so reflection
	// wraps several times.
	tests := []struct {
		sigma float64
		want  []float64
	}{
		{1, []float64{1.42704095, 2.06782203, 3, 3.93217797, 4.57295905}},
		{4, []float64{2.91948343, 2.95023502, 3, 3.04976498, 3.08051657}},
		// sigma 0 is fmam's "no smoothing": the input unchanged (scipy would
		// divide by zero).
		{0, []float64{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		got, err := GaussianSmooth1D([]float64{1, 2, 3, 4, 5}, tt.sigma)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if !metricstest.Near(got[i], tt.want[i], 5e-9) {
				t.Errorf("sigma %v: got %v, want %v", tt.sigma, got, tt.want)
				break
			}
		}
	}
}

func TestGaussianBlurScipyValues(t *testing.T) {
	// a = (np.arange(20, dtype=np.float32).reshape(4, 5) ** 2) / 10;
	// scipy.ndimage.gaussian_filter(a, sigma) with scipy 1.10.1. Sigma 2.5
	// gives radius 10, wider than both sides.
	a := make([]float32, 20)
	for i := range a {
		a[i] = float32(i*i) / 10
	}
	tests := []struct {
		sigma float64
		want  []float32
	}{
		{1, []float32{
			1.6694711, 2.078813, 2.7788494, 3.6204624, 4.270853,
			5.2566323, 6.073649, 7.366751, 8.80143, 9.859495,
			12.182923, 13.559826, 15.667423, 17.916597, 19.53455,
			18.682373, 20.466951, 23.167614, 26.009853, 28.03548,
		}},
		{2.5, []float32{
			9.407061, 9.760874, 10.335215, 10.91188, 11.269457,
			10.516207, 10.896192, 11.5128765, 12.1318865, 12.5156355,
			12.087965, 12.504962, 13.181533, 13.860429, 14.281191,
			13.20156, 13.644729, 14.363645, 15.084885, 15.531818,
		}},
	}
	for _, tt := range tests {
		got, err := GaussianBlur(a, 5, 4, tt.sigma)
		if err != nil {
			t.Fatal(err)
		}
		for i := range got {
			if !metricstest.Near(float64(got[i]), float64(tt.want[i]), 2e-6*float64(tt.want[i])) {
				t.Errorf("sigma %v: pixel %d = %v, scipy %v", tt.sigma, i, got[i], tt.want[i])
			}
		}
	}
}

// bruteBlur convolves with the full 2-D kernel (product of two 1-D ones),
// reflecting indices one step at a time, all in float64.
func bruteBlur(m []float32, w, h int, sigma float64) []float64 {
	r := int(4*sigma + 0.5)
	g := func(i int) float64 { return math.Exp(-0.5 * float64(i*i) / (sigma * sigma)) }
	var norm float64
	for i := -r; i <= r; i++ {
		norm += g(i)
	}
	reflect := func(i, n int) int {
		for i < 0 || i >= n {
			if i < 0 {
				i = -i - 1
			} else {
				i = 2*n - 1 - i
			}
		}
		return i
	}
	out := make([]float64, w*h)
	for y := range h {
		for x := range w {
			var s float64
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					s += g(dy) * g(dx) * float64(m[reflect(y+dy, h)*w+reflect(x+dx, w)])
				}
			}
			out[y*w+x] = s / (norm * norm)
		}
	}
	return out
}

func TestGaussianBlurAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, tt := range []struct {
		w, h  int
		sigma float64
	}{{7, 5, 0.7}, {9, 3, 1.5}, {4, 11, 3}, {1, 6, 2}, {16, 16, 4}} {
		m := make([]float32, tt.w*tt.h)
		for i := range m {
			m[i] = float32(r.Float64())
		}
		got, err := GaussianBlur(m, tt.w, tt.h, tt.sigma)
		if err != nil {
			t.Fatal(err)
		}
		want := bruteBlur(m, tt.w, tt.h, tt.sigma)
		for i := range got {
			if !metricstest.Near(float64(got[i]), want[i], 1e-6) {
				t.Errorf("%dx%d sigma %v: pixel %d = %v, brute force %v", tt.w, tt.h, tt.sigma, i, got[i], want[i])
				break
			}
		}
	}
}

// No numbers but the sigma-0 copy: invalid sizes and sigmas must be refused
// (GaussianBlur's and GaussianSmooth1D's documented contract).
func TestGaussianErrors(t *testing.T) {
	if _, err := GaussianBlur(make([]float32, 5), 2, 2, 1); err == nil {
		t.Error("GaussianBlur accepted 5 values for 2x2")
	}
	for _, sigma := range []float64{-1, math.NaN(), math.Inf(1)} {
		if _, err := GaussianBlur(make([]float32, 4), 2, 2, sigma); err == nil {
			t.Errorf("GaussianBlur accepted sigma %v", sigma)
		}
		if _, err := GaussianSmooth1D(make([]float64, 4), sigma); err == nil {
			t.Errorf("GaussianSmooth1D accepted sigma %v", sigma)
		}
	}
	in := []float32{1, 2, 3, 4}
	out, err := GaussianBlur(in, 2, 2, 0)
	if err != nil || &out[0] == &in[0] || out[3] != 4 {
		t.Errorf("sigma 0: %v, %v; want a copy of the input", out, err)
	}
}
