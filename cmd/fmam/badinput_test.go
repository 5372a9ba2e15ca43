package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tinyRunEnv makes the embedded demo's stages two steps long.
var tinyRunEnv = map[string]string{
	"FMAM_TRAIN_TEACHER_STEPS": "2", "FMAM_TRAIN_STUDENT_STEPS": "2",
	"FMAM_THREADS": "1", "FMAM_EVAL_PICTURES": "0",
}

// The bad inputs users make, one row per class: each command fails with a
// message that names the file, key or variable, and leaves every file of a
// good run folder as it was (it writes no wrong result over a right one).
// The good run is trained once; rows that damage a file of it work on a
// copy, whose other files must stay as they were too.
func TestBadInputs(t *testing.T) {
	needORT(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	t.Run("good run", func(t *testing.T) {
		for k, v := range tinyRunEnv {
			t.Setenv(k, v)
		}
		if out, err := run(t, "run", "--run", good, "--device", "cpu"); err != nil {
			t.Fatalf("fmam run: %v\n%s", err, out)
		}
	})
	if t.Failed() {
		return
	}
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	// A copy of the run's data with one test frame that is not an image.
	data := filepath.Join(dir, "corrupt-data")
	copyTree(t, filepath.Join(good, "data", "synth-video"), data)
	write("corrupt-data/testing/frames/01/010.png", "not a png")
	// Another with one training frame that is not an image: training
	// samples clips at random, so only the check before training is sure
	// to read it.
	trainData := filepath.Join(dir, "corrupt-train")
	copyTree(t, filepath.Join(good, "data", "synth-video"), trainData)
	write("corrupt-train/training/frames/02/007.png", "not a png")
	goodCfg, err := os.ReadFile(filepath.Join(good, "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	teacher := filepath.Join(good, "teacher", "teacher.onnx")
	b, err := os.ReadFile(teacher)
	if err != nil {
		t.Fatal(err)
	}
	truncated := write("truncated.onnx", string(b[:len(b)/3]))
	foreign := filepath.Join(good, "student", "model.onnx") // the student's evaluation graph

	type row struct {
		name string
		// args run fmam; "RUN" is replaced by the run folder the row works
		// on: the good run, or a damaged copy of it (damage set); in want
		// too.
		args []string
		env  map[string]string
		// tiny adds tinyRunEnv to env.
		tiny bool
		// damage, when set, edits a copy of the good run before the
		// command.
		damage func(t *testing.T, run string)
		// unprivileged runs the command as an unprivileged user when the
		// test runs as root, whom file permissions do not bind.
		unprivileged bool
		want         []string
	}
	newRun := filepath.Join(dir, "new-run") // config errors must not create it
	config := func(name, text string) []string {
		return []string{"train", "--config", write(name, text), "--run", newRun, "--device", "cpu"}
	}
	rows := []row{
		{name: "missing data folder", args: config("missing.yaml", "name: t\ndata: {kind: frames, root: "+filepath.Join(dir, "no-such-data")+"}\n"),
			want: []string{"data.root", "no-such-data"}},
		{name: "corrupt test image", args: []string{"eval", "--run", "RUN"}, damage: func(t *testing.T, run string) {
			setConfig(t, run, "root: \"\"", "root: "+data, 1)
			// Without scores eval scores the test set; the data check reads every
			// frame first.
			if err := os.Remove(filepath.Join(run, "student", "scores.csv")); err != nil {
				t.Fatal(err)
			}
		}, want: []string{"data check", "corrupt-data/testing/frames/01/010.png", "not a readable image"}},
		{name: "corrupt training image", args: config("corrupt-train.yaml", strings.Replace(string(goodCfg), "root: \"\"", "root: "+trainData, 1)), tiny: true,
			want: []string{"data check", "corrupt-train/training/frames/02/007.png", "not a readable image"}},
		{name: "size beyond the machine's memory", args: config("huge.yaml", "name: t\ndata: {size: 1000000}\n"),
			want: []string{"data.size 1000000", "lower data.size"}},
		{name: "bench size the network cannot pool", args: []string{"bench", "--model", "mnad", "--size", "100"},
			want: []string{"--size 100", "multiple of 16"}},
		{name: "bad YAML", args: config("bad.yaml", "name: t\ndata: [kind\n"), want: []string{"bad.yaml", "did not find expected"}},
		{name: "unknown key", args: config("unknown.yaml", "name: t\ntrian: {lr: 1}\n"), want: []string{"unknown.yaml", "unknown key trian"}},
		{name: "lambda out of range", args: config("lambda.yaml", "name: t\neval: {lambda: 2}\n"), want: []string{"lambda.yaml", "eval.lambda 2 must be in [0, 1]"}},
		{name: "negative steps", args: config("steps.yaml", "name: t\ntrain: {teacher_steps: -1}\n"), want: []string{"steps.yaml", "train.teacher_steps -1"}},
		{name: "eval --lambda out of range", args: []string{"eval", "--run", "RUN", "--lambda", "2"}, want: []string{"lambda 2"}},
		{name: "empty FMAM_ variable", args: []string{"eval", "--run", "RUN"}, env: map[string]string{"FMAM_TRAIN_TEACHER_STEPS": ""},
			want: []string{"FMAM_TRAIN_TEACHER_STEPS is set but empty"}},
		{name: "misspelt FMAM_ variable", args: []string{"eval", "--run", "RUN"}, env: map[string]string{"FMAM_TRAIN_TEACHER_STEP": "10"},
			want: []string{"FMAM_TRAIN_TEACHER_STEP names no config key", "FMAM_TRAIN_TEACHER_STEPS"}},
		{name: "non-numeric FMAM_ variable", args: []string{"eval", "--run", "RUN"}, env: map[string]string{"FMAM_TRAIN_LR": "abc"},
			want: []string{"FMAM_TRAIN_LR=abc", "train.lr"}},
		{name: "FMAM_ value out of range", args: []string{"eval", "--run", "RUN"}, env: map[string]string{"FMAM_EVAL_LAMBDA": "2"},
			want: []string{"FMAM_EVAL_LAMBDA=2", "eval.lambda"}},
		{name: "foreign ONNX as model.teacher", args: config("foreign.yaml", "name: t\nmodel: {teacher: "+foreign+"}\n"), tiny: true,
			want: []string{foreign, "inputs"}},
		{name: "truncated ONNX as model.teacher", args: config("truncated.yaml", "name: t\nmodel: {teacher: "+truncated+"}\n"), tiny: true,
			want: []string{truncated, "not a valid ONNX file"}},
		{name: "damaged checkpoint", args: []string{"train", "--run", "RUN", "--stage", "student", "--device", "cpu"}, tiny: true,
			damage: func(t *testing.T, run string) {
				p := filepath.Join(run, "student", "checkpoint.bin")
				b, err := os.ReadFile(p)
				if err != nil {
					t.Fatal(err)
				}
				b[len(b)/2] ^= 0x40
				writeFile(t, p, b)
				// The stage did not finish: train resumes from the checkpoint.
				if err := os.Remove(filepath.Join(run, "student", "model.onnx")); err != nil {
					t.Fatal(err)
				}
			}, want: []string{"student/checkpoint.bin is damaged"}},
		{name: "scores.csv without s_fea", args: []string{"eval", "--run", "RUN"}, damage: editScores("student/scores.csv", func(l []string) []string {
			for i := range l {
				l[i] = l[i][:strings.LastIndex(l[i], ",")]
			}
			return l
		}), want: []string{"student/scores.csv: missing column s_fea", "fmam eval --run"}},
		{name: "scores.csv with rows deleted", args: []string{"eval", "--run", "RUN"}, damage: editScores("student/scores.csv", func(l []string) []string {
			return append(l[:1], l[60:]...)
		}), want: []string{"student/scores.csv has 165 rows where the test set has 224 scored samples"}},
		{name: "scores.csv with shuffled ids", args: []string{"eval", "--run", "RUN"}, damage: editScores("student/scores.csv", func(l []string) []string {
			a, b := strings.SplitN(l[1], ",", 2), strings.SplitN(l[2], ",", 2)
			l[1], l[2] = b[0]+","+a[1], a[0]+","+b[1]
			return l
		}), want: []string{"student/scores.csv: row 1 has id"}},
		{name: "teacher scores of other samples", args: []string{"eval", "--run", "RUN"}, damage: editScores("student/teacher_scores.csv", func(l []string) []string {
			for i := 1; i < len(l); i++ {
				l[i] = strings.ReplaceAll(l[i], "01", "91")
			}
			return l
		}), want: []string{"student/teacher_scores.csv: row 1, id \"91/4\", is not a scored sample of the test set"}},
		{name: "control scores cut short", args: []string{"eval", "--run", "RUN"}, damage: editScores("control/scores.csv", func(l []string) []string {
			return l[:len(l)-1]
		}), want: []string{"control: ", "control/scores.csv has 223 rows"}},
		{name: "sweep-lambda on damaged scores", args: []string{"sweep-lambda", "--run", "RUN"}, damage: editScores("student/scores.csv", func(l []string) []string {
			return l[:100]
		}), want: []string{"sweep-lambda", "student/scores.csv has 99 rows"}},
		{name: "metrics on damaged scores", args: []string{"metrics", "--scores", "RUN/student/scores.csv"}, damage: editScores("student/scores.csv", func(l []string) []string {
			return l[:100]
		}), want: []string{"student/scores.csv has 99 rows"}},
		{name: "read-only run folder", args: []string{"eval", "--run", "RUN"}, unprivileged: true, damage: func(t *testing.T, run string) {
			// The scores are older than the model: eval must score again.
			old := filepath.Join(run, "student", "scores.csv")
			if err := os.Remove(old); err != nil {
				t.Fatal(err)
			}
			chmodTree(t, run, 0o555, 0o444)
			t.Cleanup(func() { chmodTree(t, run, 0o755, 0o644) })
			// The denial is of a write inside the run folder (its lock, taken
			// after the data check read every frame), not of a read.
		}, want: []string{"open RUN/student/.lock: permission denied"}},
	}
	for i, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			for k, v := range r.env {
				t.Setenv(k, v)
			}
			if r.tiny {
				for k, v := range tinyRunEnv {
					t.Setenv(k, v)
				}
			}
			target := good
			if r.damage != nil {
				target = filepath.Join(dir, "copy-"+strings.ReplaceAll(r.name, " ", "-"))
				copyTree(t, good, target)
				r.damage(t, target)
			}
			before := hashTree(t, target)
			args := make([]string, len(r.args))
			for j, a := range r.args {
				args[j] = strings.Replace(a, "RUN", target, 1)
			}
			var out string
			var err error
			if r.unprivileged && os.Geteuid() == 0 {
				out, err = runUnprivileged(t, []string{target}, args...)
			} else {
				out, err = run(t, args...)
			}
			for _, w := range r.want {
				w = strings.Replace(w, "RUN", target, 1)
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("row %d: fmam %v: error %v, want one with %q\n%s", i, args, err, w, out)
				}
			}
			compareTrees(t, target, before, hashTree(t, target))
			if _, err := os.Stat(newRun); !os.IsNotExist(err) {
				t.Errorf("fmam %v created %s", args, newRun)
				os.RemoveAll(newRun)
			}
		})
	}
}

