package score

import (
	"math"
	"testing"
)

// DRAEM's image score is the maximum of the 21x21 mean-filtered map, the
// window cut at the borders and averaged over the pixels inside.
func TestDRAEMImageScore(t *testing.T) {
	tests := []struct {
		name string
		h, w int
		m    func(y, x int) float32
		want float64
	}{
		// A constant map filters to itself.
		{"constant", 8, 8, func(y, x int) float32 { return 0.25 }, 0.25},
		// One hot pixel in a 3x3 map: every window covers the whole map,
		// so the mean is 1/9.
		{"small map", 3, 3, func(y, x int) float32 {
			if y == 1 && x == 1 {
				return 1
			}
			return 0
		}, 1.0 / 9},
		// A 30x30 map with a hot pixel in a corner: the window of the
		// corner pixel holds 11x11 pixels, the most of any window that
		// covers the hot one, so the score is 1/121.
		{"corner", 30, 30, func(y, x int) float32 {
			if y == 0 && x == 0 {
				return 1
			}
			return 0
		}, 1.0 / 121},
		// A hot 21x21 block in a 40x40 map: the window centred on it covers
		// it exactly.
		{"block", 40, 40, func(y, x int) float32 {
			if y >= 5 && y < 26 && x >= 9 && x < 30 {
				return 2
			}
			return 0
		}, 2},
	}
	for _, tc := range tests {
		m := make([]float32, tc.h*tc.w)
		for y := range tc.h {
			for x := range tc.w {
				m[y*tc.w+x] = tc.m(y, x)
			}
		}
		if got := DRAEMImageScore(m, tc.h, tc.w); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%s: score %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestFramePSNR(t *testing.T) {
	// MSE 0.04 on [-1, 1] is 0.01 on [0, 1]: 20 dB.
	if got := FramePSNR(0.04); math.Abs(got-20) > 1e-9 {
		t.Errorf("FramePSNR(0.04) = %v, want 20", got)
	}
	if got := FramePSNR(0); got != 100 {
		t.Errorf("a perfect prediction scores %v, want the 100 dB clamp", got)
	}
}
