package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/data"
)

// train and eval with no student, train --teacher-run onto that run's
// teacher, eval --teacher-only on the student run, and inspect of the
// exported teacher: the flags reach the stages and the outputs say so.
func TestTeacherFlags(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	cfg := func(name, steps string) string {
		p := filepath.Join(dir, name+".yaml")
		y := "name: " + name + `
task: video
device: cpu
threads: 2
data: {kind: synth-video, root: ` + filepath.Join(dir, "data") + `, size: 32, frames: 4, channels: 1, workers: 2}
model: {arch: mnad, width: 0.0625, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: 4, student_steps: ` + steps + `, lr: 0.002}
eval: {batch: 8, pictures: 0}
`
		if err := os.WriteFile(p, []byte(y), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if out, err := run(t, "train", "--config", cfg("a", "0"), "--run", a); err != nil {
		t.Fatalf("train a: %v\n%s", err, out)
	}
	out, err := run(t, "eval", "--run", a)
	if err != nil || !strings.Contains(out, "teacher alone") || !strings.Contains(out, filepath.Join(a, "teacher", "results.md")) {
		t.Fatalf("eval of a run with no student: %v\n%s", err, out)
	}
	// Predict on a run with no student uses the teacher alone, with the
	// thresholds eval stored in teacher_eval.onnx, which inspect shows.
	test, err := data.LoadFrames(filepath.Join(dir, "data"), data.Test, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out, err = run(t, "predict", "--run", a, "--input", filepath.Dir(test.Videos[0].Frames[0]), "--out", filepath.Join(dir, "pred-a"))
	if err != nil || !strings.Contains(out, "scored by the teacher alone") || !strings.Contains(out, "anomalous at S_total >=") {
		t.Fatalf("predict on a run with no student: %v\n%s", err, out)
	}
	out, err = run(t, "inspect", filepath.Join(a, "teacher", "teacher_eval.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"batch   dynamic", "the teacher alone", "lambda 0", "threshold normal-quantile", "threshold test-f1max", "output  s_total"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect of teacher_eval.onnx lacks %q:\n%s", want, out)
		}
	}
	if out, err := run(t, "train", "--config", cfg("b", "3"), "--run", b, "--teacher-run", a); err != nil {
		t.Fatalf("train --teacher-run: %v\n%s", err, out)
	}
	y, _ := os.ReadFile(filepath.Join(b, "config.yaml"))
	if !strings.Contains(string(y), "teacher_run: "+a) {
		t.Errorf("config.yaml of b does not record the teacher run:\n%s", y)
	}
	if _, err := os.Stat(filepath.Join(b, "student", "model.onnx")); err != nil {
		t.Errorf("no student in b: %v", err)
	}
	out, err = run(t, "eval", "--run", b, "--teacher-only")
	if err != nil || !strings.Contains(out, "teacher alone") || !strings.Contains(out, filepath.Join(b, "teacher", "results.md")) {
		t.Fatalf("eval --teacher-only: %v\n%s", err, out)
	}
	out, err = run(t, "inspect", filepath.Join(a, "teacher", "teacher.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`expects input "frames": 4 channels`, "32x32 pixels", "model.arch: mnad", "data.channels: 1", "data.frames: 4", "data.range: -1,1", "data.mean: none", "data.filter: bilinear"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}
	// A teacher run of another width is refused, naming the key.
	wide := strings.Replace(string(y), "width: 0.0625", "width: 0.125", 1)
	if !strings.Contains(wide, "width: 0.125") {
		t.Fatalf("no width in config.yaml:\n%s", y)
	}
	p := filepath.Join(dir, "wide.yaml")
	os.WriteFile(p, []byte(strings.Replace(wide, "name: b", "name: wide", 1)), 0o644)
	_, err = run(t, "train", "--config", p, "--run", filepath.Join(dir, "wide"))
	if err == nil || !strings.Contains(err.Error(), "model.width is 0.125 here but 0.0625 in "+filepath.Join(a, "config.yaml")) {
		t.Errorf("teacher run of another width: %v", err)
	}
}
