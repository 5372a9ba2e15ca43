package experiment

import (
	"context"
	"fmt"
	"path/filepath"
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

// Train runs the teacher and/or student stage, for every category of an
// image run.
func (e *Env) Train(ctx context.Context, stage Stage) error {
	if stage != StageTeacher {
		if err := e.CheckTaps([][]string{e.Cfg.Model.Taps}); err != nil {
			return err
		}
	}
	envs, err := e.perCategory(ctx)
	if err != nil {
		return err
	}
	for _, ce := range envs {
		if stage != StageStudent {
			if err := ce.TrainTeacher(ctx); err != nil {
				return err
			}
		}
		if stage != StageTeacher {
			if err := ce.TrainStudent(ctx, e.Cfg.Model.Taps); err != nil {
				return err
			}
		}
	}
	return nil
}

// perCategory returns one environment per image category, or e itself.
func (e *Env) perCategory(ctx context.Context) ([]*Env, error) {
	if e.Cfg.Task != "image" {
		return []*Env{e}, nil
	}
	cats, err := e.Categories(ctx)
	if err != nil {
		return nil, err
	}
	var out []*Env
	for _, c := range cats {
		out = append(out, e.ForCategory(c))
	}
	return out, nil
}

// Evaluate scores the configured student and returns the path of the
// results table.
func (e *Env) Evaluate(ctx context.Context) (string, error) {
	if e.Cfg.Task == "image" {
		if _, err := e.EvaluateImages(ctx, e.Cfg.Model.Taps); err != nil {
			return "", err
		}
		return filepath.Join(e.RunDir, "results.md"), nil
	}
	if _, err := e.EvaluateVideo(ctx, e.Cfg.Model.Taps); err != nil {
		return "", err
	}
	return filepath.Join(e.StudentDir(e.Cfg.Model.Taps), "results.md"), nil
}

// Sweep re-scores the configured student's raw scores over the grid; for
// image runs, each category's.
func (e *Env) Sweep(ctx context.Context, grid string) ([]string, error) {
	envs, err := e.perCategory(ctx)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, ce := range envs {
		dir := ce.StudentDir(e.Cfg.Model.Taps)
		name := e.Cfg.Data.Kind
		if len(ce.Cfg.Data.Categories) == 1 && e.Cfg.Task == "image" {
			name += " " + ce.Cfg.Data.Categories[0]
		}
		if _, err := SweepLambda(dir, grid, name); err != nil {
			return nil, err
		}
		files = append(files, filepath.Join(dir, "lambda.md"))
	}
	return files, nil
}
