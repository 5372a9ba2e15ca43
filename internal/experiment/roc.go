package experiment

import (
	"fmt"
	"path/filepath"

	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/report"
)

// pooled returns the valid frames of all videos, concatenated.
func pooled(vs []metrics.VideoScores) ([]float64, []bool) {
	var s []float64
	var l []bool
	for _, v := range vs {
		for i := range v.Scores {
			if v.Valid == nil || v.Valid[i] {
				s = append(s, v.Scores[i])
				l = append(l, v.Labels[i])
			}
		}
	}
	return s, l
}

// rocPicture draws the frame-level ROC curves of several scorings (each
// already normalised and fused per video) into dir/roc.png.
func rocPicture(dir, title string, names []string, scorings [][]metrics.VideoScores) error {
	var curves []report.ROCCurve
	for i, vs := range scorings {
		s, l := pooled(vs)
		fpr, tpr, _, err := metrics.ROCCurve(s, l)
		if err != nil {
			return fmt.Errorf("roc %s: %w", names[i], err)
		}
		auc, err := metrics.ROCAUC(s, l)
		if err != nil {
			return fmt.Errorf("roc %s: %w", names[i], err)
		}
		curves = append(curves, report.ROCCurve{Name: names[i], FPR: fpr, TPR: tpr, AUC: auc})
	}
	return report.WriteROCPlot(filepath.Join(dir, "roc.png"), curves, report.PlotOptions{Title: title})
}
