package pkgnet_test

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline/pkgnet"
)

func near(a, b []float64, tol float64) bool {
	return slices.EqualFunc(a, b, func(x, y float64) bool { return math.Abs(x-y) <= tol })
}

func TestComputeStatsAndZ(t *testing.T) {
	// By hand: mean 2.5, population variance (2.25+0.25+0.25+2.25)/4 = 1.25.
	s, err := pkgnet.ComputeStats([]float64{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Mean-2.5) > 1e-15 || math.Abs(s.Std-math.Sqrt(1.25)) > 1e-15 {
		t.Errorf("stats %+v, want mean 2.5, std sqrt(1.25)", s)
	}
	if z := s.Z(5); math.Abs(z-2.5/math.Sqrt(1.25)) > 1e-15 {
		t.Errorf("Z(5) = %g", z)
	}
	for _, bad := range [][]float64{nil, {3, 3, 3}} {
		if _, err := pkgnet.ComputeStats(bad); err == nil {
			t.Errorf("stats of %v: no error", bad)
		}
	}
}

func TestOfficialDataset(t *testing.T) {
	ped2, err := pkgnet.OfficialDataset("ped2")
	if err != nil {
		t.Fatal(err)
	}
	// config/ped2.yaml at fd8f200.
	if ped2.K != 2 || ped2.NumObj != 3 || ped2.Batch != 128 || ped2.Epochs != 120 || len(ped2.Hybrid) != 3 || len(ped2.Stats) != 3 ||
		ped2.Stats[1] != (pkgnet.Stats{Mean: 0.034649044, Std: 0.010666361}) {
		t.Errorf("ped2 %+v", ped2)
	}
	for _, name := range []string{"avenue", "shanghaitech"} {
		d, err := pkgnet.OfficialDataset(name)
		if err != nil {
			t.Fatal(err)
		}
		if d.K != 1 || d.NumObj != 1 || len(d.Hybrid) != d.K+1 || len(d.Stats) != d.K+1 {
			t.Errorf("%s %+v", name, d)
		}
	}
	if _, err := pkgnet.OfficialDataset("mvtec"); err == nil {
		t.Error("mvtec: no error")
	}
}

func TestHybrid(t *testing.T) {
	// By hand: object 0 has z-scores (0.002-0.001)/0.0005 = 2 and
	// (0.05-0.03)/0.01 = 2, so 0.5*2 + 0.5*2 = 2; object 1 sits at both
	// means, 0; object 2: 0.5*(-2) + 0.5*(1) = -0.5.
	got, err := pkgnet.Hybrid([][]float64{{0.002, 0.001, 0}, {0.05, 0.03, 0.04}},
		[]pkgnet.Stats{{Mean: 0.001, Std: 0.0005}, {Mean: 0.03, Std: 0.01}}, []float64{0.5, 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if !near(got, []float64{2, 0, -0.5}, 1e-12) {
		t.Errorf("hybrid %v, want [2 0 -0.5]", got)
	}
	// Ped2's three components: 0.01*1 + 0.65*(-1) + 0.35*3 = 0.41.
	got, err = pkgnet.Hybrid([][]float64{{1}, {-1}, {3}}, []pkgnet.Stats{{0, 1}, {0, 1}, {0, 1}}, []float64{0.01, 0.65, 0.35})
	if err != nil || !near(got, []float64{0.41}, 1e-12) {
		t.Errorf("ped2 hybrid %v %v, want [0.41]", got, err)
	}
	for _, bad := range []struct {
		comps [][]float64
		stats []pkgnet.Stats
		w     []float64
	}{
		{[][]float64{{1}, {2}}, []pkgnet.Stats{{0, 1}}, []float64{1, 1}},
		{[][]float64{{1}, {2, 3}}, []pkgnet.Stats{{0, 1}, {0, 1}}, []float64{1, 1}},
	} {
		if _, err := pkgnet.Hybrid(bad.comps, bad.stats, bad.w); err == nil {
			t.Errorf("Hybrid(%v): no error", bad.comps)
		}
	}
}

func TestFrameScores(t *testing.T) {
	// ShanghaiTech's empty frame: -(0.15 + 0.75).
	if e := pkgnet.EmptyFrameScore([]float64{0.15, 0.75}); math.Abs(e+0.9) > 1e-15 {
		t.Errorf("empty score %g, want -0.9", e)
	}
	objects := []float64{1, 5, 3, 2, 4, 0}
	counts := []int{3, 0, 1, 2}
	for _, tc := range []struct {
		top  int
		want []float64
	}{
		// By hand: frame 0's two largest of {1, 5, 3} are 5 and 3; frame 1
		// is empty; frame 2 has one object; frame 3's two are 4 and 0.
		{2, []float64{4, -0.9, 2, 2}},
		// Top 3: all of frame 0, and frame 3 has only two.
		{3, []float64{3, -0.9, 2, 2}},
		{1, []float64{5, -0.9, 2, 4}},
	} {
		got, err := pkgnet.FrameScores(objects, counts, tc.top, -0.9)
		if err != nil {
			t.Fatal(err)
		}
		if !near(got, tc.want, 1e-15) {
			t.Errorf("top %d: %v, want %v", tc.top, got, tc.want)
		}
	}
	for _, bad := range []struct {
		counts []int
		top    int
		want   string
	}{
		{[]int{3, 0, 1}, 1, "6 object scores for 4 objects"},
		{[]int{3, 4}, 1, "only 3 of 6"},
		{counts, 0, "at least 1"},
	} {
		if _, err := pkgnet.FrameScores(objects, bad.counts, bad.top, 0); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("counts %v top %d: error %v, want %q", bad.counts, bad.top, err, bad.want)
		}
	}
}

func TestMedFilt(t *testing.T) {
	x := []float64{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5}
	// y[i] = 0.5*((7i) mod 11) - 2, 30 values.
	y := make([]float64, 30)
	for i := range y {
		y[i] = 0.5*float64((i*7)%11) - 2
	}
	for _, tc := range []struct {
		name   string
		x      []float64
		kernel int
		want   []float64
	}{
		// By hand, zero padding: the first window of 3 is (0, 3, 1), median
		// 1; the last (3, 5, 0), median 3; the others lie inside.
		{"Kernel3", x, 3, []float64{1, 3, 1, 4, 5, 5, 6, 5, 5, 5, 3}},
		// By hand: the first window of 5 is (0, 0, 3, 1, 4), median 1; the
		// second (0, 3, 1, 4, 1), median 1; the last (5, 3, 5, 0, 0), 3.
		{"Kernel5", x, 5, []float64{1, 1, 3, 4, 4, 5, 5, 5, 5, 5, 3}},
		// scipy 1.10.1: /usr/bin/python3 -c "import numpy as np; from
		// scipy.signal import medfilt; y = np.array([0.5*((i*7)%11)-2.0 for
		// i in range(30)]); print(list(medfilt(y, 19)))"
		{"Kernel19", y, 19, []float64{0, 0, 0, 0, 0, 0, 0, 0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0, 0, 0, 0, 0, 0}},
		// Shorter than the kernel: every window of 19 has at least 14
		// zeros, which hold its middle (scipy gives the same).
		{"ShorterThanKernel", []float64{-1, -2, -3, -4, -5}, 19, []float64{0, 0, 0, 0, 0}},
		{"Kernel1", x, 1, x},
		{"Empty", nil, 19, []float64{}},
	} {
		got, err := pkgnet.MedFilt(tc.x, tc.kernel)
		if err != nil {
			t.Fatal(err)
		}
		if !near(got, tc.want, 0) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	for _, k := range []int{0, 4, -3} {
		if _, err := pkgnet.MedFilt(x, k); err == nil {
			t.Errorf("kernel %d: no error", k)
		}
	}
}

func TestSmoothVideos(t *testing.T) {
	// Two videos filtered apart: (3 1 4 1 5) and (9 2 6) with kernel 3 give
	// (1 3 1 4 1) and (2 6 2); filtered as one they would not.
	got, err := pkgnet.SmoothVideos([]float64{3, 1, 4, 1, 5, 9, 2, 6}, []int{5, 3}, 3)
	if err != nil {
		t.Fatal(err)
	}
	if !near(got, []float64{1, 3, 1, 4, 1, 2, 6, 2}, 0) {
		t.Errorf("smoothed %v", got)
	}
	if _, err := pkgnet.SmoothVideos([]float64{1, 2, 3}, []int{2}, 3); err == nil {
		t.Error("lengths short of the scores: no error")
	}
	if _, err := pkgnet.SmoothVideos([]float64{1, 2, 3}, []int{2, 2}, 3); err == nil {
		t.Error("lengths beyond the scores: no error")
	}
}
