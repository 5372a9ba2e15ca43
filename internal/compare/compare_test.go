package compare_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/compare"
	"github.com/fmam/fmam/internal/config"
)

// videoYAML is the configuration of the experiment package's video
// pipeline test, whose run folders fakeRun imitates.
const videoYAML = `
name: e2e-video
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1, workers: 2}
model: {arch: mnad, width: 0.0625, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: 12, student_steps: 12, lr: 0.002, checkpoint_every: 5}
eval: {batch: 8, grid: "0:1:0.5", pictures: 1}
`

// fakeRun writes a run folder by hand: the config of videoYAML with over,
// and the student's records (teacher micro/macro AUC, then the student's).
func fakeRun(t *testing.T, dir string, over map[string]any, teacher, student [2]float64) {
	t.Helper()
	cfg, err := config.Load("", []byte(videoYAML), "", over)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := cfg.YAML()
	if err := atomicfile.Write(filepath.Join(dir, "config.yaml"), y); err != nil {
		t.Fatal(err)
	}
	rec := `{"records": [
 {"unit": "", "dataset": "synth-video", "method": "MNAD (teacher)", "teacher": true, "headline": false,
  "metrics": [{"name": "micro AUC", "value": %v, "compare": true}, {"name": "macro AUC", "value": %v, "compare": false}]},
 {"unit": "", "dataset": "synth-video", "method": "MNAD+FM (λ=0.5)", "taps": "bottleneck", "teacher": false, "headline": true,
  "metrics": [{"name": "micro AUC", "value": %v, "compare": true}, {"name": "macro AUC", "value": null, "compare": false}]}]}`
	js := func(v float64) string {
		if math.IsNaN(v) {
			return "null"
		}
		return fmt.Sprint(v)
	}
	b := fmt.Sprintf(rec, js(teacher[0]), js(teacher[1]), js(student[0]))
	if err := atomicfile.Write(filepath.Join(dir, "student", "records.json"), []byte(b)); err != nil {
		t.Fatal(err)
	}
}

// Two single-seed runs that differ in the attention kind and share a
// teacher: the table has one column for the differing key, the shared
// teacher once, and each student's difference with it.
func TestCompareSingleSeedRuns(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "sca"), filepath.Join(root, "ca")
	fakeRun(t, a, nil, [2]float64{0.8, 0.7}, [2]float64{0.85, 0})
	fakeRun(t, b, map[string]any{"model.attention.kind": "ca"}, [2]float64{0.8, 0.7}, [2]float64{0.78, 0})
	c, err := compare.Compare(context.Background(), []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if c.Seeds || strings.Join(c.Keys, ",") != "model.attention.kind" {
		t.Fatalf("seeds %v, differing keys %v", c.Seeds, c.Keys)
	}
	tab := c.Plain
	want := []string{"Dataset", "Run", "model.attention.kind", "Method", "micro AUC", "macro AUC", "Δ micro AUC"}
	if strings.Join(tab.Columns, "|") != strings.Join(want, "|") {
		t.Fatalf("columns %v, want %v", tab.Columns, want)
	}
	if len(tab.Rows) != 3 {
		t.Fatalf("%d rows, want the shared teacher and two students", len(tab.Rows))
	}
	cell := func(i, j int) string { return tab.Rows[i][j].String() }
	if cell(0, 1) != "sca, ca" || cell(0, 2) != "sca, ca" || cell(0, 4) != "80.0" || cell(0, 6) != "-" {
		t.Errorf("teacher row %v", tab.Rows[0])
	}
	for i, w := range []struct {
		run  string
		diff float64
	}{{"sca", 5}, {"ca", -2}} {
		r := tab.Rows[i+1]
		if cell(i+1, 1) != w.run || cell(i+1, 5) != "-" || math.Abs(r[6].Value-w.diff) > 1e-9 {
			t.Errorf("student row %d: %v, want run %s and a difference of %v", i, r, w.run, w.diff)
		}
	}
	out := filepath.Join(root, "out")
	if err := c.Write(out, "compare"); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"compare.md", "compare.csv", "compare.json", "compare.html"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	// A run folder without records is refused with what to run.
	os.Remove(filepath.Join(b, "student", "records.json"))
	if _, err := compare.Compare(context.Background(), []string{a, b}); err == nil || !strings.Contains(err.Error(), "fmam eval") {
		t.Errorf("missing records: %v", err)
	}
}