// editScores returns a damage that edits the lines of a raw scores file
// of the run.
func editScores(rel string, edit func(lines []string) []string) func(*testing.T, string) {
	return func(t *testing.T, run string) {
		p := filepath.Join(run, rel)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		lines := edit(strings.Split(strings.TrimSuffix(string(b), "\n"), "\n"))
		writeFile(t, p, []byte(strings.Join(lines, "\n")+"\n"))
	}
}

// setConfig replaces old with new in the run's config.yaml (n times).
func setConfig(t *testing.T, run, old, new string, n int) {
	t.Helper()
	p := filepath.Join(run, "config.yaml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s has no %q", p, old)
	}
	writeFile(t, p, []byte(strings.Replace(string(b), old, new, n)))
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			return err
		}
		// Keep modification times: eval reuses scores newer than models.
		return os.Chtimes(dst, info.ModTime(), info.ModTime())
	})
	if err != nil {
		t.Fatal(err)
	}
}

func chmodTree(t *testing.T, root string, dirMode, fileMode fs.FileMode) {
	t.Helper()
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(p, dirMode)
		}
		return os.Chmod(p, fileMode)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// hashTree is the SHA-256 of every file under root, by relative path.
func hashTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		sum := sha256.Sum256(b)
		out[rel] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func compareTrees(t *testing.T, root string, before, after map[string]string) {
	t.Helper()
	for p, h := range before {
		switch a, ok := after[p]; {
		case !ok:
			t.Errorf("%s: removed", filepath.Join(root, p))
		case a != h:
			t.Errorf("%s: changed", filepath.Join(root, p))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			t.Errorf("%s: new file", filepath.Join(root, p))
		}
	}
}
