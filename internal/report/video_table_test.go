package report

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/results"
)

func videoResults() []results.VideoResult {
	return []results.VideoResult{
		{Dataset: "ped2", Method: "MNAD", MicroAUC: 0.95, MacroAUC: 0.90, Videos: []results.VideoAUC{{Video: "02", AUC: 0.80}, {Video: "01", AUC: 0.90}, {Video: "03", AUC: 1.0}}},
		{Dataset: "ped2", Method: "MNAD+CA", MicroAUC: 0.96, MacroAUC: nan, Videos: []results.VideoAUC{{Video: "01", AUC: 0.95}, {Video: "02", AUC: 0.85}}},
		{Dataset: "avenue", Method: "MNAD", MicroAUC: 0.82, MacroAUC: nan},
	}
}

func TestVideoTable(t *testing.T) {
	tab, err := VideoTable("frame AUC", videoResults())
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []string{"Dataset", "MNAD micro AUC", "MNAD macro AUC", "MNAD+CA micro AUC"}
	if !slices.Equal(tab.Columns, wantCols) {
		t.Fatalf("columns = %q, want %q", tab.Columns, wantCols)
	}
	tests := []struct {
		row  int
		col  string
		want float64
	}{
		{0, "MNAD micro AUC", 95},
		{0, "MNAD macro AUC", 90},
		{0, "MNAD+CA micro AUC", 96},
		{1, "MNAD micro AUC", 82},
		{1, "MNAD macro AUC", nan},
		{1, "MNAD+CA micro AUC", nan}, // not run on avenue
	}
	for _, tc := range tests {
		got := cellValue(t, tab, tab.Rows[tc.row], tc.col).Value
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && !near(got, tc.want)) {
			t.Errorf("row %d %q = %v, want %v", tc.row, tc.col, got, tc.want)
		}
	}
	if tab.Rows[0][0].Text != "ped2" || tab.Rows[1][0].Text != "avenue" {
		t.Errorf("data sets not in order of first appearance: %v", tab.Rows)
	}
}

func TestVideoDetailTable(t *testing.T) {
	tab, err := VideoDetailTable("ped2 per video", "ped2", videoResults())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Video", "MNAD AUC", "MNAD+CA AUC"}; !slices.Equal(tab.Columns, want) {
		t.Fatalf("columns = %q, want %q", tab.Columns, want)
	}
	var md strings.Builder
	if err := tab.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| 01 | 90.0 | 95.0 |",
		"| 02 | 80.0 | 85.0 |",
		"| 03 | 100.0 | - |",
		// MNAD macro: (90+80+100)/3 = 90; MNAD+CA misses video 03.
		"| **macro (mean of videos)** | **90.0** | **-** |",
		"| **micro (all frames)** | **95.0** | **96.0** |",
	} {
		if !strings.Contains(md.String(), line) {
			t.Errorf("Markdown lacks %q:\n%s", line, md.String())
		}
	}
	if i, j := strings.Index(md.String(), "| 01 |"), strings.Index(md.String(), "| 02 |"); i > j {
		t.Error("videos not sorted by name")
	}
}

func TestVideoTableErrors(t *testing.T) {
	dup := append(videoResults(), results.VideoResult{Dataset: "ped2", Method: "MNAD", MicroAUC: 0.5, MacroAUC: nan})
	pct := []results.VideoResult{{Dataset: "ped2", Method: "m", MicroAUC: 95, MacroAUC: nan}}
	badVideo := []results.VideoResult{{Dataset: "ped2", Method: "m", MicroAUC: 0.9, MacroAUC: nan, Videos: []results.VideoAUC{{Video: "01", AUC: 0.5}, {Video: "01", AUC: 0.6}}}}
	tests := []struct {
		name    string
		build   func() error
		wantErr string
	}{
		{"empty", func() error { _, err := VideoTable("t", nil); return err }, "no results"},
		{"duplicate", func() error { _, err := VideoTable("t", dup); return err }, "two results"},
		{"percentage", func() error { _, err := VideoTable("t", pct); return err }, "not a fraction"},
		{"repeated video", func() error { _, err := VideoTable("t", badVideo); return err }, "empty or repeated"},
		{"unknown data set", func() error { _, err := VideoDetailTable("t", "shanghaitech", videoResults()); return err }, `no results for data set "shanghaitech"`},
		{"no per-video AUCs", func() error { _, err := VideoDetailTable("t", "avenue", videoResults()); return err }, "no per-video AUCs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.build(); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// The per-kind table has one row per method, kinds sorted, a frames footer,
// and - where a method lacks a kind.
func TestKindTable(t *testing.T) {
	rs := []results.VideoResult{
		{Dataset: "d", Method: "teacher", MicroAUC: 0.9, MacroAUC: math.NaN(), Kinds: []results.KindAUC{{Kind: "slow", AUC: 0.5, Frames: 3}, {Kind: "fast", AUC: 0.75, Frames: 7}}},
		{Dataset: "d", Method: "student", MicroAUC: 0.8, MacroAUC: math.NaN(), Kinds: []results.KindAUC{{Kind: "fast", AUC: 1, Frames: 7}}},
	}
	if !HasKinds(rs) || HasKinds(rs[:0]) {
		t.Error("HasKinds")
	}
	tab, err := KindTable("k", rs)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tab.WriteCSV(&b); err != nil {
		t.Fatal(err)
	}
	want := "Method,fast AUC,slow AUC\nteacher,75,50\nstudent,100,\nframes of the kind,7,3\n"
	if b.String() != want {
		t.Errorf("csv:\n%s\nwant:\n%s", b.String(), want)
	}
	rs[1].Kinds = nil
	rs[0].Kinds = nil
	if _, err := KindTable("k", rs); err == nil {
		t.Error("a table without kinds: no error")
	}
}
