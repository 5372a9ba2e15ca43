package synth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckReplaceable(t *testing.T) {
	dir := t.TempDir()
	full := filepath.Join(dir, "full")
	os.MkdirAll(filepath.Join(full, "x"), 0o755)
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, nil, 0o644)
	tests := []struct {
		name   string
		path   string
		force  bool
		wantIn string // "" means allowed
	}{
		{"missing", filepath.Join(dir, "new"), false, ""},
		{"empty", empty, false, ""},
		{"non-empty", full, false, "--force"},
		{"non-empty, force", full, true, ""},
		{"file", file, true, "not a directory"},
		{"filesystem root", "/", true, "refusing"},
	}
	for _, tc := range tests {
		err := checkReplaceable(tc.path, tc.force)
		switch {
		case tc.wantIn == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.wantIn != "" && (err == nil || !strings.Contains(err.Error(), tc.wantIn)):
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.wantIn)
		}
	}
}
