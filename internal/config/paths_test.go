package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/config"
)

func write(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// Paths in a file resolve against its folder, those of flags, FMAM_*
// variables and embedded configs against the working directory, and a
// file's path that only exists relative to the working directory (configs
// written before the rule) is taken from there with a warning.
func TestPathResolution(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	write(t, filepath.Join(dir, "data", "frames", "x"), "")
	write(t, filepath.Join(dir, "labels.npy"), "")
	cfg := write(t, filepath.Join(dir, "configs", "a.yaml"), "name: a\ndata: {kind: frames, root: ../data/frames, labels: ../labels.npy}\n")
	c, err := config.Load(cfg, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Root != filepath.Join(dir, "data", "frames") || c.Data.Labels != filepath.Join(dir, "labels.npy") {
		t.Errorf("relative to the config file: root %s, labels %s", c.Data.Root, c.Data.Labels)
	}
	if len(c.Warnings()) != 0 || c.CheckPaths() != nil {
		t.Errorf("warnings %q, check %v", c.Warnings(), c.CheckPaths())
	}

	t.Setenv("FMAM_DATA_LABELS", "labels.npy")
	c, err = config.Load(cfg, nil, "", map[string]any{"data.root": "data/frames"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Root != filepath.Join(dir, "data", "frames") || c.Data.Labels != filepath.Join(dir, "labels.npy") {
		t.Errorf("flags and FMAM_* relative to the working directory: root %s, labels %s", c.Data.Root, c.Data.Labels)
	}
	os.Unsetenv("FMAM_DATA_LABELS")

	c, err = config.Load("", []byte("name: e\ndata: {kind: frames, root: data/frames}\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Root != filepath.Join(dir, "data", "frames") {
		t.Errorf("embedded config: root %s", c.Data.Root)
	}

	old := write(t, filepath.Join(dir, "runs", "r", "config.yaml"), "name: r\ndata: {kind: frames, root: data/frames}\n")
	c, err = config.Load(old, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Root != filepath.Join(dir, "data", "frames") || len(c.Warnings()) != 1 || !strings.Contains(c.Warnings()[0], "relative to the working directory") {
		t.Errorf("fallback: root %s, warnings %q", c.Data.Root, c.Warnings())
	}

	// The resolved YAML reloads from anywhere to the same configuration.
	y, _ := c.YAML()
	moved := write(t, filepath.Join(dir, "elsewhere", "deep", "config.yaml"), string(y))
	c2, err := config.LoadRecorded(moved)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := config.Diff(c, c2); len(d) != 0 || c2.Data.Root != c.Data.Root {
		t.Errorf("reloaded config differs: %q", d)
	}
}

func TestCheckPathsNamesWrittenAndResolved(t *testing.T) {
	dir := t.TempDir()
	cfg := write(t, filepath.Join(dir, "configs", "a.yaml"), "name: a\ndata: {kind: frames, root: ../../shared/nope, labels: /abs/none.npy}\nmodel: {teacher: t.onnx}\n")
	c, err := config.Load(cfg, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckPaths()
	for _, want := range []string{
		`data.root: "../../shared/nope" resolved against ` + filepath.Join(dir, "configs") + " is " + filepath.Join(filepath.Dir(dir), "shared", "nope") + ": no such file or directory",
		"data.labels: /abs/none.npy: no such file",
		`model.teacher: "t.onnx" resolved against`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckPaths: %v\nwant it to contain %q", err, want)
		}
	}
	// A synthetic set's root is generated, so it is not checked.
	c, err = config.Load("", []byte("name: s\ndata: {kind: synth-video, root: not/yet}\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.CheckPaths(); err != nil {
		t.Errorf("synth root checked: %v", err)
	}
}

func TestDiffNamesEveryKey(t *testing.T) {
	a, err := config.Load("", []byte("name: x\ntrain: {lr: 0.002}\nmodel: {taps: [bottleneck]}\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := config.Load("", []byte("name: x\ntrain: {lr: 0.001}\nmodel: {taps: [encoder, bottleneck]}\ndevice: cpu\neval: {lambda: 0.3, batch: 3}\nreport: {formats: [png, svg, pdf]}\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	d, err := config.Diff(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"eval.batch: 8 -> 3", "model.taps: [bottleneck] -> [encoder, bottleneck]", "train.lr: 0.002 -> 0.001"}
	if !slices.Equal(d, want) {
		t.Errorf("diff %q, want %q (device, eval.lambda and report.formats do not change a run; eval.batch fixes the exported models)", d, want)
	}
}

func TestLoadRecordedIgnoresEnvironment(t *testing.T) {
	p := write(t, filepath.Join(t.TempDir(), "config.yaml"), "name: x\ntrain: {lr: 0.002}\n")
	t.Setenv("FMAM_TRAIN_LR", "0.5")
	c, err := config.Load(p, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := config.LoadRecorded(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.LR != 0.5 || r.Train.LR != 0.002 {
		t.Errorf("Load lr %v (want 0.5), LoadRecorded lr %v (want 0.002)", c.Train.LR, r.Train.LR)
	}
}
