package experiment

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/config"
)

// checkStage is baseline.CheckScores for a stage of unit u, with the
// category named for image runs.
func (e *Env) checkStage(ctx context.Context, u *baseline.Unit, st baseline.Stage, teacherOnly bool) error {
	return inUnit(u, baseline.CheckScores(ctx, e.Baseline, u, st, teacherOnly))
}

// checkRawScores checks, before any table is written, the raw scores a
// command will read without scoring them again, in every unit and seed:
// for eval (reuse true) those newer than their model, which eval reuses;
// for sweep-lambda every student's, which it always reads. A damaged file
// stops the command before any table is rewritten, the good ones of other
// units and seeds included. teacherOnly checks the teacher stages (eval
// --teacher-only) instead of the students and controls.
func (e *Env) checkRawScores(ctx context.Context, teacherOnly, reuse bool) error {
	if e.Cfg.MultiSeed() {
		for _, k := range e.Cfg.Train.Seeds {
			s, err := e.seedEnv(k, false)
			if err != nil {
				return err
			}
			if err := s.checkRawScores(ctx, teacherOnly, reuse); err != nil {
				return fmt.Errorf("seed %d: %w", k, err)
			}
		}
		return nil
	}
	units, err := e.Units(ctx)
	if err != nil {
		return err
	}
	reused := func(files []string, model string) bool {
		for _, f := range files {
			if !fresh(f, model) {
				return false
			}
		}
		return true
	}
	for _, u := range units {
		if teacherOnly {
			st := e.Layout.Teacher(u.Name)
			if !reuse || reused([]string{st.TeacherScores()}, st.TeacherEvalModel()) {
				if err := e.checkStage(ctx, u, st, true); err != nil {
					return err
				}
			}
			continue
		}
		st := e.student(u, e.Cfg.Model.Taps)
		if !reuse || reused([]string{st.Scores(), st.TeacherScores()}, st.Model()) {
			if err := e.checkStage(ctx, u, st, false); err != nil {
				return err
			}
		}
		if !reuse || !e.hasControl() {
			continue
		}
		if cst := e.Layout.Control(u.Name); reused([]string{cst.Scores(), cst.TeacherScores()}, cst.Model()) {
			if err := e.checkStage(ctx, controlUnit(u), cst, false); err != nil {
				return fmt.Errorf("control: %w", err)
			}
		}
	}
	return nil
}

// CheckScoresFile checks path, a raw scores file in a stage folder of the
// run in runDir (whose configuration is cfg), against the run's test set,
// as eval and sweep-lambda check it: for 'fmam metrics --scores'. A file
// outside the run's stage folders (a copy) is not checked: checked is
// false.
func CheckScoresFile(ctx context.Context, cfg *config.Config, runDir, path string, log *slog.Logger) (checked bool, err error) {
	b, err := registry.Lookup(cfg)
	if err != nil {
		return false, err
	}
	abs := func(p string) string {
		if a, err := filepath.Abs(p); err == nil {
			return a
		}
		return filepath.Clean(p)
	}
	file := path
	path = abs(path)
	e := &Env{Cfg: cfg, Log: log, Progress: io.Discard, Layout: baseline.Layout{Root: abs(runDir)}, Baseline: b}
	units, err := e.Units(ctx)
	if err != nil {
		return false, err
	}
	dir := filepath.Dir(path)
	for _, u := range units {
		if filepath.Dir(dir) != filepath.Clean(e.Layout.Unit(u.Name)) {
			continue
		}
		st := baseline.Stage{Dir: dir}
		if dir == e.Layout.Control(u.Name).Dir {
			u = controlUnit(u)
		}
		switch path {
		case st.Scores():
			return true, inUnit(u, baseline.CheckScoresFile(ctx, b, u, file, true))
		case st.TeacherScores():
			return true, inUnit(u, baseline.CheckScoresFile(ctx, b, u, file, false))
		}
	}
	return false, nil
}
