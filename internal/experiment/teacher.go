package experiment

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/report"
)

// TeacherOnly reports whether the run has no student: train.student_steps
// is 0, so Train stops after the teacher and Evaluate scores it alone.
func (e *Env) TeacherOnly() bool { return e.Cfg.Train.StudentSteps == 0 }

func errNoStudent(what string) error {
	return fmt.Errorf("%s, but train.student_steps is 0 (no student); set it above 0, or use 'fmam eval --teacher-only'", what)
}

// EvaluateTeacher scores every unit's teacher alone, whichever it is
// (trained here, imported with model.teacher, or model.teacher_run's),
// and writes the teacher column of the results tables into the unit's
// teacher stage folder: teacher_eval.onnx, teacher_scores.csv, results.*,
// pictures. Image runs also get the summary over categories
// (results-teacher.* in the run folder).
// A multi-seed run scores each seed's teacher in its seed folder.
func (e *Env) EvaluateTeacher(ctx context.Context) (*Evaluation, error) {
	if err := e.checkRawScores(ctx, true, true); err != nil {
		return nil, err
	}
	if e.Cfg.MultiSeed() {
		return e.perSeed(func(s *Env) (*Evaluation, error) { return s.EvaluateTeacher(ctx) })
	}
	if err := e.CheckData(ctx, baseline.DataUse{Test: true}); err != nil {
		return nil, err
	}
	units, err := e.Units(ctx)
	if err != nil {
		return nil, err
	}
	out := &Evaluation{}
	for _, u := range units {
		ev, err := e.evaluateTeacher(ctx, u)
		if err != nil {
			return nil, inUnit(u, err)
		}
		out.Units = append(out.Units, ev)
	}
	title := fmt.Sprintf("%s, teacher alone: pixel AUROC, pixel AP, image AUROC (%%)", e.unit("", e.Cfg).DatasetName())
	tab, ok, err := e.Baseline.Task().Summary(title, out.Units)
	if err != nil {
		return nil, err
	}
	if !ok {
		out.Table = out.Units[0].Table
		return out, nil
	}
	const name = "results-teacher"
	out.Table = e.Layout.Table("", name) + ".md"
	return out, report.WriteAll(e.Layout.Root, name, tab)
}

func (e *Env) evaluateTeacher(ctx context.Context, u *baseline.Unit) (*baseline.Eval, error) {
	st := e.Layout.Teacher(u.Name)
	l, err := e.waitStage(ctx, st, "evaluate teacher")
	if err != nil {
		return nil, err
	}
	defer e.release(l)
	model := st.TeacherEvalModel()
	t, spec, err := e.teacher(u, nil, e.Cfg.Eval.Batch)
	if err != nil {
		return nil, err
	}
	g, ins, err := method.TeacherEval(spec, t)
	if err != nil {
		return nil, err
	}
	// Saved again when older than the teacher, or from an fmam whose
	// graph had fewer outputs (no anomaly map).
	if !fresh(model, e.TeacherPath(u)) || !hasOutputs(model, g.Outputs) {
		if err := os.MkdirAll(st.Dir, 0o755); err != nil {
			return nil, err
		}
		if err := g.Save(model); err != nil {
			return nil, err
		}
	}
	if fresh(st.TeacherScores(), model) {
		e.Log.Info("reusing raw scores", "file", st.TeacherScores())
	} else if err := e.Baseline.Score(ctx, u, baseline.EvalModel{Stage: st, Path: model, Inputs: ins, TeacherOnly: true}); err != nil {
		return nil, err
	}
	if err := baseline.CheckScores(ctx, e.Baseline, u, st, true); err != nil {
		return nil, err
	}
	ev, err := e.Baseline.Results(ctx, u, st, baseline.ResultsSpec{Taps: e.Cfg.Model.Taps, Lambda: e.Cfg.Eval.Lambda, TeacherOnly: true})
	if err != nil {
		return nil, err
	}
	return ev, e.calibrateTeacherEval(ctx, u, st, ins)
}

// hasOutputs reports whether the model file at path has every output of
// names.
func hasOutputs(path string, names []string) bool {
	m, err := graph.ReadModel(path)
	if err != nil {
		return false
	}
	have := map[string]bool{}
	for _, o := range m.GetGraph().GetOutput() {
		have[o.GetName()] = true
	}
	for _, n := range names {
		if !have[n] {
			return false
		}
	}
	return true
}

// CheckTeacherRun checks that the run folder dir holds a teacher cfg's
// students can mimic: one fmam trained (not imported there), of the same
// architecture, width and memory, for inputs of the same task, size,
// channels, frames and format. The error names the first key that
// differs, with both values.
func CheckTeacherRun(cfg *config.Config, dir string) error {
	path := baseline.Layout{Root: dir}.Config()
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("model.teacher_run %s: %w; want a run folder written by 'fmam train'", dir, err)
	}
	other, err := config.LoadRecorded(path)
	if err != nil {
		return fmt.Errorf("model.teacher_run %s: %w", dir, err)
	}
	if other.Model.Teacher != "" {
		return fmt.Errorf("model.teacher_run %s imports its teacher (model.teacher %s there): set model.teacher: %s instead", dir, other.Model.Teacher, other.Model.Teacher)
	}
	if other.Model.TeacherRun != "" {
		return fmt.Errorf("model.teacher_run %s uses the teacher of %s: set model.teacher_run: %s instead", dir, other.Model.TeacherRun, other.Model.TeacherRun)
	}
	if filepath.Clean(dir) == filepath.Clean(filepath.Join(cfg.RunsDir, cfg.Name)) {
		return fmt.Errorf("model.teacher_run %s is this run's own folder: leave model.teacher_run empty", dir)
	}
	type key struct {
		name        string
		here, there any
	}
	keys := []key{
		{"task", cfg.Task, other.Task},
		{"model.arch", cfg.Model.Arch, other.Model.Arch},
		{"model.width", cfg.Model.Width, other.Model.Width},
		{"model.memory", cfg.Model.Memory, other.Model.Memory},
		{"data.size", cfg.Data.Size, other.Data.Size},
		{"data.channels", cfg.Data.Channels, other.Data.Channels},
	}
	if cfg.Task == config.TaskVideo {
		keys = append(keys, key{"data.frames", cfg.Data.Frames, other.Data.Frames})
	}
	here, there := baseline.InputMeta(cfg), baseline.InputMeta(other)
	for _, k := range []struct{ meta, name string }{{method.MetaRange, "data.range"}, {method.MetaMean, "data.mean"}, {method.MetaStd, "data.std"}} {
		keys = append(keys, key{k.name, here[k.meta], there[k.meta]})
	}
	var diff []error
	for _, k := range keys {
		if fmt.Sprint(k.here) != fmt.Sprint(k.there) {
			diff = append(diff, fmt.Errorf("%s is %v here but %v in %s", k.name, k.here, k.there, path))
		}
	}
	if len(diff) > 0 {
		return fmt.Errorf("model.teacher_run %s: the teacher does not fit this run: %w", dir, errors.Join(diff...))
	}
	return nil
}
