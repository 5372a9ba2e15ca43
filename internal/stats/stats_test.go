package stats

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestMeanStd(t *testing.T) {
	tests := []struct {
		name      string
		x         []float64
		mean, std float64
	}{
		// The worked example of Wikipedia's "Standard deviation" article:
		// mean 5, population deviation 2, so the sample deviation is
		// sqrt(32/7) = 2.13809.
		{"wikipedia", []float64{2, 4, 4, 4, 5, 5, 7, 9}, 5, math.Sqrt(32.0 / 7)},
		// By hand: mean 2, squared deviations 1+0+1, sd sqrt(2/2) = 1.
		{"1 2 3", []float64{1, 2, 3}, 2, 1},
		// By hand: mean .925, deviations ±.025, sd sqrt(2 * .025^2 / 1) = .05/sqrt(2)
		// (numpy.std(x, ddof=1) gives 0.0353553).
		{"two", []float64{0.9, 0.95}, 0.925, 0.05 / math.Sqrt2},
		// NaN where the sample cannot support the number, as Mean and Std
		// document (numpy.std(x, ddof=1) gives nan too).
		{"one value has no spread", []float64{0.9}, 0.9, math.NaN()},
		{"empty", nil, math.NaN(), math.NaN()},
	}
	same := func(a, b float64) bool { return math.IsNaN(a) && math.IsNaN(b) || near(a, b, 1e-12) }
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Mean(tc.x); !same(got, tc.mean) {
				t.Errorf("Mean = %v, want %v", got, tc.mean)
			}
			if got := Std(tc.x); !same(got, tc.std) {
				t.Errorf("Std = %v, want %v", got, tc.std)
			}
			s, err := Summarize(tc.x)
			if err != nil || s.N != len(tc.x) || !same(s.Mean, tc.mean) || !same(s.Std, tc.std) {
				t.Errorf("Summarize = %+v, %v", s, err)
			}
		})
	}
	if _, err := Summarize([]float64{1, math.NaN()}); err == nil || !strings.Contains(err.Error(), "value 1") {
		t.Errorf("NaN accepted or unnamed: %v", err)
	}
}

// By hand: round to prec decimals (97.14 -> 97.1, 0.449 -> 0.4); n = 1 and
// n = 0 print the forms Summary.Format documents.
func TestFormat(t *testing.T) {
	tests := []struct {
		s    Summary
		prec int
		want string
	}{
		{Summary{97.14, 0.449, 5}, 1, "97.1 ± 0.4"},
		{Summary{0.5, 0.25, 3}, 3, "0.500 ± 0.250"},
		{Summary{97.14, math.NaN(), 1}, 1, "97.1 (n=1)"},
		{Summary{math.NaN(), math.NaN(), 0}, 1, "-"},
	}
	for _, tc := range tests {
		if got := tc.s.Format(tc.prec); got != tc.want {
			t.Errorf("%+v.Format(%d) = %q, want %q", tc.s, tc.prec, got, tc.want)
		}
	}
}

// Student's sleep data (Student 1908, "The probable error of a mean",
// Biometrika 6; R's datasets::sleep): extra hours of sleep of ten patients
// under two drugs. R's example t.test(extra ~ group, data = sleep, paired =
// TRUE) prints t = -4.0621, df = 9, p-value = 0.002833, 95 percent confidence
// interval -2.4598858 -0.7001142, mean difference -1.58. scipy 1.10.1's
// stats.ttest_rel(sleep1, sleep2) and its confidence_interval(0.95) agree.
var (
	sleep1 = []float64{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0}
	sleep2 = []float64{1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4}
)

