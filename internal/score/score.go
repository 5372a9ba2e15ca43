// Package score turns raw per-frame or per-image model outputs into anomaly
// scores: per-video min-max normalisation oriented so that higher means more
// anomalous, lambda fusion of the feature-mimicking score with the base
// model's score, lambda grids for sweeps, PSNR, the baselines' own score
// rules (MNAD's clamped PSNR and memory fusion, DRAEM's image score), and
// the files that carry model outputs from evaluation to the metrics: the
// raw-scores CSV files, generic scores tables (ReadTable), and folders of
// anomaly maps with their ground-truth masks (EvaluateMapsDir). Package
// metrics stays pure math; the reading happens here.
package score

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Direction says which end of a raw score is anomalous.
type Direction int

const (
	// HigherIsAnomalous: feature distances, reconstruction errors.
	HigherIsAnomalous Direction = iota
	// LowerIsAnomalous: PSNR of a predicted frame (a poor prediction is
	// anomalous), similarities.
	LowerIsAnomalous
)

func (d Direction) String() string {
	switch d {
	case HigherIsAnomalous:
		return "higher-is-anomalous"
	case LowerIsAnomalous:
		return "lower-is-anomalous"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Normalize maps one video's raw scores linearly onto [0, 1] so that 1 is
// the most anomalous frame: (s - min)/(max - min), or 1 minus that for
// LowerIsAnomalous (MNAD's anomaly score from PSNR). Constant scores carry no
// ranking and become all zeros whatever the direction. NaN or infinite
// scores are an error: they mean a diverged model or an exact prediction
// (PSNR of MSE 0), and no normalisation of them is meaningful.
func Normalize(scores []float64, d Direction) ([]float64, error) {
	if d != HigherIsAnomalous && d != LowerIsAnomalous {
		return nil, fmt.Errorf("normalize: unknown %v", d)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, s := range scores {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			return nil, fmt.Errorf("normalize: score %d is %v; need finite scores", i, s)
		}
		lo, hi = min(lo, s), max(hi, s)
	}
	out := make([]float64, len(scores))
	if !(hi > lo) {
		return out, nil
	}
	for i, s := range scores {
		v := (s - lo) / (hi - lo)
		if d == LowerIsAnomalous {
			v = 1 - v
		}
		out[i] = v
	}
	return out, nil
}

// Fuse returns S_total = lambda*S_fea + (1-lambda)*S_o element by element:
// lambda = 1 keeps only the feature-mimicking score, 0 only the base model's.
// Both inputs should be normalised and oriented first (Normalize).
func Fuse(lambda float64, sFea, sO []float64) ([]float64, error) {
	if !(lambda >= 0 && lambda <= 1) {
		return nil, fmt.Errorf("fuse: lambda %v is outside [0, 1]; 1 keeps only the feature score, 0 only the base score", lambda)
	}
	if len(sFea) != len(sO) {
		return nil, fmt.Errorf("fuse: %d feature scores but %d base scores", len(sFea), len(sO))
	}
	out := make([]float64, len(sO))
	for i := range out {
		out[i] = lambda*sFea[i] + (1-lambda)*sO[i]
	}
	return out, nil
}

// maxGridValues bounds ParseGrid so that a typo such as "0:1:0.000001" is an
// error rather than a sweep of a million runs.
const maxGridValues = 10000

// ParseGrid parses a grid of values: "start:stop:step" (stop included when
// the steps land on it), a comma list "0,0.5,1", or one number. Values of a
// range are rounded to the decimals written in its bounds and step, so
// "0:1:0.05" gives exactly 0.15 rather than 0.15000000000000002, and 1 is
// included although 20*0.05 rounds above it.
func ParseGrid(s string) ([]float64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("grid: empty; want start:stop:step (e.g. 0:1:0.05), a list (0,0.5,1) or one number")
	}
	if strings.Contains(s, ":") {
		return parseRange(s)
	}
	var out []float64
	for _, part := range strings.Split(s, ",") {
		v, err := parseFinite(part)
		if err != nil {
			return nil, fmt.Errorf("grid %q: %w", s, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func parseRange(s string) ([]float64, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return nil, fmt.Errorf("grid %q: want start:stop:step, e.g. 0:1:0.05", s)
	}
	var v [3]float64
	decimals := 0
	for i, p := range parts {
		x, err := parseFinite(p)
		if err != nil {
			return nil, fmt.Errorf("grid %q: %w", s, err)
		}
		v[i] = x
		decimals = max(decimals, decimalsOf(x))
	}
	start, stop, step := v[0], v[1], v[2]
	if step <= 0 {
		return nil, fmt.Errorf("grid %q: step %v must be positive", s, step)
	}
	if stop < start {
		return nil, fmt.Errorf("grid %q: stop %v is below start %v", s, stop, start)
	}
	// The relative slack absorbs binary rounding: (1-0)/0.05 is 19.999999999999996.
	n := math.Floor((stop-start)/step+1e-9) + 1
	if n > maxGridValues {
		return nil, fmt.Errorf("grid %q: %v values, more than the %d allowed; use a larger step", s, n, maxGridValues)
	}
	scale := math.Pow(10, float64(decimals))
	out := make([]float64, int(n))
	for i := range out {
		x := start + float64(i)*step
		if decimals < 15 {
			x = math.Round(x*scale) / scale
		}
		out[i] = x
	}
	return out, nil
}

func parseFinite(p string) (float64, error) {
	p = strings.TrimSpace(p)
	x, err := strconv.ParseFloat(p, 64)
	if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
		return 0, fmt.Errorf("%q is not a finite number", p)
	}
	return x, nil
}

// decimalsOf returns the digits after the point of x's shortest decimal
// form (0.05 -> 2, 1e-3 -> 3), capped at 15.
func decimalsOf(x float64) int {
	f := strconv.FormatFloat(x, 'f', -1, 64)
	if i := strings.IndexByte(f, '.'); i >= 0 {
		return min(len(f)-i-1, 15)
	}
	return 0
}

// PSNR returns the peak signal-to-noise ratio in dB of a prediction with
// mean squared error mse: 10*log10(maxVal^2/mse). MNAD computes it on frames
// scaled from [-1, 1] back to [0, 1] with maxVal = 1, i.e. 10*log10(1/mse);
// pass maxVal = 1 for frames in [0, 1] and 2 for an MSE taken on [-1, 1]
// (the two give the same PSNR). An exact prediction (mse = 0) gives +Inf; a
// negative or NaN mse gives NaN.
func PSNR(mse, maxVal float64) float64 {
	if mse < 0 || math.IsNaN(mse) {
		return math.NaN()
	}
	return 10 * math.Log10(maxVal*maxVal/mse)
}
