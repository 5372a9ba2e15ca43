package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/npyfile"
	"github.com/fmam/fmam/internal/onnxpb"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/score"
	"github.com/fmam/fmam/internal/sharedtest"
	"google.golang.org/protobuf/proto"
)

// checkCalibration reads a stage's thresholds.json and checks that
// results.json and model.onnx carry the same calibration, and that the
// model's batch axis is symbolic; refs < 0 takes any number of reference
// items.
func checkCalibration(t *testing.T, stage, reference string, refs int) (*baseline.Calibration, map[string]string) {
	t.Helper()
	return checkCalibrationOf(t, stage, "model.onnx", reference, refs)
}

// checkCalibrationOf is checkCalibration of the stage's evaluation model
// model (model.onnx, or a teacher stage's teacher_eval.onnx).
func checkCalibrationOf(t *testing.T, stage, model, reference string, refs int) (*baseline.Calibration, map[string]string) {
	t.Helper()
	c, err := baseline.ReadCalibration(filepath.Join(stage, "thresholds.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Reference != reference || refs >= 0 && c.References != refs || c.Default != baseline.ThresholdQuantile {
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
	m, err := graph.ReadModel(filepath.Join(stage, model))
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
		[]ort.Port{{Name: "s_map", Shape: []int64{n, s, s}}, {Name: method.OutFea, Shape: []int64{n}},
			{Name: baseline.OutSO, Shape: []int64{n}}, {Name: baseline.OutSTotal, Shape: []int64{n}}, {Name: baseline.OutAnomalous, Shape: []int64{n}}}, ort.Options{Threads: 2})
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
		checkPost(t, p, sess.Output(2)[i], sess.Output(3)[i], sess.Output(4)[i], want, c)
	}
}

