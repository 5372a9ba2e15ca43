package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// DefaultResamples is the number of bootstrap resamples when
// PairedOptions.Resamples is zero: with it the Monte Carlo error of the
// 2.5% and 97.5% percentiles is small against the interval's width.
const DefaultResamples = 10000

// minBootstrapPairs is the smallest sample given a bootstrap interval: with
// two pairs a resampled mean takes only three values (both of one, or the
// average), so the "interval" is just the range of the two differences.
const minBootstrapPairs = 3

// PairedOptions sets the bootstrap of Compare.
type PairedOptions struct {
	// Resamples is the number of bootstrap resamples; 0 means
	// DefaultResamples, negative turns the bootstrap off.
	Resamples int
	// Level is the confidence level of both intervals; 0 means 0.95.
	Level float64
	// Seed seeds the bootstrap, so the same inputs give the same interval.
	Seed uint64
}

// Paired is the comparison of two samples measured on the same seeds, as
// differences a[i] - b[i]. Fields a sample cannot support are NaN and Note
// says why.
type Paired struct {
	N int
	// MeanDiff and StdDiff are the mean and sample standard deviation of the
	// per-seed differences.
	MeanDiff, StdDiff float64
	// T is the paired t statistic MeanDiff / (StdDiff / sqrt(N)) with DF =
	// N-1 degrees of freedom, and P its two-sided p-value under Student's t.
	T  float64
	DF int
	P  float64
	// TLow and THigh are the t-based confidence interval of the mean
	// difference at Level.
	TLow, THigh float64
	// BootLow and BootHigh are the percentile bootstrap interval of the mean
	// difference at Level from Resamples resamples of the pairs, drawn from
	// a generator seeded with Seed.
	BootLow, BootHigh float64
	Level             float64
	Resamples         int
	Seed              uint64
	// Note explains absent or weak results in a sentence; empty when there
	// is nothing to say.
	Note string
}

// Compare compares a and b, two samples over the same seeds in the same
// order (a[i] and b[i] come from seed i). It needs at least one pair; with
// one there is a difference but no spread, so no test and no interval.
func Compare(a, b []float64, opt PairedOptions) (Paired, error) {
	if len(a) != len(b) {
		return Paired{}, fmt.Errorf("paired comparison: %d values against %d; both samples need one value per seed, in the same seed order", len(a), len(b))
	}
	if len(a) == 0 {
		return Paired{}, fmt.Errorf("paired comparison: %w", errEmpty)
	}
	if err := checkFinite(a); err != nil {
		return Paired{}, fmt.Errorf("paired comparison, first sample: %w", err)
	}
	if err := checkFinite(b); err != nil {
		return Paired{}, fmt.Errorf("paired comparison, second sample: %w", err)
	}
	if opt.Level == 0 {
		opt.Level = 0.95
	}
	if !(opt.Level > 0 && opt.Level < 1) {
		return Paired{}, fmt.Errorf("paired comparison: confidence level %v is outside (0, 1); use e.g. 0.95", opt.Level)
	}
	if opt.Resamples == 0 {
		opt.Resamples = DefaultResamples
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	n := len(d)
	p := Paired{N: n, MeanDiff: Mean(d), StdDiff: Std(d), DF: n - 1, Level: opt.Level, Seed: opt.Seed,
		T: math.NaN(), P: math.NaN(), TLow: math.NaN(), THigh: math.NaN(), BootLow: math.NaN(), BootHigh: math.NaN()}
	if n == 1 {
		p.Note = "one seed: no spread, so no t-test and no interval; run more seeds"
		return p, nil
	}
	if p.StdDiff == 0 {
		// Identical differences: the t statistic is 0/0 or infinite, and
		// every interval collapses to the one difference.
		p.TLow, p.THigh = p.MeanDiff, p.MeanDiff
		p.Note = "every seed gives the same difference: the t-test is undefined"
	} else {
		se := p.StdDiff / math.Sqrt(float64(n))
		st := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(p.DF)}
		p.T = p.MeanDiff / se
		p.P = 2 * st.Survival(math.Abs(p.T))
		q := st.Quantile(1 - (1-opt.Level)/2)
		p.TLow, p.THigh = p.MeanDiff-q*se, p.MeanDiff+q*se
	}
	switch {
	case opt.Resamples < 0:
	case n < minBootstrapPairs:
		p.Note = join(p.Note, fmt.Sprintf("%d seeds: too few for a bootstrap interval (it needs %d)", n, minBootstrapPairs))
	default:
		p.Resamples = opt.Resamples
		p.BootLow, p.BootHigh = bootstrap(d, opt)
	}
	return p, nil
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// bootstrap resamples the differences with replacement and returns the
// percentiles of the resampled means bracketing the central Level.
func bootstrap(d []float64, opt PairedOptions) (lo, hi float64) {
	rng := rand.New(rand.NewPCG(opt.Seed, 0x5eed))
	means := make([]float64, opt.Resamples)
	n := len(d)
	for r := range means {
		var s float64
		for range n {
			s += d[rng.IntN(n)]
		}
		means[r] = s / float64(n)
	}
	slices.Sort(means)
	alpha := (1 - opt.Level) / 2
	return quantile(means, alpha), quantile(means, 1-alpha)
}

// quantile is the p-quantile of sorted x, interpolating linearly between
// order statistics (Hyndman and Fan's type 7, the default of R and numpy).
func quantile(x []float64, p float64) float64 {
	h := p * float64(len(x)-1)
	i := int(math.Floor(h))
	if i >= len(x)-1 {
		return x[len(x)-1]
	}
	return x[i] + (h-float64(i))*(x[i+1]-x[i])
}
