package compare_test

import (
	"context"
	"fmt"
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
	b := fmt.Sprintf(rec, teacher[0], teacher[1], student[0])
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
