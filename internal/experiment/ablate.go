package experiment

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/arch"
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

// Ablate trains (or reuses) and evaluates one student per tap set and
// writes the paper's Table 2 shape as ablation.{md,csv,json}.
func (e *Env) Ablate(ctx context.Context, sets [][]string) (report.Table, error) {
	if err := e.CheckTaps(sets); err != nil {
		return report.Table{}, err
	}
	if err := e.TrainTeacher(ctx); err != nil {
		return report.Table{}, err
	}
	var rows []report.AblationRow
	known := method.TapNames(e.Cfg.Model.Arch)
	for _, taps := range sets {
		e.Log.Info("ablation", "taps", TapSetName(taps))
		if err := e.TrainStudent(ctx, taps); err != nil {
			return report.Table{}, fmt.Errorf("taps %s: %w", TapSetName(taps), err)
		}
		auc, err := e.evaluateAUC(ctx, taps)
		if err != nil {
			return report.Table{}, fmt.Errorf("taps %s: %w", TapSetName(taps), err)
		}
		rows = append(rows, report.AblationRow{Taps: taps, AUC: auc})
	}
	title := fmt.Sprintf("Layer ablation, %s, attention %s", e.Cfg.Data.Kind, e.Cfg.Model.Attention.Kind)
	t, err := report.LayerAblationTable(title, unionTaps(known, sets), rows)
	if err != nil {
		return t, err
	}
	return t, report.WriteAll(e.RunDir, "ablation", t)
}

// evaluateAUC is the headline number of a student: frame micro AUC at the
// configured lambda for video, mean image AUROC for images.
func (e *Env) evaluateAUC(ctx context.Context, taps []string) (float64, error) {
	if e.Cfg.Task == "image" {
		res, err := e.EvaluateImages(ctx, taps)
		if err != nil {
			return 0, err
		}
		return res.MeanImageAUROC(), nil
	}
	ev, err := e.EvaluateVideo(ctx, taps)
	if err != nil {
		return 0, err
	}
	return ev.Hybrid.Micro, nil
}

func unionTaps(known []string, sets [][]string) []string {
	out := append([]string(nil), known...)
	for _, s := range sets {
		for _, t := range s {
			found := false
			for _, k := range out {
				found = found || k == t
			}
			if !found {
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
func (e *Env) CheckTaps(sets [][]string) error {
	for _, taps := range sets {
		if err := e.checkTapSet(taps); err != nil {
			return fmt.Errorf("taps %s: %w", TapSetName(taps), err)
		}
	}
	return nil
}

func (e *Env) checkTapSet(taps []string) error {
	if err := noRepeats(taps); err != nil {
		return err
	}
	if e.Cfg.Model.Teacher == "" {
		return arch.CheckTaps(taps, method.TapNames(e.Cfg.Model.Arch))
	}
	_, _, err := e.teacher(taps, e.Cfg.Train.Batch)
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
