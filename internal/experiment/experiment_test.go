package experiment_test

import (
	"context"
	"encoding/csv"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
	"github.com/fmam/fmam/internal/synth"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func open(t *testing.T, yaml string, over map[string]any) *experiment.Env {
	t.Helper()
	gradcheck.Runtime(t) // skips without ONNX Runtime
	lib, _ := ort.FindLibrary("", "")
	if over == nil {
		over = map[string]any{}
	}
	over["ort_lib"] = lib
	over["device"] = "cpu"
	over["threads"] = 2
	cfg, err := config.Load("", []byte(yaml), "", over)
	if err != nil {
		t.Fatal(err)
	}
	e, err := experiment.Open(cfg, t.TempDir(), lib, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

const videoYAML = `
name: e2e-video
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1, workers: 2}
model: {arch: mnad, width: 0.0625, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: 12, student_steps: 12, lr: 0.002, checkpoint_every: 5}
eval: {batch: 8, grid: "0:1:0.5", pictures: 1}
`

// The whole video pipeline on generated data: teacher, student with SCA,
// evaluation, lambda sweep and a two-row layer ablation; then a second
// Train is a no-op and a second Evaluate reuses the raw scores.
func TestVideoPipeline(t *testing.T) {
	e := open(t, videoYAML, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"config.yaml", "teacher/teacher.onnx", "teacher/log.csv", "teacher/summary.json", "student/model.onnx", "student/log.csv", "student/checkpoint.bin"} {
		if _, err := os.Stat(filepath.Join(e.RunDir(), f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	rows := readCSV(t, filepath.Join(e.RunDir(), "student", "log.csv"))
	if len(rows) != 13 || strings.Join(rows[0], ",") != "step,lr,loss,l_o,l_fea,grad_norm" {
		t.Errorf("student log: %d rows, header %v", len(rows), rows[0])
	}
	ev := evalVideo(t, e)
	if ev.Frames != 4*56 {
		t.Errorf("scored %d frames, want 4 videos x (60 - 4)", ev.Frames)
	}
	for _, r := range ev.Video {
		if !(r.MicroAUC >= 0 && r.MicroAUC <= 1) {
			t.Errorf("%s: AUC %v out of [0,1]", r.Method, r.MicroAUC)
		}
	}
	scores := readCSV(t, filepath.Join(e.RunDir(), "student", "scores.csv"))
	if len(scores) != 1+ev.Frames || strings.Join(scores[0], ",") != "id,video,frame,label,s_o,s_fea" {
		t.Errorf("scores.csv: %d rows, header %v", len(scores), scores[0])
	}
	checkSweep(t, e, ev)
	checkControl(t, e.RunDir(), ev)
	if _, err := e.Ablate(ctx, [][]string{{"bottleneck"}, {"encoder", "bottleneck"}}); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(e.RunDir(), "ablation.md"))
	if !strings.Contains(string(md), "encoder+bottleneck") {
		t.Errorf("ablation table lacks the tap set:\n%s", md)
	}
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatalf("second train: %v", err)
	}
}

// checkControl checks a video run's control: trained on L_o alone (no
// l_fea in its log, no attention in its model), shown after the student in
// results.md and records.json, named as the control.
func checkControl(t *testing.T, dir string, ev *baseline.Eval) {
	t.Helper()
	rows := readCSV(t, filepath.Join(dir, "control", "log.csv"))
	if strings.Join(rows[0], ",") != "step,lr,loss,l_o,grad_norm" {
		t.Errorf("control log header %v: want L_o's terms alone", rows[0])
	}
	g, err := graph.LoadFile(filepath.Join(dir, "control", "model.onnx"), graph.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.InitNames() {
		if strings.Contains(n, "attn.") {
			t.Errorf("control model holds attention parameter %s", n)
		}
	}
	want := []string{"MNAD control (L_o only) S_o (λ=0)", "MNAD control (L_o only) (λ=0.5)"}
	for i, w := range want {
		if got := ev.Video[4+i].Method; got != w {
			t.Errorf("row %d is %q, want %q", 4+i, got, w)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, "student", "results.md"))
	recs, _ := os.ReadFile(filepath.Join(dir, "student", "records.json"))
	for _, w := range want {
		if !strings.Contains(string(md), w) || !strings.Contains(string(recs), w) {
			t.Errorf("results.md or records.json lacks %q:\n%s", w, md)
		}
	}
	if strings.Contains(string(md), "control (L_o only) S_fea") {
		t.Errorf("the control shows an S_fea row:\n%s", md)
	}
}

// evalVideo evaluates a video run and returns its one unit.
func evalVideo(t *testing.T, e *experiment.Env) *baseline.Eval {
	t.Helper()
	ev, err := e.Evaluate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Units) != 1 || len(ev.Units[0].Video) != 6 || ev.Units[0].Control != 2 {
		t.Fatalf("evaluation %+v: want one unit with six rows, the last two the control's", ev)
	}
	return ev.Units[0]
}

// checkSweep sweeps lambda over 0, 0.5, 1 and checks the ends against the
// evaluation's S_o (lambda 0) and S_fea (lambda 1) rows.
func checkSweep(t *testing.T, e *experiment.Env, ev *baseline.Eval) {
	t.Helper()
	sw, err := e.Sweep(context.Background(), "0:1:0.5")
	if err != nil {
		t.Fatal(err)
	}
	pts := sw.Points[0]
	if len(pts) != 3 || pts[0].MicroAUC != ev.Video[1].MicroAUC || pts[2].MicroAUC != ev.Video[2].MicroAUC {
		t.Errorf("sweep %v does not agree with eval at lambda 0 and 1 (%v, %v)", pts, ev.Video[1].MicroAUC, ev.Video[2].MicroAUC)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// DRAEM teacher and student with CA on a generated MVTec-layout category,
// evaluated with pixel and image metrics.
func TestImagePipeline(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	e := open(t, `
name: e2e-image
task: image
data: {kind: synth-mvtec, size: 64, categories: [synth_object], textures: `+tex+`}
model: {arch: draem, width: 0.0625, init: normal0.02, taps: [bottleneck], attention: {kind: ca, reduction: 2}}
train: {batch: 2, teacher_steps: 4, student_steps: 4, lr: 0.001}
eval: {batch: 8, sigma: 4, pictures: 2}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Units) != 1 || ev.Units[0].Unit != "synth_object" || len(ev.Units[0].Images) != 3 || ev.Units[0].Images[2].Method != "DRAEM control (L_o only)" {
		t.Fatalf("results %+v", ev.Units)
	}
	tr, sr := ev.Units[0].Images[0], ev.Units[0].Images[1]
	for _, v := range []float64{sr.ImageAUROC, sr.PixelAUROC, tr.PixelAP, sr.PixelAUROCSigma} {
		if !(v >= 0 && v <= 1) {
			t.Errorf("metric %v out of [0,1]", v)
		}
	}
	for _, f := range []string{"results.md", "synth_object/student/maps.png", "synth_object/student/scores.csv"} {
		if _, err := os.Stat(filepath.Join(e.RunDir(), f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
}

// The DRAEM that PyTorch exported is a usable teacher: its student trains
// and the evaluation graph runs.
func TestImportedDRAEMTeacher(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	teacher := sharedtest.Path(t, "teachers", "draem.onnx")
	e := open(t, `
name: e2e-draem-onnx
task: image
data: {kind: synth-mvtec, size: 64, categories: [synth_texture], textures: `+tex+`}
model: {arch: draem, teacher: `+teacher+`, taps: [bottleneck], attention: {kind: sca, reduction: 8}}
train: {batch: 2, student_steps: 3, lr: 0.001, control: false}
eval: {batch: 8, pictures: 0}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// train.control: false trains no control and shows none.
	if _, err := os.Stat(filepath.Join(e.RunDir(), "synth_texture", "control")); err == nil {
		t.Error("train.control false trained a control")
	}
	if n := len(ev.Units[0].Images); n != 2 || ev.Units[0].Control != 0 {
		t.Errorf("train.control false: %d rows, %d the control's", n, ev.Units[0].Control)
	}
}

// An image whose size differs from data.size is resized with a warning,
// or refused with data.strict; an empty texture folder is a clear error.
func TestImageInputChecks(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	root := filepath.Join(t.TempDir(), "mvtec")
	if _, err := synth.GenerateMVTec(context.Background(), synth.MVTecOptions{Out: root, Size: 128, Categories: []string{synth.CategoryTexture}, Train: 4, TestGood: 2, TestDefect: 1}); err != nil {
		t.Fatal(err)
	}
	yaml := `
name: e2e-strict
task: image
data: {kind: mvtec, root: ` + root + `, size: 64, categories: [synth_texture], textures: ` + tex + `, strict: true}
model: {arch: draem, width: 0.0625, taps: [bottleneck]}
train: {batch: 2, teacher_steps: 1, student_steps: 1}
`
	e := open(t, yaml, nil)
	err := e.Train(context.Background(), experiment.StageTeacher)
	if err == nil || !strings.Contains(err.Error(), "data.strict") {
		t.Errorf("strict size mismatch: %v", err)
	}
	// Without strict the images are resized and training runs.
	e2 := open(t, strings.Replace(yaml, "strict: true", "strict: false", 1), nil)
	if err := e2.Train(context.Background(), experiment.StageTeacher); err != nil {
		t.Errorf("resizing run: %v", err)
	}
	empty := t.TempDir()
	e3 := open(t, strings.Replace(strings.Replace(yaml, "strict: true", "strict: false", 1), tex, empty, 1), nil)
	err = e3.Train(context.Background(), experiment.StageTeacher)
	if err == nil || !strings.Contains(err.Error(), empty) {
		t.Errorf("empty texture folder: %v", err)
	}
}

// A tap that does not exist is refused before anything trains: by Train,
// and by Ablate for any of its sets; an imported teacher's taps are checked
// against its tensors.
func TestTapsCheckedBeforeTraining(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		run  func(e *experiment.Env) error
		want string
	}{
		{"train", func(e *experiment.Env) error {
			e.Cfg.Model.Taps = []string{"bottlenek"}
			return e.Train(ctx, experiment.StageAll)
		}, `unknown tap "bottlenek"`},
		{"ablate, last set", func(e *experiment.Env) error {
			_, err := e.Ablate(ctx, [][]string{{"bottleneck"}, {"decoder", "encodr"}})
			return err
		}, `taps decoder+encodr: unknown tap "encodr"`},
		{"ablate, repeated", func(e *experiment.Env) error {
			_, err := e.Ablate(ctx, [][]string{{"bottleneck", "bottleneck"}})
			return err
		}, `"bottleneck" is given twice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := open(t, videoYAML, nil)
			err := c.run(e)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
			if _, err := os.Stat(filepath.Join(e.RunDir(), "teacher")); !os.IsNotExist(err) {
				t.Errorf("a teacher folder exists after the refusal (stat: %v)", err)
			}
		})
	}
	teacher := sharedtest.Path(t, "teachers", "mnad_pred.onnx")
	e := open(t, `
name: imported-taps
task: video
data: {kind: synth-video, size: 64, frames: 4, channels: 3}
model: {arch: mnad, teacher: `+teacher+`, taps: [bottleneck]}
train: {batch: 2}
`, nil)
	if err := e.CheckTaps(context.Background(), [][]string{{"bottleneck"}, {"/e1/e1.0/Conv_output_0"}}); err != nil {
		t.Errorf("valid taps of the imported teacher: %v", err)
	}
	if err := e.CheckTaps(context.Background(), [][]string{{"no/such/tensor"}}); err == nil || !strings.Contains(err.Error(), "no/such/tensor") {
		t.Errorf("missing tensor of the imported teacher: %v", err)
	}
}

// ablate-layer and sweep-lambda on an image run of two generated
// categories: per-category tables in the category folders, then the
// summaries over categories in the run folder, whose means agree with the
// per-category numbers.
func TestImageAblateAndSweep(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	e := open(t, `
name: e2e-image-ablate
task: image
data: {kind: synth-mvtec, size: 64, textures: `+tex+`}
model: {arch: draem, width: 0.0625, init: normal0.02, taps: [bottleneck], attention: {kind: ca, reduction: 2}}
train: {batch: 2, teacher_steps: 2, student_steps: 2, lr: 0.001}
eval: {batch: 8, grid: "0:1:0.5", pictures: 1}
`, nil)
	ctx := context.Background()
	tab, err := e.Ablate(ctx, [][]string{{"bottleneck"}, {"encoder", "decoder"}})
	if err != nil {
		t.Fatal(err)
	}
	cats := []string{synth.CategoryObject, synth.CategoryTexture}
	for _, c := range cats {
		for _, f := range []string{"ablation.md", "student/results.md", "student-encoder+decoder/results.md", "teacher/teacher.onnx"} {
			if _, err := os.Stat(filepath.Join(e.RunDir(), c, f)); err != nil {
				t.Errorf("missing %s/%s", c, f)
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(e.RunDir(), "ablation.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DRAEM+CA bottleneck", "DRAEM+CA encoder+decoder", "DRAEM (teacher)", cats[0], cats[1]} {
		if !strings.Contains(string(md), want) {
			t.Errorf("ablation summary lacks %q:\n%s", want, md)
		}
	}
	if len(tab.Rows) == 0 {
		t.Error("empty ablation summary")
	}
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := e.Sweep(ctx, "0:1:0.5")
	if err != nil {
		t.Fatal(err)
	}
	if len(sw.Files) != 3 || sw.Files[2] != filepath.Join(e.RunDir(), "lambda.md") {
		t.Fatalf("sweep files %v: want one per category, then the summary", sw.Files)
	}
	// At lambda 0 the fused score ranks as S_o alone: each category's point
	// is its student's image AUROC, and the summary's mean their mean.
	mean := 0.0
	for i, u := range ev.Units {
		if got, want := sw.Points[i][0].MicroAUC, u.Images[1].ImageAUROC; math.Abs(got-want) > 1e-12 {
			t.Errorf("%s: lambda 0 gives %v, the evaluation %v", u.Unit, got, want)
		}
		mean += sw.Points[i][0].MicroAUC / 2
	}
	rows := readCSV(t, filepath.Join(e.RunDir(), "lambda.csv"))
	if len(rows) != 4 || rows[0][3] != "mean" {
		t.Fatalf("lambda summary %v", rows)
	}
	if got, _ := strconv.ParseFloat(rows[1][3], 64); math.Abs(got-100*mean) > 1e-9 {
		t.Errorf("summary mean at lambda 0 is %v, want %v", got, 100*mean)
	}
}
