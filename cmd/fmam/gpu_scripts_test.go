package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
)

// TestGPUBundleAndCPUFallback packs a CUDA-less bundle in small parts with
// scripts/gpu-bundle.sh, then runs scripts/gpu-check.sh on it the way the
// device machine would: the parts reassemble against their checksums, and
// without CUDA the check runs its CPU parts, says CUDA was not found and
// exits 0. A corrupted part must stop the check.
func TestGPUBundleAndCPUFallback(t *testing.T) {
	lib, err := ort.FindLibrary("", "")
	if err != nil {
		sharedtest.Missing(t, sharedtest.ORT, "ONNX Runtime not installed: %v", err)
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Fatalf("gpu-check.sh needs python3: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	pack := exec.Command(filepath.Join(root, "scripts", "gpu-bundle.sh"), bundle)
	pack.Env = append(os.Environ(), "FMAM_BUNDLE_FMAM="+fmamBinary(t), "FMAM_BUNDLE_NO_CUDA=1",
		"FMAM_BUNDLE_ORT_DIR="+filepath.Dir(lib), "FMAM_BUNDLE_PART_MB=8")
	if out, err := pack.CombinedOutput(); err != nil {
		t.Fatalf("gpu-bundle.sh: %v\n%s", err, out)
	}
	parts, _ := filepath.Glob(filepath.Join(bundle, "fmam-gpu.tgz.part-*"))
	if len(parts) < 2 {
		t.Fatalf("bundle has %d parts, want several of 8 MiB", len(parts))
	}
	for _, p := range parts {
		if fi, err := os.Stat(p); err != nil || fi.Size() > 8<<20 {
			t.Fatalf("part %s: %v, size over 8 MiB", p, err)
		}
	}
	check := func(out string) (string, error) {
		c := exec.Command(filepath.Join(root, "scripts", "gpu-check.sh"), bundle)
		// No nvidia-smi on PATH: the CPU fallback even on a machine with a GPU.
		c.Env = append(os.Environ(), "OUT="+out, "GPU_CHECK_TINY=1", "GPU_CHECK_NETS=mnad", "PATH="+pathWithout(t, "nvidia-smi"))
		b, err := c.CombinedOutput()
		return string(b), err
	}
	out := filepath.Join(dir, "out")
	log, err := check(out)
	if err != nil {
		t.Fatalf("gpu-check.sh without CUDA: %v\n%s", err, log)
	}
	report, err := os.ReadFile(filepath.Join(out, "report.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"parts and archive match SHA256SUMS", "CUDA: not found", "mnad    cpu: loss", "on cpu: ok", "CUDA not found"} {
		if !strings.Contains(string(report), want) {
			t.Errorf("report lacks %q:\n%s", want, report)
		}
	}
	// One flipped byte in a part: the check stops before running anything.
	b, err := os.ReadFile(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 1
	if err := os.WriteFile(parts[1], b, 0o644); err != nil {
		t.Fatal(err)
	}
	if log, err := check(filepath.Join(dir, "bad")); err == nil || !strings.Contains(log, "does not match SHA256SUMS") {
		t.Errorf("corrupted part accepted (err %v):\n%s", err, log)
	}
}

// pathWithout is $PATH less the folders that hold the command name.
func pathWithout(t *testing.T, name string) string {
	t.Helper()
	var keep []string
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		if _, err := os.Stat(filepath.Join(d, name)); err == nil {
			continue
		}
		keep = append(keep, d)
	}
	return strings.Join(keep, string(os.PathListSeparator))
}
