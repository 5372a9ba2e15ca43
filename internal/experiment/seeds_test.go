package experiment_test

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/compare"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/sharedtest"
	"github.com/fmam/fmam/internal/synth"
)

// A two-seed video run: every stage runs once per seed in seed-<k>/, the
// seeds share the generated data, and the table over seeds agrees with
// AUCs recomputed here from each seed's saved raw scores, averaged by
// hand. A second Train trains nothing.
func TestTwoSeedRun(t *testing.T) {
	e := open(t, videoYAML, map[string]any{"train.seeds": []uint64{3, 4}, "train.teacher_steps": 6, "train.student_steps": 6})
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	root := e.RunDir()
	for _, f := range []string{"seed-3/config.yaml", "seed-3/teacher/teacher.onnx", "seed-4/student/model.onnx", "data/synth-video/labels.json"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Errorf("missing %s", f)
		}
	}
	for _, f := range []string{"teacher", "student", "seed-3/data"} {
		if _, err := os.Stat(filepath.Join(root, f)); err == nil {
			t.Errorf("%s exists: a multi-seed run trains only in its seed folders and keeps one copy of the data", f)
		}
	}
	t3, _ := os.ReadFile(filepath.Join(root, "seed-3/teacher/teacher.onnx"))
	t4, _ := os.ReadFile(filepath.Join(root, "seed-4/teacher/teacher.onnx"))
	if slices.Equal(t3, t4) {
		t.Error("both seeds trained the same teacher: is the seed used?")
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Seeds) != 2 || ev.Seeds[0].Seed != 3 || ev.Table != filepath.Join(root, "results.md") {
		t.Fatalf("evaluation: %d seeds, table %s", len(ev.Seeds), ev.Table)
	}

	// Per seed, from the CSVs alone: the teacher's AUC on S_o (a low PSNR
	// is anomalous) and the student's at lambda 0.5 on the fused score.
	const lam = 0.5
	var teacher, fused []float64
	for _, k := range []string{"seed-3", "seed-4"} {
		tv := videosFromCSV(t, filepath.Join(root, k, "student", "teacher_scores.csv"), func(so, _ float64) float64 { return -so })
		r, err := metrics.FrameAUC(tv, metrics.VideoOptions{})
		if err != nil {
			t.Fatal(err)
		}
		teacher = append(teacher, r.Micro)
		so := videosFromCSV(t, filepath.Join(root, k, "student", "scores.csv"), func(so, _ float64) float64 { return -so })
		sf := videosFromCSV(t, filepath.Join(root, k, "student", "scores.csv"), func(_, sf float64) float64 { return sf })
		for i := range so {
			a, b := minMax(so[i].Scores), minMax(sf[i].Scores)
			for j := range a {
				so[i].Scores[j] = (1-lam)*a[j] + lam*b[j]
			}
		}
		r, err = metrics.FrameAUC(so, metrics.VideoOptions{SkipNormalize: true})
		if err != nil {
			t.Fatal(err)
		}
		fused = append(fused, r.Micro)
	}
	if teacher[0] == teacher[1] {
		t.Errorf("both seeds' teachers score %v", teacher[0])
	}
	// Two values: mean (a+b)/2, sample deviation |a-b|/sqrt(2).
	mean := func(x []float64) float64 { return (x[0] + x[1]) / 2 }
	std := func(x []float64) float64 { return math.Abs(x[0]-x[1]) / math.Sqrt2 }
	diff := []float64{fused[0] - teacher[0], fused[1] - teacher[1]}

	rows := resultRows(t, filepath.Join(root, "results.json"))
	tr, fr := rows["MNAD (teacher)"], rows["MNAD+FM+SCA (λ=0.5)"]
	if tr == nil || fr == nil {
		t.Fatalf("results.json rows %v lack the teacher or the fused student", rows)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"teacher mean", tr["micro AUC mean"], 100 * mean(teacher)},
		{"teacher std", tr["micro AUC std"], 100 * std(teacher)},
		{"teacher n", tr["micro AUC n"], 2.0},
		{"student mean", fr["micro AUC mean"], 100 * mean(fused)},
		{"student std", fr["micro AUC std"], 100 * std(fused)},
		{"difference mean", fr["Δ micro AUC mean"], 100 * mean(diff)},
		{"difference std", fr["Δ micro AUC std"], 100 * std(diff)},
	}
	for _, c := range checks {
		g, ok := c.got.(float64)
		if !ok || math.Abs(g-c.want.(float64)) > 1e-9 {
			t.Errorf("%s: table %v, recomputed %v", c.name, c.got, c.want)
		}
	}
	// t = mean/(sd/sqrt(2)) on one degree of freedom, where Student's t is
	// Cauchy: p = 1 - 2 atan(|t|)/pi.
	tstat := mean(diff) / (std(diff) / math.Sqrt2)
	if p, ok := fr["Δ micro AUC p"].(float64); !ok || math.Abs(p-(1-2*math.Atan(math.Abs(tstat))/math.Pi)) > 1e-9 {
		t.Errorf("paired p %v, want that of t = %v on 1 df", fr["Δ micro AUC p"], tstat)
	}
	// The control's rows are in the table over seeds, compared with the
	// teacher; and the control of seed 3 is not seed 4's teacher (a
	// student once drew from seed k + 1, the next teacher's streams: with
	// equal steps the two gave identical scores).
	if cr := rows["MNAD control (L_o only) (λ=0.5)"]; cr == nil || cr["Δ micro AUC mean"] == nil {
		t.Errorf("results.json rows %v lack the control with its difference", rows)
	}
	ctl3 := readCSV(t, filepath.Join(root, "seed-3", "control", "scores.csv"))
	tch4 := readCSV(t, filepath.Join(root, "seed-4", "student", "teacher_scores.csv"))
	if len(ctl3) != len(tch4) || len(ctl3) < 2 {
		t.Fatalf("control scores %d rows, teacher scores %d", len(ctl3), len(tch4))
	}
	differ := 0
	for i := 1; i < len(ctl3); i++ {
		if ctl3[i][4] != tch4[i][4] {
			differ++
		}
	}
	if differ == 0 {
		t.Error("the control of seed 3 scores every frame as the teacher of seed 4: they share random streams")
	}
	if tr["Δ micro AUC mean"] != nil {
		t.Errorf("the teacher row has a difference %v", tr["Δ micro AUC mean"])
	}

	// compare over the run reads the same records and agrees.
	c, err := compare.Compare(ctx, []string{root})
	if err != nil {
		t.Fatal(err)
	}
	mt, err := c.Machine()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(mt.Columns, "micro AUC mean")
	found := false
	for _, r := range mt.Rows {
		if r[slices.Index(mt.Columns, "Method")].Text == "MNAD+FM+SCA (λ=0.5)" {
			found = math.Abs(r[col].Value-100*mean(fused)) < 1e-9
		}
	}
	if !c.Seeds || !found {
		t.Errorf("compare over the two-seed run: seeds %v, fused mean found %v in %v", c.Seeds, found, mt.Rows)
	}

	st, _ := os.Stat(filepath.Join(root, "seed-3/student/model.onnx"))
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if st2, _ := os.Stat(filepath.Join(root, "seed-3/student/model.onnx")); !st2.ModTime().Equal(st.ModTime()) {
		t.Error("a second Train retrained seed 3's student")
	}
	// The ablation trains one more student per seed and tabulates the
	// teacher once, then each tap set's headline row over both seeds, then
	// the control's rows once.
	if _, err := e.Ablate(ctx, [][]string{{"bottleneck"}, {"encoder"}}); err != nil {
		t.Fatal(err)
	}
	ab := readCSV(t, filepath.Join(root, "ablation.csv"))
	if len(ab) != 6 || ab[1][0] != "-" || ab[2][0] != "bottleneck" || ab[3][0] != "encoder" || ab[3][slices.Index(ab[0], "micro AUC n")] != "2" ||
		ab[4][1] != "MNAD control (L_o only) S_o (λ=0)" || ab[5][1] != "MNAD control (L_o only) (λ=0.5)" {
		t.Errorf("ablation over seeds:\n%v", ab)
	}
	if got, _ := strconv.ParseFloat(ab[2][slices.Index(ab[0], "micro AUC mean")], 64); math.Abs(got-100*mean(fused)) > 1e-9 {
		t.Errorf("ablation's bottleneck row %v, the results' fused student %v", got, 100*mean(fused))
	}
	sw, err := e.Sweep(ctx, "0:1:0.5")
	if err != nil {
		t.Fatal(err)
	}
	if len(sw.Points) != 1 || len(sw.Points[0]) != 3 || math.Abs(100*sw.Points[0][1].MicroAUC-100*mean(fused)) > 1e-9 {
		t.Errorf("sweep over seeds %v: want 3 points, lambda 0.5 at the mean %v", sw.Points, mean(fused))
	}
}

