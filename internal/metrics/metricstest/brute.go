// Package metricstest holds slow, obviously-correct references for the
// metrics of package metrics (pairwise Mann-Whitney AUC, AP recounted at
// every threshold, MVTec AD's PRO over a naive region labelling), for the
// tests of metrics and of the packages that read maps and scores from files.
package metricstest

import (
	"math"
	"slices"
	"sort"
)

// Labels turns 0/1 integers into labels (1 = anomalous).
func Labels(xs ...int) []bool {
	out := make([]bool, len(xs))
	for i, x := range xs {
		out[i] = x == 1
	}
	return out
}

// Near reports whether a and b differ by at most tol.
func Near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// AUC is the Mann-Whitney statistic: the share of (anomalous, normal)
// pairs ranked correctly, ties counting one half.
func AUC(scores []float64, labels []bool) float64 {
	var wins float64
	var pairs int
	for i := range scores {
		if !labels[i] {
			continue
		}
		for j := range scores {
			if labels[j] {
				continue
			}
			pairs++
			switch {
			case scores[i] > scores[j]:
				wins++
			case scores[i] == scores[j]:
				wins += 0.5
			}
		}
	}
	return wins / float64(pairs)
}

// AP averages, over the anomalous samples, the precision of the
// threshold at that sample's score, counted afresh for every sample.
func AP(scores []float64, labels []bool) float64 {
	var sum float64
	var p int
	for i := range scores {
		if !labels[i] {
			continue
		}
		p++
		var tp, all int
		for j := range scores {
			if scores[j] >= scores[i] {
				all++
				if labels[j] {
					tp++
				}
			}
		}
		sum += float64(tp) / float64(all)
	}
	return sum / float64(p)
}

// F1 is the best F1 over the thresholds at each sample's score, counted
// afresh for every threshold.
func F1(scores []float64, labels []bool) float64 {
	best := 0.0
	for _, t := range scores {
		var tp, fp, fn int
		for j := range scores {
			switch {
			case scores[j] >= t && labels[j]:
				tp++
			case scores[j] >= t:
				fp++
			case labels[j]:
				fn++
			}
		}
		best = max(best, 2*float64(tp)/float64(2*tp+fp+fn))
	}
	return best
}

// Regions labels 8-connected regions by repeatedly lowering each
// anomalous pixel's label to the smallest in its 3x3 neighbourhood until
// nothing changes: slow and unlike the production flood fill.
func Regions(mask []bool, w, h int) map[int][]int {
	lab := make([]int, len(mask))
	for i := range lab {
		lab[i] = i + 1
	}
	for changed := true; changed; {
		changed = false
		for p, on := range mask {
			if !on {
				continue
			}
			x, y := p%w, p/w
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					xx, yy := x+dx, y+dy
					if xx < 0 || yy < 0 || xx >= w || yy >= h || !mask[yy*w+xx] {
						continue
					}
					if q := yy*w + xx; lab[q] < lab[p] {
						lab[p] = lab[q]
						changed = true
					}
				}
			}
		}
	}
	regions := make(map[int][]int)
	for p, on := range mask {
		if on {
			regions[lab[p]] = append(regions[lab[p]], p)
		}
	}
	return regions
}

// PRO evaluates FPR and PRO at every distinct threshold by counting
// over all pixels, then integrates as MVTec AD's trapezoid(x, y, x_max):
// bisect, interpolate at x_max unless it is a curve point, sum over x <= x_max.
func PRO(maps [][]float32, masks [][]bool, w, h int, maxFPR float64) float64 {
	type region struct {
		img int
		pix []int
	}
	var regions []region
	var thresholds []float32
	var neg int
	for i := range maps {
		for _, pix := range Regions(masks[i], w, h) {
			regions = append(regions, region{i, pix})
		}
		thresholds = append(thresholds, maps[i]...)
		for _, on := range masks[i] {
			if !on {
				neg++
			}
		}
	}
	slices.Sort(thresholds)
	thresholds = slices.Compact(thresholds)
	slices.Reverse(thresholds)

	x, y := []float64{0}, []float64{0}
	for _, th := range thresholds {
		var fp int
		for i := range maps {
			for p, v := range maps[i] {
				if !masks[i][p] && v >= th {
					fp++
				}
			}
		}
		var pro float64
		for _, r := range regions {
			var hit int
			for _, p := range r.pix {
				if maps[r.img][p] >= th {
					hit++
				}
			}
			pro += float64(hit) / float64(len(r.pix))
		}
		x = append(x, min(float64(fp)/float64(neg), 1))
		y = append(y, min(pro/float64(len(regions)), 1))
	}
	x, y = append(x, 1), append(y, 1)

	var area, correction float64
	if !slices.Contains(x, maxFPR) {
		ins := sort.Search(len(x), func(i int) bool { return x[i] > maxFPR })
		yi := y[ins-1] + (y[ins]-y[ins-1])*(maxFPR-x[ins-1])/(x[ins]-x[ins-1])
		correction = 0.5 * (yi + y[ins-1]) * (maxFPR - x[ins-1])
	}
	for k := 1; k < len(x) && x[k] <= maxFPR; k++ {
		area += 0.5 * (y[k] + y[k-1]) * (x[k] - x[k-1])
	}
	return (area + correction) / maxFPR
}
