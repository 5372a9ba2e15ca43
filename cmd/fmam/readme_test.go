package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmam/fmam/internal/sharedtest"
)

// readmeSkipped are the lines of the README's "Using fmam" block that are
// not fmam commands, and why the test leaves them out. Any other line
// must run.
var readmeSkipped = map[string]string{
	"make build":                         "builds bin/fmam; the test runs the same commands in process",
	"make bench-torch":                   "needs PyTorch 1.13",
	"source <(bin/fmam completion bash)": "a shell builtin; TestCompletion covers the script",
}

// readmeCommands returns the lines of the README's "Using fmam" block,
// comments cut off.
func readmeCommands(t *testing.T, root string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "## Using fmam\n\n```sh\n")
	if !ok {
		t.Fatal(`README.md has no "## Using fmam" section starting with a sh block`)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatal("the Using fmam block does not end")
	}
	var out []string
	for _, line := range strings.Split(block, "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		if line = strings.TrimSpace(line); line != "" {
			out = append(out, line)
		}
	}
	return out
}

// Every command of the README's "Using fmam" block runs as written, in
// order, from a folder laid out like the repository (configs/ and
// ../shared), with tiny step counts set through FMAM_* variables and
// bench's --steps: the examples cannot drift from the program again.
func TestReadmeExamples(t *testing.T) {
	needORT(t)
	shared := sharedtest.Path(t)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(wd, "..", "..") // tests run in cmd/fmam
	cmds := readmeCommands(t, repo)

	tmp := t.TempDir()
	work := filepath.Join(tmp, "work")
	if err := os.MkdirAll(work, 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{filepath.Join(work, "configs"): filepath.Join(repo, "configs"), filepath.Join(tmp, "shared"): shared} {
		abs, err := filepath.Abs(target)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, link); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(work)
	for k, v := range map[string]string{
		"FMAM_TRAIN_TEACHER_STEPS": "2", "FMAM_TRAIN_STUDENT_STEPS": "2", "FMAM_TRAIN_CHECKPOINT_EVERY": "1",
		"FMAM_EVAL_GRID": "0:1:0.5", "FMAM_EVAL_PICTURES": "1", "FMAM_DATA_TEST_STRIDE": "20",
	} {
		t.Setenv(k, v)
	}
	ran := 0
	for _, line := range cmds {
		if why, ok := readmeSkipped[line]; ok {
			t.Logf("skipped %q: %s", line, why)
			continue
		}
		fields := strings.Fields(line)
		// Leading VAR=value words set the environment of this command.
		var env [][2]string
		for len(fields) > 0 && strings.Contains(fields[0], "=") && !strings.HasPrefix(fields[0], "-") {
			k, v, _ := strings.Cut(fields[0], "=")
			env = append(env, [2]string{k, v})
			fields = fields[1:]
		}
		if len(fields) == 0 || fields[0] != "bin/fmam" {
			t.Fatalf("README line %q is neither a bin/fmam command nor in readmeSkipped", line)
		}
		args := fields[1:]
		if args[0] == "bench" {
			args = append(args, "--steps", "2", "--warmup", "1")
		}
		// Object baselines score every test frame: no test_stride there.
		// They take minutes (cube extraction over Ped2); -short leaves
		// them out, make test runs them.
		if strings.Contains(line, "configs/ped2-jigsaw") || strings.Contains(line, "configs/ped2-pkgnet") {
			if testing.Short() {
				t.Logf("-short: skipped %q", line)
				continue
			}
			env = append(env, [2]string{"FMAM_DATA_TEST_STRIDE", "1"})
			// Runs on the same boxes share one cube cache, as the
			// README's scripts do: the cubes are extracted once.
			if strings.Contains(line, "configs/ped2-jigsaw") {
				env = append(env, [2]string{"FMAM_DATA_OBJECTS_CACHE", filepath.Join(tmp, "cubes-jigsaw")})
			}
		}
		restore := map[string]*string{}
		for _, kv := range env {
			if old, ok := os.LookupEnv(kv[0]); ok {
				restore[kv[0]] = &old
			} else {
				restore[kv[0]] = nil
			}
			os.Setenv(kv[0], kv[1])
		}
		start := time.Now()
		out, err := run(t, args...)
		for k, v := range restore {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
		if err != nil {
			t.Fatalf("README example %q failed after %v: %v\n%s", line, time.Since(start).Round(time.Second), err, tail(out, 3000))
		}
		t.Logf("%v  %s", time.Since(start).Round(time.Second), line)
		ran++
	}
	if ran < 20 {
		t.Errorf("ran %d README commands; the block has %d lines", ran, len(cmds))
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
