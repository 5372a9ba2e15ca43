// Package sharedtest finds what tests need from outside the repository: the
// read-only material in ../shared (next to the repository root), and tools
// such as ONNX Runtime or ffmpeg. A test whose dependency is missing skips,
// except where the dependency is required: under CI=true every one is, and
// FMAM_REQUIRE=ort,shared,ffmpeg,python-onnx,slurm,chromium names some for anyone, so that a failed
// install cannot pass as a green run of skipped tests.
package sharedtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Dep is something a test needs that the repository does not hold.
type Dep string

// The dependencies tests name.
const (
	// ORT is the ONNX Runtime library (make setup installs it).
	ORT Dep = "ort"
	// Shared is the read-only material in ../shared.
	Shared Dep = "shared"
	// FFmpeg is the ffmpeg binary, for the frame-extraction script.
	FFmpeg Dep = "ffmpeg"
	// PyONNX is Python's onnx module (Debian's python3-onnx), the
	// reference onnx.checker.
	PyONNX Dep = "python-onnx"
	// Slurm is a Slurm cluster answering sinfo (scripts/slurm-up.sh
	// starts a single-node one).
	Slurm Dep = "slurm"
	// Chromium is a headless browser (Debian's chromium), which opens the
	// HTML pages fmam writes.
	Chromium Dep = "chromium"
)

// Required reports whether a missing dep fails tests instead of skipping
// them: CI=true requires every dependency; FMAM_REQUIRE lists some
// (comma-separated, or "all").
func Required(dep Dep) bool {
	if os.Getenv("CI") == "true" {
		return true
	}
	req := strings.Split(os.Getenv("FMAM_REQUIRE"), ",")
	return slices.Contains(req, string(dep)) || slices.Contains(req, "all")
}

// Missing ends t because dep is not available: a skip, or a failure when
// dep is Required. The message says what is missing.
func Missing(t testing.TB, dep Dep, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required(dep) {
		t.Fatalf("%s (required: CI=true or FMAM_REQUIRE names %q)", msg, dep)
	}
	t.Skip(msg)
}

// Path returns the absolute path of ../shared joined with parts, or ends
// the test through Missing when the repository root or that path cannot be
// found. Tests may run from any package directory, so the root is the
// nearest folder above the working directory that holds go.mod.
func Path(t testing.TB, parts ...string) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			Missing(t, Shared, "no go.mod above the test directory; cannot find ../shared")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		Missing(t, Shared, "%s is not available (read-only material next to the repository): %v", p, err)
	}
	return p
}

// ChromiumPath returns the path of a Chromium binary (chromium, or
// chromium-browser where it goes by that name), or ends the test through
// Missing.
func ChromiumPath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	Missing(t, Chromium, "chromium not installed (Debian's chromium package); skipping the browser test")
	return ""
}
