package report

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/results"
)

// AblationRow is one line of a layer ablation: the set of taps (feature
// layers the student mimics) and the AUC obtained, a fraction in [0, 1].
type AblationRow struct {
	Taps []string
	AUC  float64
}

// LayerAblationTable builds a table in the shape of the paper's Table 2:
// one row per tap set (in the given order), a "Taps" column naming the set
// (members joined with "+" in the order of taps), one column per tap holding
// "✓" when the set uses it, and the AUC in percent with one decimal. taps
// lists the possible taps, e.g. encoder, bottleneck, decoder.
func LayerAblationTable(title string, taps []string, rows []AblationRow) (Table, error) {
	if len(taps) == 0 || len(rows) == 0 {
		return Table{}, fmt.Errorf("ablation table %q: need at least one tap and one row (got %d taps, %d rows)", title, len(taps), len(rows))
	}
	t := Table{Title: title, Columns: append(append([]string{"Taps"}, taps...), "AUC")}
	for i, r := range rows {
		if len(r.Taps) == 0 {
			return Table{}, fmt.Errorf("ablation table %q: row %d uses no tap", title, i)
		}
		used := make([]bool, len(taps))
		for _, tap := range r.Taps {
			j := slices.Index(taps, tap)
			if j < 0 {
				return Table{}, fmt.Errorf("ablation table %q: row %d uses tap %q, which is not among the columns %q", title, i, tap, taps)
			}
			if used[j] {
				return Table{}, fmt.Errorf("ablation table %q: row %d lists tap %q twice", title, i, tap)
			}
			used[j] = true
		}
		if err := checkFraction(r.AUC); err != nil {
			return Table{}, fmt.Errorf("ablation table %q: row %d AUC: %w", title, i, err)
		}
		var names []string
		marks := make([]Cell, len(taps))
		for j, tap := range taps {
			if used[j] {
				names = append(names, tap)
				marks[j] = Str("✓")
			}
		}
		row := append([]Cell{Str(strings.Join(names, "+"))}, marks...)
		t.Rows = append(t.Rows, append(row, percent(r.AUC)))
	}
	t.Notes = []string{"AUC in percent, one decimal."}
	return t, nil
}

// sortedLambdaPoints validates a sweep and returns it sorted by lambda.
func sortedLambdaPoints(what string, points []results.LambdaPoint) ([]results.LambdaPoint, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("%s: no points", what)
	}
	ps := slices.Clone(points)
	slices.SortFunc(ps, func(a, b results.LambdaPoint) int { return cmp.Compare(a.Lambda, b.Lambda) })
	for i, p := range ps {
		if math.IsNaN(p.Lambda) || math.IsInf(p.Lambda, 0) {
			return nil, fmt.Errorf("%s: lambda %v is not a finite number", what, p.Lambda)
		}
		if i > 0 && p.Lambda == ps[i-1].Lambda {
			return nil, fmt.Errorf("%s: lambda %v appears twice", what, p.Lambda)
		}
		if math.IsNaN(p.MicroAUC) {
			return nil, fmt.Errorf("%s: micro AUC at lambda %v is absent (NaN); every point needs one", what, p.Lambda)
		}
		if err := checkFraction(p.MicroAUC); err != nil {
			return nil, fmt.Errorf("%s: micro AUC at lambda %v: %w", what, p.Lambda, err)
		}
		if err := checkFraction(p.MacroAUC); err != nil {
			return nil, fmt.Errorf("%s: macro AUC at lambda %v: %w", what, p.Lambda, err)
		}
	}
	return ps, nil
}

func anyMacro(ps []results.LambdaPoint) bool {
	return slices.ContainsFunc(ps, func(p results.LambdaPoint) bool { return !math.IsNaN(p.MacroAUC) })
}

// LambdaMeasure names what a lambda sweep measures: the column names of
// results.LambdaPoint.MicroAUC and MacroAUC and the table's note.
type LambdaMeasure struct {
	Micro, Macro, Note string
	// What names the measure in titles and axis labels.
	What string
}

// FrameMeasure is the frame-level AUROC of video runs, pooled (micro) and
// per video (macro).
func FrameMeasure() LambdaMeasure {
	return LambdaMeasure{"micro AUC", "macro AUC", "Frame-level AUROC in percent, one decimal, against the fusion weight lambda.", "frame-level AUC"}
}

// ImageMeasure is the image-level AUROC of image runs; Macro is the mean
// over categories where a sweep covers several.
func ImageMeasure() LambdaMeasure {
	return LambdaMeasure{"image AUROC", "mean image AUROC", "Image-level AUROC in percent, one decimal, against the fusion weight lambda.", "image AUROC"}
}

// LambdaTable builds the table of a lambda sweep: columns "lambda" (shortest
// exact form), m.Micro and, when any point has one, m.Macro (percent, one
// decimal), rows sorted by lambda.
func LambdaTable(title string, m LambdaMeasure, points []results.LambdaPoint) (Table, error) {
	ps, err := sortedLambdaPoints(fmt.Sprintf("lambda table %q", title), points)
	if err != nil {
		return Table{}, err
	}
	macro := anyMacro(ps)
	t := Table{Title: title, Columns: []string{"lambda", m.Micro}}
	if macro {
		t.Columns = append(t.Columns, m.Macro)
	}
	for _, p := range ps {
		row := []Cell{Num(p.Lambda, -1), percent(p.MicroAUC)}
		if macro {
			row = append(row, percent(p.MacroAUC))
		}
		t.Rows = append(t.Rows, row)
	}
	t.Notes = []string{m.Note}
	return t, nil
}

// LambdaSummaryTable sums up one lambda sweep per unit (image category):
// columns "lambda", one per unit with its m.Micro, and their mean, rows
// sorted by lambda. Every sweep must cover the same lambdas.
func LambdaSummaryTable(title string, m LambdaMeasure, units []string, sweeps [][]results.LambdaPoint) (Table, error) {
	if len(units) == 0 || len(units) != len(sweeps) {
		return Table{}, fmt.Errorf("lambda summary %q: %d units for %d sweeps", title, len(units), len(sweeps))
	}
	sorted := make([][]results.LambdaPoint, len(sweeps))
	for i, s := range sweeps {
		ps, err := sortedLambdaPoints(fmt.Sprintf("lambda summary %q, %s", title, units[i]), s)
		if err != nil {
			return Table{}, err
		}
		if i > 0 && !slices.EqualFunc(ps, sorted[0], func(a, b results.LambdaPoint) bool { return a.Lambda == b.Lambda }) {
			return Table{}, fmt.Errorf("lambda summary %q: %s and %s were swept over different lambdas", title, units[0], units[i])
		}
		sorted[i] = ps
	}
	t := Table{Title: title, Columns: append(append([]string{"lambda"}, units...), "mean")}
	for j, p := range sorted[0] {
		row := []Cell{Num(p.Lambda, -1)}
		sum := 0.0
		for i := range units {
			row = append(row, percent(sorted[i][j].MicroAUC))
			sum += sorted[i][j].MicroAUC
		}
		t.Rows = append(t.Rows, append(row, percent(sum/float64(len(units)))))
	}
	t.Notes = []string{m.Note, "mean: the unweighted mean over the units."}
	return t, nil
}