// A run mimicking another run's teacher shows that teacher run's own
// training keys: two runs whose teachers trained for 300 and 600 steps
// differ in train.teacher_steps.
func TestCompareTeacherRunKeys(t *testing.T) {
	root := t.TempDir()
	t1, t2 := filepath.Join(root, "t300"), filepath.Join(root, "t600")
	fakeRun(t, t1, map[string]any{"train.teacher_steps": 300}, [2]float64{0.8, 0.7}, [2]float64{0.85, 0})
	fakeRun(t, t2, map[string]any{"train.teacher_steps": 600}, [2]float64{0.8, 0.7}, [2]float64{0.85, 0})
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	fakeRun(t, a, map[string]any{"model.teacher_run": t1}, [2]float64{0.8, 0.7}, [2]float64{0.85, 0})
	fakeRun(t, b, map[string]any{"model.teacher_run": t2}, [2]float64{0.81, 0.7}, [2]float64{0.85, 0})
	c, err := compare.Compare(context.Background(), []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.Keys, ","); got != "model.teacher_run,train.teacher_steps" {
		t.Fatalf("differing keys %s, want the teacher runs and their teacher steps", got)
	}
	col := slicesIndex(c.Plain.Columns, "train.teacher_steps")
	if got := c.Plain.Rows[len(c.Plain.Rows)-1][col].String(); got != "600" {
		t.Errorf("run b's train.teacher_steps %q, want its teacher run's 600", got)
	}
}

func slicesIndex(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// One run: "1 run", a signed Δ, no column that no row fills (the macro
// AUC of a comparison whose rows all lack it), and the figures over runs
// and every picture copied beside the page.
func TestCompareOneRunTableAndPage(t *testing.T) {
	root := t.TempDir()
	a := filepath.Join(root, "a")
	fakeRun(t, a, nil, [2]float64{0.8, math.NaN()}, [2]float64{0.85, 0})
	st := filepath.Join(a, "student")
	roc := `{"curves": [{"name": "teacher", "auc": 0.8, "fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]},
 {"name": "student", "auc": 0.85, "fpr": [0, 0.4, 1], "tpr": [0, 0.9, 1]}]}`
	lam := `{"title": "l", "columns": ["lambda", "micro AUC"], "rows": [{"lambda": 0, "micro AUC": 80}, {"lambda": 1, "micro AUC": 70}]}`
	for name, body := range map[string]string{"roc.json": roc, "lambda.json": lam} {
		if err := atomicfile.Write(filepath.Join(st, name), []byte(body)); err != nil {
			t.Fatal(err)
		}
	}
	png := tinyPNG(t)
	if err := atomicfile.Write(filepath.Join(st, "roc.png"), png); err != nil {
		t.Fatal(err)
	}
	c, err := compare.Compare(context.Background(), []string{a})
	if err != nil {
		t.Fatal(err)
	}
	tab := c.Plain
	if tab.Title != "Comparison of 1 run" {
		t.Errorf("title %q", tab.Title)
	}
	if slicesIndex(tab.Columns, "macro AUC") >= 0 {
		t.Errorf("columns %v keep macro AUC, which no row has", tab.Columns)
	}
	d := slicesIndex(tab.Columns, "Δ micro AUC")
	if d < 0 || tab.Rows[1][d].String() != "+5.0" {
		t.Errorf("columns %v, student row %v: want a signed Δ of +5.0", tab.Columns, tab.Rows[1])
	}
	out := filepath.Join(root, "out")
	if err := c.Write(out, "cmp"); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, "cmp.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"cmp-roc.png", "cmp-lambda.png", "cmp-pictures/a/student/roc.png"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("missing %s", f)
		}
		if !strings.Contains(string(page), `src="`+f+`"`) {
			t.Errorf("the page does not show %s", f)
		}
	}
	if strings.Contains(string(page), "..") {
		t.Errorf("the page links outside its folder")
	}
}

// An image run and a video run have no metric in common.
func TestCompareRefusesImageWithVideo(t *testing.T) {
	root := t.TempDir()
	v, im := filepath.Join(root, "v"), filepath.Join(root, "im")
	fakeRun(t, v, nil, [2]float64{0.8, 0.7}, [2]float64{0.85, 0})
	cfg, err := config.Load("", []byte("name: x\ntask: image\ndata: {kind: synth-mvtec, size: 64}\nmodel: {arch: draem}\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	y, _ := cfg.YAML()
	if err := atomicfile.Write(filepath.Join(im, "config.yaml"), y); err != nil {
		t.Fatal(err)
	}
	_, err = compare.Compare(context.Background(), []string{v, im})
	if err == nil || !strings.Contains(err.Error(), "a video run") || !strings.Contains(err.Error(), "an image run") {
		t.Errorf("image with video: %v", err)
	}
}

func tinyPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 4, 3))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
