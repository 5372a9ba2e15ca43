package baseline

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/score"
)

// FrameScoring says how a video baseline's raw frame scores are read:
// which end of each raw score is anomalous.
type FrameScoring struct {
	SO, SFea score.Direction
	// Final marks raw files whose frame scores are already the baseline's
	// final ones (Jigsaw-VAD's official chain normalises and smooths them):
	// they are scored as written, and fused only where the baseline fuses.
	Final bool
}

// FrameAUC fuses raw rows at lambda (each score min-max normalised per
// video first) and scores them.
func (f FrameScoring) FrameAUC(rows []score.VideoRow, lambda float64) (metrics.FrameAUCResult, []metrics.VideoScores, error) {
	vs, err := score.FuseVideos(rows, lambda, f.SO, f.SFea)
	if err != nil {
		return metrics.FrameAUCResult{}, nil, err
	}
	r, err := metrics.FrameAUC(vs, metrics.VideoOptions{SkipNormalize: true})
	return r, vs, err
}

// FrameResults writes a video stage's results from its raw scores: the
// frame-level AUC table (teacher; student S_o, S_fea and fused at
// lambda), the ROC curves and a few score curves.
func (f FrameScoring) FrameResults(u *Unit, st Stage, title string, r ResultsSpec) (*Eval, error) {
	trows, err := score.ReadVideoCSV(st.TeacherScores())
	if err != nil {
		return nil, err
	}
	ds := u.DatasetName()
	teacher, tfused, err := f.FrameAUC(trows, 0)
	if err != nil {
		return nil, fmt.Errorf("teacher scores: %w", err)
	}
	kinds, err := u.FrameKinds()
	if err != nil {
		return nil, err
	}
	tkinds, err := KindAUCs(tfused, kinds)
	if err != nil {
		return nil, fmt.Errorf("teacher scores: %w", err)
	}
	rows := []results.VideoResult{{Dataset: ds, Method: title + " (teacher)", MicroAUC: teacher.Micro, MacroAUC: teacher.Macro, Kinds: tkinds}}
	curves := [][]metrics.VideoScores{tfused}
	ev := &Eval{Unit: u.Name, Headline: teacher.Micro, Teacher: teacher.Micro, HeadlineName: "frame micro AUC", Table: st.Table("results"+r.Suffix) + ".md"}
	frames := len(trows)
	var fused []metrics.VideoScores
	if !r.TeacherOnly {
		srows, err := score.ReadVideoCSV(st.Scores())
		if err != nil {
			return nil, err
		}
		frames = len(srows)
		label := StudentLabel(title, u.Cfg)
		type row struct {
			name string
			lam  float64
		}
		show := []row{{label + " S_o (λ=0)", 0}}
		if ShowSFea(u.Cfg) {
			show = append(show, row{label + " S_fea (λ=1)", 1})
		}
		for _, p := range append(show, row{fmt.Sprintf("%s (λ=%g)", label, r.Lambda), r.Lambda}) {
			res, vs, err := f.FrameAUC(srows, p.lam)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			ks, err := KindAUCs(vs, kinds)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			rows = append(rows, results.VideoResult{Dataset: ds, Method: p.name, MicroAUC: res.Micro, MacroAUC: res.Macro, Kinds: ks})
			curves = append(curves, vs)
			ev.Headline, fused = res.Micro, vs
		}
		ev.HeadlineName = fmt.Sprintf("frame micro AUC at λ=%g", r.Lambda)
	}
	what := "taps " + TapSetName(r.Taps)
	if r.TeacherOnly {
		what = "teacher alone"
	}
	ev.Video, ev.Frames = rows, frames
	r.AddControl(ev)
	tab, err := report.VideoTable(fmt.Sprintf("Frame-level AUC (%%), %s, %s, %d frames", ds, what, frames), ev.Video)
	if err != nil {
		return nil, err
	}
	tab.Notes = append(tab.Notes, r.Notes...)
	ev.Notes = append(ev.Notes, r.Notes...)
	if err := report.WriteAll(st.Dir, "results"+r.Suffix, tab); err != nil {
		return nil, err
	}
	if err := WriteKindTable(st, r, ev, ds, what); err != nil {
		return nil, err
	}
	var names []string
	for _, res := range rows {
		names = append(names, res.Method)
	}
	if err := rocPicture(st.Picture("roc"+r.Suffix), "Frame-level ROC, "+ds, names, curves, u.Cfg.Report.Formats); err != nil {
		return nil, err
	}
	if err := scoreCurves(st.Curves()+r.Suffix, u.Cfg.Eval.Pictures, fused, tfused, r.Lambda, u.Cfg.Report.Formats); err != nil {
		return nil, err
	}
	return ev, nil
}

