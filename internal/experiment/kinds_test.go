package experiment_test

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/score"
)

// checkKinds checks that an object-centric method's evaluation reports the
// frame AUC of each anomaly kind of the generated video set (whose root
// holds frame_kinds.csv): results-kinds.md is written, and the teacher's
// and the student's S_o rows (rows 0 and 1) carry the AUCs that the frame
// scores the method wrote (teacher_scores.csv, scores.csv, column s_o)
// give per kind.
func checkKinds(t *testing.T, runDir, root string, rows []results.VideoResult) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(runDir, "student", "results-kinds.md")); err != nil {
		t.Errorf("no per-kind table: %v", err)
	}
	kinds, err := data.ReadFrameKinds(filepath.Join(root, data.FrameKindsFile))
	if err != nil {
		t.Fatal(err)
	}
	for i, file := range []string{"teacher_scores.csv", "scores.csv"} {
		frames, err := score.ReadVideoCSV(filepath.Join(runDir, "student", file))
		if err != nil {
			t.Fatal(err)
		}
		var vs []metrics.VideoScores
		for _, f := range frames {
			if len(vs) == 0 || vs[len(vs)-1].Name != f.Video {
				vs = append(vs, metrics.VideoScores{Name: f.Video})
			}
			v := &vs[len(vs)-1]
			v.Labels, v.Scores = append(v.Labels, f.Label), append(v.Scores, f.SO)
		}
		want, err := metrics.FrameAUCByKind(vs, kinds)
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Fatalf("%s: no anomaly kind among the scored frames", file)
		}
		got := rows[i].Kinds
		same := len(got) == len(want)
		for j := 0; same && j < len(got); j++ {
			same = got[j].Kind == want[j].Kind && got[j].Frames == want[j].Frames && math.Abs(got[j].AUC-want[j].AUC) <= 1e-12
		}
		if !same {
			t.Errorf("%s: kinds %+v, from %s %+v", rows[i].Method, got, file, want)
		}
	}
	for _, r := range rows {
		if len(r.Kinds) == 0 {
			t.Errorf("%s: no AUC per anomaly kind", r.Method)
		}
	}
}
