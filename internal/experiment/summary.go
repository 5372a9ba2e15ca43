package experiment

import (
	"fmt"
	"math"
	"strings"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/results"
)

// Thresholds of the summary's wording, in AUC (fractions).
const (
	// weakSignal: a score this close to chance (0.5) separates little.
	weakSignal = 0.60
	// clearGain: a difference smaller than this is called a tie.
	clearGain = 0.005
)

// Summary sums a run's evaluation up in a few sentences for the screen:
// which score is best and why, from the numbers of the tables. ev is one
// unit's evaluation; pts its lambda sweep (may be nil).
func Summary(ev *baseline.Eval, pts []results.LambdaPoint) []string {
	if len(ev.Video)-ev.Control == 4 {
		out := append(videoSummary(ev, pts), controlSentence(ev)...)
		return append(out, kindSentences(ev)...)
	}
	if len(ev.Images)-ev.Control == 2 {
		return append(imageSummary(ev, pts), controlSentence(ev)...)
	}
	return nil
}

// controlSentence compares the student's headline row with the control's
// last row (at the same lambda): what mimicking added over a second network
// trained on L_o alone.
func controlSentence(ev *baseline.Eval) []string {
	if ev.Control == 0 {
		return nil
	}
	var student, control float64
	var name string
	if n := len(ev.Video); n > 0 {
		student, control, name = ev.Video[n-ev.Control-1].MicroAUC, ev.Video[n-1].MicroAUC, ev.Video[n-1].Method
	} else {
		n := len(ev.Images)
		student, control, name = ev.Images[n-ev.Control-1].ImageAUROC, ev.Images[n-1].ImageAUROC, ev.Images[n-1].Method
	}
	return []string{fmt.Sprintf("Against the control (%s, %s), the student that mimics scores %+.1f points.", name, pct(control), 100*(student-control))}
}

func pct(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }

// bestLambda is the sweep point with the highest micro AUC (the smallest
// lambda among ties).
func bestLambda(pts []results.LambdaPoint) (results.LambdaPoint, bool) {
	best := results.LambdaPoint{MicroAUC: math.Inf(-1)}
	for _, p := range pts {
		if p.MicroAUC > best.MicroAUC || p.MicroAUC == best.MicroAUC && p.Lambda < best.Lambda {
			best = p
		}
	}
	return best, len(pts) > 0
}

// soName says what a video baseline's S_o is, from its teacher row's
// method: MNAD's is a prediction error, Jigsaw-VAD's a puzzle score.
func soName(teacherMethod string) string {
	switch {
	case strings.HasPrefix(teacherMethod, "MNAD"):
		return "the prediction error S_o"
	case strings.HasPrefix(teacherMethod, "Jigsaw"):
		return "the puzzle score S_o"
	}
	return "the detector's own score S_o"
}

func videoSummary(ev *baseline.Eval, pts []results.LambdaPoint) []string {
	teacher, so, fea, fused := ev.Video[0], ev.Video[1], ev.Video[2], ev.Video[3]
	own := soName(teacher.Method)
	rows := []results.VideoResult{teacher, so, fea, fused}
	best := rows[0]
	for _, r := range rows[1:] {
		if r.MicroAUC > best.MicroAUC {
			best = r
		}
	}
	out := []string{fmt.Sprintf("Best score: %s, frame micro AUC %s (teacher %s; student S_o %s, S_fea %s, %s %s).",
		best.Method, pct(best.MicroAUC), pct(teacher.MicroAUC), pct(so.MicroAUC), pct(fea.MicroAUC), fusedName(fused.Method), pct(fused.MicroAUC))}
	switch {
	case fea.MicroAUC < weakSignal:
		what := "is close to chance (50%)"
		if fea.MicroAUC < 0.5 {
			what = "is below chance (50%): it ranks many normal frames above anomalous ones"
		}
		out = append(out, fmt.Sprintf("Why: the feature inconsistency S_fea is a weak signal on this data; its micro AUC %s %s. Giving it weight dilutes S_o: fused at %s the score is %s, %+.1f points from S_o alone.",
			pct(fea.MicroAUC), what, fusedName(fused.Method), pct(fused.MicroAUC), 100*(fused.MicroAUC-so.MicroAUC)))
	case fused.MicroAUC > math.Max(so.MicroAUC, fea.MicroAUC)+clearGain:
		out = append(out, fmt.Sprintf("Why: S_o and S_fea miss different frames, so the fusion beats both (%+.1f points over S_o, %+.1f over S_fea).",
			100*(fused.MicroAUC-so.MicroAUC), 100*(fused.MicroAUC-fea.MicroAUC)))
	case fea.MicroAUC > so.MicroAUC+clearGain:
		out = append(out, fmt.Sprintf("Why: S_fea separates the anomalous frames better than %s (%+.1f points); the fusion lands between them.", own, 100*(fea.MicroAUC-so.MicroAUC)))
	default:
		out = append(out, fmt.Sprintf("Why: %s carries the detection; S_fea (%s) adds little to it here.", own, pct(fea.MicroAUC)))
	}
	if d := so.MicroAUC - teacher.MicroAUC; math.Abs(d) >= clearGain {
		word := "above"
		if d < 0 {
			word = "below"
		}
		out = append(out, fmt.Sprintf("The student's own S_o is %.1f points %s the teacher's.", 100*math.Abs(d), word))
	}
	if b, ok := bestLambda(pts); ok {
		out = append(out, fmt.Sprintf("Over the lambda sweep the best is λ=%g (micro AUC %s).", b.Lambda, pct(b.MicroAUC)))
	}
	return out
}

