package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/mnad"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/ort"
)

// openLogged is open with the run folder given and the log kept.
func openLogged(t *testing.T, yaml, dir string) (*experiment.Env, *bytes.Buffer) {
	t.Helper()
	gradcheck.Runtime(t)
	lib, _ := ort.FindLibrary("", "")
	cfg, err := config.Load("", []byte(yaml), "", map[string]any{"ort_lib": lib, "device": "cpu", "threads": 2})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	e, err := experiment.Open(cfg, dir, lib, slog.New(slog.NewTextHandler(&buf, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, &buf
}

const teacherYAML = `
name: %NAME%
task: video
data: {kind: synth-video, root: %ROOT%, size: 32, frames: 4, channels: 1, workers: 2}
model: {arch: mnad, width: 0.0625, %TEACHER% taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: %TSTEPS%, student_steps: %SSTEPS%, lr: 0.002}
eval: {batch: 8, pictures: 1}
`

func teacherConfig(name, root, teacher string, tsteps, ssteps string) string {
	return strings.NewReplacer("%NAME%", name, "%ROOT%", root, "%TEACHER%", teacher, "%TSTEPS%", tsteps, "%SSTEPS%", ssteps).Replace(teacherYAML)
}

// A teacher scored alone gives the teacher column of a full run: the run's
// own trained teacher with EvaluateTeacher (eval --teacher-only), the same
// teacher imported as an ONNX file (through a link) by a run with no
// student, and the student of a run that uses it in place through
// model.teacher_run. A run with no student and an untrained teacher logs
// no NaN and writes a summary without losses.
func TestTeacherAlone(t *testing.T) {
	ctx := context.Background()
	tmp := t.TempDir()
	data := filepath.Join(tmp, "synth-video")
	full, _ := openLogged(t, teacherConfig("full", data, "", "12", "12"), filepath.Join(tmp, "full"))
	if err := full.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	fe := evalVideo(t, full)
	teacherAUC := fe.Video[0].MicroAUC
	t.Logf("full run: teacher frame micro AUC %.6f, student fused %.6f, %d frames", teacherAUC, fe.Video[3].MicroAUC, fe.Frames)
	if h := readCSV(t, filepath.Join(full.RunDir(), "student", "teacher_scores.csv"))[0]; strings.Join(h, ",") != "id,video,frame,label,s_o,s_fea_student" {
		t.Errorf("student stage's teacher_scores.csv header %v", h)
	}

	// The run's own teacher, alone.
	own, err := full.EvaluateTeacher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkTeacherOnly(t, own, filepath.Join(full.RunDir(), "teacher"), teacherAUC, fe.Frames)

	// The same teacher as an imported file, reached through a link, in a
	// run with no student.
	link := filepath.Join(tmp, "exported.onnx")
	if err := os.Symlink(filepath.Join(full.RunDir(), "teacher", "teacher.onnx"), link); err != nil {
		t.Fatal(err)
	}
	imp, logs := openLogged(t, teacherConfig("imported", data, "teacher: "+link+",", "300", "0"), filepath.Join(tmp, "imported"))
	if err := imp.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	iev, err := imp.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkTeacherOnly(t, iev, filepath.Join(imp.RunDir(), "teacher"), teacherAUC, fe.Frames)
	if _, err := os.Stat(filepath.Join(imp.RunDir(), "student")); !os.IsNotExist(err) {
		t.Errorf("a run with student_steps 0 has a student folder (stat: %v)", err)
	}
	y, _ := os.ReadFile(filepath.Join(imp.RunDir(), "config.yaml"))
	if strings.Contains(string(y), "width:") || strings.Contains(string(y), "teacher_steps:") {
		t.Errorf("config.yaml of an imported-teacher run records the unused width or teacher_steps:\n%s", y)
	}
	if strings.Contains(logs.String(), "NaN") {
		t.Errorf("log holds NaN:\n%s", logs)
	}
	if _, err := imp.Sweep(ctx, "0:1:0.5"); err == nil || !strings.Contains(err.Error(), "train.student_steps is 0") {
		t.Errorf("sweep without a student: %v", err)
	}

	// A student of the full run's teacher, used in place.
	before, _ := os.Stat(filepath.Join(full.RunDir(), "teacher", "teacher.onnx"))
	reuse, logs := openLogged(t, teacherConfig("reuse", data, "teacher_run: "+full.RunDir()+",", "300", "6"), filepath.Join(tmp, "reuse"))
	if err := reuse.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(reuse.RunDir(), "teacher")); !os.IsNotExist(err) {
		t.Errorf("a run with model.teacher_run has a teacher folder before eval (stat: %v)", err)
	}
	after, _ := os.Stat(filepath.Join(full.RunDir(), "teacher", "teacher.onnx"))
	if !after.ModTime().Equal(before.ModTime()) {
		t.Error("model.teacher_run rewrote the other run's teacher")
	}
	if !strings.Contains(logs.String(), "using the teacher of another run") {
		t.Errorf("log does not say the teacher is reused:\n%s", logs)
	}
	rev := evalVideo(t, reuse)
	if got := rev.Video[0].MicroAUC; math.Abs(got-teacherAUC) > 1e-12 {
		t.Errorf("model.teacher_run: teacher AUC %v, the teacher's run %v", got, teacherAUC)
	}

	// An untrained teacher and no student.
	zero, logs := openLogged(t, teacherConfig("zero", data, "", "0", "0"), filepath.Join(tmp, "zero"))
	if err := zero.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if _, err := zero.Evaluate(ctx); err != nil {
		t.Fatal(err)
	}
	var sum map[string]any
	b, err := os.ReadFile(filepath.Join(zero.RunDir(), "teacher", "summary.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sum); err != nil {
		t.Fatal(err)
	}
	if _, ok := sum["first_loss"]; ok || sum["trained_steps"] != 0.0 {
		t.Errorf("summary of a 0-step teacher: %s", b)
	}
	if strings.Contains(logs.String(), "NaN") || !strings.Contains(logs.String(), "no step run") {
		t.Errorf("log of a 0-step teacher:\n%s", logs)
	}
}

// checkTeacherOnly checks a teacher-only evaluation: one row, the given
// AUC, its files in the teacher stage folder.
func checkTeacherOnly(t *testing.T, ev *experiment.Evaluation, dir string, auc float64, frames int) {
	t.Helper()
	if len(ev.Units) != 1 || len(ev.Units[0].Video) != 1 {
		t.Fatalf("teacher-only evaluation %+v: want one unit with one row", ev.Units)
	}
	u := ev.Units[0]
	if got := u.Video[0].MicroAUC; math.Abs(got-auc) > 1e-12 || u.Frames != frames {
		t.Errorf("%s: teacher alone gives AUC %v over %d frames; the full run's teacher column %v over %d", dir, got, u.Frames, auc, frames)
	}
	if ev.Table != filepath.Join(dir, "results.md") {
		t.Errorf("table %s, want %s/results.md", ev.Table, dir)
	}
	for _, f := range []string{"teacher_eval.onnx", "teacher_scores.csv", "results.csv", "results.json", "roc.png"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	if h := readCSV(t, filepath.Join(dir, "teacher_scores.csv"))[0]; strings.Join(h, ",") != "id,video,frame,label,s_o" {
		t.Errorf("teacher-only scores header %v", h)
	}
	md, _ := os.ReadFile(ev.Table)
	if !strings.Contains(string(md), "teacher alone") || !strings.Contains(string(md), "MNAD (teacher)") {
		t.Errorf("table:\n%s", md)
	}
}

// An imported teacher is checked against the config before anything
// trains: its input shape (the error names data.channels or data.size and
// the file) and, for teachers fmam exported, the input format it was
// trained on (data.range, data.mean).
func TestImportedTeacherInputChecks(t *testing.T) {
	gradcheck.Runtime(t)
	base := teacherConfig("exp", "", "", "1", "1")
	cfg, err := config.Load("", []byte(base), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	g, err := method.TeacherInference(baseline.Spec(mnad.New(), cfg, cfg.Model.Taps), 1)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "t.onnx")
	if err := g.Save(path); err != nil {
		t.Fatal(err)
	}
	imported := strings.Replace(base, "width: 0.0625,", "width: 0.0625, teacher: "+path+",", 1)
	cases := []struct{ from, to, want string }{
		{"channels: 1", "channels: 3", "teacher " + path + ` expects input "frames" of shape [4 4 32 32]: data.channels 3 x data.frames 4 gives 12 input channels, the teacher takes 4; with data.frames 4 that is data.channels: 1`},
		{"size: 32", "size: 64", "data.size 64: the teacher takes [32 32] images (set data.size: 32)"},
		{"channels: 1,", `channels: 1, range: "0,1",`, "teacher " + path + ": data.range: the teacher was trained with -1,1, the config gives 0,1"},
		{"channels: 1,", `channels: 1, mean: [0.5], std: [0.25],`, "data.mean: the teacher was trained with none, the config gives 0.5; data.std: the teacher was trained with none, the config gives 0.25"},
		{"", "", ""},
	}
	for _, c := range cases {
		y := strings.Replace(imported, c.from, c.to, 1)
		e, _ := openLogged(t, y, t.TempDir())
		err := e.CheckTaps(context.Background(), [][]string{{"bottleneck"}})
		if c.want == "" {
			if err != nil {
				t.Errorf("matching teacher: %v", err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v\nwant one containing %q", c.to, err, c.want)
		}
	}
}

// A teacher run is refused when a key its teacher depends on differs,
// naming the key and both values, and when it does not hold a teacher fmam
// trained.
func TestCheckTeacherRun(t *testing.T) {
	tmp := t.TempDir()
	write := func(name, yaml string) string {
		cfg, err := config.Load("", []byte(yaml), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(tmp, name)
		os.MkdirAll(dir, 0o755)
		y, _ := cfg.YAML()
		os.WriteFile(filepath.Join(dir, "config.yaml"), y, 0o644)
		return dir
	}
	base := teacherConfig("t", "", "", "1", "1")
	dir := write("teacher", base)
	imported := write("imported", strings.Replace(base, "width: 0.0625,", "width: 0.0625, teacher: x.onnx,", 1))
	x, err := filepath.Abs("x.onnx") // an embedded config's paths resolve against the working directory
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		from, to, run, want string
	}{
		{"", "", dir, ""},
		{"student_steps: 1", "student_steps: 50", dir, ""}, // the student's settings are free
		{"width: 0.0625", "width: 0.125", dir, "model.width is 0.125 here but 0.0625 in " + filepath.Join(dir, "config.yaml")},
		{"channels: 1", "channels: 3", dir, "data.channels is 3 here but 1 in"},
		{"frames: 4", "frames: 2", dir, "data.frames is 2 here but 4 in"},
		{"size: 32", "size: 64", dir, "data.size is 64 here but 32 in"},
		{"channels: 1,", `channels: 1, range: "0,255",`, dir, "data.range is 0,255 here but -1,1 in"},
		{"width: 0.0625,", "width: 0.0625, memory: true,", dir, "model.memory is true here but false in"},
		{"", "", imported, "imports its teacher (model.teacher " + x + " there): set model.teacher: " + x + " instead"},
		{"", "", filepath.Join(tmp, "none"), "want a run folder written by 'fmam train'"},
	}
	for _, c := range cases {
		cfg, err := config.Load("", []byte(strings.Replace(base, c.from, c.to, 1)), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		err = experiment.CheckTeacherRun(cfg, c.run)
		if c.want == "" {
			if err != nil {
				t.Errorf("%s: %v", c.to, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v\nwant one containing %q", c.to, err, c.want)
		}
	}
}
