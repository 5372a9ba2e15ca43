package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/sharedtest"
)

// After a short image run, predict on a folder of new images prints and
// writes scores and decisions, maps and overlays; inspect shows the
// exported model's format, thresholds and dynamic batch.
func TestPredictAndInspectCommands(t *testing.T) {
	needORT(t)
	tex := sharedtest.Path(t, "data", "textures")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "img.yaml")
	os.WriteFile(cfg, []byte(`name: tiny-predict
task: image
data: {kind: synth-mvtec, size: 64, categories: [synth_object], textures: `+tex+`}
model: {arch: draem, width: 0.0625, init: normal0.02, taps: [bottleneck], attention: {kind: ca, reduction: 2}}
train: {batch: 2, teacher_steps: 2, student_steps: 2, lr: 0.001}
eval: {batch: 4, pictures: 1, grid: "0,1"}
`), 0o644)
	rd := filepath.Join(dir, "run")
	if _, err := run(t, "run", "--config", cfg, "--run", rd, "--device", "cpu", "--threads", "2"); err != nil {
		t.Fatal(err)
	}
	if _, err := run(t, "predict", "--run", rd); err == nil || !strings.Contains(err.Error(), "--input") {
		t.Errorf("predict without --input: %v", err)
	}
	in := filepath.Join(dir, "new")
	good := filepath.Join(rd, "data", "synth-mvtec", "synth_object", "test", "good")
	ents, err := os.ReadDir(good)
	if err != nil || len(ents) < 2 {
		t.Fatalf("test/good: %v", err)
	}
	for i, en := range ents[:2] {
		b, _ := os.ReadFile(filepath.Join(good, en.Name()))
		sub := filepath.Join(in, []string{"a", "b/c"}[i])
		os.MkdirAll(sub, 0o755)
		os.WriteFile(filepath.Join(sub, en.Name()), b, 0o644)
	}
	out, err := run(t, "predict", "--run", rd, "--input", in, "--out", filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "S_total") || !strings.Contains(out, "of 2 anomalous at S_total >=") || !strings.Contains(out, "normal-quantile") {
		t.Errorf("predict output:\n%s", out)
	}
	var rep struct {
		Items []struct {
			STotal       float64 `json:"s_total"`
			Map, Overlay string
		} `json:"items"`
		ThresholdOf string `json:"threshold_of"`
	}
	out, err = run(t, "predict", "--run", rd, "--input", in, "--out", filepath.Join(dir, "out2"), "--threshold", "f1", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &rep); err != nil || len(rep.Items) != 2 || rep.ThresholdOf != "test-f1max" {
		t.Fatalf("predict --json: %v %+v\n%s", err, rep, out)
	}
	for _, it := range rep.Items {
		for _, f := range []string{it.Map, it.Overlay} {
			if _, err := os.Stat(f); err != nil {
				t.Error(err)
			}
		}
	}
	if _, err := run(t, "predict", "--run", rd, "--input", in, "--threshold", "high"); err == nil || !strings.Contains(err.Error(), "f1") {
		t.Errorf("--threshold high: %v", err)
	}
	out, err = run(t, "inspect", filepath.Join(rd, "synth_object", "student", "model.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	// data.val_fraction is unset: the reference is the training normals.
	for _, want := range []string{"batch   dynamic", "data.range: 0,1", "threshold normal-quantile", "threshold test-f1max", "21x21 mean filter", "train normals"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect lacks %q:\n%s", want, out)
		}
	}
	// The teacher this run trained carries its own thresholds (lambda 0:
	// its S_o alone).
	out, err = run(t, "inspect", filepath.Join(rd, "synth_object", "teacher", "teacher.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"batch   dynamic", "the teacher alone", "lambda 0", "threshold normal-quantile", "threshold test-f1max"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect of teacher.onnx lacks %q:\n%s", want, out)
		}
	}
}
