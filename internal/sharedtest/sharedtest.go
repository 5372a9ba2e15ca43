// Package sharedtest finds the project's read-only material in ../shared
// (next to the repository root) for tests, which skip when it is absent.
package sharedtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Path returns the absolute path of ../shared joined with parts, or skips
// the test when the repository root or that path cannot be found. Tests may
// run from any package directory, so the root is the nearest folder above
// the working directory that holds go.mod.
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
			t.Skip("no go.mod above the test directory; cannot find ../shared")
		}
		dir = parent
	}
	p := filepath.Join(append([]string{dir, "..", "shared"}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("%s is not available (read-only material next to the repository): %v", p, err)
	}
	return p
}
