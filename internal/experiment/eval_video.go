package experiment

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/score"
)

// VideoEval is the outcome of evaluating one student run.
type VideoEval struct {
	Dataset  string
	Taps     []string
	Teacher  metrics.FrameAUCResult // S_o of the teacher alone (the baseline)
	StudentO metrics.FrameAUCResult // S_o of the student alone (lambda 0)
	Fea      metrics.FrameAUCResult // S_fea alone (lambda 1)
	Hybrid   metrics.FrameAUCResult // S_total at Lambda
	Lambda   float64
	Frames   int
}

// scoresPaths are the raw per-frame scores of a student folder.
func scoresPaths(dir string) (student, teacher string) {
	return filepath.Join(dir, "scores.csv"), filepath.Join(dir, "teacher_scores.csv")
}

// memoryScoresPaths keep, for runs with memory, the two raw parts of S_o
// in the scores format: s_o = PSNR, s_fea = memory distance.
func memoryScoresPaths(dir string) (student, teacher string) {
	return filepath.Join(dir, "memory_scores.csv"), filepath.Join(dir, "teacher_memory_scores.csv")
}

// evalVideoScores runs model.onnx of a student folder over the test split
// and writes raw scores: S_o as PSNR (teacher and student), S_fea. With
// memory, s_o holds MNAD's combined normality score instead (see
// score.CombineMemory) and the PSNR and memory distance go to
// memory_scores.csv and teacher_memory_scores.csv.
func (e *Env) evalVideoScores(ctx context.Context, dir string) error {
	sPath, tPath := scoresPaths(dir)
	model := filepath.Join(dir, "model.onnx")
	b, err := os.ReadFile(model)
	if err != nil {
		return fmt.Errorf("evaluate %s: %w; train the student first", dir, err)
	}
	_, test, err := e.videoSets(ctx)
	if err != nil {
		return err
	}
	bs := e.Cfg.Eval.Batch
	batcher, err := data.NewVideoBatcher(test, data.VideoBatchConfig{
		Clip:      data.ClipSpec{T: e.Cfg.Data.Frames, Step: e.Cfg.Data.FrameStep},
		Decode:    e.decodeOptions(),
		BatchSize: bs, Workers: e.Cfg.Data.Workers,
	})
	if err != nil {
		return err
	}
	t, _, err := e.teacher(e.Cfg.Model.Taps, bs)
	if err != nil {
		return err
	}
	outs := []string{method.OutTeacherErr, method.OutStudentErr, method.OutFea}
	memory := e.Cfg.Model.Memory
	if memory {
		outs = append(outs, method.OutTeacherMem, method.OutStudentMem)
	}
	c, s := e.Cfg.Data.Channels, e.Cfg.Data.Size
	inPorts := []ort.Port{
		{Name: t.Input, Shape: []int64{int64(bs), int64(e.Cfg.Data.Frames * c), int64(s), int64(s)}},
		{Name: method.InTarget, Shape: []int64{int64(bs), int64(c), int64(s), int64(s)}},
	}
	var outPorts []ort.Port
	for _, o := range outs {
		outPorts = append(outPorts, ort.Port{Name: o, Shape: []int64{int64(bs)}})
	}
	sess, err := e.RT.NewInference(b, inPorts, outPorts, e.ortOptions())
	if err != nil {
		return fmt.Errorf("load %s: %w", model, err)
	}
	defer sess.Close()
	var srows, trows []score.VideoRow
	var sdist, tdist []float64
	stride := e.Cfg.Data.TestStride
	bar := newBar(e.Progress, batcher.BatchesPerEpoch(), "eval "+filepath.Base(dir))
	for batch, err := range batcher.Epoch(ctx, data.Position{}) {
		if err != nil {
			return err
		}
		copy(sess.Input(0), batch.Input)
		copy(sess.Input(1), batch.Target)
		if err := sess.Run(ctx); err != nil {
			return err
		}
		te, se, fe := sess.Output(0), sess.Output(1), sess.Output(2)
		for i := 0; i < batch.N; i++ {
			if batch.Frame[i]%stride != 0 {
				continue
			}
			v := test.Videos[batch.Video[i]].Name
			id := v + "/" + strconv.Itoa(batch.Frame[i])
			lab := batch.Label[i] == 1
			// MSE on [-1, 1] frames: PSNR with peak 2 equals MNAD's PSNR on [0, 1].
			srows = append(srows, score.VideoRow{ID: id, Video: v, Frame: batch.Frame[i], Label: lab, SO: score.FramePSNR(float64(se[i])), SFea: float64(fe[i])})
			trows = append(trows, score.VideoRow{ID: id, Video: v, Frame: batch.Frame[i], Label: lab, SO: score.FramePSNR(float64(te[i])), SFea: float64(fe[i])})
			if memory {
				tdist = append(tdist, float64(sess.Output(3)[i]))
				sdist = append(sdist, float64(sess.Output(4)[i]))
			}
		}
		bar.add()
	}
	bar.finish()
	if memory {
		var err error
		if trows, err = e.withMemory(dir, trows, tdist, true); err != nil {
			return err
		}
		if srows, err = e.withMemory(dir, srows, sdist, false); err != nil {
			return err
		}
	}
	if err := score.WriteVideoCSV(tPath, trows); err != nil {
		return err
	}
	return score.WriteVideoCSV(sPath, srows)
}