// videosFromCSV reads a raw scores CSV (id,video,frame,label,s_o,s_fea)
// into one VideoScores per video, in file order, scored by f.
func videosFromCSV(t *testing.T, path string, f func(so, sfea float64) float64) []metrics.VideoScores {
	t.Helper()
	rows := readCSV(t, path)
	var out []metrics.VideoScores
	index := map[string]int{}
	for _, r := range rows[1:] {
		i, ok := index[r[1]]
		if !ok {
			i = len(out)
			index[r[1]] = i
			out = append(out, metrics.VideoScores{Name: r[1]})
		}
		so, err1 := strconv.ParseFloat(r[4], 64)
		sf, err2 := strconv.ParseFloat(r[5], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: row %v", path, r)
		}
		out[i].Scores = append(out[i].Scores, f(so, sf))
		out[i].Labels = append(out[i].Labels, r[3] == "1")
	}
	return out
}

func minMax(x []float64) []float64 {
	lo, hi := slices.Min(x), slices.Max(x)
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = (v - lo) / (hi - lo)
	}
	return out
}

// resultRows reads a table's JSON rows keyed by their Method.
func resultRows(t *testing.T, path string) map[string]map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, r := range doc.Rows {
		m, _ := r["Method"].(string)
		out[m] = r
	}
	return out
}

