package report

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/results"
)

func TestLayerAblationTable(t *testing.T) {
	taps := []string{"encoder", "bottleneck", "decoder"}
	rows := []AblationRow{
		{Taps: []string{"encoder"}, AUC: 0.921},
		{Taps: []string{"decoder", "encoder"}, AUC: 0.948}, // named in tap order
		{Taps: []string{"encoder", "bottleneck", "decoder"}, AUC: 0.9555},
	}
	tab, err := LayerAblationTable("Table 2", taps, rows)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"Taps", "encoder", "bottleneck", "decoder", "AUC"}; !slices.Equal(tab.Columns, want) {
		t.Fatalf("columns = %q, want %q", tab.Columns, want)
	}
	var md strings.Builder
	if err := tab.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| encoder | ✓ |  |  | 92.1 |",
		"| encoder+decoder | ✓ |  | ✓ | 94.8 |",
		"| encoder+bottleneck+decoder | ✓ | ✓ | ✓ | 95.5 |",
	} {
		if !strings.Contains(md.String(), line) {
			t.Errorf("Markdown lacks %q:\n%s", line, md.String())
		}
	}
}

func TestLayerAblationTableErrors(t *testing.T) {
	taps := []string{"encoder", "decoder"}
	tests := []struct {
		name    string
		taps    []string
		rows    []AblationRow
		wantErr string
	}{
		{"no rows", taps, nil, "at least one tap and one row"},
		{"no taps", nil, []AblationRow{{Taps: []string{"encoder"}, AUC: 0.5}}, "at least one tap and one row"},
		{"empty set", taps, []AblationRow{{AUC: 0.5}}, "uses no tap"},
		{"unknown tap", taps, []AblationRow{{Taps: []string{"neck"}, AUC: 0.5}}, `tap "neck"`},
		{"tap twice", taps, []AblationRow{{Taps: []string{"encoder", "encoder"}, AUC: 0.5}}, "twice"},
		{"percentage", taps, []AblationRow{{Taps: []string{"encoder"}, AUC: 92}}, "not a fraction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LayerAblationTable("t", tc.taps, tc.rows)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLambdaTable(t *testing.T) {
	pts := []results.LambdaPoint{
		{Lambda: 1, MicroAUC: 0.90, MacroAUC: 0.85},
		{Lambda: 0, MicroAUC: 0.80, MacroAUC: nan},
		{Lambda: 0.25, MicroAUC: 0.955, MacroAUC: 0.875},
	}
	tab, err := LambdaTable("sweep", FrameMeasure(), pts)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"lambda", "micro AUC", "macro AUC"}; !slices.Equal(tab.Columns, want) {
		t.Fatalf("columns = %q, want %q", tab.Columns, want)
	}
	var md strings.Builder
	if err := tab.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	want := "| lambda | micro AUC | macro AUC |\n| ---: | ---: | ---: |\n| 0 | 80.0 | - |\n| 0.25 | 95.5 | 87.5 |\n| 1 | 90.0 | 85.0 |\n"
	if !strings.Contains(md.String(), want) {
		t.Errorf("Markdown:\n%s\nwant it to contain:\n%s", md.String(), want)
	}
	if pts[0].Lambda != 1 {
		t.Error("LambdaTable reordered its input")
	}

	noMacro, err := LambdaTable("", FrameMeasure(), []results.LambdaPoint{{Lambda: 0.5, MicroAUC: 0.9, MacroAUC: nan}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"lambda", "micro AUC"}; !slices.Equal(noMacro.Columns, want) {
		t.Errorf("columns without macro = %q, want %q", noMacro.Columns, want)
	}
}

func TestLambdaTableErrors(t *testing.T) {
	tests := []struct {
		name    string
		pts     []results.LambdaPoint
		wantErr string
	}{
		{"empty", nil, "no points"},
		{"duplicate", []results.LambdaPoint{{Lambda: 0.5, MicroAUC: 0.9, MacroAUC: nan}, {Lambda: 0.5, MicroAUC: 0.8, MacroAUC: nan}}, "appears twice"},
		{"nan lambda", []results.LambdaPoint{{Lambda: nan, MicroAUC: 0.9, MacroAUC: nan}}, "not a finite number"},
		{"no micro", []results.LambdaPoint{{Lambda: 0.5, MicroAUC: nan, MacroAUC: 0.9}}, "micro AUC at lambda 0.5 is absent"},
		{"percentage", []results.LambdaPoint{{Lambda: 0.5, MicroAUC: 0.9, MacroAUC: 85}}, "not a fraction"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LambdaTable("t", FrameMeasure(), tc.pts)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestLambdaSummaryTable(t *testing.T) {
	a := []results.LambdaPoint{{Lambda: 1, MicroAUC: 0.9, MacroAUC: math.NaN()}, {Lambda: 0, MicroAUC: 0.5, MacroAUC: math.NaN()}}
	b := []results.LambdaPoint{{Lambda: 0, MicroAUC: 0.7, MacroAUC: math.NaN()}, {Lambda: 1, MicroAUC: 0.8, MacroAUC: math.NaN()}}
	tab, err := LambdaSummaryTable("s", ImageMeasure(), []string{"a", "b"}, [][]results.LambdaPoint{a, b})
	if err != nil {
		t.Fatal(err)
	}
	// lambda 0: (50 + 70) / 2 = 60; lambda 1: (90 + 80) / 2 = 85.
	want := [][]string{{"0", "50.0", "70.0", "60.0"}, {"1", "90.0", "80.0", "85.0"}}
	for i, row := range tab.Rows {
		for j, c := range row {
			if c.String() != want[i][j] {
				t.Errorf("row %d col %d = %s, want %s", i, j, c.String(), want[i][j])
			}
		}
	}
	if _, err := LambdaSummaryTable("s", ImageMeasure(), []string{"a", "b"}, [][]results.LambdaPoint{a, b[:1]}); err == nil {
		t.Error("sweeps over different lambdas accepted")
	}
}
