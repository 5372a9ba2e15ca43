package report

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/results"
)

// nan is short for the absent metric.
var nan = math.NaN()

// cellValue returns the value of the named column in row, failing when
// absent.
func cellValue(t *testing.T, tab Table, row []Cell, col string) Cell {
	t.Helper()
	j := slices.Index(tab.Columns, col)
	if j < 0 {
		t.Fatalf("no column %q in %q", col, tab.Columns)
	}
	return row[j]
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestImageTable(t *testing.T) {
	rs := []results.ImageResult{
		// Student results first and categories shuffled: the table orders
		// methods by first appearance and categories by the paper.
		{Category: "synthetic_squares", Method: "DRAEM+CA", PixelAUROC: 0.70, PixelAP: 0.30, ImageAUROC: 0.60, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan},
		{Category: "bottle", Method: "DRAEM", PixelAUROC: 0.99, PixelAP: 0.86, ImageAUROC: 0.992, PixelAUROCSigma: 0.991, PixelAPSigma: 0.87, AUPRO: 0.91},
		{Category: "grid", Method: "DRAEM", PixelAUROC: 0.97, PixelAP: 0.65, ImageAUROC: 0.999, PixelAUROCSigma: 0.972, PixelAPSigma: 0.66, AUPRO: 0.88},
		{Category: "carpet", Method: "DRAEM", PixelAUROC: 0.955, PixelAP: 0.535, ImageAUROC: 0.970, PixelAUROCSigma: 0.96, PixelAPSigma: 0.54, AUPRO: 0.85},
		{Category: "carpet", Method: "DRAEM+CA", PixelAUROC: 0.96, PixelAP: 0.60, ImageAUROC: 0.98, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan},
		{Category: "grid", Method: "DRAEM+CA", PixelAUROC: 0.98, PixelAP: 0.62, ImageAUROC: 1.0, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan},
		{Category: "synthetic_squares", Method: "DRAEM", PixelAUROC: 0.80, PixelAP: 0.40, ImageAUROC: 0.50, PixelAUROCSigma: 0.81, PixelAPSigma: 0.41, AUPRO: 0.5},
		// DRAEM+CA has no bottle result.
	}
	tab, err := ImageTable("MVTec AD", rs)
	if err != nil {
		t.Fatal(err)
	}
	wantCols := []string{"Group", "Category",
		"DRAEM+CA P-AUROC", "DRAEM+CA P-AP", "DRAEM+CA I-AUROC",
		"DRAEM P-AUROC", "DRAEM P-AP", "DRAEM I-AUROC", "DRAEM AUPRO", "DRAEM P-AUROC σ=4", "DRAEM P-AP σ=4"}
	if !slices.Equal(tab.Columns, wantCols) {
		t.Fatalf("columns = %q\nwant %q", tab.Columns, wantCols)
	}
	var order []string
	for _, r := range tab.Rows {
		order = append(order, r[0].Text+"/"+r[1].Text)
	}
	if want := []string{"textures/carpet", "textures/grid", "objects/bottle", "other/synthetic_squares"}; !slices.Equal(order, want) {
		t.Errorf("rows = %q, want %q", order, want)
	}
	if v := cellValue(t, tab, tab.Rows[0], "DRAEM P-AP").Value; !near(v, 53.5) {
		t.Errorf("carpet DRAEM P-AP = %v, want 53.5 (percent)", v)
	}
	if c := cellValue(t, tab, tab.Rows[2], "DRAEM+CA P-AUROC"); !math.IsNaN(c.Value) {
		t.Errorf("bottle DRAEM+CA P-AUROC = %v, want NaN (absent)", c.Value)
	}

	// Footer: textures, objects, other, all; means by hand.
	var groups []string
	for _, r := range tab.Footer {
		groups = append(groups, r[0].Text+"/"+r[1].Text)
	}
	if want := []string{"textures/mean", "objects/mean", "other/mean", "all/mean"}; !slices.Equal(groups, want) {
		t.Fatalf("footer = %q, want %q", groups, want)
	}
	tests := []struct {
		row  int
		col  string
		want float64 // NaN: absent
	}{
		{0, "DRAEM P-AUROC", (95.5 + 97) / 2},
		{0, "DRAEM+CA P-AP", (60.0 + 62) / 2},
		{0, "DRAEM P-AP σ=4", (54.0 + 66) / 2},
		{1, "DRAEM I-AUROC", 99.2},
		{1, "DRAEM+CA I-AUROC", nan}, // bottle missing
		{2, "DRAEM+CA P-AUROC", 70},
		{3, "DRAEM P-AUROC", (95.5 + 97 + 99 + 80) / 4},
		{3, "DRAEM I-AUROC", (97 + 99.9 + 99.2 + 50) / 4},
		{3, "DRAEM+CA P-AP", nan},
		{0, "DRAEM AUPRO", (85.0 + 88) / 2},
		{3, "DRAEM AUPRO", (85.0 + 88 + 91 + 50) / 4},
	}
	for _, tc := range tests {
		got := cellValue(t, tab, tab.Footer[tc.row], tc.col).Value
		if math.IsNaN(tc.want) != math.IsNaN(got) || (!math.IsNaN(got) && !near(got, tc.want)) {
			t.Errorf("footer %d %q = %v, want %v", tc.row, tc.col, got, tc.want)
		}
	}

	var md strings.Builder
	if err := tab.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| textures | carpet | 96.0 | 60.0 | 98.0 | 95.5 | 53.5 | 97.0 | 85.0 | 96.0 | 54.0 |",
		"| objects | bottle | - | - | - | 99.0 | 86.0 | 99.2 | 91.0 | 99.1 | 87.0 |",
		// DRAEM P-AUROC overall: (95.5+97+99+80)/4 = 92.875 -> 92.9.
		"| **all** | **mean** | **-** | **-** | **-** | **92.9** |",
	} {
		if !strings.Contains(md.String(), line) {
			t.Errorf("Markdown lacks %q:\n%s", line, md.String())
		}
	}
	if !strings.Contains(md.String(), "σ=4") {
		t.Error("Markdown notes do not explain σ=4")
	}
}