func TestCompareSleep(t *testing.T) {
	p, err := Compare(sleep1, sleep2, PairedOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// The standard deviation of the ten differences by hand:
	// sum of squares 13.616 about the mean -1.58, sqrt(13.616/9) = 1.22999.
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"mean diff", p.MeanDiff, -1.58, 1e-12},
		{"std diff", p.StdDiff, math.Sqrt(13.616 / 9), 1e-12},
		{"t", p.T, -4.0621, 5e-5},
		{"p", p.P, 0.002833, 5e-7},
		{"t CI low", p.TLow, -2.4598858, 5e-8},
		{"t CI high", p.THigh, -0.7001142, 5e-8},
	}
	for _, c := range checks {
		if !near(c.got, c.want, c.tol) {
			t.Errorf("%s = %.8g, want %.8g", c.name, c.got, c.want)
		}
	}
	if p.N != 10 || p.DF != 9 || p.Level != 0.95 || p.Resamples != DefaultResamples || p.Note != "" {
		t.Errorf("N %d DF %d level %v resamples %d note %q", p.N, p.DF, p.Level, p.Resamples, p.Note)
	}
	// The bootstrap interval of a mean is narrower than the t interval (it
	// lacks the t quantile and the n-1) but brackets the mean, inside the
	// range of the differences.
	if !(p.BootLow < p.MeanDiff && p.MeanDiff < p.BootHigh && p.BootLow > -4.6 && p.BootHigh < 0) {
		t.Errorf("bootstrap interval [%v, %v] does not bracket %v inside the differences' range", p.BootLow, p.BootHigh, p.MeanDiff)
	}
	again, _ := Compare(sleep1, sleep2, PairedOptions{Seed: 1})
	other, _ := Compare(sleep1, sleep2, PairedOptions{Seed: 2})
	if again.BootLow != p.BootLow || again.BootHigh != p.BootHigh {
		t.Error("same seed, different bootstrap interval")
	}
	if other.BootLow == p.BootLow && other.BootHigh == p.BootHigh {
		t.Error("another seed gives the identical interval; is the seed used?")
	}
	// Swapping the samples flips the sign and keeps p.
	q, _ := Compare(sleep2, sleep1, PairedOptions{Seed: 1})
	if !near(q.T, -p.T, 1e-12) || !near(q.P, p.P, 1e-15) {
		t.Errorf("swapped: t %v p %v, want %v and %v", q.T, q.P, -p.T, p.P)
	}
}

