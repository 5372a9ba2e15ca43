package score

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/metrics"
)

func TestVideoCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.csv")
	rows := []VideoRow{
		{ID: "01/004", Video: "01", Frame: 4, Label: false, SO: 35.123456789012345, SFea: 0.1},
		{ID: "01/005", Video: "01", Frame: 5, Label: true, SO: 1e-300, SFea: -2.5},
		{ID: "02,x", Video: "02 \"q\"", Frame: 4, Label: true, SO: math.Nextafter(0.3, 1), SFea: math.MaxFloat64},
	}
	if err := WriteVideoCSV(path, rows); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "id,video,frame,label,s_o,s_fea\n01/004,01,4,0,35.123456789012344,0.1\n") {
		t.Errorf("file starts %q", b)
	}
	got, err := ReadVideoCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, rows) { // exact float round trip, quoting of , and "
		t.Errorf("read back %+v, wrote %+v", got, rows)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("file mode %v, %v; want 0644", fi.Mode(), err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after the write, want only raw.csv (no temp files)", len(entries))
	}

	// Overwriting replaces the file as a whole.
	if err := WriteVideoCSV(path, rows[:1]); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadVideoCSV(path); err != nil || len(got) != 1 {
		t.Errorf("after overwrite: %d rows, %v; want 1", len(got), err)
	}
}

func TestImageCSVRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "raw.csv")
	rows := []ImageRow{
		{ID: "bottle/good/000", Category: "bottle", Defect: "good", SO: 0.25, SFea: 1.5},
		{ID: "bottle/broken_large/000", Category: "bottle", Defect: "broken_large", Label: true, SO: 0.75, SFea: 3},
	}
	if err := WriteImageCSV(path, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadImageCSV(path)
	if err != nil || !slices.Equal(got, rows) {
		t.Errorf("read back %+v, %v; wrote %+v", got, err, rows)
	}
}

func TestWriteCSVErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "raw.csv")
	if err := WriteVideoCSV(path, []VideoRow{{ID: "a", Video: "v", SO: math.NaN()}}); err == nil || !strings.Contains(err.Error(), `row "a"`) {
		t.Errorf("NaN score: error %v", err)
	}
	if err := WriteImageCSV(path, []ImageRow{{ID: "b", SFea: math.Inf(1)}}); err == nil || !strings.Contains(err.Error(), `row "b"`) {
		t.Errorf("Inf score: error %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed write left %s behind", path)
	}
	// The writer makes missing folders, but none can be made below a file.
	blocker := filepath.Join(dir, "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteVideoCSV(filepath.Join(blocker, "raw.csv"), nil); err == nil {
		t.Error("write below a plain file succeeded")
	}
}

func TestReadCSVErrors(t *testing.T) {
	const header = "id,video,frame,label,s_o,s_fea\n"
	tests := []struct {
		name, content, wantErr string
	}{
		{"non-numeric s_o", header + "a,v,0,0,1.5,0.1\nb,v,1,1,abc,0.2\n", `raw.csv:3: s_o "abc" is not a finite number`},
		{"NaN s_fea", header + "a,v,0,0,1.5,NaN\n", `raw.csv:2: s_fea "NaN" is not a finite number`},
		{"label 2", header + "a,v,0,2,1,1\n", `raw.csv:2: label "2" must be 0 (normal) or 1 (anomalous)`},
		{"negative frame", header + "a,v,-1,0,1,1\n", `raw.csv:2: frame "-1"`},
		{"frame not integer", header + "a,v,1.5,0,1,1\n", `raw.csv:2: frame "1.5"`},
		{"empty video", header + "a,,1,0,1,1\n", "raw.csv:2: empty video name"},
		{"wrong column count", header + "a,v,1,0,1\n", "line 2"},
		{"duplicate id", header + "a,v,0,0,1,1\na,v,1,0,1,1\n", `raw.csv:3: id "a" already used on line 2`},
		{"image header", "id,category,defect,label,s_o,s_fea\n", "header id,category,defect,label,s_o,s_fea, want id,video,frame"},
		{"empty", "", "empty file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "raw.csv")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadVideoCSV(path)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v; want one naming %s and containing %q", err, path, tt.wantErr)
			}
		})
	}
}

