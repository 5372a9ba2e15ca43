package experiment

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/configs"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/results"
)

func videoEval(teacher, so, fea, fused float64) *baseline.Eval {
	return &baseline.Eval{Video: []results.VideoResult{
		{Method: "MNAD (teacher)", MicroAUC: teacher},
		{Method: "MNAD+FM+SCA S_o (λ=0)", MicroAUC: so},
		{Method: "MNAD+FM+SCA S_fea (λ=1)", MicroAUC: fea},
		{Method: "MNAD+FM+SCA (λ=0.5)", MicroAUC: fused},
	}}
}

// The summary's sentences follow the numbers: the best row, the reason
// (weak S_fea, complementary scores, or S_o alone), and the sweep's best.
func TestSummaryFollowsNumbers(t *testing.T) {
	sweep := []results.LambdaPoint{{Lambda: 0, MicroAUC: 0.876}, {Lambda: 0.5, MicroAUC: 0.817}, {Lambda: 1, MicroAUC: 0.358}}
	cases := []struct {
		name string
		ev   *baseline.Eval
		pts  []results.LambdaPoint
		want []string
	}{
		{"weak S_fea (the demo)", videoEval(0.919, 0.876, 0.358, 0.817), sweep, []string{
			"Best score: MNAD (teacher), frame micro AUC 91.9%",
			"S_fea is a weak signal on this data; its micro AUC 35.8% is below chance",
			"fused at λ=0.5 the score is 81.7%, -5.9 points from S_o alone",
			"4.3 points below the teacher's",
			"best is λ=0 (micro AUC 87.6%)",
		}},
		{"complementary (Ped2)", videoEval(0.836, 0.850, 0.844, 0.892), nil, []string{
			"Best score: MNAD+FM+SCA (λ=0.5), frame micro AUC 89.2%",
			"the fusion beats both (+4.2 points over S_o, +4.8 over S_fea)",
			"1.4 points above the teacher's",
		}},
		{"S_fea stronger", videoEval(0.70, 0.70, 0.80, 0.78), nil, []string{
			"Best score: MNAD+FM+SCA S_fea (λ=1), frame micro AUC 80.0%",
			"S_fea separates the anomalous frames better than the prediction error S_o (+10.0 points)",
		}},
		{"S_o alone", videoEval(0.80, 0.80, 0.70, 0.79), nil, []string{
			"the prediction error S_o carries the detection; S_fea (70.0%) adds little",
		}},
	}
	for _, c := range cases {
		got := strings.Join(Summary(c.ev, c.pts), "\n")
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: summary lacks %q:\n%s", c.name, w, got)
			}
		}
		if c.pts == nil && strings.Contains(got, "sweep") {
			t.Errorf("%s: summary mentions a sweep it was not given:\n%s", c.name, got)
		}
	}
	img := &baseline.Eval{Unit: "bottle", Images: []results.ImageResult{{Method: "DRAEM (teacher)", ImageAUROC: 0.9}, {Method: "DRAEM+CA", ImageAUROC: 0.95}}}
	got := strings.Join(Summary(img, []results.LambdaPoint{{Lambda: 0, MicroAUC: 0.95}, {Lambda: 0.5, MicroAUC: 0.97}}), "\n")
	for _, w := range []string{"Best image AUROC on bottle: DRAEM+CA, 95.0%", "λ=0.5 gives 97.0% (+2.0 points over S_o alone)"} {
		if !strings.Contains(got, w) {
			t.Errorf("image summary lacks %q:\n%s", w, got)
		}
	}
}

func TestNextVersion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ped2")
	next := func() string {
		t.Helper()
		v, err := NextVersion(dir)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := next(); v != dir {
		t.Errorf("no run yet: %s, want the folder itself", v)
	}
	// Each version is a run once it holds a config.yaml.
	for _, run := range []string{"", "v2"} {
		os.MkdirAll(filepath.Join(dir, run), 0o755)
		os.WriteFile(filepath.Join(dir, run, "config.yaml"), nil, 0o644)
		want := filepath.Join(dir, map[string]string{"": "v2", "v2": "v3"}[run])
		if v := next(); v != want {
			t.Errorf("after %q: next version %s, want %s", run, v, want)
		}
	}
}

