package baseline

import (
	"fmt"
	"strings"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/nn"
)

// The control is the student network trained beside every student with
// L_o alone: the same network, steps and seed, w_fea 0 and no attention,
// drawing from its own random streams (rng.Control). Its rows in a
// student's results table (its S_o, and its S_total at lambda with the
// S_fea of a network that never mimicked) tell "feature mimicking helped"
// from "a second network was trained".

// ControlConfig is cfg as the control stage trains and scores it: w_fea 0
// and attention none.
func ControlConfig(cfg *config.Config) *config.Config {
	c := *cfg
	c.Model.WFea = 0
	c.Model.Attention.Kind = nn.AttnNone
	return &c
}

// IsControl reports whether cfg's student does not mimic (w_fea 0): such
// a student is the control, and tables name it so.
func IsControl(cfg *config.Config) bool { return cfg.Model.WFea == 0 }

// StudentLabel names a student in tables: the baseline, FM, and the
// attention module ("MNAD+FM+SCA"); a student that does not mimic is the
// control ("MNAD control (L_o only)").
func StudentLabel(title string, cfg *config.Config) string {
	att := cfg.Model.Attention.Kind
	hasAtt := att != nn.AttnNone && att != ""
	if IsControl(cfg) {
		if hasAtt {
			return title + " control (L_o only, " + strings.ToUpper(string(att)) + ")"
		}
		return title + " control (L_o only)"
	}
	label := title + "+FM"
	if hasAtt {
		label += "+" + strings.ToUpper(string(att))
	}
	return label
}

// ShowSFea reports whether a student's results show S_fea alone: not for
// the control, whose S_fea only enters its S_total.
func ShowSFea(cfg *config.Config) bool { return !IsControl(cfg) }

// StudentRow is one student row of a frame-level table: its method name
// and the λ its scores are fused at.
type StudentRow struct {
	Name   string
	Lambda float64
}

// StudentRows lists the rows of a student of an object-level baseline:
// S_o (λ=0) named label+so, S_fea (λ=1) where ShowSFea, and the fusion at
// lambda, named by fused (a format taking the label and λ), unless lambda
// is 0 or 1 and so already a row.
func StudentRows(label string, cfg *config.Config, lambda float64, so, fused string) []StudentRow {
	rows := []StudentRow{{label + so, 0}}
	if ShowSFea(cfg) {
		rows = append(rows, StudentRow{label + " S_fea (λ=1)", 1})
	}
	if lambda != 0 && lambda != 1 {
		rows = append(rows, StudentRow{fmt.Sprintf(fused, label, lambda), lambda})
	}
	return rows
}

// AddControl appends the control's rows (all but its teacher's, which is
// the student's teacher) to a student's evaluation, after the student's
// own, and counts them in ev.Control. Results calls it before writing the
// table, so the control shows in results.{md,csv,json} and records.json.
func (r ResultsSpec) AddControl(ev *Eval) {
	if r.Control == nil || r.TeacherOnly {
		return
	}
	if n := len(r.Control.Video); n > 1 {
		ev.Video = append(ev.Video, r.Control.Video[1:]...)
		ev.Control = n - 1
	}
	if n := len(r.Control.Images); n > 1 {
		ev.Images = append(ev.Images, r.Control.Images[1:]...)
		ev.Control = n - 1
	}
}