// With four pairs the bootstrap has 4^4 = 256 equally likely resamples, so
// its exact distribution can be listed; the percentiles of many random
// resamples must land on the exact ones.
func TestBootstrapMatchesEnumeration(t *testing.T) {
	d := []float64{1, 2, 4, 8}
	var all []float64
	for i := range 256 {
		s := d[i%4] + d[i/4%4] + d[i/16%4] + d[i/64]
		all = append(all, s/4)
	}
	slices.Sort(all)
	// The exact 2.5% and 97.5% points, and a check that each falls well
	// inside one atom of the distribution, away from a step of the CDF
	// where sampling noise could push the estimate to the neighbour.
	exact := func(p float64) float64 {
		k := int(math.Ceil(p * 256))
		v := all[k-1]
		first, end := slices.Index(all, v), k
		for end < len(all) && all[end] == v {
			end++
		}
		if lo, hi := float64(first)/256, float64(end)/256; p-lo < 0.005 || hi-p < 0.005 {
			t.Fatalf("test data: the %v point sits at a CDF step [%v, %v]", p, lo, hi)
		}
		return v
	}
	b := make([]float64, 4)
	p, err := Compare(d, b, PairedOptions{Resamples: 100000, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if lo, hi := exact(0.025), exact(0.975); p.BootLow != lo || p.BootHigh != hi {
		t.Errorf("bootstrap interval [%v, %v], exact [%v, %v]", p.BootLow, p.BootHigh, lo, hi)
	}
	p90, _ := Compare(d, b, PairedOptions{Resamples: 100000, Seed: 7, Level: 0.8})
	if lo, hi := exact(0.1), exact(0.9); p90.BootLow != lo || p90.BootHigh != hi {
		t.Errorf("80%% bootstrap interval [%v, %v], exact [%v, %v]", p90.BootLow, p90.BootHigh, lo, hi)
	}
}

func TestCompareSmallSamples(t *testing.T) {
	nan := math.IsNaN
	t.Run("one seed", func(t *testing.T) {
		// By hand: the one difference .93 - .90, and NaN for everything that
		// needs a spread.
		p, err := Compare([]float64{0.93}, []float64{0.90}, PairedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !near(p.MeanDiff, 0.03, 1e-12) || !nan(p.StdDiff) || !nan(p.T) || !nan(p.P) || !nan(p.TLow) || !nan(p.BootLow) || p.Resamples != 0 {
			t.Errorf("n=1 gave %+v; want the difference and nothing else", p)
		}
		if !strings.Contains(p.Note, "one seed") {
			t.Errorf("note %q does not say why", p.Note)
		}
	})
	t.Run("two seeds", func(t *testing.T) {
		// Differences 1 and 3: mean 2, sd sqrt(2), t = 2/(sqrt(2)/sqrt(2)) = 2
		// on 1 degree of freedom, where Student's t is the Cauchy
		// distribution, CDF 1/2 + atan(t)/pi, so p = 1 - 2 atan(2)/pi.
		// scipy.stats.ttest_rel([3, 5], [2, 2]) agrees: t 2, p 0.295167,
		// interval 2 ± 12.7062.
		p, err := Compare([]float64{3, 5}, []float64{2, 2}, PairedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !near(p.T, 2, 1e-12) || p.DF != 1 || !near(p.P, 1-2*math.Atan(2)/math.Pi, 1e-12) {
			t.Errorf("t %v df %d p %v", p.T, p.DF, p.P)
		}
		// t interval: 2 ± tan(pi*0.475) * 1, the Cauchy 97.5% quantile.
		if q := math.Tan(math.Pi * 0.475); !near(p.TLow, 2-q, 1e-9) || !near(p.THigh, 2+q, 1e-9) {
			t.Errorf("t interval [%v, %v], want 2 ± %v", p.TLow, p.THigh, q)
		}
		if !nan(p.BootLow) || !nan(p.BootHigh) || !strings.Contains(p.Note, "too few for a bootstrap") {
			t.Errorf("n=2 bootstrap [%v, %v], note %q", p.BootLow, p.BootHigh, p.Note)
		}
	})
	t.Run("equal differences", func(t *testing.T) {
		// By hand: every difference is 1, so the spread is 0 and every
		// resample's mean is 1.
		p, err := Compare([]float64{2, 3, 4}, []float64{1, 2, 3}, PairedOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.MeanDiff != 1 || p.StdDiff != 0 || !nan(p.T) || !nan(p.P) || p.BootLow != 1 || p.BootHigh != 1 || !strings.Contains(p.Note, "undefined") {
			t.Errorf("got %+v", p)
		}
	})
	t.Run("bootstrap off", func(t *testing.T) {
		p, _ := Compare(sleep1, sleep2, PairedOptions{Resamples: -1})
		if !nan(p.BootLow) || p.Resamples != 0 || nan(p.P) {
			t.Errorf("got %+v", p)
		}
	})
}

// The wanted strings are Compare's own error messages.
func TestCompareErrors(t *testing.T) {
	tests := []struct {
		name string
		a, b []float64
		opt  PairedOptions
		want string
	}{
		{"lengths", []float64{1, 2}, []float64{1}, PairedOptions{}, "2 values against 1"},
		{"empty", nil, nil, PairedOptions{}, "no values"},
		{"nan", []float64{1, math.NaN()}, []float64{1, 2}, PairedOptions{}, "first sample: value 1"},
		{"inf", []float64{1, 2}, []float64{math.Inf(1), 2}, PairedOptions{}, "second sample: value 0"},
		{"level", []float64{1, 2}, []float64{1, 2}, PairedOptions{Level: 95}, "outside (0, 1)"},
	}
	for _, tc := range tests {
		if _, err := Compare(tc.a, tc.b, tc.opt); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// For a large sample the bootstrap distribution of the mean is close to
// normal with standard deviation sqrt((n-1)/n) * sd / sqrt(n), so the 95%
// interval is about mean ± 1.95996 times that.
func TestBootstrapLargeSampleIsNormal(t *testing.T) {
	const n = 400
	a := make([]float64, n)
	for i := range a {
		// A fixed, skew-free spread of values: evenly spaced quantiles.
		a[i] = float64(i)/float64(n-1) - 0.5
	}
	p, err := Compare(a, make([]float64, n), PairedOptions{Resamples: 20000, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	half := 1.959964 * math.Sqrt(float64(n-1)/n) * p.StdDiff / math.Sqrt(n)
	if !near(p.BootLow, p.MeanDiff-half, 0.03*half) || !near(p.BootHigh, p.MeanDiff+half, 0.03*half) {
		t.Errorf("bootstrap interval [%v, %v], normal approximation %v ± %v", p.BootLow, p.BootHigh, p.MeanDiff, half)
	}
}

func TestQuantile(t *testing.T) {
	// numpy.quantile([1, 2, 3, 4], p) with its default (linear) method.
	x := []float64{1, 2, 3, 4}
	for _, c := range []struct{ p, want float64 }{{0, 1}, {0.25, 1.75}, {0.5, 2.5}, {0.9, 3.7}, {1, 4}} {
		if got := quantile(x, c.p); !near(got, c.want, 1e-12) {
			t.Errorf("quantile(%v) = %v, want %v", c.p, got, c.want)
		}
	}
}
