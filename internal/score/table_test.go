package score

import (
	"github.com/fmam/fmam/internal/metrics/metricstest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/metrics"
)

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReadScoresCSV(t *testing.T) {
	// Columns in another order, an extra column, and spaces are accepted.
	path := writeFile(t, t.TempDir(), "scores.csv",
		"label,note,score,id\n0,x,0.1,a\n1,y, 0.8,b\n0,,1e-3,c\n1,z,0.35,d\n")
	tab, err := ReadTable(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(tab.IDs, []string{"a", "b", "c", "d"}) ||
		!slices.Equal(tab.Scores, []float64{0.1, 0.8, 0.001, 0.35}) ||
		!slices.Equal(tab.Labels, metricstest.Labels(0, 1, 0, 1)) || tab.Videos != nil {
		t.Errorf("ReadScoresCSV = %+v", tab)
	}
	// Descending .8 P, .35 P, .1 N, .001 N: perfect, so AUROC = AP = F1 = 1
	// with the F1 threshold at the lowest anomalous score.
	res, err := metrics.EvaluateScores(tab, metrics.VideoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := metrics.ScoreResult{N: 4, Anomalous: 2, AUROC: 1, AP: 1, F1Max: 1, F1Threshold: 0.35}
	if res != want {
		t.Errorf("metrics.EvaluateScores = %+v, want %+v", res, want)
	}
}

func TestEvaluateScoresVideo(t *testing.T) {
	// The videos of TestFrameAUCHandComputed without the invalid frames:
	// micro .7 and macro .75 after per-video normalisation, C skipped. The
	// pooled raw AUROC is the raw micro of that test: .5.
	path := writeFile(t, t.TempDir(), "scores.csv", `id,video,score,label
a0,A,0,0
a1,A,10,1
b0,B,100,0
b1,B,200,0
b2,B,150,1
c0,C,5,0
c1,C,600,0
`)
	tab, err := ReadTable(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := metrics.EvaluateScores(tab, metrics.VideoOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Video == nil {
		t.Fatal("no video metrics for a table with a video column")
	}
	if !metricstest.Near(res.AUROC, 0.5, 1e-15) || !metricstest.Near(res.Video.Micro, 0.7, 1e-15) || !metricstest.Near(res.Video.Macro, 0.75, 1e-15) ||
		!slices.Equal(res.Video.Skipped, []string{"C"}) {
		t.Errorf("metrics.EvaluateScores = %+v, video %+v", res, *res.Video)
	}
}

func TestReadScoresCSVErrors(t *testing.T) {
	tests := []struct {
		name, content, wantErr string
	}{
		{"non-numeric score", "id,score,label\na,0.1,0\nb,abc,1\n", `scores.csv:3: score "abc" is not a number`},
		{"NaN score", "id,score,label\na,NaN,0\n", `scores.csv:2: score "NaN" is not a number`},
		{"empty score", "id,score,label\na,,0\n", `scores.csv:2: score "" is not a number`},
		{"label 2", "id,score,label\na,0.1,2\n", `scores.csv:2: label "2" must be 0 (normal) or 1 (anomalous)`},
		{"label true", "id,score,label\na,0.1,true\n", `scores.csv:2: label "true"`},
		{"too many columns", "id,score,label\na,0.1,0\nb,0.2,1,9\n", "line 3"},
		{"too few columns", "id,score,label\na,0.1\n", "line 2"},
		{"bad quote", "id,score,label\na,0.1,0\n\"b,0.2,1\n", "line 3"},
		{"missing column", "id,s_o,label\na,0.1,0\n", `no column "score"`},
		{"duplicate column", "id,score,score,label\na,0.1,0.2,0\n", `column "score" appears twice`},
		{"duplicate id", "id,score,label\na,0.1,0\na,0.2,1\n", `scores.csv:3: id "a" already used on line 2`},
		{"empty video", "id,video,score,label\na,,0.1,0\n", "scores.csv:2: empty video name"},
		{"empty file", "", "empty file"},
		{"header only", "id,score,label\n", "no rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "scores.csv", tt.content)
			_, err := ReadTable(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v; want one naming %s and containing %q", err, path, tt.wantErr)
			}
		})
	}
	if _, err := ReadTable(filepath.Join(t.TempDir(), "missing.csv")); err == nil {
		t.Error("missing file accepted")
	}
}

func TestEvaluateScoresOneClass(t *testing.T) {
	path := writeFile(t, t.TempDir(), "scores.csv", "id,score,label\na,0.1,0\nb,0.2,0\n")
	tab, err := ReadTable(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := metrics.EvaluateScores(tab, metrics.VideoOptions{}); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("one class: error %v; want one naming %s", err, path)
	}
}
