package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/sharedtest"
)

const tinyVideo = `name: tiny-video
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1, workers: 2}
model: {arch: mnad, width: 0.0625, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: 12, student_steps: 12, lr: 0.002, checkpoint_every: 5}
eval: {batch: 8, grid: "0:1:0.5", pictures: 1}
`

// tableRow reads the first data row of a results JSON file written by
// report.WriteAll.
func tableRow(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(doc.Rows) == 0 {
		t.Fatalf("%s has no rows", path)
	}
	return doc.Rows[0]
}

// percentCell is a table cell in percent, as a fraction.
func percentCell(t *testing.T, row map[string]any, col string) float64 {
	t.Helper()
	v, ok := row[col].(float64)
	if !ok {
		t.Fatalf("table row has no number in column %q: %v", col, row)
	}
	return v / 100
}

func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	out, err := run(t, args...)
	if err != nil {
		t.Fatalf("fmam %v: %v", args, err)
	}
	// Log lines share the buffer; the JSON object starts at the first {.
	i := strings.Index(out, "{\n")
	if i < 0 {
		t.Fatalf("fmam %v printed no JSON:\n%s", args, out)
	}
	if err := json.NewDecoder(strings.NewReader(out[i:])).Decode(v); err != nil {
		t.Fatalf("fmam %v: %v\n%s", args, err, out)
	}
}

type metricsOut struct {
	AUROC float64 `json:"auroc"`
	Video *struct {
		Micro float64 `json:"micro_auc"`
		Macro float64 `json:"macro_auc"`
	} `json:"video"`
	PixelAUROC float64 `json:"pixel_auroc"`
	PixelAP    float64 `json:"pixel_ap"`
	AUPRO      float64 `json:"aupro"`
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9 }