// A video run stores thresholds from its held-out training video; predict
// on a test video's frame folder gives the raw scores of the run's own
// scores.csv frame for frame, with S_total from the stored normalisation
// (not the test video's min-max); a video file goes through ffmpeg; the
// exported model runs at another batch size.
func TestPredictVideo(t *testing.T) {
	e := open(t, `
name: predict-video
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1, workers: 2, val_fraction: 0.25}
model: {arch: mnad, width: 0.0625, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: 2, student_steps: 2, lr: 0.002}
eval: {batch: 8, grid: "0:1:0.5", pictures: 1}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(e.RunDir(), "data", "synth-video")
	train, err := data.LoadFrames(root, data.Train, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(e.RunDir(), "student")
	// One of the four training videos is held out: its frames with a full
	// clip before them are the reference.
	held := -1
	for _, v := range train.Videos {
		if n := len(v.Frames) - 4; held < 0 || n < held { // any one; checked below by range
			held = n
		}
	}
	c, err := baseline.ReadCalibration(filepath.Join(stage, "thresholds.json"))
	if err != nil {
		t.Fatal(err)
	}
	checkCalibration(t, stage, "held-out", c.References)
	if c.References < held || c.SO.Direction != "lower-is-anomalous" {
		t.Errorf("reference %d frames (shortest video %d), s_o %+v", c.References, held, c.SO)
	}
	onnxChecker(t, filepath.Join(stage, "model.onnx"))
	checkTeacherCalibration(t, filepath.Join(e.RunDir(), "teacher", "teacher.onnx"), stage, "encoder,bottleneck,decoder")

	test, err := data.LoadFrames(root, data.Test, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := test.Videos[0]
	predOut := t.TempDir()
	rep, err := e.Predict(ctx, experiment.PredictOptions{Input: filepath.Dir(v.Frames[0]), Out: predOut, Threshold: "f1"})
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := c.Threshold(baseline.ThresholdF1)
	if rep.ThresholdOf != baseline.ThresholdF1 || rep.Threshold != f1.Value || len(rep.Items) != len(v.Frames)-4 {
		t.Fatalf("report: %d items (video of %d frames), threshold %v of %s", len(rep.Items), len(v.Frames), rep.Threshold, rep.ThresholdOf)
	}
	rows, err := score.ReadVideoCSV(filepath.Join(stage, "scores.csv"))
	if err != nil {
		t.Fatal(err)
	}
	raw := map[string]score.VideoRow{}
	for _, r := range rows {
		raw[r.Video+"/"+strconv.Itoa(r.Frame)] = r
	}
	for _, p := range rep.Items {
		r, ok := raw[v.Name+"/"+strconv.Itoa(p.Frame)]
		if !ok || math.Abs(r.SO-p.SO) > 1e-9 || math.Abs(r.SFea-p.SFea) > 1e-9*math.Max(1, r.SFea) {
			t.Errorf("frame %d: predict s_o %v s_fea %v; scores.csv %+v", p.Frame, p.SO, p.SFea, r)
		}
		if p.STotal != c.Total(p.SO, p.SFea) || p.Anomalous != (p.STotal >= f1.Value) {
			t.Errorf("frame %d: %+v", p.Frame, p)
		}
		checkFrameMap(t, p, predOut, v.Name, 32)
	}
	// --maps=false: scores only.
	noMaps := t.TempDir()
	rn, err := e.Predict(ctx, experiment.PredictOptions{Input: filepath.Dir(v.Frames[0]), Out: noMaps, NoMaps: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"maps", "overlays"} {
		if _, err := os.Stat(filepath.Join(noMaps, d)); !os.IsNotExist(err) || len(rn.Items) != len(rep.Items) || rn.Items[0].Map != "" {
			t.Errorf("--maps=false wrote %s (stat: %v), %d items, first %+v", d, err, len(rn.Items), rn.Items[0])
		}
	}

	// A fresh session at batch 3 gives predict's error and S_fea.
	const n = 3
	sess := clipSession(t, ctx, filepath.Join(stage, "model.onnx"), v.Frames, n, []ort.Port{{Name: "s_err", Shape: []int64{n}}, {Name: method.OutFea, Shape: []int64{n}},
		{Name: baseline.OutSO, Shape: []int64{n}}, {Name: baseline.OutSTotal, Shape: []int64{n}}, {Name: baseline.OutAnomalous, Shape: []int64{n}}})
	for i := range n {
		p := rep.Items[i]
		if so := score.FramePSNR(float64(sess.Output(0)[i])); p.Frame != i+4 || math.Abs(so-p.SO) > 1e-4 || math.Abs(float64(sess.Output(1)[i])-p.SFea) > 1e-5*math.Max(1, p.SFea) {
			t.Errorf("frame %d: session s_o %v s_fea %v; predict %+v", i+4, so, sess.Output(1)[i], p)
		}
		checkPost(t, p.ID, sess.Output(2)[i], sess.Output(3)[i], sess.Output(4)[i], p, c) // decided at the default threshold
	}

	// eval --lambda 0.3 stores that lambda's thresholds beside the run's,
	// which stay eval.lambda's; predict --lambda 0.3 uses them.
	if _, err := e.EvaluateAt(ctx, 0.3); err != nil {
		t.Fatal(err)
	}
	c3, err := baseline.ReadCalibration(filepath.Join(stage, "thresholds-lambda-0.3.json"))
	if err != nil {
		t.Fatal(err)
	}
	if c0, err := baseline.ReadCalibration(filepath.Join(stage, "thresholds.json")); err != nil || c0.Lambda != c.Lambda || c3.Lambda != 0.3 || c3.SO != c.SO || c3.SFea != c.SFea {
		t.Errorf("thresholds.json lambda %v (%v), thresholds-lambda-0.3.json %+v", c0, err, c3)
	}
	q3, _ := c3.Threshold(baseline.ThresholdQuantile)
	r3, err := e.Predict(ctx, experiment.PredictOptions{Input: filepath.Dir(v.Frames[0]), Out: t.TempDir(), Lambda: 0.3, LambdaSet: true})
	if err != nil {
		t.Fatal(err)
	}
	if r3.Lambda != 0.3 || r3.Threshold != q3.Value || r3.Items[0].STotal != c3.Total(r3.Items[0].SO, r3.Items[0].SFea) {
		t.Errorf("predict --lambda 0.3: lambda %v threshold %v (want %v), %+v", r3.Lambda, r3.Threshold, q3.Value, r3.Items[0])
	}
	if _, err := e.Predict(ctx, experiment.PredictOptions{Input: filepath.Dir(v.Frames[0]), Out: t.TempDir(), Lambda: 0.7, LambdaSet: true}); err == nil || !strings.Contains(err.Error(), "--lambda 0.7") {
		t.Errorf("predict --lambda 0.7 without its eval: %v", err)
	}

	// A video file, made from the same frames.
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		sharedtest.Missing(t, sharedtest.FFmpeg, "ffmpeg not installed: the video-file input is not tested")
	}
	avi := filepath.Join(t.TempDir(), "clip.avi")
	pattern := filepath.Join(filepath.Dir(v.Frames[0]), "%03d"+filepath.Ext(v.Frames[0]))
	if out, err := exec.Command("ffmpeg", "-nostdin", "-loglevel", "error", "-start_number", firstNumber(v.Frames[0]), "-i", pattern, "-c:v", "ffv1", avi).CombinedOutput(); err != nil {
		t.Fatalf("make %s: %v\n%s", avi, err, out)
	}
	out := t.TempDir()
	rv, err := e.Predict(ctx, experiment.PredictOptions{Input: avi, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(rv.Items) != len(rep.Items) || rv.Items[0].Video != "clip" {
		t.Fatalf("video file: %d items, first %+v", len(rv.Items), rv.Items[0])
	}
	if _, err := os.Stat(filepath.Join(out, "frames", "clip", "0000.jpg")); err != nil {
		t.Error(err)
	}
}

// A run without a student predicts with its teacher alone: eval
// --teacher-only stores the teacher's calibration (lambda 0) in the
// teacher stage's thresholds.json and teacher_eval.onnx (dynamic batch,
// with s_o, s_total and anomalous computed in the model), and predict
// uses them: S_o the teacher's PSNR of the run's own teacher_scores.csv,
// S_fea 0, S_total = n(S_o), decisions at the stored threshold, maps of
// the teacher's error; a plain ONNX Runtime session on teacher_eval.onnx
// at another batch size gives predict's S_total. Before eval
// --teacher-only predict says to run it.
func TestPredictTeacherOnly(t *testing.T) {
	e, logs := openLogged(t, `
name: predict-teacher
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1, workers: 2, val_fraction: 0.25}
model: {arch: mnad, width: 0.0625, taps: [bottleneck]}
train: {batch: 4, teacher_steps: 2, student_steps: 0, lr: 0.002}
eval: {batch: 8, pictures: 1}
`, t.TempDir())
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	v := firstTestVideo(t, e)
	frames := filepath.Dir(v.Frames[0])
	if _, err := e.Predict(ctx, experiment.PredictOptions{Input: frames, Out: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "--teacher-only") {
		t.Errorf("predict before eval --teacher-only: %v", err)
	}
	if _, err := e.EvaluateTeacher(ctx); err != nil {
		t.Fatal(err)
	}
	stage := filepath.Join(e.RunDir(), "teacher")
	c, meta := checkCalibrationOf(t, stage, "teacher_eval.onnx", "held-out", -1)
	if c.Lambda != 0 || c.SO.Direction != "lower-is-anomalous" || !strings.Contains(meta[experiment.MetaScore], "teacher alone") {
		t.Errorf("teacher calibration %+v, score rule %q", c, meta[experiment.MetaScore])
	}
	onnxChecker(t, filepath.Join(stage, "teacher_eval.onnx"))

	out := t.TempDir()
	rep, err := e.Predict(ctx, experiment.PredictOptions{Input: frames, Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "teacher alone") {
		t.Errorf("the log does not say the teacher predicts alone:\n%s", logs)
	}
	q, _ := c.Threshold(baseline.ThresholdQuantile)
	if !rep.TeacherOnly || rep.Model != filepath.Join(stage, "teacher_eval.onnx") || rep.Threshold != q.Value || len(rep.Items) != len(v.Frames)-4 {
		t.Fatalf("report: teacher only %v, model %s, threshold %v (want %v), %d items of a %d-frame video", rep.TeacherOnly, rep.Model, rep.Threshold, q.Value, len(rep.Items), len(v.Frames))
	}
	raw := soByFrame(t, filepath.Join(stage, "teacher_scores.csv"), v.Name)
	for _, p := range rep.Items {
		so, ok := raw[p.Frame]
		if !ok || math.Abs(so-p.SO) > 1e-9 || p.SFea != 0 {
			t.Errorf("frame %d: predict s_o %v s_fea %v; teacher_scores.csv %v", p.Frame, p.SO, p.SFea, so)
		}
		if want := c.SO.Apply(p.SO); math.Abs(p.STotal-want) > 1e-12 || p.Anomalous != (p.STotal >= q.Value) {
			t.Errorf("frame %d: s_total %v (n(S_o) %v), anomalous %v at %v", p.Frame, p.STotal, want, p.Anomalous, q.Value)
		}
		checkFrameMap(t, p, out, v.Name, 32)
	}
	if _, err := e.Predict(ctx, experiment.PredictOptions{Input: frames, Out: t.TempDir(), Lambda: 0.5, LambdaSet: true}); err == nil || !strings.Contains(err.Error(), "teacher alone") {
		t.Errorf("--lambda on a teacher-only run: %v", err)
	}

	// A fresh session on teacher_eval.onnx at batch 3.
	const n = 3
	sess := clipSession(t, ctx, filepath.Join(stage, "teacher_eval.onnx"), v.Frames, n, []ort.Port{{Name: "t_err", Shape: []int64{n}},
		{Name: baseline.OutSO, Shape: []int64{n}}, {Name: baseline.OutSTotal, Shape: []int64{n}}, {Name: baseline.OutAnomalous, Shape: []int64{n}}})
	for i := range n {
		p := rep.Items[i]
		if so := score.FramePSNR(float64(sess.Output(0)[i])); p.Frame != i+4 || math.Abs(so-p.SO) > 1e-4 {
			t.Errorf("frame %d: session s_o %v; predict %+v", i+4, so, p)
		}
		checkPost(t, p.ID, sess.Output(1)[i], sess.Output(2)[i], sess.Output(3)[i], p, c)
	}
}

// checkFrameMap checks the anomaly map and overlay predict wrote for a
// video frame: under maps/<video>/<frame>.npy and overlays/, size x size,
// finite, and the PSNR of its mean (the frame's mean squared error) is
// the frame's S_o: the map and the score agree.
func checkFrameMap(t *testing.T, p experiment.Prediction, out, video string, size int) {
	t.Helper()
	name := filepath.Join(video, strconv.Itoa(p.Frame))
	if p.Map != filepath.Join(out, "maps", name+".npy") || p.Overlay != filepath.Join(out, "overlays", name+".png") {
		t.Fatalf("frame %d: map %q overlay %q", p.Frame, p.Map, p.Overlay)
	}
	if st, err := os.Stat(p.Overlay); err != nil || st.Size() == 0 {
		t.Errorf("frame %d: overlay %v", p.Frame, err)
	}
	a, err := npyfile.Read(p.Map)
	if err != nil {
		t.Fatal(err)
	}
	m, err := a.Float32s()
	if err != nil || len(a.Shape) != 2 || a.Shape[0] != size || a.Shape[1] != size {
		t.Fatalf("frame %d: map shape %v (%v), want %dx%d", p.Frame, a.Shape, err, size, size)
	}
	sum := 0.0
	for _, x := range m {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) || x < 0 {
			t.Fatalf("frame %d: map value %v", p.Frame, x)
		}
		sum += float64(x)
	}
	if so := score.FramePSNR(sum / float64(len(m))); math.Abs(so-p.SO) > 1e-3 {
		t.Errorf("frame %d: PSNR of the map's mean %v, S_o %v", p.Frame, so, p.SO)
	}
}

// checkPost compares the model's own S_o, S_total and decision with
// predict's (float32 in the model; a decision within rounding of the
// threshold may differ).
// The tolerance on S_total is float32's resolution of the raw scores
// magnified by the normalisation (a 2-step model's reference scores may
// all but coincide).
func checkPost(t *testing.T, id string, so, total, dec float32, p experiment.Prediction, c *baseline.Calibration) {
	t.Helper()
	thr, _ := c.Threshold(c.Default)
	span := func(n baseline.Norm, x float64) float64 {
		return 64 * 6e-8 * math.Max(1, math.Abs(x)) / math.Max(n.Max-n.Min, 1e-30)
	}
	tol := 1e-3 + (1-c.Lambda)*span(c.SO, p.SO) + c.Lambda*span(c.SFea, p.SFea)
	if math.Abs(float64(so)-p.SO) > 1e-4*math.Max(1, math.Abs(p.SO)) || math.Abs(float64(total)-p.STotal) > tol {
		t.Errorf("%s: model s_o %v s_total %v; predict %v %v (tolerance %v)", id, so, total, p.SO, p.STotal, tol)
	}
	if math.Abs(p.STotal-thr.Value) > tol && (dec == 1) != (p.STotal >= thr.Value) {
		t.Errorf("%s: model decision %v, predict's s_total %v (threshold %v)", id, dec, p.STotal, thr.Value)
	}
}

func firstNumber(frame string) string {
	b := strings.TrimSuffix(filepath.Base(frame), filepath.Ext(frame))
	n, _ := strconv.Atoi(b)
	return strconv.Itoa(n)
}

// checkTeacherCalibration checks the thresholds eval writes into the
// metadata of the teacher the run trained: lambda 0, the label-free one
// the quantile of the teacher's reference scores (reference_scores.csv's
// teacher_s_o), the teacher's own metadata (taps) kept.
func checkTeacherCalibration(t *testing.T, teacher, stage, taps string) {
	t.Helper()
	m, err := graph.ReadModel(teacher)
	if err != nil {
		t.Fatal(err)
	}
	meta := graph.ModelMetadata(m)
	var c baseline.Calibration
	if err := json.Unmarshal([]byte(meta[experiment.MetaCalibration]), &c); err != nil {
		t.Fatalf("teacher.onnx calibration %q: %v", meta[experiment.MetaCalibration], err)
	}
	if meta[method.MetaTaps] != taps || c.Lambda != 0 || len(c.Thresholds) != 2 || !strings.Contains(meta[experiment.MetaScore], "teacher alone") {
		t.Errorf("teacher.onnx metadata %v", meta)
	}
	rows := readCSV(t, filepath.Join(stage, "reference_scores.csv"))
	if strings.Join(rows[0], ",") != "id,s_o,s_fea,teacher_s_o" || len(rows)-1 != c.References {
		t.Fatalf("reference_scores.csv header %v, %d rows; calibration of %d", rows[0], len(rows)-1, c.References)
	}
	var n []float64
	for _, r := range rows[1:] {
		x, _ := strconv.ParseFloat(r[3], 64)
		n = append(n, c.SO.Apply(x))
	}
	q, _ := c.Threshold(baseline.ThresholdQuantile)
	if want := baseline.Quantile(n, q.Quantile); math.Abs(q.Value-want) > 1e-12 || meta[experiment.MetaThreshold] == "" {
		t.Errorf("teacher quantile threshold %v, want %v from teacher_s_o", q.Value, want)
	}
}

// predict refuses the runs it cannot score, saying why and what to do,
// before anything is read from the run.
func TestPredictRefusals(t *testing.T) {
	for _, c := range []struct{ yaml, want string }{
		{"name: p-jigsaw\ntask: video\ndata: {kind: synth-video, size: 32, frames: 7, objects: {detector: foreground}}\nmodel: {arch: jigsaw}\n", "model.arch jigsaw scores object cubes"},
		{"name: p-mem\ntask: video\ndata: {kind: synth-video, size: 32, frames: 4, channels: 1}\nmodel: {arch: mnad, memory: true}\n", "model.memory: false"},
	} {
		e := open(t, c.yaml, nil)
		_, err := e.Predict(context.Background(), experiment.PredictOptions{Input: t.TempDir(), Out: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "to predict") {
			t.Errorf("%s: %v", c.yaml, err)
		}
	}
}

// clipSession opens a fresh ONNX Runtime session on an exported MNAD-style
// evaluation model at batch n (its batch axis is dynamic), feeds it the n
// clips of 4 frames of frames (32 x 32, one channel, in [-1, 1]) ending at
// frames 4, 5, ..., each with the next frame as target, runs it and
// returns it with outs filled; it is closed with the test.
func clipSession(t *testing.T, ctx context.Context, model string, frames []string, n int64, outs []ort.Port) *ort.Inference {
	t.Helper()
	const s = 32
	lib, _ := ort.FindLibrary("", "")
	rt, err := ort.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := os.ReadFile(model)
	if err != nil {
		t.Fatal(err)
	}
	sess, err := rt.NewInference(mb, []ort.Port{{Name: "frames", Shape: []int64{n, 4, s, s}}, {Name: "target", Shape: []int64{n, 1, s, s}}}, outs, ort.Options{Threads: 2})
	if err != nil {
		t.Fatalf("dynamic batch: %v", err)
	}
	t.Cleanup(func() { sess.Close() })
	dec, err := imageio.NewDecoder(imageio.DecodeOptions{C: 1, H: s, W: s, Range: imageio.RangeSigned})
	if err != nil {
		t.Fatal(err)
	}
	for i := range int(n) {
		for k := range 5 {
			img, err := dec.Decode(frames[i+k])
			if err != nil {
				t.Fatal(err)
			}
			if k < 4 {
				copy(sess.Input(0)[(i*4+k)*s*s:], img.Pix)
			} else {
				copy(sess.Input(1)[i*s*s:], img.Pix)
			}
		}
	}
	if err := sess.Run(ctx); err != nil {
		t.Fatal(err)
	}
	return sess
}

// TestEvalRefreshesOldModel: a student and control model.onnx exported
// before MNAD's anomaly maps were outputs (simulated by removing s_map and
// t_map from the files) are re-exported by eval from their final
// checkpoints: the maps are outputs again, the raw scores scored again are
// byte for byte those of the original export (same weights), and predict
// writes maps.
func TestEvalRefreshesOldModel(t *testing.T) {
	e := open(t, `
name: refresh
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1, workers: 2}
model: {arch: mnad, width: 0.0625, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: 2, student_steps: 2, lr: 0.002}
eval: {batch: 8, grid: "0:1:0.5", pictures: 1}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	maps := []string{method.OutStudentMap, method.OutTeacherMap}
	scores := map[string][]byte{}
	for _, st := range []string{"student", "control"} {
		dir := filepath.Join(e.RunDir(), st)
		b, err := os.ReadFile(filepath.Join(dir, "scores.csv"))
		if err != nil {
			t.Fatal(err)
		}
		scores[st] = b
		model := filepath.Join(dir, "model.onnx")
		m, err := graph.ReadModel(model)
		if err != nil {
			t.Fatal(err)
		}
		var keep []*onnxpb.ValueInfoProto
		for _, o := range m.GetGraph().GetOutput() {
			if !slices.Contains(maps, o.GetName()) {
				keep = append(keep, o)
			}
		}
		if len(keep) != len(m.GetGraph().GetOutput())-2 {
			t.Fatalf("%s: outputs %d, want the two maps among them", model, len(m.GetGraph().GetOutput()))
		}
		m.Graph.Output = keep
		b, err = proto.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(model, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, st := range []string{"student", "control"} {
		dir := filepath.Join(e.RunDir(), st)
		m, err := graph.ReadModel(filepath.Join(dir, "model.onnx"))
		if err != nil {
			t.Fatal(err)
		}
		var outs []string
		for _, o := range m.GetGraph().GetOutput() {
			outs = append(outs, o.GetName())
		}
		for _, want := range maps {
			if !slices.Contains(outs, want) {
				t.Errorf("%s/model.onnx after eval: outputs %v, no %s", st, outs, want)
			}
		}
		b, err := os.ReadFile(filepath.Join(dir, "scores.csv"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, scores[st]) {
			t.Errorf("%s/scores.csv differs after the re-export from the checkpoint", st)
		}
	}
	rep, err := e.Predict(ctx, experiment.PredictOptions{Input: filepath.Dir(firstTestVideo(t, e).Frames[0]), Out: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) == 0 || rep.Items[0].Map == "" {
		t.Errorf("predict after the re-export wrote no maps: %+v", rep.Items[:min(1, len(rep.Items))])
	}
}

// TestPredictTeacherFlag: on a run whose student is configured but not
// trained, predict without --teacher says to add it once 'eval
// --teacher-only' has calibrated the teacher; with it, the teacher alone
// scores the frames as teacher_scores.csv has them, and it still does so,
// unchanged, after the student is trained, while plain predict then uses
// the student.
func TestPredictTeacherFlag(t *testing.T) {
	e := open(t, `
name: predict-teacher-flag
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1, workers: 2}
model: {arch: mnad, width: 0.0625, taps: [bottleneck]}
train: {batch: 4, teacher_steps: 2, student_steps: 2, lr: 0.002, control: false}
eval: {batch: 8, pictures: 1}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageTeacher); err != nil {
		t.Fatal(err)
	}
	if _, err := e.EvaluateTeacher(ctx); err != nil {
		t.Fatal(err)
	}
	v := firstTestVideo(t, e)
	frames := filepath.Dir(v.Frames[0])
	if _, err := e.Predict(ctx, experiment.PredictOptions{Input: frames, Out: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "add --teacher") {
		t.Errorf("predict without a trained student: %v, want the --teacher hint", err)
	}
	raw := soByFrame(t, filepath.Join(e.RunDir(), "teacher", "teacher_scores.csv"), v.Name)
	check := func(rep *experiment.PredictReport) {
		t.Helper()
		if !rep.TeacherOnly || len(rep.Items) != len(v.Frames)-4 {
			t.Fatalf("teacher only %v, %d items of a %d-frame video", rep.TeacherOnly, len(rep.Items), len(v.Frames))
		}
		for _, p := range rep.Items {
			if so, ok := raw[p.Frame]; !ok || math.Abs(so-p.SO) > 1e-9 || p.SFea != 0 {
				t.Errorf("frame %d: --teacher s_o %v s_fea %v; teacher_scores.csv %v", p.Frame, p.SO, p.SFea, so)
			}
		}
	}
	rep, err := e.Predict(ctx, experiment.PredictOptions{Input: frames, Out: t.TempDir(), Teacher: true})
	if err != nil {
		t.Fatal(err)
	}
	check(rep)
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	if rep, err = e.Predict(ctx, experiment.PredictOptions{Input: frames, Out: t.TempDir(), Teacher: true}); err != nil {
		t.Fatal(err)
	}
	check(rep)
	if rep, err = e.Predict(ctx, experiment.PredictOptions{Input: frames, Out: t.TempDir()}); err != nil || rep.TeacherOnly {
		t.Errorf("plain predict with a trained student: teacher only %v, err %v", rep != nil && rep.TeacherOnly, err)
	}
}

// firstTestVideo is the first test video of a run on generated video data
// (data.kind synth-video).
func firstTestVideo(t *testing.T, e *experiment.Env) data.Video {
	t.Helper()
	test, err := data.LoadFrames(filepath.Join(e.RunDir(), "data", "synth-video"), data.Test, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return test.Videos[0]
}

// soByFrame is the S_o column of a raw video scores file for one video,
// by frame.
func soByFrame(t *testing.T, path, video string) map[int]float64 {
	t.Helper()
	rows, err := score.ReadVideoCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	so := map[int]float64{}
	for _, r := range rows {
		if r.Video == video {
			so[r.Frame] = r.SO
		}
	}
	return so
}
