package experiment_test

import (
	"context"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/score"
	"github.com/fmam/fmam/internal/sharedtest"
)

// The video pipeline with MNAD's memory in teacher and student: the logs
// carry the memory losses, scores.csv holds MNAD's combined score in s_o
// (recomputed here from the raw PSNR and distance), and sweep-lambda
// reads it as before.
func TestVideoPipelineMemory(t *testing.T) {
	e := open(t, `
name: e2e-video-memory
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1, workers: 2}
model: {arch: mnad, width: 0.0625, taps: [bottleneck], memory: true, attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: 4, student_steps: 4, lr: 0.002}
eval: {batch: 8, grid: "0:1:0.5", pictures: 0}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"teacher/teacher.onnx", "student/model.onnx"} {
		onnxChecker(t, filepath.Join(e.RunDir(), m))
	}
	for dir, want := range map[string]string{
		"teacher": "step,lr,loss,l_o,l_compact,l_separate,grad_norm",
		"student": "step,lr,loss,l_o,l_compact,l_separate,l_fea,grad_norm",
	} {
		rows := readCSV(t, filepath.Join(e.RunDir(), dir, "log.csv"))
		if len(rows) != 5 || strings.Join(rows[0], ",") != want {
			t.Errorf("%s log: %d rows, header %v, want 5 rows and %s", dir, len(rows), rows[0], want)
		}
	}
	ev := evalVideo(t, e)
	if ev.Frames != 4*56 {
		t.Errorf("scored %d frames, want 4 videos x (60 - 4)", ev.Frames)
	}
	dir := filepath.Join(e.RunDir(), "student")
	for _, pair := range [][2]string{{"scores.csv", "memory_scores.csv"}, {"teacher_scores.csv", "teacher_memory_scores.csv"}} {
		combined, err := score.ReadVideoCSV(filepath.Join(dir, pair[0]))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := score.ReadVideoCSV(filepath.Join(dir, pair[1]))
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) != len(combined) || len(raw) != ev.Frames {
			t.Fatalf("%s has %d rows, %s %d, want %d", pair[0], len(combined), pair[1], len(raw), ev.Frames)
		}
		lo, hi := map[string][2]float64{}, map[string][2]float64{}
		for _, r := range raw {
			l, ok := lo[r.Video]
			h := hi[r.Video]
			if !ok {
				l, h = [2]float64{r.SO, r.SFea}, [2]float64{r.SO, r.SFea}
			}
			lo[r.Video] = [2]float64{min(l[0], r.SO), min(l[1], r.SFea)}
			hi[r.Video] = [2]float64{max(h[0], r.SO), max(h[1], r.SFea)}
		}
		for i, r := range raw {
			if !(r.SO > 0 && r.SFea > 0) {
				t.Fatalf("%s row %s: PSNR %v, distance %v; want both positive", pair[1], r.ID, r.SO, r.SFea)
			}
			l, h := lo[r.Video], hi[r.Video]
			want := 0.6*(r.SO-l[0])/(h[0]-l[0]) + 0.4*(1-(r.SFea-l[1])/(h[1]-l[1]))
			if c := combined[i]; c.ID != r.ID || math.Abs(c.SO-want) > 1e-9 {
				t.Fatalf("%s row %s: s_o %v, want MNAD's %v", pair[0], c.ID, c.SO, want)
			}
		}
	}
	checkSweep(t, e, ev)
	md, _ := os.ReadFile(filepath.Join(dir, "results.md"))
	if !strings.Contains(string(md), "MNAD with memory (teacher)") {
		t.Errorf("results table does not name the memory baseline:\n%s", md)
	}
}

// onnxChecker runs the reference onnx.checker (Debian's python3-onnx) on
// a model file, an independent check of what fmam writes (the memory adds
// ops no other built-in model uses); it skips that part when the module is
// not installed, unless it is required (sharedtest.Required).
func onnxChecker(t *testing.T, path string) {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import onnx").Run() != nil {
			continue
		}
		out, err := exec.Command(py, "-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path).CombinedOutput()
		if err != nil {
			t.Fatalf("onnx.checker rejects %s: %v\n%s", path, err, out)
		}
		return
	}
	if sharedtest.Required(sharedtest.PyONNX) {
		t.Fatal("python3 onnx module not installed (apt-get install python3-onnx); onnx.checker is required here")
	}
	t.Log("python3 onnx module not installed; onnx.checker not run")
}