func TestImageTableFullMVTecOrder(t *testing.T) {
	cats := append(MVTecObjects(), MVTecTextures()...)
	slices.Reverse(cats)
	var rs []results.ImageResult
	for i, c := range cats {
		v := float64(i+1) / 20
		rs = append(rs, results.ImageResult{Category: c, Method: "DRAEM", PixelAUROC: v, PixelAP: v, ImageAUROC: v, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan})
	}
	tab, err := ImageTable("", rs)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range tab.Rows {
		got = append(got, r[1].Text)
	}
	if want := append(MVTecTextures(), MVTecObjects()...); !slices.Equal(got, want) {
		t.Errorf("category order = %q, want %q", got, want)
	}
	if len(tab.Columns) != 5 {
		t.Errorf("columns = %q; σ=4 columns should be left out when no method has them", tab.Columns)
	}
	// Two groups: a mean for each plus the overall one, the mean of 1..15 / 20.
	if len(tab.Footer) != 3 {
		t.Fatalf("footer has %d rows, want 3", len(tab.Footer))
	}
	if got := tab.Footer[2][2].Value; !near(got, 100*8.0/20) {
		t.Errorf("overall mean = %v, want 40", got)
	}
}

func TestImageTableSingleGroupHasOnlyOverallMean(t *testing.T) {
	tab, err := ImageTable("", []results.ImageResult{
		{Category: "wood", Method: "m", PixelAUROC: 0.5, PixelAP: 0.5, ImageAUROC: 0.5, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Footer) != 1 || tab.Footer[0][0].Text != GroupAll {
		t.Errorf("footer = %v, want the overall mean only", tab.Footer)
	}
}

func TestImageTableErrors(t *testing.T) {
	ok := results.ImageResult{Category: "wood", Method: "m", PixelAUROC: 0.5, PixelAP: 0.5, ImageAUROC: 0.5, PixelAUROCSigma: nan, PixelAPSigma: nan, AUPRO: nan}
	pct := ok
	pct.PixelAUROC = 97.1
	inf := ok
	inf.PixelAPSigma = math.Inf(1)
	noMethod := ok
	noMethod.Method = ""
	tests := []struct {
		name    string
		in      []results.ImageResult
		wantErr string
	}{
		{"empty", nil, "no results"},
		{"percentage", []results.ImageResult{pct}, "not a fraction"},
		{"infinite", []results.ImageResult{inf}, "not a fraction"},
		{"no method", []results.ImageResult{noMethod}, "empty category or method"},
		{"duplicate", []results.ImageResult{ok, ok}, "two results"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ImageTable("x", tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ImageTable() error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

// Categories of a named data set are grouped under its name, not "other":
// one group, so the footer holds only the overall mean; a category put in
// two groups is refused.
func TestImageTableNamedGroup(t *testing.T) {
	r := func(cat, method string, auc float64) results.ImageResult {
		return results.ImageResult{Category: cat, Method: method, Group: "parts", PixelAUROC: nan, PixelAP: nan, ImageAUROC: auc, PixelAUROCSigma: nan, PixelAPSigma: nan}
	}
	tab, err := ImageTable("parts", []results.ImageResult{r("screw_b", "DRAEM", 0.5), r("gear", "DRAEM", 0.75)})
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, row := range append(tab.Rows, tab.Footer...) {
		rows = append(rows, row[0].Text+"/"+row[1].Text)
	}
	if want := []string{"parts/gear", "parts/screw_b", "all/mean"}; !slices.Equal(rows, want) {
		t.Errorf("rows %q, want %q", rows, want)
	}
	if v := cellValue(t, tab, tab.Footer[0], "DRAEM I-AUROC").Value; !near(v, 62.5) {
		t.Errorf("mean I-AUROC %v, want 62.5", v)
	}
	other := r("gear", "DRAEM+CA", 0.5)
	other.Group = ""
	if _, err := ImageTable("parts", []results.ImageResult{r("gear", "DRAEM", 0.5), other}); err == nil || !strings.Contains(err.Error(), `category "gear" is in groups "parts" and ""`) {
		t.Errorf("two groups for one category: %v", err)
	}
}
