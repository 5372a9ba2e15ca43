package stats_test

import (
	"fmt"

	"github.com/fmam/fmam/internal/stats"
)

// The worked example of Wikipedia's "Standard deviation" article: mean 5,
// squared deviations summing to 32, so the sample standard deviation is
// sqrt(32/7) = 2.1381 (numpy.std(x, ddof=1) agrees).
func ExampleSummarize() {
	s, err := stats.Summarize([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("mean %.4f std %.4f n %d\n", s.Mean, s.Std, s.N)
	fmt.Println(s.Format(2))
	// Output:
	// mean 5.0000 std 2.1381 n 8
	// 5.00 ± 2.14
}

// One value has no spread: the table shows the size instead of a made-up
// standard deviation.
func ExampleSummary_Format() {
	one, _ := stats.Summarize([]float64{97.14})
	none, _ := stats.Summarize(nil)
	fmt.Println(one.Format(1))
	fmt.Println(none.Format(1))
	// Output:
	// 97.1 (n=1)
	// -
}

// Student's sleep data (Student 1908; R's datasets::sleep): extra hours of
// sleep of ten patients under two drugs. R's t.test(extra ~ group, data =
// sleep, paired = TRUE) and scipy.stats.ttest_rel print t = -4.0621 on 9
// degrees of freedom, p = 0.002833 and the 95% interval
// [-2.4599, -0.7001] of the mean difference -1.58.
func ExampleCompare() {
	drug1 := []float64{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0}
	drug2 := []float64{1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4}
	p, err := stats.Compare(drug1, drug2, stats.PairedOptions{Resamples: -1})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("mean difference %.2f, t = %.4f, df = %d, p = %.6f\n", p.MeanDiff, p.T, p.DF, p.P)
	fmt.Printf("%.0f%% t interval [%.4f, %.4f]\n", 100*p.Level, p.TLow, p.THigh)
	// Output:
	// mean difference -1.58, t = -4.0621, df = 9, p = 0.002833
	// 95% t interval [-2.4599, -0.7001]
}

// With four pairs the bootstrap has 4^4 = 256 equally likely resamples of
// the differences 1, 2, 4, 8. Listing their 256 means, sorted, the 7th
// (the 2.5% point) is 1.5 and the 250th (the 97.5% point) is 6.5; neither
// sits near a step of the distribution, so 100,000 random resamples land
// on exactly these two values.
func ExampleCompare_bootstrap() {
	diffs := []float64{1, 2, 4, 8}
	p, err := stats.Compare(diffs, make([]float64, len(diffs)), stats.PairedOptions{Resamples: 100000, Seed: 7})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("mean difference %.2f, 95%% bootstrap interval [%.2f, %.2f]\n", p.MeanDiff, p.BootLow, p.BootHigh)
	// Output: mean difference 3.75, 95% bootstrap interval [1.50, 6.50]
}
