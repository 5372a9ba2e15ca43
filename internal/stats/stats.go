// Package stats summarises results over seeds: mean and sample standard
// deviation, their "mean ± std" form, and the paired comparison of two
// methods run on the same seeds (a student against its teacher): the mean
// per-seed difference, a two-sided paired t-test and a seeded percentile
// bootstrap interval of the mean difference.
//
// Small samples are the normal case here (three to five seeds), so every
// quantity that a sample cannot support is NaN rather than a number that
// looks meaningful, and the result says why in a note: one seed has no
// spread, hence no test and no interval.
package stats

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Mean returns the arithmetic mean of x, NaN when x is empty.
func Mean(x []float64) float64 {
	if len(x) == 0 {
		return math.NaN()
	}
	var s float64
	for _, v := range x {
		s += v
	}
	return s / float64(len(x))
}

// Std returns the sample standard deviation of x (denominator n-1), NaN when
// x has fewer than two values: one value says nothing about the spread.
func Std(x []float64) float64 {
	if len(x) < 2 {
		return math.NaN()
	}
	m := Mean(x)
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	return math.Sqrt(ss / float64(len(x)-1))
}

// Summary is the mean, sample standard deviation and size of a sample.
// Std is NaN for N < 2; Mean is NaN for N == 0.
type Summary struct {
	Mean, Std float64
	N         int
}

// Summarize returns the summary of x. It refuses non-finite values, which
// would silently turn the mean into NaN or Inf.
func Summarize(x []float64) (Summary, error) {
	if err := checkFinite(x); err != nil {
		return Summary{}, err
	}
	return Summary{Mean: Mean(x), Std: Std(x), N: len(x)}, nil
}

// Format writes s as "mean ± std" with prec decimals, "mean (n=1)" when there
// is a single value and "-" when there is none, so a table never shows a
// spread that was not measured.
func (s Summary) Format(prec int) string {
	return FormatMeanStd(s.Mean, s.Std, s.N, prec)
}

// FormatMeanStd writes "mean ± std" with prec decimals; see Summary.Format
// for n < 2.
func FormatMeanStd(mean, std float64, n, prec int) string {
	switch {
	case n == 0 || math.IsNaN(mean):
		return "-"
	case n == 1 || math.IsNaN(std):
		return fmt.Sprintf("%s (n=%d)", strconv.FormatFloat(mean, 'f', prec, 64), n)
	}
	return strconv.FormatFloat(mean, 'f', prec, 64) + " ± " + strconv.FormatFloat(std, 'f', prec, 64)
}

func checkFinite(x []float64) error {
	for i, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("value %d is %v; every value must be a finite number", i, v)
		}
	}
	return nil
}

var errEmpty = errors.New("no values")
