package experiment

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/score"
)

// Stage selects what Train runs.
type Stage string

// The training stages.
const (
	StageAll     Stage = "all"
	StageTeacher Stage = "teacher"
	StageStudent Stage = "student"
)

// ParseStage validates --stage.
func ParseStage(s string) (Stage, error) {
	switch st := Stage(s); st {
	case StageAll, StageTeacher, StageStudent:
		return st, nil
	}
	return "", fmt.Errorf("stage %q: use teacher, student or all", s)
}

// Train runs the teacher and/or student stage of every unit, in every
// seed folder of a multi-seed run.
func (e *Env) Train(ctx context.Context, stage Stage) error {
	if e.Cfg.MultiSeed() {
		return e.trainSeeds(ctx, stage)
	}
	// Training reads the training split; the run then evaluates on the
	// test split: both are checked before the first step.
	if err := e.CheckData(ctx, baseline.DataUse{Train: true, Test: true}); err != nil {
		return err
	}
	if stage != StageTeacher {
		if err := e.CheckTaps(ctx, [][]string{e.Cfg.Model.Taps}); err != nil {
			return err
		}
	}
	units, err := e.Units(ctx)
	if err != nil {
		return err
	}
	for _, u := range units {
		if stage != StageStudent {
			if err := e.TrainTeacher(ctx, u); err != nil {
				return inUnit(u, err)
			}
		}
		if stage != StageTeacher {
			if err := e.TrainStudent(ctx, u, e.Cfg.Model.Taps); err != nil {
				return inUnit(u, err)
			}
			if err := e.TrainControl(ctx, u); err != nil {
				return inUnit(u, err)
			}
		}
	}
	return nil
}

func inUnit(u *baseline.Unit, err error) error {
	if u.Name == "" || err == nil {
		return err
	}
	return fmt.Errorf("category %s: %w", u.Name, err)
}

// Evaluation is the outcome of evaluating a run: one Eval per unit and
// the table that sums the run up.
type Evaluation struct {
	Units []*baseline.Eval
	// Table is the Markdown file of the run's headline table: the one
	// unit's results, or the summary over categories (over seeds for a
	// multi-seed run).
	Table string
	// Seeds are the evaluations of a multi-seed run's seeds; Units is
	// then empty, and Table empty too when there is no table over seeds.
	Seeds []SeedEvaluation
}

// Tables are the Markdown files to show: the headline table, or each
// seed's when the run has no table over seeds.
func (ev *Evaluation) Tables() []string {
	if ev.Table != "" {
		return []string{ev.Table}
	}
	var out []string
	for _, s := range ev.Seeds {
		out = append(out, s.Tables()...)
	}
	return out
}

// KindTables are the units' tables of AUC per anomaly kind, where the
// data set names each frame's kind.
func (ev *Evaluation) KindTables() []string {
	var out []string
	for _, u := range ev.Units {
		if u.KindTable != "" {
			out = append(out, u.KindTable)
		}
	}
	return out
}

// Evaluate scores the configured student of every unit and writes the
// results tables; a run without a student (TeacherOnly) is evaluated as
// EvaluateTeacher does (per seed for a multi-seed run); a multi-seed run
// evaluates every seed folder, then writes the table over seeds in the
// run folder.
func (e *Env) Evaluate(ctx context.Context) (*Evaluation, error) {
	if e.TeacherOnly() {
		return e.EvaluateTeacher(ctx)
	}
	if err := e.checkRawScores(ctx, false, true); err != nil {
		return nil, err
	}
	if e.Cfg.MultiSeed() {
		return e.evaluateSeeds(ctx)
	}
	return e.evaluateTaps(ctx, e.Cfg.Model.Taps, e.Cfg.Eval.Lambda, "")
}

// EvaluateAt is Evaluate at a fusion weight other than eval.lambda: the
// tables and pictures get the suffix -lambda-<L> (results-lambda-0.3.md)
// beside the run's own, and the run's config is not touched. Image runs
// score S_o alone, so lambda changes nothing in their tables: that is an
// error pointing to sweep-lambda.
func (e *Env) EvaluateAt(ctx context.Context, lambda float64) (*Evaluation, error) {
	if e.Baseline.Task().Kind() == config.TaskImage {
		return nil, fmt.Errorf("--lambda: image results score S_o alone (as the paper does), so lambda changes nothing in them; 'fmam sweep-lambda --run %s' fuses the image scores at every lambda", e.RunDir())
	}
	if lambda < 0 || lambda > 1 {
		return nil, fmt.Errorf("lambda %v must be in [0, 1]", lambda)
	}
	if err := e.checkRawScores(ctx, false, true); err != nil {
		return nil, err
	}
	if e.Cfg.MultiSeed() { // each seed's tables at lambda, in its folder
		return e.perSeed(func(s *Env) (*Evaluation, error) { return s.EvaluateAt(ctx, lambda) })
	}
	return e.evaluateTaps(ctx, e.Cfg.Model.Taps, lambda, baseline.LambdaSuffix(lambda))
}