// withMemory writes the raw PSNR and memory distance of rows to the
// memory scores file and returns the rows with s_o replaced by MNAD's
// combined score.
func (e *Env) withMemory(dir string, rows []score.VideoRow, dist []float64, teacher bool) ([]score.VideoRow, error) {
	sPath, tPath := memoryScoresPaths(dir)
	path := sPath
	if teacher {
		path = tPath
	}
	raw := make([]score.VideoRow, len(rows))
	for i, r := range rows {
		raw[i] = r
		raw[i].SFea = dist[i]
	}
	if err := score.WriteVideoCSV(path, raw); err != nil {
		return nil, err
	}
	return score.CombineMemory(rows, dist, score.MNADAlpha)
}

// frameAUC fuses raw rows at lambda and scores them.
func frameAUC(rows []score.VideoRow, lambda float64) (metrics.FrameAUCResult, []metrics.VideoScores, error) {
	vs, err := score.FuseVideos(rows, lambda, score.LowerIsAnomalous, score.HigherIsAnomalous)
	if err != nil {
		return metrics.FrameAUCResult{}, nil, err
	}
	r, err := metrics.FrameAUC(vs, metrics.VideoOptions{SkipNormalize: true})
	return r, vs, err
}

// EvaluateVideo scores a student folder (raw scores are reused when
// present and fresh) and writes its results table and score curves.
func (e *Env) EvaluateVideo(ctx context.Context, taps []string) (*VideoEval, error) {
	dir := e.StudentDir(taps)
	sPath, tPath := scoresPaths(dir)
	if fresh(sPath, filepath.Join(dir, "model.onnx")) && fresh(tPath, filepath.Join(dir, "model.onnx")) {
		e.Log.Info("reusing raw scores", "file", sPath)
	} else if err := e.evalVideoScores(ctx, dir); err != nil {
		return nil, err
	}
	srows, err := score.ReadVideoCSV(sPath)
	if err != nil {
		return nil, err
	}
	trows, err := score.ReadVideoCSV(tPath)
	if err != nil {
		return nil, err
	}
	lam := e.Cfg.Eval.Lambda
	ev := &VideoEval{Dataset: e.Cfg.Data.Kind, Taps: taps, Lambda: lam, Frames: len(srows)}
	var tfused, s0, s1, fused []metrics.VideoScores
	if ev.Teacher, tfused, err = frameAUC(trows, 0); err != nil {
		return nil, fmt.Errorf("teacher scores: %w", err)
	}
	if ev.StudentO, s0, err = frameAUC(srows, 0); err != nil {
		return nil, err
	}
	if ev.Fea, s1, err = frameAUC(srows, 1); err != nil {
		return nil, err
	}
	if ev.Hybrid, fused, err = frameAUC(srows, lam); err != nil {
		return nil, err
	}
	attn := string(e.Cfg.Model.Attention.Kind)
	label := "MNAD+FM"
	if attn != "none" {
		label += "+" + upper(attn)
	}
	base := "MNAD (teacher)"
	if e.Cfg.Model.Memory {
		base = "MNAD with memory (teacher)"
	}
	results := []report.VideoResult{
		{Dataset: ev.Dataset, Method: base, MicroAUC: ev.Teacher.Micro, MacroAUC: ev.Teacher.Macro},
		{Dataset: ev.Dataset, Method: label + " S_o (λ=0)", MicroAUC: ev.StudentO.Micro, MacroAUC: ev.StudentO.Macro},
		{Dataset: ev.Dataset, Method: label + " S_fea (λ=1)", MicroAUC: ev.Fea.Micro, MacroAUC: ev.Fea.Macro},
		{Dataset: ev.Dataset, Method: fmt.Sprintf("%s (λ=%g)", label, lam), MicroAUC: ev.Hybrid.Micro, MacroAUC: ev.Hybrid.Macro},
	}
	tab, err := report.VideoTable(fmt.Sprintf("Frame-level AUC (%%), %s, taps %s, %d frames", ev.Dataset, TapSetName(taps), ev.Frames), results)
	if err != nil {
		return nil, err
	}
	if err := report.WriteAll(dir, "results", tab); err != nil {
		return nil, err
	}
	if err := rocPicture(dir, "Frame-level ROC, "+ev.Dataset, []string{results[0].Method, results[1].Method, results[2].Method, results[3].Method},
		[][]metrics.VideoScores{tfused, s0, s1, fused}); err != nil {
		return nil, err
	}
	if err := e.scoreCurves(dir, fused, tfused, lam); err != nil {
		return nil, err
	}
	return ev, nil
}

func upper(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] >= 'a' && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// scoreCurves draws, for a few videos, the teacher's and the student's
// fused frame scores with the anomalous frames shaded.
func (e *Env) scoreCurves(dir string, student, teacher []metrics.VideoScores, lam float64) error {
	n := min(e.Cfg.Eval.Pictures, len(student))
	if err := os.MkdirAll(filepath.Join(dir, "curves"), 0o755); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		v := student[i]
		series := []report.ScoreSeries{{Name: fmt.Sprintf("student λ=%g", lam), Scores: validOrZero(v)}}
		if i < len(teacher) {
			series = append([]report.ScoreSeries{{Name: "teacher S_o", Scores: validOrZero(teacher[i])}}, series...)
		}
		path := filepath.Join(dir, "curves", sanitizeName(v.Name)+".png")
		if err := report.WriteScorePlot(path, report.VideoScores{Video: v.Name, Series: series, Anomalous: report.RangesFromLabels(v.Labels)},
			report.PlotOptions{Title: "video " + v.Name}); err != nil {
			return err
		}
	}
	return nil
}

// validOrZero returns the scores with frames that have no prediction (the
// first T of a T-frame predictor) drawn at 0.
func validOrZero(v metrics.VideoScores) []float64 {
	out := make([]float64, len(v.Scores))
	for i, s := range v.Scores {
		if v.Valid != nil && !v.Valid[i] {
			s = 0
		}
		out[i] = s
	}
	return out
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
