package experiment_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/score"
	"github.com/fmam/fmam/internal/sharedtest"
)

// checkCalibration reads a stage's thresholds.json and checks that
// results.json and model.onnx carry the same calibration, and that the
// model's batch axis is symbolic.
func checkCalibration(t *testing.T, stage, reference string, refs int) (*baseline.Calibration, map[string]string) {
	t.Helper()
	c, err := baseline.ReadCalibration(filepath.Join(stage, "thresholds.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Reference != reference || c.References != refs || c.Default != baseline.ThresholdQuantile {
		t.Errorf("calibration reference %q (%d), default %q; want %q (%d)", c.Reference, c.References, c.Default, reference, refs)
	}
	q, ok1 := c.Threshold(baseline.ThresholdQuantile)
	f, ok2 := c.Threshold(baseline.ThresholdF1)
	if !ok1 || !ok2 || q.Labels != "none" || f.Labels != "test" || q.Quantile != 0.99 || !(f.F1 > 0 && f.F1 <= 1) {
		t.Errorf("thresholds %+v", c.Thresholds)
	}
	b, err := os.ReadFile(filepath.Join(stage, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Title      string               `json:"title"`
		Thresholds baseline.Calibration `json:"thresholds"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if res.Title == "" || len(res.Thresholds.Thresholds) != 2 || res.Thresholds.Thresholds[0] != c.Thresholds[0] {
		t.Errorf("results.json thresholds %+v (title %q)", res.Thresholds, res.Title)
	}
	m, err := graph.ReadModel(filepath.Join(stage, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	meta := graph.ModelMetadata(m)
	var mc baseline.Calibration
	if err := json.Unmarshal([]byte(meta[experiment.MetaCalibration]), &mc); err != nil {
		t.Fatalf("model metadata %s: %v", experiment.MetaCalibration, err)
	}
	if mc.Thresholds[0] != c.Thresholds[0] || meta[experiment.MetaThreshold] != strconv.FormatFloat(q.Value, 'g', -1, 64) {
		t.Errorf("model calibration %+v, threshold %q; thresholds.json %+v", mc, meta[experiment.MetaThreshold], c)
	}
	for _, k := range []string{method.MetaArch, method.MetaTaps, method.MetaRange, method.MetaSize, experiment.MetaScore, experiment.MetaLambda} {
		if meta[k] == "" {
			t.Errorf("model metadata lacks %s: %v", k, meta)
		}
	}
	for _, vi := range append(m.Graph.Input, m.Graph.Output...) {
		if d := vi.GetType().GetTensorType().GetShape().GetDim()[0]; d.GetDimParam() != "N" {
			t.Errorf("%s: batch axis %v, want symbolic N", vi.GetName(), d)
		}
	}
	return c, meta
}

// An image run stores thresholds and normalisation (from held-out
// normals), predict scores a folder of unlabelled images in any layout,
// and a plain ONNX Runtime session on the exported model at another batch
// size gives predict's scores.
func TestPredictImages(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	e := open(t, `
name: predict-image
task: image
data: {kind: synth-mvtec, size: 64, categories: [synth_object], textures: `+tex+`, val_fraction: 0.25}
model: {arch: draem, width: 0.0625, init: normal0.02, taps: [bottleneck], attention: {kind: ca, reduction: 2}}
train: {batch: 2, teacher_steps: 2, student_steps: 2, lr: 0.001}
eval: {batch: 4, pictures: 1}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	ds, err := data.LoadMVTec(filepath.Join(e.RunDir(), "data", "synth-mvtec"), "synth_object")
	if err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(e.RunDir(), "synth_object", "student")
	nTrain := len(ds.Train)
	held := (nTrain + 3) / 4
	c, _ := checkCalibration(t, stage, "held-out", held)
	onnxChecker(t, filepath.Join(stage, "model.onnx"))

	// New images: test images copied without labels into a nested layout;
	// 5 of them, so that the last batch of 4 is padded.
	in := filepath.Join(t.TempDir(), "new")
	var srcs []string
	for i, it := range ds.Test[:5] {
		dir := filepath.Join(in, "line"+strconv.Itoa(i%2))
		os.MkdirAll(dir, 0o755)
		b, err := os.ReadFile(it.Path)
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(dir, "img"+strconv.Itoa(i)+filepath.Ext(it.Path))
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, dst)
	}
	out := filepath.Join(t.TempDir(), "out")
	rep, err := e.Predict(ctx, experiment.PredictOptions{Input: in, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := c.Threshold(baseline.ThresholdQuantile)
	if len(rep.Items) != 5 || rep.Threshold != q.Value || rep.ThresholdOf != baseline.ThresholdQuantile {
		t.Fatalf("report %+v", rep)
	}
	for _, p := range rep.Items {
		if p.STotal != c.Total(p.SO, p.SFea) || p.Anomalous != (p.STotal >= q.Value) {
			t.Errorf("%s: total %v anomalous %v", p.ID, p.STotal, p.Anomalous)
		}
		for _, f := range []string{p.Map, p.Overlay} {
			if st, err := os.Stat(f); err != nil || st.Size() == 0 {
				t.Errorf("%s: missing %s", p.ID, f)
			}
		}
	}
	for _, f := range []string{rep.CSV, rep.JSON} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	// --threshold overrides.
	rep2, err := e.Predict(ctx, experiment.PredictOptions{Input: srcs[0], Out: t.TempDir(), Threshold: "-1"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep2.Items) != 1 || !rep2.Items[0].Anomalous || rep2.Items[0].SO != rep.Items[0].SO {
		t.Errorf("one image at threshold -1: %+v (first of the folder %+v)", rep2.Items, rep.Items[0])
	}

	// A fresh session on the exported model with a batch of 3.
	lib, _ := ort.FindLibrary("", "")
	rt, err := ort.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(filepath.Join(stage, "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	const n, s = 3, 64
	sess, err := rt.NewInference(mb, []ort.Port{{Name: "image", Shape: []int64{n, 3, s, s}}},
		[]ort.Port{{Name: "s_map", Shape: []int64{n, s, s}}, {Name: method.OutFea, Shape: []int64{n}}}, ort.Options{Threads: 2})
	if err != nil {
		t.Fatalf("dynamic batch: %v", err)
	}
	defer sess.Close()
	dec, err := imageio.NewDecoder(imageio.DecodeOptions{C: 3, H: s, W: s, Range: imageio.RangeUnit})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]experiment.Prediction{}
	for _, p := range rep.Items {
		byID[p.ID] = p
	}
	for i, p := range srcs[:n] {
		img, err := dec.Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		copy(sess.Input(0)[i*3*s*s:], img.Pix)
	}
	if err := sess.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for i, p := range srcs[:n] {
		so := score.DRAEMImageScore(sess.Output(0)[i*s*s:(i+1)*s*s], s, s)
		want := byID[p]
		if math.Abs(so-want.SO) > 1e-5 || math.Abs(float64(sess.Output(1)[i])-want.SFea) > 1e-5*math.Max(1, want.SFea) {
			t.Errorf("%s: session s_o %v s_fea %v; predict %v %v", p, so, sess.Output(1)[i], want.SO, want.SFea)
		}
	}
}
