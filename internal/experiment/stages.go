package experiment

import (
	"context"
	"fmt"
	"os"
	"slices"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/rng"
	"github.com/fmam/fmam/internal/train"
)

// Units returns the units the run iterates over: the one video data set,
// or every image category, each with its narrowed configuration.
func (e *Env) Units(ctx context.Context) ([]*baseline.Unit, error) {
	t := e.Baseline.Task()
	top := e.unit("", e.Cfg)
	names, err := t.Units(ctx, top)
	if err != nil {
		return nil, err
	}
	var out []*baseline.Unit
	for _, n := range names {
		out = append(out, e.unit(n, t.Narrow(e.Cfg, n)))
	}
	return out, nil
}

func (e *Env) unit(name string, cfg *config.Config) *baseline.Unit {
	return &baseline.Unit{Name: name, Cfg: cfg, RT: e.RT, Log: e.Log, Progress: e.Progress, Layout: e.Layout}
}

// spec is the graph builders' view of a unit's configuration.
func (e *Env) spec(u *baseline.Unit, taps []string) method.Spec {
	return baseline.Spec(e.Baseline, u.Cfg, taps)
}

// ownTaps reports whether taps are the run's configured tap set.
func (e *Env) ownTaps(taps []string) bool { return slices.Equal(taps, e.Cfg.Model.Taps) }

// student is the stage folder of a unit's student for taps.
func (e *Env) student(u *baseline.Unit, taps []string) baseline.Stage {
	return e.Layout.Student(u.Name, taps, e.ownTaps(taps))
}

// TeacherPath is where a unit's teacher is found: the imported file, the
// teacher of model.teacher_run, or the one trained in this run.
func (e *Env) TeacherPath(u *baseline.Unit) string {
	switch m := e.Cfg.Model; {
	case m.Teacher != "":
		return m.Teacher
	case m.TeacherRun != "":
		return baseline.Layout{Root: m.TeacherRun}.Teacher(u.Name).TeacherModel()
	}
	return e.Layout.Teacher(u.Name).TeacherModel()
}

// TrainTeacher runs stage one unless the config imports a teacher, uses
// another run's, or the teacher is already trained; it exports
// teacher.onnx.
func (e *Env) TrainTeacher(ctx context.Context, u *baseline.Unit) error {
	if e.Cfg.Model.Teacher != "" {
		if _, err := os.Stat(e.Cfg.Model.Teacher); err != nil {
			return fmt.Errorf("model.teacher: %w", err)
		}
		e.Log.Info("using the imported teacher; no teacher stage", "teacher", e.Cfg.Model.Teacher)
		return nil
	}
	if dir := e.Cfg.Model.TeacherRun; dir != "" { // checked by Open
		p := e.TeacherPath(u)
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("model.teacher_run %s: no trained teacher %s; run 'fmam train --stage teacher --run %s' first", dir, p, dir)
		}
		e.Log.Info("using the teacher of another run, in place; no teacher stage", "teacher", p)
		return nil
	}
	st := e.Layout.Teacher(u.Name)
	// Students need the teacher: wait for a process training it.
	l, err := e.waitStage(ctx, st, "train teacher")
	if err != nil {
		return err
	}
	defer e.release(l)
	out := st.TeacherModel()
	if _, err := os.Stat(out); err == nil {
		e.Log.Info("teacher already trained", "model", out)
		return nil
	}
	spec := e.spec(u, e.Cfg.Model.Taps)
	if m := e.Cfg.Model.Mimic; m.Backbone != "" {
		bg, err := graph.LoadFile(m.Backbone, graph.ImportOptions{Batch: int64(e.Cfg.Train.Batch)})
		if err != nil {
			return fmt.Errorf("model.mimic.backbone: %w", err)
		}
		spec.Mimic = method.Mimic{Backbone: bg, Layer: m.Layer, Weight: m.Weight}
	}
	built, err := method.TeacherTrain(spec)
	if err != nil {
		return err
	}
	src, err := e.Baseline.Source(ctx, u, rng.Stream(e.Cfg.Seed, rng.Teacher, rng.Data))
	if err != nil {
		return err
	}
	sum, ss, err := e.runTraining(ctx, u, st, "teacher", built, src, e.Cfg.Train.TeacherSteps)
	if err != nil {
		return err
	}
	inf, err := method.TeacherInference(spec, e.Cfg.Eval.Batch)
	if err != nil {
		return err
	}
	if _, err := train.ApplyState(inf, sum.State); err != nil {
		return err
	}
	if err := inf.Save(out); err != nil {
		return err
	}
	ss.Model = out
	e.Log.Info("teacher trained", "loss", ss.losses(), "step_ms", fmt.Sprintf("%.1f", ss.StepMS), "model", out)
	return writeJSON(st.Summary(), ss)
}

// teacher loads a unit's teacher for a batch size.
func (e *Env) teacher(u *baseline.Unit, taps []string, batch int) (*method.Teacher, method.Spec, error) {
	spec := e.spec(u, taps)
	spec.Batch = batch
	t, err := e.loadTeacher(u, spec, batch)
	return t, spec, err
}

