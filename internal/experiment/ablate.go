package experiment

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/report"
)

// ParseTapSets parses "encoder,bottleneck,encoder+bottleneck" into sets.
func ParseTapSets(s string) ([][]string, error) {
	var out [][]string
	for _, set := range strings.Split(s, ",") {
		set = strings.TrimSpace(set)
		if set == "" {
			continue
		}
		var taps []string
		for _, t := range strings.Split(set, "+") {
			if t = strings.TrimSpace(t); t != "" {
				taps = append(taps, t)
			}
		}
		out = append(out, taps)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no tap sets in %q: use e.g. encoder,bottleneck,encoder+bottleneck", s)
	}
	return out, nil
}

// Ablate trains (or reuses) and evaluates one student per tap set in
// every unit and writes the paper's Table 2 shape as
// ablation.{md,csv,json} in each unit's folder; image runs also get a
// summary over categories in the run folder, in the shape of Table 4 with
// one method per tap set. A multi-seed run ablates every seed and writes
// the table over seeds in the run folder. It returns the run's headline
// table.
func (e *Env) Ablate(ctx context.Context, sets [][]string) (report.Table, error) {
	if e.TeacherOnly() {
		return report.Table{}, errNoStudent("ablate-layer trains a student per tap set")
	}
	if e.Cfg.MultiSeed() {
		return e.ablateSeeds(ctx, sets)
	}
	if err := e.CheckData(ctx, baseline.DataUse{Train: true, Test: true}); err != nil {
		return report.Table{}, err
	}
	if err := e.CheckTaps(ctx, sets); err != nil {
		return report.Table{}, err
	}
	units, err := e.Units(ctx)
	if err != nil {
		return report.Table{}, err
	}
	known := e.Baseline.Taps()
	var evals []*baseline.Eval
	var last report.Table
	for _, u := range units {
		if err := e.TrainTeacher(ctx, u); err != nil {
			return report.Table{}, inUnit(u, err)
		}
		// One control per unit: it has no taps, so every tap set's table
		// shows the same one.
		if err := e.TrainControl(ctx, u); err != nil {
			return report.Table{}, inUnit(u, err)
		}
		var rows []report.AblationRow
		var control []string
		sum := &baseline.Eval{Unit: u.Name}
		for i, taps := range sets {
			attrs := []any{"taps", baseline.TapSetName(taps), "set", fmt.Sprintf("%d/%d", i+1, len(sets))}
			if u.Name != "" { // video runs have one unnamed unit
				attrs = append(attrs, "unit", u.Name)
			}
			e.Log.Info("ablation", attrs...)
			if err := e.TrainStudent(ctx, u, taps); err != nil {
				return report.Table{}, inUnit(u, fmt.Errorf("taps %s: %w", baseline.TapSetName(taps), err))
			}
			ev, err := e.evaluate(ctx, u, taps, e.Cfg.Eval.Lambda, "")
			if err != nil {
				return report.Table{}, fmt.Errorf("taps %s: %w", baseline.TapSetName(taps), err)
			}
			rows = append(rows, report.AblationRow{Taps: taps, AUC: ev.Headline})
			// The summary's rows: the teacher once, then each tap set's
			// student, then the control once.
			own := len(ev.Images) - ev.Control
			if own == 2 {
				if i == 0 {
					sum.Images = append(sum.Images, ev.Images[0])
				}
				st := ev.Images[1]
				st.Method += " " + baseline.TapSetName(taps)
				sum.Images = append(sum.Images, st)
				if i == len(sets)-1 {
					sum.Images = append(sum.Images, ev.Images[own:]...)
				}
			}
			if i == 0 && len(ev.Video) > 0 {
				for _, r := range ev.Video[len(ev.Video)-ev.Control:] {
					control = append(control, fmt.Sprintf("%s %.1f", r.Method, 100*r.MicroAUC))
				}
			}
		}
		name := u.DatasetName()
		if u.Name != "" {
			name += " " + u.Name
		}
		title := fmt.Sprintf("Layer ablation, %s, attention %s", name, e.Cfg.Model.Attention.Kind)
		t, err := report.LayerAblationTable(title, unionTaps(known, sets), rows)
		if err != nil {
			return t, err
		}
		t.Notes = append(t.Notes, "AUC: "+e.Baseline.Task().HeadlineName()+".")
		if len(control) > 0 {
			t.Notes = append(t.Notes, "The control (the student network on L_o alone, no taps), frame micro AUC (%): "+strings.Join(control, "; ")+".")
		}
		if err := report.WriteAll(e.Layout.Unit(u.Name), "ablation", t); err != nil {
			return t, err
		}
		evals, last = append(evals, sum), t
	}
	title := fmt.Sprintf("Layer ablation, %s, attention %s: pixel AUROC, pixel AP, image AUROC (%%)", e.unit("", e.Cfg).DatasetName(), e.Cfg.Model.Attention.Kind)
	t, ok, err := e.Baseline.Task().Summary(title, evals)
	if err != nil || !ok {
		return last, err
	}
	return t, report.WriteAll(e.Layout.Root, "ablation", t)
}

func unionTaps(known []string, sets [][]string) []string {
	out := append([]string(nil), known...)
	for _, s := range sets {
		for _, t := range s {
			if !slices.Contains(out, t) {
				out = append(out, t)
			}
		}
	}
	return out
}

// CheckTaps validates tap sets before anything trains, so that a typo does
// not surface only after a teacher has trained for hours: the tap names of a
// built-in network, or the tensors of an imported teacher (loading it takes
// well under a second).
func (e *Env) CheckTaps(ctx context.Context, sets [][]string) error {
	for _, taps := range sets {
		if err := e.checkTapSet(ctx, taps); err != nil {
			return fmt.Errorf("taps %s: %w", baseline.TapSetName(taps), err)
		}
	}
	return nil
}

func (e *Env) checkTapSet(ctx context.Context, taps []string) error {
	if err := noRepeats(taps); err != nil {
		return err
	}
	if e.Cfg.Model.Teacher == "" {
		// fmam's own teachers (trained here or in model.teacher_run) have them all.
		return arch.CheckTaps(taps, e.Baseline.Taps())
	}
	units, err := e.Units(ctx)
	if err != nil {
		return err
	}
	_, _, err = e.teacher(units[0], taps, e.Cfg.Train.Batch)
	return err
}

func noRepeats(taps []string) error {
	for i, t := range taps {
		if slices.Contains(taps[:i], t) {
			return fmt.Errorf("tap %q is given twice", t)
		}
	}
	return nil
}

// DefaultTapSets are ablate-layer's tap sets when none are given: each of
// the baseline's taps alone, each adjacent pair, then all of them; for
// three taps (MNAD, DRAEM) these are the rows of the paper's Table 2.
func DefaultTapSets(b method.Network) [][]string {
	taps := b.Taps()
	var sets [][]string
	for _, t := range taps {
		sets = append(sets, []string{t})
	}
	for i := 0; i+1 < len(taps); i++ {
		sets = append(sets, []string{taps[i], taps[i+1]})
	}
	if len(taps) > 2 {
		sets = append(sets, slices.Clone(taps))
	}
	return sets
}