// fusedName is the fused row's label without the method name: "λ=0.5".
func fusedName(method string) string {
	for i := len(method) - 1; i >= 0; i-- {
		if method[i] == '(' {
			return method[i+1 : len(method)-1]
		}
	}
	return method
}

func imageSummary(ev *baseline.Eval, pts []results.LambdaPoint) []string {
	t, s := ev.Images[0], ev.Images[1]
	best := t
	if s.ImageAUROC > t.ImageAUROC {
		best = s
	}
	out := []string{fmt.Sprintf("Best image AUROC%s: %s, %s (teacher %s, student %s).", unitName(ev.Unit), best.Method, pct(best.ImageAUROC), pct(t.ImageAUROC), pct(s.ImageAUROC))}
	if b, ok := bestLambda(pts); ok {
		at0 := pts[0].MicroAUC
		for _, p := range pts {
			if p.Lambda == 0 {
				at0 = p.MicroAUC
			}
		}
		if b.MicroAUC > at0+clearGain {
			out = append(out, fmt.Sprintf("Fusing S_fea into the image score helps: λ=%g gives %s (%+.1f points over S_o alone).", b.Lambda, pct(b.MicroAUC), 100*(b.MicroAUC-at0)))
		} else {
			out = append(out, fmt.Sprintf("Fusing S_fea into the image score does not help here: the best λ is %g (%s).", b.Lambda, pct(b.MicroAUC)))
		}
	}
	return out
}

func unitName(u string) string {
	if u == "" {
		return ""
	}
	return " on " + u
}

// kindAUC is the AUC of kind k in r, and whether r has it.
func kindAUC(r results.VideoResult, k string) (results.KindAUC, bool) {
	for _, x := range r.Kinds {
		if x.Kind == k {
			return x, true
		}
	}
	return results.KindAUC{}, false
}

// kindSentences sums up the AUCs per anomaly kind of a video unit whose
// data set names them: one line per kind with every score's AUC, then on
// which kinds fusing S_fea in helps or hurts against S_o alone.
func kindSentences(ev *baseline.Eval) []string {
	teacher, so, fea, fused := ev.Video[0], ev.Video[1], ev.Video[2], ev.Video[3]
	if len(so.Kinds) == 0 {
		return nil
	}
	out := []string{"Per anomaly kind (AUC of the kind's frames against all normal frames):"}
	var helps, hurts, feaWins []string
	for _, k := range so.Kinds {
		line := fmt.Sprintf("  %s (%d frames): teacher %s; student S_o %s, S_fea %s, %s %s", k.Kind, k.Frames,
			kindPct(teacher, k.Kind), pct(k.AUC), kindPct(fea, k.Kind), fusedName(fused.Method), kindPct(fused, k.Kind))
		if ev.Control > 0 {
			c := ev.Video[len(ev.Video)-1]
			line += fmt.Sprintf("; control %s %s", fusedName(c.Method), kindPct(c, k.Kind))
		}
		out = append(out, line+".")
		f, okF := kindAUC(fused, k.Kind)
		e, okE := kindAUC(fea, k.Kind)
		switch d := f.AUC - k.AUC; {
		case okF && d > clearGain:
			helps = append(helps, fmt.Sprintf("%s (%+.1f)", k.Kind, 100*d))
		case okF && d < -clearGain:
			hurts = append(hurts, fmt.Sprintf("%s (%+.1f)", k.Kind, 100*d))
		}
		if okE && e.AUC > k.AUC+clearGain {
			feaWins = append(feaWins, fmt.Sprintf("%s (%s vs %s)", k.Kind, pct(e.AUC), pct(k.AUC)))
		}
	}
	name := fusedName(fused.Method)
	switch {
	case len(helps) == 0 && len(hurts) == 0:
		out = append(out, fmt.Sprintf("Fusing S_fea at %s changes no kind's AUC by %.1f points or more against S_o alone.", name, 100*clearGain))
	default:
		line := fmt.Sprintf("Fusing S_fea at %s against S_o alone (points):", name)
		if len(helps) > 0 {
			line += " helps on " + strings.Join(helps, ", ")
		} else {
			line += " helps on no kind"
		}
		if len(hurts) > 0 {
			line += "; hurts on " + strings.Join(hurts, ", ")
		}
		out = append(out, line+".")
	}
	if len(feaWins) > 0 {
		out = append(out, "S_fea alone beats S_o on "+strings.Join(feaWins, ", ")+".")
	} else {
		out = append(out, "S_fea alone beats S_o on no kind.")
	}
	return out
}

// kindPct is r's AUC of kind k as a percentage, "-" where r has none.
func kindPct(r results.VideoResult, k string) string {
	if x, ok := kindAUC(r, k); ok {
		return pct(x.AUC)
	}
	return "-"
}