// A tiny video run end to end through the CLI: 'fmam metrics' on the raw
// scores it wrote gives the numbers of its results tables; eval --lambda
// writes its own table and leaves config.yaml alone; eval and sweep-lambda
// print JSON; loss.png is drawn; the run ends with a summary computed
// from its numbers; a changed config names the keys that differ and
// --new-version starts v2; a failed start leaves no folder.
func TestRunOutputsAgree(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "tiny.yaml")
	os.WriteFile(cfg, []byte(tinyVideo), 0o644)
	rd := filepath.Join(dir, "run")
	base := []string{"--config", cfg, "--run", rd, "--device", "cpu", "--threads", "2"}
	out, err := run(t, append([]string{"run"}, base...)...)
	if err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(rd, "student")
	res := tableRow(t, filepath.Join(st, "results.json"))
	const m = "MNAD+FM+SCA"
	fea := percentCell(t, res, m+" S_fea (λ=1) micro AUC")
	for _, want := range []string{"Summary:", "Best score:", "scripts/ped2-compare.sh", "S_fea " + pctText(fea)} {
		if !strings.Contains(out, want) {
			t.Errorf("run output lacks %q:\n%s", want, out)
		}
	}
	checkKindAUCsByHand(t, rd, m+" S_fea (λ=1)")
	if !strings.Contains(out, "Per anomaly kind") || !strings.Contains(out, "wrong_look AUC") {
		t.Errorf("run output lacks the AUCs per anomaly kind:\n%s", out)
	}
	for _, s := range []string{"teacher", "student"} {
		if _, err := os.Stat(filepath.Join(rd, s, "loss.png")); err != nil {
			t.Errorf("no loss plot: %v", err)
		}
	}

	for _, c := range []struct {
		file, score, col string
		lambda           []string
	}{
		{"scores.csv", "s_o", m + " S_o (λ=0)", nil},
		{"scores.csv", "s_fea", m + " S_fea (λ=1)", nil},
		{"scores.csv", "total", m + " (λ=0.5)", nil},
		{"scores.csv", "total", m + " (λ=0.5)", []string{"--lambda", "0.5"}},
		{"teacher_scores.csv", "s_o", "MNAD (teacher)", nil},
	} {
		var got metricsOut
		runJSON(t, &got, append([]string{"metrics", "--scores", filepath.Join(st, c.file), "--score", c.score, "--json"}, c.lambda...)...)
		micro, macro := percentCell(t, res, c.col+" micro AUC"), percentCell(t, res, c.col+" macro AUC")
		if got.Video == nil || !near(got.Video.Micro, micro) || !near(got.Video.Macro, macro) || !near(got.AUROC, micro) {
			t.Errorf("metrics %s --score %s: %+v, want micro %v macro %v (the results table)", c.file, c.score, got, micro, macro)
		}
	}

	before, _ := os.ReadFile(filepath.Join(rd, "config.yaml"))
	var ev struct {
		Units []struct {
			Video []struct {
				Method string  `json:"method"`
				Micro  float64 `json:"micro_auc"`
			} `json:"video"`
		} `json:"units"`
	}
	runJSON(t, &ev, "eval", "--run", rd, "--lambda", "0.3", "--json")
	after, _ := os.ReadFile(filepath.Join(rd, "config.yaml"))
	if string(before) != string(after) {
		t.Error("eval --lambda rewrote config.yaml")
	}
	at := tableRow(t, filepath.Join(st, "results-lambda-0.3.json"))
	var got metricsOut
	runJSON(t, &got, "metrics", "--scores", filepath.Join(st, "scores.csv"), "--lambda", "0.3", "--json")
	if want := percentCell(t, at, m+" (λ=0.3) micro AUC"); !near(got.Video.Micro, want) || len(ev.Units) != 1 || !near(ev.Units[0].Video[3].Micro, want) {
		t.Errorf("lambda 0.3: metrics %v, eval --json %+v, table %v", got.Video.Micro, ev, want)
	}
	if tableRow(t, filepath.Join(st, "results.json"))[m+" (λ=0.5) micro AUC"] == nil {
		t.Error("eval --lambda replaced the run's own results table")
	}

	var sw struct {
		Units []struct {
			Points []struct {
				Lambda float64 `json:"lambda"`
				Micro  float64 `json:"micro_auc"`
			} `json:"points"`
		} `json:"units"`
	}
	runJSON(t, &sw, "sweep-lambda", "--run", rd, "--json")
	if len(sw.Units) != 1 || len(sw.Units[0].Points) != 3 || !near(sw.Units[0].Points[2].Micro, fea) {
		t.Errorf("sweep-lambda --json %+v: want 3 points, lambda 1 at %v", sw, fea)
	}

	changed := filepath.Join(dir, "changed.yaml")
	os.WriteFile(changed, []byte(strings.Replace(strings.Replace(tinyVideo, "lr: 0.002", "lr: 0.001", 1), "size: 32", "size: 48", 1)), 0o644)
	_, err = run(t, "train", "--config", changed, "--run", rd, "--device", "cpu")
	for _, want := range []string{"data.size: 32 -> 48", "train.lr: 0.002 -> 0.001", "--new-version (" + filepath.Join(rd, "v2") + ")"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("changed config: error %v, want one naming %q", err, want)
		}
	}
	if _, err := run(t, "train", "--config", changed, "--run", rd, "--device", "cpu", "--new-version", "--stage", "teacher", "--teacher-steps", "2"); err != nil {
		t.Fatalf("--new-version: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(rd, "v2", "config.yaml")); err != nil || !strings.Contains(string(b), "size: 48") {
		t.Errorf("--new-version did not start v2 with the new config: %v", err)
	}

	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(strings.Replace(tinyVideo, "taps: [bottleneck]", "taps: [no_such_tap]", 1)), 0o644)
	failed := filepath.Join(dir, "failed")
	if _, err := run(t, "train", "--config", bad, "--run", failed, "--device", "cpu"); err == nil || !strings.Contains(err.Error(), "no_such_tap") {
		t.Errorf("unknown tap: %v", err)
	}
	if _, err := os.Stat(failed); !os.IsNotExist(err) {
		t.Errorf("a failed start left %s behind (%v)", failed, err)
	}
}

func pctText(v float64) string {
	b, _ := json.Marshal(math.Round(1000*v) / 10)
	s := string(b)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s + "%"
}

