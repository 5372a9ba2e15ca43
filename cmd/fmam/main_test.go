package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/ort"

	"github.com/fmam/fmam/internal/sharedtest"
)

// run executes fmam with args and returns its output and error.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRoot()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func needORT(t *testing.T) {
	t.Helper()
	if _, err := ort.FindLibrary("", ""); err != nil {
		sharedtest.Missing(t, sharedtest.ORT, "ONNX Runtime not installed: %v", err)
	}
}

func TestVersion(t *testing.T) {
	needORT(t)
	out, err := run(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"fmam " + version, "onnxruntime 1.", "CPUExecutionProvider"} {
		if !strings.Contains(out, want) {
			t.Errorf("version output lacks %q:\n%s", want, out)
		}
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("name: x\ntrian: {lr: 1}\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"version", "--ort-lib", filepath.Join(dir, "nope.so")}, "nope.so"},
		{[]string{"train", "--config", bad}, "trian"},
		{[]string{"train", "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
		{[]string{"train", "--stage", "pupil"}, "stage"},
		{[]string{"eval", "--lambda", "1.5"}, "lambda"},
		{[]string{"eval", "--run", filepath.Join(dir, "norun")}, "norun"},
		{[]string{"sweep-lambda", "--run", filepath.Join(dir, "norun")}, "norun"},
		{[]string{"ablate-layer", "--taps", ","}, "tap"},
		{[]string{"bench", "--model", "resnet"}, "resnet"},
		{[]string{"inspect", filepath.Join(dir, "none.onnx")}, "none.onnx"},
		{[]string{"train", "--device", "tpu"}, "device"},
		{[]string{"train", "--seeds", "1,1"}, "seed 1 is given twice"},
		{[]string{"run", "--seeds", "a"}, "--seeds"},
		{[]string{"compare"}, "requires at least 1 arg"},
		{[]string{"compare", filepath.Join(dir, "norun")}, "norun"},
	}
	for _, c := range cases {
		_, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("fmam %v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}

func TestMetricsCommand(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "s.csv")
	os.WriteFile(p, []byte("id,score,label\na,0.1,0\nb,0.4,0\nc,0.35,1\nd,0.8,1\n"), 0o644)
	out, err := run(t, "metrics", "--scores", p, "--json")
	if err != nil {
		t.Fatal(err)
	}
	// sklearn: roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75
	if !strings.Contains(out, "0.75") {
		t.Errorf("metrics output lacks AUROC 0.75:\n%s", out)
	}
	os.WriteFile(p, []byte("id,score,label\na,high,0\n"), 0o644)
	if _, err := run(t, "metrics", "--scores", p); err == nil || !strings.Contains(err.Error(), "s.csv") {
		t.Errorf("non-numeric score: %v", err)
	}
}

// Each command's help shows the flags it uses and no others: the
// configuration flags on the commands that resolve a configuration only.
func TestHelpShowsOnlyUsedFlags(t *testing.T) {
	for _, tc := range []struct {
		cmd        []string
		has, lacks []string
	}{
		{[]string{"train"}, []string{"--config", "--preset", "--seeds", "--threads", "--format"}, nil},
		{[]string{"compare"}, []string{"--out", "--format"}, []string{"--preset", "--seeds", "--threads", "--config"}},
		{[]string{"metrics"}, []string{"--lambda"}, []string{"--preset", "--seeds", "--threads"}},
		{[]string{"bench"}, []string{"--threads", "--device"}, []string{"--preset", "--seeds"}},
		{[]string{"version"}, []string{"--ort-lib"}, []string{"--preset", "--threads"}},
	} {
		out, err := run(t, append(tc.cmd, "--help")...)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range tc.has {
			if !strings.Contains(out, f) {
				t.Errorf("%v --help lacks %s", tc.cmd, f)
			}
		}
		for _, f := range tc.lacks {
			if strings.Contains(out, f+" ") {
				t.Errorf("%v --help shows %s, which it ignores", tc.cmd, f)
			}
		}
	}
	out, _ := run(t, "metrics", "--help")
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, "--lambda float") && strings.Count(line, "default") != 1 {
			t.Errorf("metrics --lambda help gives %d defaults: %s", strings.Count(line, "default"), line)
		}
	}
	out, err := run(t, "--version")
	if err != nil || !strings.HasPrefix(out, "fmam "+version+" (") {
		t.Errorf("fmam --version: %q, %v", out, err)
	}
}

// After Ctrl-C the message says what was kept and how to resume, not
// only "context canceled" (issue 22).
func TestInterruptedHint(t *testing.T) {
	h := interruptedHint([]string{"/usr/bin/fmam", "eval", "--run", "runs/demo"})
	for _, want := range []string{"interrupted", "kept", "run 'fmam eval --run runs/demo' again to resume"} {
		if !strings.Contains(h, want) {
			t.Errorf("hint %q lacks %q", h, want)
		}
	}
}