func TestFuseVideos(t *testing.T) {
	// Video 01 has no rows for frames 0 and 1 (a 2-frame predictor). Its PSNR
	// 30, 20, 25 -> inverted normalisation 0, 1, .5; feature distances
	// 1, 3, 5 -> 0, .5, 1. Lambda .5: .0, .75, .75 on frames 2, 3, 4.
	// Video 02: PSNR 10, 10 (constant -> 0, 0), distances 0, 2 -> 0, 1:
	// fused 0, .5 on frames 0, 1.
	rows := []VideoRow{
		{ID: "a", Video: "01", Frame: 3, Label: true, SO: 20, SFea: 3},
		{ID: "b", Video: "02", Frame: 0, SO: 10, SFea: 0},
		{ID: "c", Video: "01", Frame: 2, SO: 30, SFea: 1},
		{ID: "d", Video: "01", Frame: 4, Label: true, SO: 25, SFea: 5},
		{ID: "e", Video: "02", Frame: 1, Label: true, SO: 10, SFea: 2},
	}
	got, err := FuseVideos(rows, 0.5, LowerIsAnomalous, HigherIsAnomalous)
	if err != nil {
		t.Fatal(err)
	}
	want := []metrics.VideoScores{
		{Name: "01", Labels: []bool{false, false, false, true, true}, Scores: []float64{0, 0, 0, 0.75, 0.75}, Valid: []bool{false, false, true, true, true}},
		{Name: "02", Labels: []bool{false, true}, Scores: []float64{0, 0.5}, Valid: []bool{true, true}},
	}
	if len(got) != len(want) {
		t.Fatalf("%d videos, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Name != w.Name || !slices.Equal(g.Labels, w.Labels) || !slices.Equal(g.Scores, w.Scores) || !slices.Equal(g.Valid, w.Valid) {
			t.Errorf("video %d = %+v, want %+v", i, g, w)
		}
	}
	// The fused scores feed the metrics: 01 is perfect (.75 .75 vs 0),
	// 02 too (.5 vs 0).
	auc, err := metrics.FrameAUC(got, metrics.VideoOptions{SkipNormalize: true})
	if err != nil || auc.Macro != 1 || auc.Micro != 1 || auc.Frames != 5 {
		t.Errorf("FrameAUC = %+v, %v; want macro and micro 1 over 5 frames", auc, err)
	}

	for _, tt := range []struct {
		name    string
		rows    []VideoRow
		lambda  float64
		wantErr string
	}{
		{"lambda", rows, 1.5, "outside [0, 1]"},
		{"duplicate frame", []VideoRow{{ID: "x", Video: "v", Frame: 1}, {ID: "y", Video: "v", Frame: 1}}, 0.5, "frame 1 has two rows"},
		{"negative frame", []VideoRow{{ID: "x", Video: "v", Frame: -1}}, 0.5, "frame -1"},
		{"NaN score", []VideoRow{{ID: "x", Video: "v", SO: math.NaN()}}, 0.5, "s_o"},
	} {
		if _, err := FuseVideos(tt.rows, tt.lambda, LowerIsAnomalous, HigherIsAnomalous); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: error %v; want %q", tt.name, err, tt.wantErr)
		}
	}
}

// A teacher's scores file names the student's S_fea column s_fea_student,
// or has no such column when no student was scored; both read back, the
// latter with SFea 0; a file whose last column is unknown is refused.
func TestTeacherCSV(t *testing.T) {
	dir := t.TempDir()
	vrows := []VideoRow{{ID: "01/004", Video: "01", Frame: 4, SO: 30.5, SFea: 0.25}, {ID: "01/005", Video: "01", Frame: 5, Label: true, SO: 20, SFea: 2}}
	irows := []ImageRow{{ID: "good/0.png", Category: "c", Defect: "good", SO: 0.5, SFea: 1.5}}
	for _, student := range []bool{true, false} {
		vp, ip := filepath.Join(dir, "v.csv"), filepath.Join(dir, "i.csv")
		if err := WriteTeacherVideoCSV(vp, vrows, student); err != nil {
			t.Fatal(err)
		}
		if err := WriteTeacherImageCSV(ip, irows, student); err != nil {
			t.Fatal(err)
		}
		vb, _ := os.ReadFile(vp)
		ib, _ := os.ReadFile(ip)
		wantV, wantI := "id,video,frame,label,s_o\n01/004,01,4,0,30.5\n", "id,category,defect,label,s_o\ngood/0.png,c,good,0,0.5\n"
		if student {
			wantV, wantI = "id,video,frame,label,s_o,s_fea_student\n01/004,01,4,0,30.5,0.25\n", "id,category,defect,label,s_o,s_fea_student\ngood/0.png,c,good,0,0.5,1.5\n"
		}
		if !strings.HasPrefix(string(vb), wantV) || !strings.HasPrefix(string(ib), wantI) {
			t.Errorf("student %v: files start %q and %q; want %q and %q", student, vb, ib, wantV, wantI)
		}
		gv, err := ReadVideoCSV(vp)
		if err != nil {
			t.Fatal(err)
		}
		gi, err := ReadImageCSV(ip)
		if err != nil {
			t.Fatal(err)
		}
		wv, wi := slices.Clone(vrows), slices.Clone(irows)
		if !student {
			wv[0].SFea, wv[1].SFea, wi[0].SFea = 0, 0, 0
		}
		if !slices.Equal(gv, wv) || !slices.Equal(gi, wi) {
			t.Errorf("student %v: read back %+v %+v, want %+v %+v", student, gv, gi, wv, wi)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("id,video,frame,label,s_o,s_fea_teacher\na,v,0,0,1,1\n"), 0o644)
	if _, err := ReadVideoCSV(bad); err == nil || !strings.Contains(err.Error(), "header id,video,frame,label,s_o,s_fea_teacher, want id,video,frame,label,s_o,s_fea") {
		t.Errorf("unknown column: %v", err)
	}
	short := filepath.Join(dir, "short.csv")
	os.WriteFile(short, []byte("id,video,frame,label,s_o\na,v,0,0,1,1\n"), 0o644)
	if _, err := ReadVideoCSV(short); err == nil || !strings.Contains(err.Error(), "wrong number of fields") {
		t.Errorf("row longer than the header: %v", err)
	}
}