// A tiny image run: 'fmam metrics --maps' on the student's saved maps
// (masks from maps/truth) and --scores on its raw scores give the pixel
// and image numbers of the results table, AUPRO included.
func TestImageRunMetricsAgree(t *testing.T) {
	needORT(t)
	tex := sharedtest.Path(t, "data", "textures")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "img.yaml")
	os.WriteFile(cfg, []byte(`name: tiny-image
task: image
data: {kind: synth-mvtec, size: 64, categories: [synth_object], textures: `+tex+`}
model: {arch: draem, width: 0.0625, init: normal0.02, taps: [bottleneck], attention: {kind: ca, reduction: 2}}
train: {batch: 2, teacher_steps: 3, student_steps: 3, lr: 0.001}
eval: {batch: 8, pictures: 1, grid: "0,1"}
`), 0o644)
	rd := filepath.Join(dir, "run")
	if _, err := run(t, "run", "--config", cfg, "--run", rd, "--device", "cpu", "--threads", "2"); err != nil {
		t.Fatal(err)
	}
	st := filepath.Join(rd, "synth_object", "student")
	res := tableRow(t, filepath.Join(st, "results.json"))
	const m = "DRAEM+CA"
	var px metricsOut
	runJSON(t, &px, "metrics", "--maps", filepath.Join(st, "maps", "student"), "--json")
	for _, c := range []struct {
		col string
		got float64
	}{{"P-AUROC", px.PixelAUROC}, {"P-AP", px.PixelAP}, {"AUPRO", px.AUPRO}} {
		if want := percentCell(t, res, m+" "+c.col); !near(c.got, want) {
			t.Errorf("metrics --maps %s = %v, results table %v", c.col, c.got, want)
		}
	}
	var img metricsOut
	runJSON(t, &img, "metrics", "--scores", filepath.Join(st, "scores.csv"), "--score", "s_o", "--json")
	if want := percentCell(t, res, m+" I-AUROC"); !near(img.AUROC, want) {
		t.Errorf("metrics --scores s_o = %v, results table I-AUROC %v", img.AUROC, want)
	}
	b, _ := os.ReadFile(filepath.Join(st, "lambda.json"))
	var sw struct {
		Rows []map[string]float64 `json:"rows"`
	}
	if err := json.Unmarshal(b, &sw); err != nil || len(sw.Rows) != 2 {
		t.Fatalf("lambda.json: %v %+v", err, sw)
	}
	for _, r := range sw.Rows {
		var got metricsOut
		runJSON(t, &got, "metrics", "--scores", filepath.Join(st, "scores.csv"), "--lambda", fmt.Sprint(r["lambda"]), "--json")
		if want := r["image AUROC"] / 100; !near(got.AUROC, want) {
			t.Errorf("metrics --score total --lambda %v = %v, sweep-lambda %v", r["lambda"], got.AUROC, want)
		}
	}
	if _, err := run(t, "eval", "--run", rd, "--lambda", "0.3"); err == nil || !strings.Contains(err.Error(), "sweep-lambda") {
		t.Errorf("eval --lambda on an image run: %v, want an error pointing to sweep-lambda", err)
	}
}

// --preset completes with the presets of the --config file, --config with
// YAML files.
func TestCompletion(t *testing.T) {
	out, err := run(t, "__complete", "train", "--config", filepath.Join("..", "..", "configs", "ped2.yaml"), "--preset", "")
	if err != nil || !strings.HasPrefix(out, "cpu-small\n") {
		t.Errorf("--preset completion: %q, %v", out, err)
	}
	out, err = run(t, "__complete", "train", "--preset", "")
	if err != nil || strings.Contains(out, "cpu-small") {
		t.Errorf("--preset completion of the embedded demo (no presets): %q, %v", out, err)
	}
	out, err = run(t, "__complete", "eval", "--config", "")
	if err != nil || !strings.HasPrefix(out, "yaml\nyml\n") {
		t.Errorf("--config completion: %q, %v", out, err)
	}
}

func TestInspectJSON(t *testing.T) {
	m := sharedtest.Path(t, "teachers", "mnad_pred.onnx")
	var info modelInfo
	runJSON(t, &info, "inspect", m, "--json")
	if info.Bottleneck != "/e4/e4.3/Conv_output_0" || len(info.Inputs) != 1 || info.Inputs[0].Name != "frames" || info.Ops["Conv"] == 0 || len(info.FeatureMaps) == 0 {
		t.Errorf("inspect --json: %+v", info)
	}
}
