package experiment

import (
	"fmt"
	"path/filepath"

	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/score"
)

// SweepLambda re-scores the saved raw scores of a student folder for every
// lambda of the grid; no network runs. It writes lambda.{md,csv,json} and
// lambda.png beside the scores and returns the points.
func SweepLambda(dir, grid, dataset string) ([]report.LambdaPoint, error) {
	lams, err := score.ParseGrid(grid)
	if err != nil {
		return nil, err
	}
	sPath, _ := scoresPaths(dir)
	var pts []report.LambdaPoint
	if rows, err := score.ReadImageCSV(sPath); err == nil {
		return sweepImages(dir, lams, rows, dataset)
	}
	rows, err := score.ReadVideoCSV(sPath)
	if err != nil {
		return nil, fmt.Errorf("sweep-lambda: %w; run 'fmam eval' first", err)
	}
	for _, l := range lams {
		r, _, err := frameAUC(rows, l)
		if err != nil {
			return nil, fmt.Errorf("lambda %g: %w", l, err)
		}
		pts = append(pts, report.LambdaPoint{Lambda: l, MicroAUC: r.Micro, MacroAUC: r.Macro})
	}
	return pts, writeSweep(dir, dataset, pts)
}

func writeSweep(dir, dataset string, pts []report.LambdaPoint) error {
	t, err := report.LambdaTable(fmt.Sprintf("AUC (%%) against lambda, %s", dataset), pts)
	if err != nil {
		return err
	}
	if err := report.WriteAll(dir, "lambda", t); err != nil {
		return err
	}
	return report.WriteLambdaPlot(filepath.Join(dir, "lambda.png"), pts, report.PlotOptions{Title: "AUC against λ, " + dataset})
}
