package experiment

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/score"
)

// Metadata keys eval adds to an exported evaluation model (model.onnx)
// besides the teacher's (method.Meta*): the calibration as JSON, its
// default threshold and fusion weight, and how the outputs become scores.
const (
	MetaCalibration = "fmam.calibration"
	MetaThreshold   = "fmam.threshold"
	MetaLambda      = "fmam.lambda"
	MetaScore       = "fmam.score"
	MetaTask        = "fmam.task"
	MetaDynamic     = "fmam.batch"
)

// calibrate scores the unit's normal reference data with the student's
// evaluation model (reused from reference_scores.csv when newer than the
// model), computes the normalisation and thresholds, and writes them to
// thresholds.json, into results.json and into model.onnx's metadata,
// which also gets a dynamic batch axis. Baselines that cannot predict
// (object baselines) have no calibration. other marks another lambda
// than eval.lambda (`fmam eval --lambda`): its calibration goes to
// thresholds-lambda-L.json alone (`fmam predict --lambda L`), and
// model.onnx, results.json and teacher.onnx keep eval.lambda's.
func (e *Env) calibrate(ctx context.Context, u *baseline.Unit, st baseline.Stage, lambda float64, other bool) error {
	p, ok := e.Baseline.(baseline.Predictor)
	if !ok || e.Cfg.Model.Memory {
		return nil
	}
	model := st.Model()
	input, err := dataInput(model)
	if err != nil {
		return err
	}
	ref, err := e.referenceScores(ctx, p, u, baseline.EvalModel{Stage: st, Path: model, Inputs: []string{input}})
	if err != nil {
		return err
	}
	testO, testF, labels, err := testScores(e.Cfg, st)
	if err != nil {
		return err
	}
	c, err := baseline.Calibrate(baseline.ScoringOf(e.Baseline), lambda, e.Cfg.Eval.Quantile, ref.source, ref.so, ref.fea, testO, testF, labels)
	if err != nil {
		return fmt.Errorf("thresholds: %w", err)
	}
	if other {
		path := st.ThresholdsAt(lambda)
		if err := writeJSON(path, c); err != nil {
			return err
		}
		th, _ := c.Threshold(c.Default)
		e.Log.Info("thresholds at lambda "+ff(lambda)+": 'fmam predict --lambda "+ff(lambda)+"' uses them; plain predict and model.onnx keep eval.lambda's "+st.Thresholds(),
			"unit", u.Name, c.Default, fmt.Sprintf("%.4g", th.Value), "file", path)
		return nil
	}
	if err := e.storeCalibration(u, st, model, c, false); err != nil {
		return err
	}
	th, _ := c.Threshold(c.Default)
	e.Log.Info("thresholds", "unit", u.Name, "reference", ref.source, "n", c.References, c.Default, fmt.Sprintf("%.4g", th.Value), "file", st.Thresholds())
	return e.calibrateTeacher(u, st, ref.source, ref.teacher)
}

// reference holds the raw scores of a unit's normal reference data: the
// evaluation model's S_o and S_fea, and the teacher's S_o.
type reference struct {
	so, fea, teacher []float64
	// source is "held-out" or "train" (baseline.Unit.ReferenceInput).
	source string
}

