package metrics_test

import (
	"context"
	"fmt"

	"github.com/fmam/fmam/internal/metrics"
)

// scikit-learn's docstring example for roc_auc_score: scores .1 .4 .35 .8,
// the last two anomalous. In descending order .8 P, .4 N, .35 P, .1 N: of
// the four (anomalous, normal) pairs, three are ranked correctly, so the
// area is 3/4 (roc_auc_score gives 0.75).
func ExampleROCAUC() {
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	labels := []bool{false, false, true, true}
	auc, err := metrics.ROCAUC(scores, labels)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("ROC AUC %.4f\n", auc)
	// Output: ROC AUC 0.7500
}

// The same scores: the first anomalous sample (.8) reaches recall 1/2 at
// precision 1, the second (.35) recall 1 at precision 2/3, so AP =
// 1/2*1 + 1/2*2/3 = 5/6 (average_precision_score gives 0.8333).
func ExampleAveragePrecision() {
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	labels := []bool{false, false, true, true}
	ap, err := metrics.AveragePrecision(scores, labels)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AP %.4f\n", ap)
	// Output: AP 0.8333
}

// F1 = 2TP / (TP + FP + P) at each threshold (score >= t is anomalous):
// .8 -> 2/3, .4 -> 1/2, .35 -> 4/5, .1 -> 2/3; the best is 0.8 at 0.35
// (scikit-learn's precision_recall_curve agrees).
func ExampleF1Max() {
	scores := []float64{0.1, 0.4, 0.35, 0.8}
	labels := []bool{false, false, true, true}
	f1, threshold, err := metrics.F1Max(scores, labels)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("F1-max %.2f at threshold %.2f\n", f1, threshold)
	// Output: F1-max 0.80 at threshold 0.35
}

// Each video's scores are min-max normalised on their own first.
// 01: 1 3 2 5 -> 0 .5 .25 1, frames 3-4 anomalous: .25 beats 0, 1 beats
// both normals: AUC 3/4. 02: 4 2 6 -> .5 0 1, frames 2-3 anomalous: only
// 1 beats .5: AUC 1/2. 03 is normal throughout, so it has no AUC of its own
// and is left out of the macro mean (3/4 + 1/2)/2 = 0.625, but its frames
// (0 and 1) count as normal frames in the micro AUC over all nine frames:
// anomalous {.25, 1, 0, 1} against normal {0, .5, .5, 0, 1} wins 12 of 20
// pairs, ties counting half: 0.6. scikit-learn's roc_auc_score on the
// normalised scores gives the same three numbers.
func ExampleFrameAUC() {
	videos := []metrics.VideoScores{
		{Name: "01", Scores: []float64{1, 3, 2, 5}, Labels: []bool{false, false, true, true}},
		{Name: "02", Scores: []float64{4, 2, 6}, Labels: []bool{false, true, true}},
		{Name: "03", Scores: []float64{1, 9}, Labels: []bool{false, false}},
	}
	r, err := metrics.FrameAUC(videos, metrics.VideoOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("micro %.4f over %d frames\n", r.Micro, r.Frames)
	fmt.Printf("macro %.4f over %d videos, skipped %v\n", r.Macro, r.MacroVideos, r.Skipped)
	// Output:
	// micro 0.6000 over 9 frames
	// macro 0.6250 over 2 videos, skipped [03]
}

// One 4x2 anomaly map and its mask:
//
//	scores  .9 .9 .1 .5    mask  1 1 0 1
//	        .9 .2 .2 .0          0 0 0 0
//
// Pixel AUROC: the anomalous .9s each beat four normal pixels and tie one,
// .5 beats four: 13/15. Pixel AP: threshold .9 gives recall 2/3 at
// precision 2/3, .5 recall 1 at precision 3/4: 2/3*2/3 + 1/3*3/4 = 25/36
// (roc_auc_score and average_precision_score on the flattened arrays agree).
// The mask holds two regions, {(0,0), (1,0)} and {(3,0)}. PRO averages the
// regions' overlaps: at .9 the first region is found in full and the second
// not (PRO 1/2, FPR 1/5), at .5 both (PRO 1, FPR 1/5). The area under
// PRO(FPR) up to FPR .3 is .2*1/4 + .1*1 = .15, normalised by .3: 0.5.
func ExampleEvaluatePixels() {
	maps := [][]float32{{0.9, 0.9, 0.1, 0.5, 0.9, 0.2, 0.2, 0}}
	masks := [][]bool{{true, true, false, true, false, false, false, false}}
	r, err := metrics.EvaluatePixels(context.Background(), maps, masks, 4, 2, 0.3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("AUROC %.4f AP %.4f AUPRO@%.1f %.4f\n", r.AUROC, r.AP, r.MaxFPR, r.AUPRO)
	fmt.Printf("%d regions, %d of %d pixels anomalous\n", r.Regions, r.AnomalousPixels, r.Pixels)
	// Output:
	// AUROC 0.8667 AP 0.6944 AUPRO@0.3 0.5000
	// 2 regions, 3 of 8 pixels anomalous
}

// The map and mask of the EvaluatePixels example. Its PRO curve, from the
// top threshold down: (0, 0), .9 -> (FPR 1/5, PRO 1/2), .5 -> (1/5, 1),
// .2 -> (3/5, 1), .1 -> (4/5, 1), 0 -> (1, 1). Up to FPR .3 the area is
// .2*1/4 + .1*1 = .15, normalised 0.5; up to FPR 1 it is .05 + .8 = 0.85.
func ExampleAUPRO() {
	maps := [][]float32{{0.9, 0.9, 0.1, 0.5, 0.9, 0.2, 0.2, 0}}
	masks := [][]bool{{true, true, false, true, false, false, false, false}}
	for _, maxFPR := range []float64{0.3, 1} {
		aupro, err := metrics.AUPRO(context.Background(), maps, masks, 4, 2, maxFPR)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("AUPRO up to FPR %.1f: %.4f\n", maxFPR, aupro)
	}
	// Output:
	// AUPRO up to FPR 0.3: 0.5000
	// AUPRO up to FPR 1.0: 0.8500
}

// The example of scipy.ndimage.gaussian_filter1d's documentation:
// gaussian_filter1d([1, 2, 3, 4, 5], 1) is
// [1.42704095, 2.06782203, 3., 3.93217797, 4.57295905].
func ExampleGaussianSmooth1D() {
	s, err := metrics.GaussianSmooth1D([]float64{1, 2, 3, 4, 5}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.4f\n", s)
	// Output: [1.4270 2.0678 3.0000 3.9322 4.5730]
}

// (s - min) / (max - min) with min 2 and max 6, by hand.
func ExampleMinMaxNormalize() {
	fmt.Println(metrics.MinMaxNormalize([]float64{2, 4, 6, 3}))
	// Output: [0 0.5 1 0.25]
}