// Sweep re-scores raw frame scores at each lambda.
func (f FrameScoring) Sweep(ctx context.Context, st Stage, lambdas []float64) ([]results.LambdaPoint, error) {
	rows, err := score.ReadVideoCSV(st.Scores())
	if err != nil {
		return nil, fmt.Errorf("sweep-lambda: %w; run 'fmam eval' first", err)
	}
	var pts []results.LambdaPoint
	for _, l := range lambdas {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, _, err := f.FrameAUC(rows, l)
		if err != nil {
			return nil, fmt.Errorf("lambda %g: %w", l, err)
		}
		pts = append(pts, results.LambdaPoint{Lambda: l, MicroAUC: r.Micro, MacroAUC: r.Macro})
	}
	return pts, nil
}

// pooled returns the valid frames of all videos, concatenated.
func pooled(vs []metrics.VideoScores) ([]float64, []bool) {
	var s []float64
	var l []bool
	for _, v := range vs {
		for i := range v.Scores {
			if v.Valid == nil || v.Valid[i] {
				s = append(s, v.Scores[i])
				l = append(l, v.Labels[i])
			}
		}
	}
	return s, l
}

// rocPicture draws the frame-level ROC curves of several scorings (each
// already normalised and fused per video).
func rocPicture(path, title string, names []string, scorings [][]metrics.VideoScores, formats []string) error {
	var curves []report.ROCCurve
	for i, vs := range scorings {
		s, l := pooled(vs)
		fpr, tpr, _, err := metrics.ROCCurve(s, l)
		if err != nil {
			return fmt.Errorf("roc %s: %w", names[i], err)
		}
		auc, err := metrics.ROCAUC(s, l)
		if err != nil {
			return fmt.Errorf("roc %s: %w", names[i], err)
		}
		curves = append(curves, report.ROCCurve{Name: names[i], FPR: fpr, TPR: tpr, AUC: auc})
	}
	if err := report.WriteROCPlot(path, curves, report.PlotOptions{Title: title, Formats: formats}); err != nil {
		return err
	}
	// The curves themselves, for 'fmam compare' to overlay over runs.
	return report.WriteROCCurves(strings.TrimSuffix(path, ".png")+".json", curves)
}

// scoreCurves draws, for the first n videos, the teacher's and the
// student's fused frame scores with the anomalous frames shaded.
func scoreCurves(dir string, n int, student, teacher []metrics.VideoScores, lam float64, formats []string) error {
	main := student
	if main == nil {
		main = teacher
	}
	n = min(n, len(main))
	if n == 0 {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		v := main[i]
		var series []report.ScoreSeries
		if i < len(teacher) {
			series = append(series, report.ScoreSeries{Name: "teacher S_o", Scores: validOrNaN(teacher[i])})
		}
		if student != nil {
			series = append(series, report.ScoreSeries{Name: fmt.Sprintf("student λ=%g", lam), Scores: validOrNaN(v)})
		}
		path := filepath.Join(dir, SafeName(v.Name)+".png")
		if err := report.WriteScorePlot(path, report.VideoScores{Video: v.Name, Series: series, Anomalous: report.RangesFromLabels(v.Labels)},
			report.PlotOptions{Title: "video " + v.Name, Formats: formats}); err != nil {
			return err
		}
	}
	return nil
}

// validOrNaN returns the scores with frames that have no prediction (the
// first T of a T-frame predictor) as NaN, which score plots leave out
// rather than draw as a score of 0.
func validOrNaN(v metrics.VideoScores) []float64 {
	out := make([]float64, len(v.Scores))
	for i, s := range v.Scores {
		if v.Valid != nil && !v.Valid[i] {
			s = math.NaN()
		}
		out[i] = s
	}
	return out
}

// WriteROC draws the frame-level ROC curves of several scorings, each
// already normalised and fused per video, for baselines that make their
// own frame scores.
func WriteROC(path, title string, names []string, scorings [][]metrics.VideoScores, formats []string) error {
	return rocPicture(path, title, names, scorings, formats)
}

// WriteScoreCurves draws the first n videos' teacher and student frame
// scores (student, at lambda lam, may be nil) into dir, for baselines that
// make their own frame scores.
func WriteScoreCurves(dir string, n int, student, teacher []metrics.VideoScores, lam float64, formats []string) error {
	return scoreCurves(dir, n, student, teacher, lam, formats)
}

// WriteKindTable writes results-kinds.md/csv/json, the frame AUC of each
// anomaly kind of ev.Video's rows (KindAUCs), and names the table in
// ev.KindTable; it writes nothing where no row has kinds (a data set
// without data.FrameKindsFile). ds and what title it as the results table.
func WriteKindTable(st Stage, r ResultsSpec, ev *Eval, ds, what string) error {
	if !report.HasKinds(ev.Video) {
		return nil
	}
	kt, err := report.KindTable(fmt.Sprintf("Frame-level AUC (%%) per anomaly kind, %s, %s", ds, what), ev.Video)
	if err != nil {
		return err
	}
	if err := report.WriteAll(st.Dir, "results-kinds"+r.Suffix, kt); err != nil {
		return err
	}
	ev.KindTable = st.Table("results-kinds"+r.Suffix) + ".md"
	return nil
}
