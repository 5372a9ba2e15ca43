package compare

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/report"
)

// figureFiles are where a run keeps what the figures over runs redraw:
// its headline ROC curves (roc.json beside roc.png; video runs) and its
// lambda sweep (lambda.json, 'fmam sweep-lambda').
type figureFiles struct {
	roc, lambda string
}

// writeFigures draws the figures over all compared runs into dir: base-roc.png,
// each run's headline ROC curve and each distinct teacher's, and
// base-lambda.png, each run's headline measure against lambda. A figure no
// run has data for is not drawn; it returns the files written.
func (c *Comparison) writeFigures(dir, base string) ([]string, error) {
	var out []string
	var rocs []report.ROCCurve
	var teachers []report.ROCCurve
	for _, r := range c.Runs {
		if r.figures.roc == "" {
			continue
		}
		cs, err := report.ReadROCCurves(r.figures.roc)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", r.Dir, err)
		}
		if len(cs) == 0 {
			continue
		}
		t := cs[0]
		if !slices.ContainsFunc(teachers, func(o report.ROCCurve) bool { return slices.Equal(o.FPR, t.FPR) && slices.Equal(o.TPR, t.TPR) }) {
			teachers = append(teachers, t)
			t.Name = r.Name + ": " + t.Name
			rocs = append(rocs, t)
		}
		if len(cs) > 1 {
			h := cs[len(cs)-1]
			h.Name = r.Name + ": " + h.Name
			rocs = append(rocs, h)
		}
	}
	if len(rocs) > 0 {
		p := filepath.Join(dir, base+"-roc.png")
		if err := report.WriteROCPlot(p, rocs, report.PlotOptions{Title: "Frame-level ROC, " + runList(c.Runs), Formats: c.Formats}); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	var lams []report.LambdaCurve
	measure := ""
	for _, r := range c.Runs {
		if r.figures.lambda == "" {
			continue
		}
		lc, name, err := readLambda(r.figures.lambda)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", r.Dir, err)
		}
		if lc == nil {
			continue
		}
		lc.Name = r.Name
		lams = append(lams, *lc)
		if measure == "" {
			measure = name
		}
	}
	if len(lams) > 0 {
		p := filepath.Join(dir, base+"-lambda.png")
		if err := report.WriteLambdaCurves(p, measure, lams, report.PlotOptions{Title: strings.ToUpper(measure[:1]) + measure[1:] + " against λ, " + runList(c.Runs), Formats: c.Formats}); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

func runList(runs []ComparedRun) string {
	var n []string
	for _, r := range runs {
		n = append(n, r.Name)
	}
	return strings.Join(n, " vs ")
}

// readLambda reads the headline measure against lambda from a lambda
// table's JSON: the mean over categories ("mean") or over seeds ("<measure>
// mean") where the table has one, else its first measure. A table per
// category over seeds has no single curve: nil.
func readLambda(path string) (*report.LambdaCurve, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	var t struct {
		Columns []string         `json:"columns"`
		Rows    []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, "", fmt.Errorf("lambda table %s: %w", path, err)
	}
	if slices.Contains(t.Columns, "Category") || len(t.Columns) < 2 {
		return nil, "", nil
	}
	// Lambda tables hold percentages.
	x, y, name := t.Columns[0], t.Columns[1], t.Columns[1]
	if slices.Contains(t.Columns, "mean") {
		y, name = "mean", "image AUROC, mean over categories"
	} else if i := slices.IndexFunc(t.Columns, func(c string) bool { return strings.HasSuffix(c, " mean") }); i >= 0 {
		y, name = t.Columns[i], strings.TrimSuffix(t.Columns[i], " mean")
	}
	var lc report.LambdaCurve
	for _, r := range t.Rows {
		l, ok := num(r[x])
		if !ok {
			return nil, "", fmt.Errorf("lambda table %s: a row without a number in %q", path, x)
		}
		v, ok := num(r[y])
		if !ok {
			v = math.NaN()
		}
		lc.Lambda = append(lc.Lambda, l)
		lc.Values = append(lc.Values, v/100)
	}
	return &lc, name, nil
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case string:
		var f float64
		_, err := fmt.Sscan(x, &f)
		return f, err == nil
	}
	return 0, false
}

// firstExisting returns the first of paths that exists, "" when none does.
func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		} else if !errors.Is(err, fs.ErrNotExist) {
			return p // let the reader report it
		}
	}
	return ""
}
