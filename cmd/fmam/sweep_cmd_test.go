package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fmam/fmam/internal/sharedtest"
)

// tinyGrid is a 4-unit grid of the embedded demo: two seeds, each with a
// teacher shared by a student with SCA and one without attention. The seed
// axis comes first, so shards 0/2 and 1/2 both need each teacher.
const tinyGrid = `name: tiny
grid:
  seed: [1, 2]
  model.attention.kind: [sca, none]
`

// tinyEnv makes every stage a few steps long.
var tinyEnv = []string{"FMAM_TRAIN_TEACHER_STEPS=2", "FMAM_TRAIN_STUDENT_STEPS=2", "FMAM_THREADS=1", "FMAM_EVAL_PICTURES=0", "FMAM_LOG_LEVEL=info"}

var (
	binOnce sync.Once
	binPath string
	binErr  error
	binDir  string
)

// fmamBinary builds fmam once for the tests that run it as processes.
func fmamBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "fmam-bin-")
		if binErr != nil {
			return
		}
		binPath = filepath.Join(binDir, "fmam")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = err
			binPath = string(out)
		}
	})
	if binErr != nil {
		t.Fatalf("go build fmam: %v\n%s", binErr, binPath)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// fmamCmd is the built fmam with args in dir, with the tiny settings.
func fmamCmd(t *testing.T, dir string, args ...string) *exec.Cmd {
	c := exec.Command(fmamBinary(t), args...)
	c.Dir = dir
	c.Env = append(os.Environ(), tinyEnv...)
	return c
}

func runFmam(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := fmamCmd(t, dir, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("fmam %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func writeGrid(t *testing.T, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "tiny.yaml")
	if err := os.WriteFile(p, []byte(tinyGrid), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// serialGather runs the grid in one process and returns its gathered
// table (Markdown, CSV).
func serialGather(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	g := writeGrid(t, dir)
	out := runFmam(t, dir, "sweep", "--grid", g, "--dir", "serial")
	if strings.Count(out, "teacher trained") != 2 || strings.Count(out, "student bottleneck trained") != 4 || strings.Count(out, "control (L_o only) trained") != 2 {
		t.Errorf("serial sweep: want 2 teachers, 4 students and 2 controls (one per teacher) trained:\n%s", out)
	}
	runFmam(t, dir, "sweep", "gather", "--dir", "serial")
	return readGather(t, filepath.Join(dir, "serial"))
}

func readGather(t *testing.T, dir string) (string, string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "gather.md"))
	if err != nil {
		t.Fatal(err)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "gather.csv"))
	if err != nil {
		t.Fatal(err)
	}
	return string(md), string(csv)
}

// Two shards at once on one sweep folder: each teacher and each student
// is trained once, status says complete, and the gathered table is the
// serial one.
func TestSweepShardsConcurrent(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	g := writeGrid(t, dir)
	runFmam(t, dir, "sweep", "plan", "--grid", g, "--dir", "sw")
	var outs [2]bytes.Buffer
	var cmds [2]*exec.Cmd
	for i := range cmds {
		cmds[i] = fmamCmd(t, dir, "sweep", "--dir", "sw", "--shard", []string{"0/2", "1/2"}[i])
		cmds[i].Stdout, cmds[i].Stderr = &outs[i], &outs[i]
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("shard %d/2: %v\n%s", i, err, outs[i].String())
		}
	}
	all := outs[0].String() + outs[1].String()
	if n := strings.Count(all, "teacher trained"); n != 2 {
		t.Errorf("%d teacher stages trained over both shards, want 2 (one per seed):\n%s", n, all)
	}
	if n := strings.Count(all, "student bottleneck trained"); n != 4 {
		t.Errorf("%d student stages trained, want 4:\n%s", n, all)
	}
	if n := strings.Count(all, "control (L_o only) trained"); n != 2 {
		t.Errorf("%d control stages trained, want 2 (one per teacher):\n%s", n, all)
	}
	t.Logf("shards waited for a held teacher %d times", strings.Count(all, "waiting: another process holds this folder"))
	st := runFmam(t, dir, "sweep", "status", "--dir", "sw")
	if !strings.Contains(st, "4 units: 4 done, 0 running, 0 failed, 0 pending") || !strings.Contains(st, "complete") {
		t.Errorf("status after both shards:\n%s", st)
	}
	runFmam(t, dir, "sweep", "gather", "--dir", "sw")
	md, csv := readGather(t, filepath.Join(dir, "sw"))
	smd, scsv := serialGather(t)
	if md != smd || csv != scsv {
		t.Errorf("sharded gather differs from the serial one:\n%s\nserial:\n%s", md, smd)
	}
	// A rerun finds every unit done and trains nothing.
	out := runFmam(t, dir, "sweep", "--dir", "sw")
	if strings.Contains(out, "teacher trained") || strings.Contains(out, "bottleneck trained") || !strings.Contains(out, "unit already done") {
		t.Errorf("rerun trained again:\n%s", out)
	}
}

func needSlurm(t *testing.T) {
	t.Helper()
	out, err := exec.Command("sinfo", "-h", "-o", "%T").Output()
	state := strings.TrimSpace(string(out))
	if err != nil || !(strings.HasPrefix(state, "idle") || strings.HasPrefix(state, "mix") || strings.HasPrefix(state, "alloc")) {
		sharedtest.Missing(t, sharedtest.Slurm, "no Slurm cluster answering sinfo (state %q, %v); scripts/slurm-up.sh starts one", state, err)
	}
}

// The grid as a Slurm array with a gather job after it: it completes, and
// the table is the one the same grid gives run serially.
func TestSweepSlurm(t *testing.T) {
	needORT(t)
	needSlurm(t)
	dir := t.TempDir()
	g := writeGrid(t, dir)
	t0 := time.Now()
	out := runFmam(t, dir, "sweep", "slurm", "--grid", g, "--dir", "sw", "--cpus", "1", "--submit")
	var array, gather string
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "array job ") {
			f := strings.Fields(line)
			array, gather = f[2], f[len(f)-1]
		}
	}
	if array == "" || gather == "" {
		t.Fatalf("no job ids in:\n%s", out)
	}
	sw := filepath.Join(dir, "sw")
	deadline := time.Now().Add(5 * time.Minute)
	for {
		q, _ := exec.Command("squeue", "-h", "-j", array+","+gather, "-o", "%i %T %r").Output()
		if strings.TrimSpace(string(q)) == "" {
			break
		}
		if strings.Contains(string(q), "DependencyNeverSatisfied") || time.Now().After(deadline) {
			exec.Command("scancel", array, gather).Run()
			logs, _ := exec.Command("sh", "-c", "tail -n 20 "+filepath.Join(sw, "slurm", "logs")+"/*").CombinedOutput()
			t.Fatalf("Slurm jobs did not finish in time or failed:\n%s\n%s", q, logs)
		}
		time.Sleep(time.Second)
	}
	t.Logf("Slurm array of 4 units and gather: %.1f s from submission to the gathered table", time.Since(t0).Seconds())
	if _, err := os.Stat(filepath.Join(sw, "gather.md")); err != nil {
		// Slurm cancels the gather job when a unit fails, so the queue
		// empties without a DependencyNeverSatisfied to see: show why.
		logs, _ := exec.Command("sh", "-c", "tail -n 30 "+filepath.Join(sw, "slurm", "logs")+"/*").CombinedOutput()
		t.Fatalf("no gathered table after the array: %v\n%s", err, logs)
	}
	md, csv := readGather(t, sw)
	if st := runFmam(t, dir, "sweep", "status", "--dir", "sw"); !strings.Contains(st, "complete") {
		t.Errorf("status after the array:\n%s", st)
	}
	t1 := time.Now()
	smd, scsv := serialGather(t)
	t.Logf("the same grid serially in one process: %.1f s", time.Since(t1).Seconds())
	if md != smd || csv != scsv {
		t.Errorf("Slurm gather differs from the serial one:\n%s\nserial:\n%s", md, smd)
	}
}
