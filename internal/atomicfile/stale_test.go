package atomicfile

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// deadPID is the pid of a process that has exited.
func deadPID(t *testing.T) int {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.ProcessState.Pid()
}

// Leftovers of a killed writer are removed; writes that may be in
// progress, and files of other naming, stay (issue 22: kill -9 left
// data/.synth-video.tmp-* and zero-byte curves/.02.png.tmp-* for good).
func TestRemoveStale(t *testing.T) {
	root := t.TempDir()
	now := time.Now()
	dead, self := strconv.Itoa(deadPID(t)), strconv.Itoa(os.Getpid())
	mk := func(rel string, dir bool, age time.Duration) string {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if dir {
			if err := os.MkdirAll(filepath.Join(p, "frames"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(p, "frames", "000.png"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-age), now.Add(-age)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gone := []string{
		mk("student/curves/.02.png.tmp-"+dead+"-123", false, 2*time.Minute),
		mk("data/.synth-video.tmp-"+dead+"-77", true, 2*time.Minute),
		mk("student/.scores.csv.tmp-555", false, OrphanAge+time.Minute),
	}
	kept := []string{
		mk("student/curves/.03.png.tmp-"+dead+"-124", false, time.Second), // may still be written
		mk("student/.model.onnx.tmp-"+self+"-9", false, 2*time.Minute),    // its writer runs
		mk("student/.log.csv.tmp-556", false, 2*time.Minute),              // no pid, not yet old
		mk("student/02.png", false, OrphanAge+time.Minute),
		mk("student/notes.tmp-1", false, OrphanAge+time.Minute), // not fmam's naming
	}
	n, err := RemoveStale(root, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(gone) {
		t.Errorf("removed %d, want %d", n, len(gone))
	}
	for _, p := range gone {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range kept {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}

// Temporary files are named with the writer's pid.
func TestTempPrefixCarriesPID(t *testing.T) {
	m := tempName.FindStringSubmatch(TempPrefix("scores.csv") + "42")
	if m == nil || m[1] != strconv.Itoa(os.Getpid()) {
		t.Errorf("TempPrefix gives %q, matched %v", TempPrefix("scores.csv"), m)
	}
}