// A long stage on the CPU suggests the config's cpu-small preset, unless
// it is in use, the config has none, or the stage runs on CUDA.
func TestLongHint(t *testing.T) {
	load := func(name, preset string) *config.Config {
		b, err := configs.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := config.Load("", b, preset, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if h := longHint(load("ped2", ""), ort.CPU); !strings.Contains(h, "--preset cpu-small") || !strings.Contains(h, "ped2-mnad-sca-cpu-small") {
		t.Errorf("full-scale ped2 on the CPU: hint %q", h)
	}
	for _, c := range []struct {
		name, preset string
		dev          ort.Device
	}{{"ped2", "cpu-small", ort.CPU}, {"ped2", "", ort.CUDA}, {"demo", "", ort.CPU}} {
		if h := longHint(load(c.name, c.preset), c.dev); h != "" {
			t.Errorf("%s preset %q on %s: hint %q, want none", c.name, c.preset, c.dev, h)
		}
	}
}

// With the control's rows after the student's, the summary still reads
// the student's rows and adds what mimicking changed against the control.
func TestSummaryWithControl(t *testing.T) {
	ev := videoEval(0.919, 0.876, 0.358, 0.817)
	ev.Video = append(ev.Video,
		results.VideoResult{Method: "MNAD control (L_o only) S_o (λ=0)", MicroAUC: 0.9},
		results.VideoResult{Method: "MNAD control (L_o only) (λ=0.5)", MicroAUC: 0.8})
	ev.Control = 2
	got := strings.Join(Summary(ev, nil), "\n")
	for _, w := range []string{"Best score: MNAD (teacher), frame micro AUC 91.9%", "Against the control (MNAD control (L_o only) (λ=0.5), 80.0%), the student that mimics scores +1.7 points."} {
		if !strings.Contains(got, w) {
			t.Errorf("summary lacks %q:\n%s", w, got)
		}
	}
}

// Jigsaw-VAD's S_o is a puzzle score, not a prediction error.
func TestSummaryNamesJigsawScore(t *testing.T) {
	ev := &baseline.Eval{Video: []results.VideoResult{
		{Method: "Jigsaw (teacher)", MicroAUC: 0.9},
		{Method: "Jigsaw+FM+SCA S_o (λ=0)", MicroAUC: 0.9},
		{Method: "Jigsaw+FM+SCA S_fea (λ=1)", MicroAUC: 0.7},
		{Method: "Jigsaw+FM+SCA (λ=0.5)", MicroAUC: 0.85},
	}}
	got := strings.Join(Summary(ev, nil), " ")
	if !strings.Contains(got, "the puzzle score S_o carries the detection") || strings.Contains(got, "prediction error") {
		t.Errorf("summary %q", got)
	}
}

// With AUCs per anomaly kind the summary gives each kind's numbers and
// says on which kinds fusing S_fea helps or hurts, from those numbers.
func TestSummaryPerKind(t *testing.T) {
	ev := videoEval(0.88, 0.87, 0.61, 0.79)
	kinds := [][]results.KindAUC{
		{{Kind: "fast", AUC: 0.95, Frames: 20}, {Kind: "look", AUC: 0.80, Frames: 12}},
		{{Kind: "fast", AUC: 0.96, Frames: 20}, {Kind: "look", AUC: 0.70, Frames: 12}},
		{{Kind: "fast", AUC: 0.60, Frames: 20}, {Kind: "look", AUC: 0.90, Frames: 12}},
		{{Kind: "fast", AUC: 0.90, Frames: 20}, {Kind: "look", AUC: 0.85, Frames: 12}},
	}
	for i := range ev.Video {
		ev.Video[i].Kinds = kinds[i]
	}
	got := strings.Join(Summary(ev, nil), "\n")
	for _, w := range []string{
		"fast (20 frames): teacher 95.0%; student S_o 96.0%, S_fea 60.0%, λ=0.5 90.0%.",
		"look (12 frames): teacher 80.0%; student S_o 70.0%, S_fea 90.0%, λ=0.5 85.0%.",
		"Fusing S_fea at λ=0.5 against S_o alone (points): helps on look (+15.0); hurts on fast (-6.0).",
		"S_fea alone beats S_o on look (90.0% vs 70.0%).",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("summary lacks %q:\n%s", w, got)
		}
	}
	for i := range ev.Video {
		ev.Video[i].Kinds = kinds[0]
	}
	got = strings.Join(Summary(ev, nil), "\n")
	for _, w := range []string{"changes no kind's AUC by 0.5 points or more", "S_fea alone beats S_o on no kind."} {
		if !strings.Contains(got, w) {
			t.Errorf("equal kinds: summary lacks %q:\n%s", w, got)
		}
	}
}