// loadTeacher loads a unit's teacher for spec at a batch size.
func (e *Env) loadTeacher(u *baseline.Unit, spec method.Spec, batch int) (*method.Teacher, error) {
	spec.Batch = batch
	path := e.TeacherPath(u)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("teacher %s: %w; run 'fmam train --stage teacher' first, or set model.teacher or model.teacher_run", path, err)
	}
	t, err := method.LoadTeacher(path, spec, e.Log)
	if err != nil && e.Cfg.Model.Teacher != "" {
		return nil, fmt.Errorf("model.teacher: %w", err)
	}
	return t, err
}

// TrainStudent runs stage two for a set of taps and exports the
// evaluation model (teacher and student together) as model.onnx.
func (e *Env) TrainStudent(ctx context.Context, u *baseline.Unit, taps []string) error {
	if e.TeacherOnly() {
		e.Log.Info("train.student_steps is 0: no student stage; 'fmam eval' scores the teacher alone")
		return nil
	}
	return e.trainStudent(ctx, u, taps, e.student(u, taps), e.spec(u, taps), "student "+baseline.TapSetName(taps))
}

// hasControl reports whether the run trains and shows the control: when
// train.control is on, a student is trained, and the run's student is not
// itself the control (w_fea 0).
func (e *Env) hasControl() bool {
	return e.Cfg.Train.Control && !e.TeacherOnly() && !baseline.IsControl(e.Cfg)
}

// controlUnit is u as the control trains and scores it (ControlConfig).
func controlUnit(u *baseline.Unit) *baseline.Unit {
	c := *u
	c.Cfg = baseline.ControlConfig(u.Cfg)
	return &c
}

// TrainControl trains the unit's control (baseline.ControlConfig) into
// control/: the student network on L_o alone, from the control's random
// streams. Its S_fea is measured at the run's taps.
func (e *Env) TrainControl(ctx context.Context, u *baseline.Unit) error {
	if !e.hasControl() {
		return nil
	}
	cu := controlUnit(u)
	spec := baseline.Spec(e.Baseline, cu.Cfg, e.Cfg.Model.Taps)
	spec.Control = true
	return e.trainStudent(ctx, cu, e.Cfg.Model.Taps, e.Layout.Control(u.Name), spec, "control (L_o only)")
}

// trainStudent trains a student stage (the student of a tap set, or the
// control) in st and exports its evaluation model. Another process
// training the same stage holds its lock: this one then skips it.
func (e *Env) trainStudent(ctx context.Context, u *baseline.Unit, taps []string, st baseline.Stage, spec method.Spec, label string) error {
	out := st.Model()
	if _, err := os.Stat(out); err == nil {
		e.Log.Info(label+" already trained", "model", out)
		return nil
	}
	l, held, err := e.tryStage(st, "train "+label)
	if err != nil || held {
		return err
	}
	defer e.release(l)
	if _, err := os.Stat(out); err == nil { // trained by the process that held the lock
		e.Log.Info(label+" already trained", "model", out)
		return nil
	}
	t, err := e.loadTeacher(u, spec, e.Cfg.Train.Batch)
	if err != nil {
		return err
	}
	built, err := method.StudentTrain(spec, t)
	if err != nil {
		return err
	}
	src, err := e.Baseline.Source(ctx, u, rng.Stream(e.Cfg.Seed, spec.StudentStage(), rng.Data))
	if err != nil {
		return err
	}
	sum, ss, err := e.runTraining(ctx, u, st, label, built, src, e.Cfg.Train.StudentSteps)
	if err != nil {
		return err
	}
	eg, err := e.studentEval(u, spec, sum.State)
	if err != nil {
		return err
	}
	if err := eg.Save(out); err != nil {
		return err
	}
	ss.Model = out
	e.Log.Info(label+" trained", "taps", taps, "loss", ss.losses(), "step_ms", fmt.Sprintf("%.1f", ss.StepMS), "model", out)
	return writeJSON(st.Summary(), ss)
}

// studentEval builds a student stage's evaluation model (teacher and
// student together, at eval.batch) with the trained state.
func (e *Env) studentEval(u *baseline.Unit, spec method.Spec, state map[string][]float32) (*graph.Graph, error) {
	te, err := e.loadTeacher(u, spec, e.Cfg.Eval.Batch)
	if err != nil {
		return nil, err
	}
	spec.Batch = e.Cfg.Eval.Batch
	g, _, err := method.StudentEval(spec, te, state)
	return g, err
}

