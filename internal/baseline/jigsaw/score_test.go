package jigsaw_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline/jigsaw"
)

// gauss is the official smoothing weight at support value s (1..49),
// centred on 24 with sigma 20, written from evaluate.py's formula.
func gauss(s float64) float64 {
	return math.Exp(-0.5*math.Pow((s-24)/20, 2)) / (20 * math.Sqrt(2*math.Pi))
}

func TestGaussianSmoothImpulses(t *testing.T) {
	// An impulse at frame 30 of 60: out[i] = sum_k ext[i+k] w[k] with ext
	// = x shifted by 24, so only k = 54 - i contributes, weight w[54-i] =
	// gauss(55 - i). The peak lands on frame 31.
	x := make([]float64, 60)
	x[30] = 1
	out, err := jigsaw.GaussianSmooth(x)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range out {
		want := 0.0
		if k := 54 - i; k >= 0 && k <= 48 {
			want = gauss(float64(55 - i))
		}
		if math.Abs(v-want) > 1e-15 {
			t.Fatalf("impulse at 30: out[%d] = %v, want %v", i, v, want)
		}
	}
	// An impulse at frame 0 of 30 is also in the copied head (ext index
	// 0) but not in the copied tail (frames 6..29): out[0] = w[0] + w[24],
	// out[i] = w[24-i] for 0 < i <= 24.
	x = make([]float64, 30)
	x[0] = 1
	out, err = jigsaw.GaussianSmooth(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := gauss(1) + gauss(25); math.Abs(out[0]-want) > 1e-15 {
		t.Errorf("out[0] = %v, want %v", out[0], want)
	}
	if want := gauss(25 - 7); math.Abs(out[7]-want) > 1e-15 {
		t.Errorf("out[7] = %v, want %v", out[7], want)
	}
	if out[25] != 0 {
		t.Errorf("out[25] = %v, want 0", out[25])
	}
	if _, err := jigsaw.GaussianSmooth(make([]float64, 23)); err == nil {
		t.Error("23 frames: no error")
	}
}

// Score ends with Anomaly = GaussianSmooth(1 - Combined), and a frame
// without objects is normal (Combined 1 on ShanghaiTech's protocol).
func TestScoreAnomalyIsSmoothedInverse(t *testing.T) {
	videos := []jigsaw.Video{{Name: "01", Frames: 30, Width: 64, Height: 48}, {Name: "02", Frames: 25, Width: 64, Height: 48}}
	objs := []jigsaw.Object{
		{Video: "01", Frame: 5, Spatial: 0.2, Temporal: 0.3},
		{Video: "01", Frame: 6, Spatial: 0.9, Temporal: 0.8},
		{Video: "02", Frame: 0, Spatial: 0.5, Temporal: 0.1},
		{Video: "02", Frame: 24, Spatial: 0.7, Temporal: 0.6},
	}
	p, err := jigsaw.ProtocolFor("shanghaitech")
	if err != nil {
		t.Fatal(err)
	}
	got, err := jigsaw.Score(videos, objs, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Video != "01" || got[1].Video != "02" {
		t.Fatalf("videos %v", got)
	}
	// Video 01: frame 5 is both branches' minimum (0), frame 6 their
	// maximum (1); every other frame keeps 1.
	if got[0].Combined[5] != 0 || got[0].Combined[6] != 1 || got[0].Combined[0] != 1 {
		t.Errorf("combined %v", got[0].Combined)
	}
	for _, fs := range got {
		inv := make([]float64, len(fs.Combined))
		for i, s := range fs.Combined {
			inv[i] = 1 - s
		}
		want, err := jigsaw.GaussianSmooth(inv)
		if err != nil {
			t.Fatal(err)
		}
		close(t, "anomaly "+fs.Video, fs.Anomaly, want, 0)
	}
	// Maps: frames near the objects score below a frame far from them
	// (the 5-frame filter spreads frames 5 and 6 over 3..8). The first
	// and last frames too: the filter pads with 1, below the level
	// (1 - .2) / (.9 - .2) that blocks without objects normalise to, as in
	// the official code.
	pm, _ := jigsaw.ProtocolFor("ped2")
	gm, err := jigsaw.Score(videos[:1], objs[:2], pm)
	if err != nil {
		t.Fatal(err)
	}
	c := gm[0].Combined
	for _, f := range []int{0, 3, 5, 6, 8, 29} {
		if !(c[f] < c[15]) || c[15] != 1 {
			t.Errorf("map protocol: combined %v; want frame %d below frame 15 (1)", c, f)
		}
	}
}

func TestScoreRejects(t *testing.T) {
	v := []jigsaw.Video{{Name: "01", Frames: 30, Width: 10, Height: 10}}
	p, _ := jigsaw.ProtocolFor("ped2")
	cases := []struct {
		name   string
		videos []jigsaw.Video
		objs   []jigsaw.Object
		want   string
	}{
		{"UnknownVideo", v, []jigsaw.Object{{Video: "02"}}, `"02"`},
		{"FrameOutOfRange", v, []jigsaw.Object{{Video: "01", Frame: 30}}, "frame 30"},
		{"NaN", v, []jigsaw.Object{{Video: "01", Spatial: math.NaN()}}, "NaN"},
		{"Duplicate", append(v, v[0]), nil, "twice"},
		{"Short", []jigsaw.Video{{Name: "s", Frames: 10, Width: 10, Height: 10}}, nil, "at least 24"},
	}
	for _, tc := range cases {
		if _, err := jigsaw.Score(tc.videos, tc.objs, p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %s", tc.name, err, tc.want)
		}
	}
	if _, err := jigsaw.ProtocolFor("mvtec"); err == nil {
		t.Error("ProtocolFor(mvtec): no error")
	}
}

// Micro and macro AUC as evaluate.py computes them.
func TestEvaluateByHand(t *testing.T) {
	scores := []jigsaw.FrameScores{
		{Video: "a", Anomaly: []float64{0.1, 0.4, 0.35, 0.8}},
		{Video: "b", Anomaly: []float64{0.2, 0.3}},
	}
	labels := [][]bool{{false, false, true, true}, {false, false}}
	got, err := jigsaw.Evaluate(scores, labels)
	if err != nil {
		t.Fatal(err)
	}
	// Pooled: positives .35 and .8 against negatives .1 .4 .2 .3; .8 beats
	// all four, .35 three of them: 7/8.
	if math.Abs(got.Micro-7.0/8) > 1e-12 {
		t.Errorf("micro %v, want 0.875", got.Micro)
	}
	// Video a with a normal frame at 0 and an anomalous one at 1:
	// positives .35 .8 1 against 0 .1 .4: 2 + 3 + 3 = 8 of 9. Video b
	// (all normal) becomes 0 .2 .3 normal, 1 anomalous: AUC 1. Mean 17/18.
	if math.Abs(got.Macro-17.0/18) > 1e-12 {
		t.Errorf("macro %v, want %v", got.Macro, 17.0/18)
	}
	if _, err := jigsaw.Evaluate(scores, labels[:1]); err == nil {
		t.Error("mismatched videos: no error")
	}
	if _, err := jigsaw.Evaluate(scores[1:], labels[1:]); err == nil {
		t.Error("all frames normal: no error for the micro AUC")
	}
}

func close(t *testing.T, what string, got, want []float64, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tol {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}