// A two-seed image run of two generated categories: the table over seeds
// has each category's teacher and student and their mean over categories,
// whose per-seed values are the means of the seed folders' rows.
func TestTwoSeedImageRun(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	// A small set keeps the four evaluations quick.
	data := filepath.Join(t.TempDir(), "mvtec")
	if _, err := synth.GenerateMVTec(context.Background(), synth.MVTecOptions{Out: data, Size: 64, Train: 4, TestGood: 3, TestDefect: 2}); err != nil {
		t.Fatal(err)
	}
	e := open(t, `
name: e2e-image-seeds
task: image
data: {kind: mvtec, root: `+data+`, size: 64, textures: `+tex+`}
model: {arch: draem, width: 0.0625, init: normal0.02, taps: [bottleneck], attention: {kind: ca, reduction: 2}}
train: {batch: 2, teacher_steps: 2, student_steps: 2, lr: 0.001, seeds: [1, 2]}
eval: {batch: 8, pictures: 0}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// I-AUROC of the student per seed, averaged over the two categories.
	var means []float64
	for _, s := range ev.Seeds {
		if len(s.Units) != 2 {
			t.Fatalf("seed %d: %d categories", s.Seed, len(s.Units))
		}
		means = append(means, (s.Units[0].Images[1].ImageAUROC+s.Units[1].Images[1].ImageAUROC)/2)
	}
	b, err := os.ReadFile(filepath.Join(e.RunDir(), "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, r := range doc.Rows {
		if r["Category"] == "mean" && r["Method"] == "DRAEM+CA" {
			got = append(got, r)
		}
	}
	want := 100 * (means[0] + means[1]) / 2
	// Teacher, student and control, in two categories and their mean.
	if len(doc.Rows) != 9 || len(got) != 1 || math.Abs(got[0]["I-AUROC mean"].(float64)-want) > 1e-9 {
		t.Fatalf("%d rows; the student's mean over categories %v, want I-AUROC mean %v", len(doc.Rows), got, want)
	}
	if v := got[0]["I-AUROC std"].(float64); math.Abs(v-100*math.Abs(means[0]-means[1])/math.Sqrt2) > 1e-9 {
		t.Errorf("I-AUROC std %v over the seeds' means %v", v, means)
	}

	// The sweep over seeds (the end of 'fmam run'): an image sweep has no
	// macro AUC, so its table has the image AUROC column alone, and each
	// point is the mean of the seeds' own sweeps.
	sw, err := e.Sweep(ctx, "0:1:0.5")
	if err != nil {
		t.Fatal(err)
	}
	if len(sw.Points) != 2 || len(sw.Units) != 2 || sw.Units[0] == "" || len(sw.Points[0]) != 3 {
		t.Fatalf("sweep over seeds: units %q, points %v", sw.Units, sw.Points)
	}
	var perSeed []float64
	for _, k := range []string{"seed-1", "seed-2"} {
		rows := readCSV(t, filepath.Join(e.RunDir(), k, sw.Units[1], "student", "lambda.csv"))
		v, err := strconv.ParseFloat(rows[3][1], 64)
		if len(rows) != 4 || rows[3][0] != "1" || err != nil {
			t.Fatalf("%s's own sweep of %s: %v", k, sw.Units[1], rows)
		}
		perSeed = append(perSeed, v/100)
	}
	if p := sw.Points[1][2]; math.Abs(p.MicroAUC-(perSeed[0]+perSeed[1])/2) > 1e-12 || !math.IsNaN(p.MacroAUC) {
		t.Errorf("%s at lambda %v: %v, want the mean of the seeds' %v and no macro AUC", sw.Units[1], p.Lambda, p, perSeed)
	}
	lam := readCSV(t, filepath.Join(e.RunDir(), "lambda.csv"))
	if len(lam) != 7 || slices.Index(lam[0], "image AUROC mean") < 0 || slices.ContainsFunc(lam[0], func(c string) bool { return strings.HasPrefix(c, "mean image AUROC") }) {
		t.Errorf("lambda.csv over seeds:\n%v", lam)
	}
}

// A multi-seed run without a student evaluates each seed's teacher in its
// seed folder (nothing is looked for in the run folder itself), and the
// teacher alone equals the teacher rows of EvaluateTeacher per seed.
func TestTwoSeedTeacherOnly(t *testing.T) {
	e := open(t, videoYAML, map[string]any{"train.seeds": []uint64{3, 4}, "train.teacher_steps": 4, "train.student_steps": 0})
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Seeds) != 2 || ev.Table != "" || len(ev.Tables()) != 2 {
		t.Fatalf("evaluation: %d seeds, table %q, tables %v; want one teacher table per seed", len(ev.Seeds), ev.Table, ev.Tables())
	}
	for i, k := range []string{"seed-3", "seed-4"} {
		want := filepath.Join(e.RunDir(), k, "teacher", "results.md")
		if got := ev.Seeds[i].Table; got != want {
			t.Errorf("seed %d table %s, want %s", ev.Seeds[i].Seed, got, want)
		}
		if _, err := os.Stat(filepath.Join(e.RunDir(), k, "teacher", "teacher_scores.csv")); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
}
