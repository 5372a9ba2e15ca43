package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/train"
)

// TeacherPath is where a trained or imported teacher is found.
func (e *Env) TeacherPath() string {
	if e.Cfg.Model.Teacher != "" {
		return e.Cfg.Model.Teacher
	}
	return filepath.Join(e.RunDir, "teacher", "teacher.onnx")
}

// StudentDir names the folder of a student trained with a set of taps.
func (e *Env) StudentDir(taps []string) string {
	if slices.Equal(taps, e.Cfg.Model.Taps) {
		return filepath.Join(e.RunDir, "student")
	}
	return filepath.Join(e.RunDir, "student-"+TapSetName(taps))
}

// TapSetName joins taps for folder and table names.
func TapSetName(taps []string) string {
	var s []string
	for _, t := range taps {
		s = append(s, sanitizeName(t))
	}
	return strings.Join(s, "+")
}

func sanitizeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// source returns the training batches of the configured dataset.
func (e *Env) source(ctx context.Context, seed uint64) (train.Source, error) {
	if e.Cfg.Task == "image" {
		src, err := e.imageSource(ctx, seed)
		if err != nil {
			return nil, err
		}
		return src, nil
	}
	tr, _, err := e.videoSets(ctx)
	if err != nil {
		return nil, err
	}
	b, err := data.NewVideoBatcher(tr, data.VideoBatchConfig{
		Clip:      data.ClipSpec{T: e.Cfg.Data.Frames, Step: e.Cfg.Data.FrameStep},
		Decode:    e.decodeOptions(),
		BatchSize: e.Cfg.Train.Batch, Shuffle: true, Seed: seed, DropLast: true, Workers: e.Cfg.Data.Workers,
	})
	if err != nil {
		return nil, err
	}
	return newClipSource(b), nil
}

// TrainTeacher runs stage one unless the config imports a teacher or the
// teacher is already trained; it exports teacher.onnx.
func (e *Env) TrainTeacher(ctx context.Context) error {
	if e.Cfg.Model.Teacher != "" {
		if _, err := os.Stat(e.Cfg.Model.Teacher); err != nil {
			return fmt.Errorf("model.teacher: %w", err)
		}
		e.Log.Info("using the imported teacher; no teacher stage", "teacher", e.Cfg.Model.Teacher)
		return nil
	}
	dir := filepath.Join(e.RunDir, "teacher")
	out := filepath.Join(dir, "teacher.onnx")
	if _, err := os.Stat(out); err == nil {
		e.Log.Info("teacher already trained", "model", out)
		return nil
	}
	spec := e.Spec(e.Cfg.Model.Taps)
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
	src, err := e.source(ctx, e.Cfg.Seed)
	if err != nil {
		return err
	}
	sum, ss, err := e.runTraining(ctx, dir, "teacher", built, src, e.Cfg.Train.TeacherSteps)
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
	e.Log.Info("teacher trained", "loss", fmt.Sprintf("%.4g -> %.4g", ss.FirstLoss, ss.LastLoss), "step_ms", fmt.Sprintf("%.1f", ss.StepMS), "model", out)
	return writeJSON(filepath.Join(dir, "summary.json"), ss)
}

// teacher loads the teacher for a batch size.
func (e *Env) teacher(taps []string, batch int) (*method.Teacher, method.Spec, error) {
	spec := e.Spec(taps)
	spec.Batch = batch
	path := e.TeacherPath()
	if _, err := os.Stat(path); err != nil {
		return nil, spec, fmt.Errorf("teacher %s: %w; run 'fmam train --stage teacher' first or set model.teacher", path, err)
	}
	t, err := method.LoadTeacher(path, spec, e.Log)
	return t, spec, err
}

// TrainStudent runs stage two for a set of taps and exports the
// evaluation model (teacher and student together) as model.onnx.
func (e *Env) TrainStudent(ctx context.Context, taps []string) error {
	dir := e.StudentDir(taps)
	out := filepath.Join(dir, "model.onnx")
	if _, err := os.Stat(out); err == nil {
		e.Log.Info("student already trained", "taps", taps, "model", out)
		return nil
	}
	t, spec, err := e.teacher(taps, e.Cfg.Train.Batch)
	if err != nil {
		return err
	}
	built, err := method.StudentTrain(spec, t)
	if err != nil {
		return err
	}
	src, err := e.source(ctx, e.Cfg.Seed+1)
	if err != nil {
		return err
	}
	label := "student " + TapSetName(taps)
	sum, ss, err := e.runTraining(ctx, dir, label, built, src, e.Cfg.Train.StudentSteps)
	if err != nil {
		return err
	}
	te, espec, err := e.teacher(taps, e.Cfg.Eval.Batch)
	if err != nil {
		return err
	}
	eg, err := method.StudentEval(espec, te, sum.State)
	if err != nil {
		return err
	}
	if err := eg.Save(out); err != nil {
		return err
	}
	ss.Model = out
	e.Log.Info("student trained", "taps", taps, "loss", fmt.Sprintf("%.4g -> %.4g", ss.FirstLoss, ss.LastLoss), "step_ms", fmt.Sprintf("%.1f", ss.StepMS), "model", out)
	return writeJSON(filepath.Join(dir, "summary.json"), ss)
}