// refreshEval re-exports a student stage's evaluation model from its final
// checkpoint when the model file lacks an output that this fmam's
// evaluation graph has (a model exported before MNAD's anomaly maps were
// outputs): the same weights with more outputs, so that 'fmam eval'
// brings an older run's model up to date for predict's maps, and the raw
// scores, then older than the model, are scored again to the same values.
// Only baselines that predict have such outputs to gain; a checkpoint that
// is not the last step's leaves the model as it is, with a warning.
func (e *Env) refreshEval(u *baseline.Unit, st baseline.Stage, spec method.Spec, steps int) error {
	if _, ok := e.Baseline.(baseline.Predictor); !ok {
		return nil
	}
	model := st.Model()
	if _, err := os.Stat(model); err != nil {
		return nil // not trained: the caller says so
	}
	g, err := e.studentEval(u, spec, nil)
	if err != nil || hasOutputs(model, g.Outputs) {
		return err
	}
	ck, err := train.LoadCheckpoint(st.Checkpoint())
	if err != nil {
		return err
	}
	if ck == nil || ck.Step != steps {
		e.Log.Warn(model+" lacks outputs of this fmam's evaluation model (anomaly maps for predict) and cannot be re-exported: its stage has no final checkpoint; predict writes scores only",
			"checkpoint", st.Checkpoint())
		return nil
	}
	if g, err = e.studentEval(u, spec, ck.Tensors); err != nil {
		return err
	}
	e.Log.Info("re-exporting the evaluation model from the final checkpoint with this fmam's outputs (same weights; the raw scores are scored again)", "model", model, "checkpoint", st.Checkpoint())
	return g.Save(model)
}

// evaluate scores a unit's student for taps (raw scores are reused when
// present and newer than the model) and writes its results, with the
// control's rows when the run has a control.
func (e *Env) evaluate(ctx context.Context, u *baseline.Unit, taps []string, lambda float64, suffix string) (*baseline.Eval, error) {
	st := e.student(u, taps)
	l, err := e.waitStage(ctx, st, "evaluate student "+baseline.TapSetName(taps))
	if err != nil {
		return nil, err
	}
	defer e.release(l)
	if err := e.refreshEval(u, st, e.spec(u, taps), e.Cfg.Train.StudentSteps); err != nil {
		return nil, err
	}
	if err := e.score(ctx, u, taps, st); err != nil {
		return nil, err
	}
	spec := baseline.ResultsSpec{Taps: taps, Lambda: lambda, Suffix: suffix}
	if e.hasControl() {
		cev, err := e.evaluateControl(ctx, u, lambda, suffix)
		if err != nil {
			return nil, err
		}
		spec.Control = cev
	}
	ev, err := e.Baseline.Results(ctx, u, st, spec)
	if err == nil && suffix == "" { // records.json are the run's own tables, at eval.lambda
		err = writeRecords(st, u, ev, taps)
	}
	if err == nil && e.ownTaps(taps) { // thresholds of the run's own model (at another lambda: beside them)
		err = e.calibrate(ctx, u, st, lambda, suffix != "")
	}
	if err != nil && u.Name != "" {
		return nil, fmt.Errorf("%s: %w", u.Name, err)
	}
	return ev, err
}

// score writes the raw scores of a student stage's model, unless those
// present are newer than it, and checks them against the test set.
func (e *Env) score(ctx context.Context, u *baseline.Unit, taps []string, st baseline.Stage) error {
	model := st.Model()
	if fresh(st.Scores(), model) && fresh(st.TeacherScores(), model) {
		e.Log.Info("reusing raw scores", "file", st.Scores())
	} else {
		t, _, err := e.teacher(u, taps, e.Cfg.Eval.Batch)
		if err != nil {
			return err
		}
		if err := e.Baseline.Score(ctx, u, baseline.EvalModel{Stage: st, Path: model, Inputs: []string{t.Input}}); err != nil {
			return err
		}
	}
	return baseline.CheckScores(ctx, e.Baseline, u, st, false)
}

// evaluateControl scores the unit's control and writes its own results
// in control/; nil when the control was not trained (a run folder from
// before it, or train --stage student of another tap set only).
func (e *Env) evaluateControl(ctx context.Context, u *baseline.Unit, lambda float64, suffix string) (*baseline.Eval, error) {
	st := e.Layout.Control(u.Name)
	if _, err := os.Stat(st.Model()); err != nil {
		e.Log.Warn("no trained control: the results show the student without it; 'fmam train --stage student' trains it", "model", st.Model())
		return nil, nil
	}
	l, err := e.waitStage(ctx, st, "evaluate control")
	if err != nil {
		return nil, err
	}
	defer e.release(l)
	cu := controlUnit(u)
	spec := baseline.Spec(e.Baseline, cu.Cfg, e.Cfg.Model.Taps)
	spec.Control = true
	if err := e.refreshEval(cu, st, spec, cu.Cfg.Train.StudentSteps); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	if err := e.score(ctx, cu, e.Cfg.Model.Taps, st); err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	ev, err := e.Baseline.Results(ctx, cu, st, baseline.ResultsSpec{Taps: e.Cfg.Model.Taps, Lambda: lambda, Suffix: suffix})
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	return ev, nil
}

// fresh reports whether file exists and is newer than its source.
func fresh(file, source string) bool {
	a, err := os.Stat(file)
	if err != nil {
		return false
	}
	b, err := os.Stat(source)
	return err == nil && !a.ModTime().Before(b.ModTime())
}