// referenceScores scores the unit's normal reference data with the
// evaluation model m, or reads them from the stage's
// reference_scores.csv when it is newer than the model.
func (e *Env) referenceScores(ctx context.Context, p baseline.Predictor, u *baseline.Unit, m baseline.EvalModel) (*reference, error) {
	in, source, err := u.ReferenceInput(ctx)
	if err != nil {
		return nil, fmt.Errorf("thresholds: %w", err)
	}
	r := &reference{source: source}
	path := m.Stage.ReferenceScores()
	if fresh(path, m.Path) {
		r.so, r.fea, r.teacher, err = readReference(path)
	}
	if err == nil && r.teacher != nil {
		return r, nil
	}
	// Not scored yet, scored before the teacher's column, or unreadable:
	// score again.
	r.so, r.fea = nil, nil
	var rows [][]string
	err = p.Predict(ctx, u, m, in, func(it baseline.PredictItem) error {
		r.so, r.fea, r.teacher = append(r.so, it.SO), append(r.fea, it.SFea), append(r.teacher, it.TeacherSO)
		rows = append(rows, []string{it.ID, ff(it.SO), ff(it.SFea), ff(it.TeacherSO)})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("thresholds: score the %s normals: %w", source, err)
	}
	return r, writeCSV(path, []string{"id", "s_o", "s_fea", "teacher_s_o"}, rows)
}

// storeCalibration writes a calibration to the stage's thresholds.json,
// into its results.json and into the metadata of its evaluation model
// (model.onnx, or teacher_eval.onnx with teacher), which also gets a
// dynamic batch axis and, for a baseline.PostProcessor, the outputs
// s_o, s_total and anomalous.
func (e *Env) storeCalibration(u *baseline.Unit, st baseline.Stage, model string, c *baseline.Calibration, teacher bool) error {
	if err := writeJSON(st.Thresholds(), c); err != nil {
		return err
	}
	if err := addToResults(st.Table("results.json"), c); err != nil {
		return err
	}
	meta, err := e.modelMeta(u, c)
	if err != nil {
		return err
	}
	if teacher {
		meta[MetaScore] = "the teacher alone, from its outputs t_* in place of the student's s_* and without s_fea (" + meta[MetaScore] + "); here lambda is 0, so S_total = n(S_o)"
	}
	var extend func(*graph.Appender) error
	if pp, ok := e.Baseline.(baseline.PostProcessor); ok {
		extend = func(a *graph.Appender) error { return postProcess(a, pp, c, teacher) }
		meta[MetaScore] += "; outputs " + baseline.OutSO + ", " + baseline.OutSTotal + " and " + baseline.OutAnomalous + " (1 at S_total >= fmam.threshold, else 0) compute this in float32 in the model"
	}
	return graph.Annotate(model, meta, true, extend)
}

// calibrateTeacherEval stores the calibration of a teacher scored alone
// ('fmam eval --teacher-only'): its S_o on the unit's normal reference
// data and on the test set (teacher_scores.csv) give the thresholds of
// S_total = n(S_o), written to the teacher stage's thresholds.json,
// results.json and teacher_eval.onnx, with which 'fmam predict' scores a
// run without a student. Baselines that cannot predict (object
// baselines) and MNAD with memory have none, as for students.
func (e *Env) calibrateTeacherEval(ctx context.Context, u *baseline.Unit, st baseline.Stage, ins []string) error {
	p, ok := e.Baseline.(baseline.Predictor)
	if !ok || e.Cfg.Model.Memory {
		return nil
	}
	model := st.TeacherEvalModel()
	ref, err := e.referenceScores(ctx, p, u, baseline.EvalModel{Stage: st, Path: model, Inputs: ins, TeacherOnly: true})
	if err != nil {
		return err
	}
	testO, _, labels, err := readScores(e.Cfg, st.TeacherScores())
	if err != nil {
		return err
	}
	c, err := baseline.CalibrateTeacher(baseline.ScoringOf(e.Baseline), e.Cfg.Eval.Quantile, ref.source, ref.teacher, testO, labels)
	if err != nil {
		return fmt.Errorf("teacher thresholds: %w", err)
	}
	if err := e.storeCalibration(u, st, model, c, true); err != nil {
		return err
	}
	th, _ := c.Threshold(c.Default)
	e.Log.Info("teacher thresholds", "unit", u.Name, "reference", ref.source, "n", c.References, c.Default, fmt.Sprintf("%.4g", th.Value), "file", st.Thresholds())
	return nil
}

// calibrateTeacher writes the teacher's own calibration (its S_o alone,
// from its reference and test scores) into the metadata of the teacher
// this run trained (teacher.onnx); an imported teacher or another run's
// is left as it is, not being this run's to change.
func (e *Env) calibrateTeacher(u *baseline.Unit, st baseline.Stage, source string, refT []float64) error {
	if e.Cfg.Model.Teacher != "" || e.Cfg.Model.TeacherRun != "" {
		return nil
	}
	path := e.TeacherPath(u)
	if _, err := os.Stat(path); err != nil {
		return nil // trained elsewhere and not here (nothing to annotate)
	}
	testO, _, labels, err := readScores(e.Cfg, st.TeacherScores())
	if err != nil {
		return err
	}
	c, err := baseline.CalibrateTeacher(baseline.ScoringOf(e.Baseline), e.Cfg.Eval.Quantile, source, refT, testO, labels)
	if err != nil {
		return fmt.Errorf("teacher thresholds: %w", err)
	}
	all, err := e.modelMeta(u, c)
	if err != nil {
		return err
	}
	// The calibration's keys only: the teacher's own (method.Meta*: its
	// taps, input format) say what the network is and stay as trained.
	meta := map[string]string{}
	for _, k := range []string{MetaTask, MetaCalibration, MetaThreshold, MetaLambda, MetaScore, MetaDynamic} {
		meta[k] = all[k]
	}
	meta[MetaScore] = "the teacher alone: S_o as the evaluation model scores the teacher's output (" + meta[MetaScore] + "); here lambda is 0, so S_total = n(S_o)"
	if err := graph.Annotate(path, meta, true, nil); err != nil {
		return err
	}
	th, _ := c.Threshold(c.Default)
	e.Log.Info("teacher thresholds", "unit", u.Name, c.Default, fmt.Sprintf("%.4g", th.Value), "model", path)
	return nil
}

// postProcess appends the baseline's S_o, the calibration's
// normalisation and fusion (S_total) and the decision at its default
// threshold to an evaluation model. A teacher-only model (teacher) has
// the teacher's outputs and no S_fea: S_o is the teacher's and S_total
// n(S_o), its calibration's lambda being 0.
func postProcess(a *graph.Appender, pp baseline.PostProcessor, c *baseline.Calibration, teacher bool) error {
	norm := func(x string, n baseline.Norm) string {
		span := n.Max - n.Min
		if !(span > 0) {
			span = 1
		}
		d := a.Op(graph.OpSub, []string{x, a.Scalar(float32(n.Min))}, nil)
		if n.Direction == score.LowerIsAnomalous.String() {
			d = a.Op(graph.OpSub, []string{a.Scalar(float32(n.Max)), x}, nil)
		}
		return a.Op(graph.OpDiv, []string{d, a.Scalar(float32(span))}, nil)
	}
	so := pp.PostScore(a, teacher)
	var total string
	if teacher {
		if c.Lambda != 0 {
			return fmt.Errorf("a teacher alone has no S_fea: its calibration's lambda is %g, want 0", c.Lambda)
		}
		total = norm(so, c.SO)
	} else {
		nf := a.Op(graph.OpMul, []string{norm(method.OutFea, c.SFea), a.Scalar(float32(c.Lambda))}, nil)
		no := a.Op(graph.OpMul, []string{norm(so, c.SO), a.Scalar(float32(1 - c.Lambda))}, nil)
		total = a.Op(graph.OpAdd, []string{nf, no}, nil)
	}
	th, _ := c.Threshold(c.Default)
	// 1 anomalous, 0 normal: a float, as every other output.
	dec := a.Op(graph.OpCast, []string{a.Op(graph.OpGreaterOrEqual, []string{total, a.Scalar(float32(th.Value))}, nil)}, graph.Attrs{"to": int64(graph.Float)})
	a.Output(baseline.OutSO, so, graph.Float)
	a.Output(baseline.OutSTotal, total, graph.Float)
	a.Output(baseline.OutAnomalous, dec, graph.Float)
	return a.Err()
}

// modelMeta is the metadata of a calibrated evaluation model: the input
// format, taps, fusion weight, calibration and score rules.
func (e *Env) modelMeta(u *baseline.Unit, c *baseline.Calibration) (map[string]string, error) {
	cj, err := json.Marshal(c)
	if err != nil {
		return nil, err
	}
	th, _ := c.Threshold(c.Default)
	cfg := u.Cfg
	m := map[string]string{
		method.MetaArch: e.Baseline.Arch(), method.MetaTaps: strings.Join(cfg.Model.Taps, ","),
		method.MetaChannels: strconv.Itoa(cfg.Data.Channels), method.MetaFrames: strconv.Itoa(cfg.Data.Frames),
		method.MetaSize: strconv.Itoa(cfg.Data.Size), MetaTask: string(cfg.Task),
		MetaCalibration: string(cj), MetaThreshold: ff(th.Value), MetaLambda: ff(c.Lambda),
		MetaDynamic: "the first axis of every input and output is the batch (N)",
	}
	if cfg.Task == config.TaskImage {
		m[method.MetaChannels] = "3"
		m[method.MetaFrames] = "1"
	}
	if d, ok := e.Baseline.(interface{ ScoreRule() string }); ok {
		m[MetaScore] = d.ScoreRule() + scoreFusion
	}
	for k, v := range baseline.InputMeta(cfg) {
		m[k] = v
	}
	return m, nil
}

// scoreFusion says how S_total comes from the raw scores (appended to a
// baseline's ScoreRule).
const scoreFusion = "; S_total = lambda*n(S_fea) + (1-lambda)*n(S_o), n the min-max normalisation of fmam.calibration (s_o, s_fea: min, max, direction); anomalous when S_total >= fmam.threshold"

// dataInput is the name of an evaluation model's first input, the data.
func dataInput(model string) (string, error) {
	m, err := graph.ReadModel(model)
	if err != nil {
		return "", err
	}
	if len(m.GetGraph().GetInput()) == 0 {
		return "", fmt.Errorf("model %s has no inputs", model)
	}
	return m.GetGraph().GetInput()[0].GetName(), nil
}

func ff(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// testScores reads the student's raw test scores and labels.
func testScores(cfg *config.Config, st baseline.Stage) (so, fea []float64, labels []bool, err error) {
	return readScores(cfg, st.Scores())
}

// readScores reads a raw scores file (a student's or a teacher's).
func readScores(cfg *config.Config, path string) (so, fea []float64, labels []bool, err error) {
	if cfg.Task == config.TaskImage {
		rows, err := score.ReadImageCSV(path)
		if err != nil {
			return nil, nil, nil, err
		}
		for _, r := range rows {
			so, fea, labels = append(so, r.SO), append(fea, r.SFea), append(labels, r.Label)
		}
		return so, fea, labels, nil
	}
	rows, err := score.ReadVideoCSV(path)
	if err != nil {
		return nil, nil, nil, err
	}
	for _, r := range rows {
		so, fea, labels = append(so, r.SO), append(fea, r.SFea), append(labels, r.Label)
	}
	return so, fea, labels, nil
}

// addToResults adds the calibration to a results.json object as
// "thresholds"; a missing file is left alone.
func addToResults(path string, c *baseline.Calibration) error {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("add thresholds to %s: %w", path, err)
	}
	cj, err := json.MarshalIndent(c, "  ", "  ")
	if err != nil {
		return err
	}
	if _, ok := doc["thresholds"]; ok {
		doc["thresholds"] = cj
		return writeJSON(path, doc)
	}
	// Appended, so the table's keys keep their order.
	body := bytes.TrimRight(b, " \t\r\n")
	body = bytes.TrimSuffix(body, []byte("}"))
	body = bytes.TrimRight(body, " \t\r\n")
	sep := ","
	if len(doc) == 0 {
		sep = ""
	}
	out := fmt.Appendf(nil, "%s%s\n  \"thresholds\": %s\n}\n", body, sep, cj)
	return atomicfile.Write(path, out)
}

func writeCSV(path string, header []string, rows [][]string) error {
	return atomicfile.WriteFunc(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		cw.Flush()
		return cw.Error()
	})
}

func readReference(path string) (so, fea, teacher []float64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		return nil, nil, nil, fmt.Errorf("read %s: %v; delete it to score the reference again", path, err)
	}
	if len(recs[0]) < 4 { // written before the teacher's column: score again
		return nil, nil, nil, nil
	}
	for _, r := range recs[1:] {
		a, err1 := strconv.ParseFloat(r[1], 64)
		b, err2 := strconv.ParseFloat(r[2], 64)
		t, err3 := strconv.ParseFloat(r[3], 64)
		if err1 != nil || err2 != nil || err3 != nil {
			return nil, nil, nil, fmt.Errorf("read %s: bad row %v; delete it to score the reference again", path, r)
		}
		so, fea, teacher = append(so, a), append(fea, b), append(teacher, t)
	}
	return so, fea, teacher, nil
}
