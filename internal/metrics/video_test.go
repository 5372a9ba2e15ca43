package metrics

import (
	"errors"
	"fmt"
	"github.com/fmam/fmam/internal/metrics/metricstest"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/npyfile"
	"github.com/fmam/fmam/internal/sharedtest"
)

// By hand from (s - min) / (max - min); the constant and NaN rows are the
// conventions MinMaxNormalize documents (zeros; NaN ignored and kept).
func TestMinMaxNormalize(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name     string
		in, want []float64
	}{
		{"linear", []float64{2, 4, 6, 3}, []float64{0, 0.5, 1, 0.25}},
		{"negative", []float64{-1, 1}, []float64{0, 1}},
		{"constant", []float64{7, 7, 7}, []float64{0, 0, 0}},
		{"NaN kept", []float64{1, nan, 3}, []float64{0, nan, 1}},
		{"empty", nil, []float64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := MinMaxNormalize(tt.in)
			if !slices.EqualFunc(got, tt.want, func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }) {
				t.Errorf("MinMaxNormalize(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// By hand: with offset 2 the three predictions score frames 2..4, and only
// offset 2 makes three predictions end on the fifth frame.
func TestNewVideoScores(t *testing.T) {
	labels := metricstest.Labels(0, 0, 1, 1, 0)
	v, err := NewVideoScores("01", labels, []float64{0.5, 0.7, 0.1}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(v.Scores, []float64{0, 0, 0.5, 0.7, 0.1}) || !slices.Equal(v.Valid, metricstest.Labels(0, 0, 1, 1, 1)) {
		t.Errorf("NewVideoScores = %+v; want predictions on frames 2..4", v)
	}
	for _, offset := range []int{-1, 1, 3} {
		if _, err := NewVideoScores("01", labels, []float64{0.5, 0.7, 0.1}, offset); err == nil {
			t.Errorf("offset %d: 3 predictions accepted for 5 frames", offset)
		}
	}
}

func TestFrameAUCHandComputed(t *testing.T) {
	// A: two leading frames without prediction (their scores must not count),
	//    then normal 0, anomalous 10 -> normalised 0, 1; AUC 1.
	// B: normal 100, normal 200, anomalous 150 -> 0, 1, .5; AUC .5.
	// C: normal only, 5 and 600 -> 0, 1; left out of the macro average.
	// Macro (1 + .5)/2 = .75.
	// Micro after normalisation: anomalous {1, .5}, normal {0, 0, 1, 0, 1}:
	//   1 beats three 0s and ties two 1s (4), .5 beats three 0s (3): 7/10.
	// Micro on raw scores: anomalous {10, 150}, normal {0, 100, 200, 5, 600}:
	//   10 beats 0, 5 (2); 150 beats 0, 100, 5 (3): 5/10.
	// scikit-learn 1.2.1's roc_auc_score on the valid frames gives the same
	// macro .75 and micro .7 and .5.
	videos := []VideoScores{
		{Name: "A", Labels: metricstest.Labels(1, 1, 0, 1), Scores: []float64{1000, math.NaN(), 0, 10}, Valid: metricstest.Labels(0, 0, 1, 1)},
		{Name: "B", Labels: metricstest.Labels(0, 0, 1), Scores: []float64{100, 200, 150}},
		{Name: "C", Labels: metricstest.Labels(0, 0), Scores: []float64{5, 600}},
	}
	for _, tt := range []struct {
		name  string
		opts  VideoOptions
		micro float64
	}{
		{"normalised", VideoOptions{}, 0.7},
		{"raw", VideoOptions{SkipNormalize: true}, 0.5},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FrameAUC(videos, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if !metricstest.Near(got.Micro, tt.micro, 1e-15) || !metricstest.Near(got.Macro, 0.75, 1e-15) {
				t.Errorf("micro %v macro %v; want %v and 0.75", got.Micro, got.Macro, tt.micro)
			}
			if got.Videos != 3 || got.MacroVideos != 2 || got.Frames != 7 || !slices.Equal(got.Skipped, []string{"C"}) {
				t.Errorf("got %+v; want 3 videos, 2 in macro, 7 frames, C skipped", got)
			}
		})
	}
}

func TestFrameAUCSmoothing(t *testing.T) {
	// Valid frames 0 .6 0 .4 .4 .4 0 0 with frames 3-5 anomalous: raw, the
	// spike .6 outranks the plateau (AUC 12/15 = .8). Smoothed with sigma 1 the
	// plateau keeps ~.28-.36 while the spike falls to ~.27: AUC 1 (scipy's
	// gaussian_filter1d gives .179 .265 .265 .310 .356 .278 .120 .025). The
	// leading frame has no prediction; were its 1e9 smoothed in, the first
	// frames would outrank everything (AUC .4). The AUCs .8, 1 and .4 are
	// roc_auc_score's on those scores (scikit-learn 1.2.1, scipy 1.10.1).
	v := VideoScores{
		Name:   "A",
		Labels: metricstest.Labels(1, 0, 0, 0, 1, 1, 1, 0, 0),
		Scores: []float64{1e9, 0, 0.6, 0, 0.4, 0.4, 0.4, 0, 0},
		Valid:  metricstest.Labels(0, 1, 1, 1, 1, 1, 1, 1, 1),
	}
	for _, tt := range []struct {
		sigma, want float64
	}{{0, 0.8}, {1, 1}} {
		got, err := FrameAUC([]VideoScores{v}, VideoOptions{SmoothSigma: tt.sigma})
		if err != nil {
			t.Fatal(err)
		}
		if !metricstest.Near(got.Micro, tt.want, 1e-15) || !metricstest.Near(got.Macro, tt.want, 1e-15) {
			t.Errorf("sigma %v: micro %v macro %v, want %v", tt.sigma, got.Micro, got.Macro, tt.want)
		}
	}
}

// No numbers here: each input must be refused, and oneClas says whether the
// refusal is ErrOneClass.
func TestFrameAUCErrors(t *testing.T) {
	tests := []struct {
		name    string
		videos  []VideoScores
		oneClas bool
	}{
		{"no videos", nil, false},
		{"one class per video", []VideoScores{
			{Name: "a", Labels: metricstest.Labels(0, 0), Scores: []float64{1, 2}},
			{Name: "b", Labels: metricstest.Labels(1, 1), Scores: []float64{1, 2}},
		}, true},
		{"one class overall", []VideoScores{{Name: "a", Labels: metricstest.Labels(0, 0), Scores: []float64{1, 2}}}, true},
		{"NaN on a valid frame", []VideoScores{{Name: "a", Labels: metricstest.Labels(0, 1), Scores: []float64{math.NaN(), 2}}}, false},
		{"length mismatch", []VideoScores{{Name: "a", Labels: metricstest.Labels(0, 1), Scores: []float64{1}}}, false},
		{"valid length mismatch", []VideoScores{{Name: "a", Labels: metricstest.Labels(0, 1), Scores: []float64{1, 2}, Valid: metricstest.Labels(1)}}, false},
		{"no valid frame", []VideoScores{{Name: "a", Labels: metricstest.Labels(0, 1), Scores: []float64{1, 2}, Valid: metricstest.Labels(0, 0)}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FrameAUC(tt.videos, VideoOptions{})
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, ErrOneClass) != tt.oneClas {
				t.Errorf("error %q: want errors.Is(ErrOneClass) = %v", err, tt.oneClas)
			}
		})
	}
}

// TestFrameAUCPed2Labels runs the video metrics on the real UCSD Ped2 frame
// labels (MNAD's frame_labels_ped2.npy), with perfect scores and the first 4
// frames of each video without prediction (MNAD's 5-frame predictor).
func TestFrameAUCPed2Labels(t *testing.T) {
	path := filepath.Join(sharedtest.Path(t), "data", "labels", "mnad", "frame_labels_ped2.npy")
	a, err := npyfile.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := a.Int64s()
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	// Facts from shared/data/ped2/README.md.
	lengths := []int{180, 180, 150, 180, 150, 180, 180, 180, 120, 150, 180, 180}
	anomalous := []int{120, 86, 146, 150, 129, 159, 135, 180, 120, 150, 180, 93}
	if len(raw) != 2010 {
		t.Fatalf("%s: %d labels, want 2010", path, len(raw))
	}
	const offset = 4
	var videos []VideoScores
	start := 0
	for k, n := range lengths {
		labels := make([]bool, n)
		preds := make([]float64, n-offset)
		count := 0
		for i := range n {
			labels[i] = raw[start+i] == 1
			if labels[i] {
				count++
			}
			if i >= offset {
				preds[i-offset] = float64(raw[start+i]) // perfect scores
			}
		}
		if count != anomalous[k] {
			t.Errorf("video %02d: %d anomalous frames, README says %d", k+1, count, anomalous[k])
		}
		v, err := NewVideoScores(fmt.Sprintf("%02d", k+1), labels, preds, offset)
		if err != nil {
			t.Fatal(err)
		}
		videos = append(videos, v)
		start += n
	}
	got, err := FrameAUC(videos, VideoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Videos 08-11 are anomalous in every frame (README table).
	if want := []string{"08", "09", "10", "11"}; !slices.Equal(got.Skipped, want) {
		t.Errorf("skipped %v, want %v", got.Skipped, want)
	}
	// Within each video the scores are perfect, so macro AUC is 1. Per-video
	// normalisation maps the constant scores of 08-11 to 0, which ties their
	// anomalous frames with every normal frame. Valid anomalous frames: 1,620
	// (1,648 minus the first 4 of the 7 videos anomalous from frame 1), of
	// which 614 are in 08-11 (176+116+146+176); normal frames: 1,962 - 1,620
	// = 342, all at 0. Micro = (1,006 wins + 614/2 ties) / 1,620 = 1313/1620.
	if got.MacroVideos != 8 || got.Frames != 2010-12*offset || got.Macro != 1 || !metricstest.Near(got.Micro, 1313.0/1620, 1e-15) {
		t.Errorf("got %+v; want 8 videos in macro, %d frames, macro 1, micro 1313/1620", got, 2010-12*offset)
	}
}

// Jigsaw-VAD's macro AUC pads every video with a normal frame scored 0 and
// an anomalous one scored 1; by hand: video a [0,.2,.8,1] -> 1, video b
// (normal only) [0,.5,.5,1] -> 1, video c [0,.9,.1,1] with .1 and 1
// anomalous -> 3/4; macro 11/12. Micro pools the unpadded frames: 3/8.
// roc_auc_score on the padded videos and on the pooled frames agrees.
func TestFrameAUCMacroPad(t *testing.T) {
	videos := []VideoScores{
		{Name: "a", Scores: []float64{0.2, 0.8}, Labels: []bool{false, true}},
		{Name: "b", Scores: []float64{0.5, 0.5}, Labels: []bool{false, false}},
		{Name: "c", Scores: []float64{0.9, 0.1}, Labels: []bool{false, true}},
	}
	r, err := FrameAUC(videos, VideoOptions{SkipNormalize: true, MacroPad: true})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.Macro-11.0/12) > 1e-12 || math.Abs(r.Micro-3.0/8) > 1e-12 || r.MacroVideos != 3 {
		t.Errorf("macro %v over %d videos, micro %v; want 11/12 over 3, 3/8", r.Macro, r.MacroVideos, r.Micro)
	}
}

// TestFrameAUCByKind checks each kind against all normal frames on a case
// worked by hand, and that kinds and labels must agree.
func TestFrameAUCByKind(t *testing.T) {
	vs := []VideoScores{
		{Name: "a", Labels: []bool{false, false, true, true, false}, Scores: []float64{0, 0.2, 0.9, 0.1, 0.5}, Valid: []bool{false, true, true, true, true}},
		{Name: "b", Labels: []bool{false, true, false}, Scores: []float64{0.3, 0.4, 0.6}},
	}
	kinds := map[string][]string{"a": {"normal", "normal", "fast", "odd", ""}, "b": {"normal", "fast", "normal"}}
	got, err := FrameAUCByKind(vs, kinds)
	if err != nil {
		t.Fatal(err)
	}
	// Valid normal frames: 0.2, 0.5, 0.3, 0.6 (a's frame 0 has no prediction).
	// fast: 0.9 beats all 4, 0.4 beats 0.2 and 0.3: 6/8. odd: 0.1 beats none: 0/4.
	want := []KindAUC{{Kind: "fast", AUC: 0.75, Frames: 2}, {Kind: "odd", AUC: 0, Frames: 1}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	kinds["b"] = []string{"normal", "normal", "normal"}
	if _, err := FrameAUCByKind(vs, kinds); err == nil || !strings.Contains(err.Error(), "video b frame 1") {
		t.Errorf("anomalous frame of kind normal: error %v", err)
	}
	delete(kinds, "b")
	if _, err := FrameAUCByKind(vs, kinds); err == nil || !strings.Contains(err.Error(), "no kinds for video b") {
		t.Errorf("missing video: error %v", err)
	}
}
