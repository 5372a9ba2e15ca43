package score

import (
	"fmt"
	"math"
	"slices"
)

// MNADAlpha weights the PSNR against the memory distance in MNAD's score
// (the default of its Evaluate.py).
const MNADAlpha = 0.6

// FramePSNR is MNAD's frame score S_o from the mean squared error of a
// predicted frame on [-1, 1]: the PSNR with peak 2, which equals MNAD's
// PSNR on [0, 1]. A perfect prediction would be +Inf and unrankable; it is
// clamped to 100 dB.
func FramePSNR(mse float64) float64 {
	return math.Min(PSNR(mse, 2), 100)
}

// CombineMemory is MNAD's frame score with memory, per video:
// alpha*minmax(PSNR) + (1-alpha)*(1 - minmax(distance)), the score its
// Evaluate.py ranks (high = normal; its complement is the anomaly score
// alpha*(1-minmax(PSNR)) + (1-alpha)*minmax(distance)). It replaces s_o
// (the PSNR) of each row, so s_o keeps its direction, lower is anomalous,
// and the lambda fusion and sweep-lambda read the file unchanged; the
// fusion min-max normalises s_o per video again, which keeps each video's
// ranking (and the macro AUC) but may move the micro AUC a little from
// MNAD's, which pools the combined scores without that step.
func CombineMemory(rows []VideoRow, dist []float64, alpha float64) ([]VideoRow, error) {
	if len(dist) != len(rows) {
		return nil, fmt.Errorf("combine memory scores: %d rows but %d distances", len(rows), len(dist))
	}
	byVideo := map[string][]int{}
	var order []string
	for i, r := range rows {
		if _, ok := byVideo[r.Video]; !ok {
			order = append(order, r.Video)
		}
		byVideo[r.Video] = append(byVideo[r.Video], i)
	}
	out := slices.Clone(rows)
	for _, v := range order {
		idx := byVideo[v]
		p, d := make([]float64, len(idx)), make([]float64, len(idx))
		for k, i := range idx {
			p[k], d[k] = rows[i].SO, dist[i]
		}
		np, err := Normalize(p, HigherIsAnomalous) // minmax(PSNR)
		if err != nil {
			return nil, fmt.Errorf("video %s: PSNR: %w", v, err)
		}
		nd, err := Normalize(d, LowerIsAnomalous) // 1 - minmax(distance)
		if err != nil {
			return nil, fmt.Errorf("video %s: memory distance: %w", v, err)
		}
		for k, i := range idx {
			out[i].SO = alpha*np[k] + (1-alpha)*nd[k]
		}
	}
	return out, nil
}