func (e *Env) evaluateTaps(ctx context.Context, taps []string, lambda float64, suffix string) (*Evaluation, error) {
	if err := e.CheckData(ctx, baseline.DataUse{Test: true}); err != nil {
		return nil, err
	}
	units, err := e.Units(ctx)
	if err != nil {
		return nil, err
	}
	out := &Evaluation{}
	for _, u := range units {
		ev, err := e.evaluate(ctx, u, taps, lambda, suffix)
		if err != nil {
			return nil, err
		}
		out.Units = append(out.Units, ev)
	}
	name := "results" + suffix
	if !e.ownTaps(taps) {
		name += "-" + baseline.TapSetName(taps)
	}
	title := fmt.Sprintf("%s, taps %s: pixel AUROC, pixel AP, image AUROC, AUPRO (%%)", e.unit("", e.Cfg).DatasetName(), baseline.TapSetName(taps))
	tab, ok, err := e.Baseline.Task().Summary(title, out.Units)
	if err != nil {
		return nil, err
	}
	if !ok {
		out.Table = out.Units[0].Table
		return out, nil
	}
	out.Table = e.Layout.Table("", name) + ".md"
	return out, report.WriteAll(e.Layout.Root, name, tab)
}

// SweepResult is what Sweep wrote: the tables, the summary last, and the
// points of each unit.
type SweepResult struct {
	Files  []string
	Points [][]results.LambdaPoint
	// Units names the unit of each Points entry ("" for a video run).
	Units []string
}

// Sweep re-scores the configured student's raw scores over the grid, for
// every unit (lambda.md beside each student's scores), and for runs of
// several units writes a summary with the mean over them; a multi-seed run
// sweeps every seed and writes the points over seeds in the run folder.
func (e *Env) Sweep(ctx context.Context, grid string) (*SweepResult, error) {
	if !e.TeacherOnly() {
		if err := e.checkRawScores(ctx, false, false); err != nil {
			return nil, fmt.Errorf("sweep-lambda: %w", err)
		}
	}
	if e.Cfg.MultiSeed() {
		return e.sweepSeeds(ctx, grid)
	}
	lams, err := score.ParseGrid(grid)
	if err != nil {
		return nil, err
	}
	if e.TeacherOnly() {
		return nil, errNoStudent("sweep-lambda re-scores a student's S_o and S_fea")
	}
	units, err := e.Units(ctx)
	if err != nil {
		return nil, err
	}
	m := e.lambdaMeasure()
	var files, names []string
	var all [][]results.LambdaPoint
	for _, u := range units {
		st := e.student(u, e.Cfg.Model.Taps)
		pts, err := e.Baseline.Sweep(ctx, u, st, lams)
		if err != nil {
			return nil, inUnit(u, err)
		}
		name := u.DatasetName()
		if u.Name != "" {
			name += " " + u.Name
		}
		if err := writeSweep(st, name, m, pts, e.Cfg.Report.Formats); err != nil {
			return nil, err
		}
		files = append(files, st.Table("lambda")+".md")
		names = append(names, u.Name)
		all = append(all, pts)
	}
	if len(units) > 1 {
		t, err := report.LambdaSummaryTable(fmt.Sprintf("%s against lambda, %s, mean over %d categories", m.Micro, e.unit("", e.Cfg).DatasetName(), len(units)), m, names, all)
		if err != nil {
			return nil, err
		}
		if err := report.WriteAll(e.Layout.Root, "lambda", t); err != nil {
			return nil, err
		}
		files = append(files, filepath.Join(e.Layout.Root, "lambda.md"))
	}
	return &SweepResult{Files: files, Points: all, Units: names}, nil
}

func writeSweep(st baseline.Stage, dataset string, m report.LambdaMeasure, pts []results.LambdaPoint, formats []string) error {
	t, err := report.LambdaTable(fmt.Sprintf("%s (%%) against lambda, %s", capitalize(m.What), dataset), m, pts)
	if err != nil {
		return err
	}
	if err := report.WriteAll(st.Dir, "lambda", t); err != nil {
		return err
	}
	return report.WriteLambdaPlot(st.Picture("lambda"), m, pts, report.PlotOptions{Title: capitalize(m.What) + " against λ, " + dataset, Formats: formats})
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// lambdaMeasure is what the run's lambda tables measure: frame AUC for
// video, image AUROC for images.
func (e *Env) lambdaMeasure() report.LambdaMeasure {
	if e.Baseline.Task().Kind() == config.TaskImage {
		return report.ImageMeasure()
	}
	return report.FrameMeasure()
}
