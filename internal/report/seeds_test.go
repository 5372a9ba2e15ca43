package report

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/stats"
)

// Per-seed AUCs chosen so that everything can be checked by hand:
// teacher 0.80, 0.82, 0.84: mean 0.82, sd 0.02;
// student 0.85, 0.88, 0.88: mean 0.87, squared deviations 4e-4+1e-4+1e-4,
// sd sqrt(6e-4/2) = 0.017321;
// differences 0.05, 0.06, 0.04: mean 0.05, sd 0.01, t = 0.05/(0.01/sqrt(3))
// = 8.660254 on 2 degrees of freedom, where Student's t has the CDF
// 1/2 + t/(2 sqrt(2+t^2)), so the two-sided p = 1 - t/sqrt(2+t^2) = 0.013072.
var (
	teacherSeeds = []float64{0.80, 0.82, 0.84}
	studentSeeds = []float64{0.85, 0.88, 0.88}
	handT        = 0.05 / (0.01 / math.Sqrt(3))
	handP        = 1 - handT/math.Sqrt(2+handT*handT)
)

func seedTable(t *testing.T, show DiffShow) SeedTable {
	t.Helper()
	must := func(c SeedCell, err error) SeedCell {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	opt := stats.PairedOptions{Seed: 1}
	return SeedTable{
		Title:   "ped2, 3 seeds",
		Keys:    []string{"Method"},
		Columns: []SeedColumn{MeanColumn("micro AUC"), DiffColumn("Δ vs teacher", show)},
		Rows: []SeedRow{
			{Keys: []string{"MNAD (teacher)"}, Cells: []SeedCell{must(MeanCell(teacherSeeds)), {}}},
			{Keys: []string{"MNAD+FM+SCA"}, Cells: []SeedCell{must(MeanCell(studentSeeds)), must(DiffCell(studentSeeds, teacherSeeds, opt))}},
			{Keys: []string{"one seed"}, Cells: []SeedCell{must(MeanCell([]float64{0.9})), must(DiffCell([]float64{0.9}, []float64{0.8}, opt))}},
		},
		Notes: []string{"Frame-level AUROC in percent."},
	}
}

func TestSeedTableMarkdown(t *testing.T) {
	tests := []struct {
		show    DiffShow
		student string
		note    string
	}{
		{ShowP, "+5.0 (p=0.013)", "p: two-sided paired t-test"},
		// With three seeds the bootstrap means take 10 values; the lowest
		// (all three 0.04) has probability 1/27 > 2.5%, so the 95% interval
		// runs from the smallest to the largest difference.
		{ShowCI, "+5.0 [+4.0, +6.0]", "[low, high]: 95% percentile bootstrap interval"},
	}
	for _, tc := range tests {
		md, err := seedTable(t, tc.show).Markdown()
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := md.WriteMarkdown(&b); err != nil {
			t.Fatal(err)
		}
		got := b.String()
		for _, want := range []string{
			"| Method | micro AUC | Δ vs teacher |",
			"| MNAD (teacher) | 82.0 ± 2.0 | - |",
			"| MNAD+FM+SCA | 87.0 ± 1.7 | " + tc.student + " |",
			"| one seed | 90.0 (n=1) | +10.0 (n=1, no ",
			"Frame-level AUROC in percent.",
			`"micro AUC": mean ± sample standard deviation (n-1)`,
			`"Δ vs teacher": mean over seeds of the per-seed difference (row minus reference) in percentage points`,
			tc.note,
			"10000 resamples of the seeds (generator seed 1)",
		} {
			if !strings.Contains(got, want) {
				t.Errorf("show %d: Markdown lacks %q:\n%s", tc.show, want, got)
			}
		}
	}
}

func TestWriteSeedTable(t *testing.T) {
	dir := t.TempDir()
	if err := WriteSeedTable(dir, "seeds", seedTable(t, ShowP)); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(dir, "seeds.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := strings.Join(recs[0], ",")
	if want := "Method,micro AUC mean,micro AUC std,micro AUC n,Δ vs teacher mean,Δ vs teacher std,Δ vs teacher n,Δ vs teacher t,Δ vs teacher df,Δ vs teacher p,Δ vs teacher boot low,Δ vs teacher boot high,Δ vs teacher t low,Δ vs teacher t high"; head != want {
		t.Fatalf("CSV header\n%s\nwant\n%s", head, want)
	}
	if len(recs) != 4 {
		t.Fatalf("%d CSV lines, want header + 3", len(recs))
	}
	num := func(row, col int) float64 {
		v, err := strconv.ParseFloat(recs[row][col], 64)
		if err != nil {
			t.Fatalf("row %d column %q: %q", row, recs[0][col], recs[row][col])
		}
		return v
	}
	checks := []struct {
		row, col  int
		want, tol float64
	}{
		{1, 1, 82, 1e-9}, {1, 2, 2, 1e-9}, {1, 3, 3, 0},
		{2, 1, 87, 1e-9}, {2, 2, 100 * math.Sqrt(3e-4), 1e-9}, {2, 3, 3, 0},
		{2, 4, 5, 1e-9}, {2, 5, 1, 1e-9}, {2, 6, 3, 0}, {2, 7, handT, 1e-6}, {2, 8, 2, 0}, {2, 9, handP, 1e-9},
		{2, 10, 4, 1e-9}, {2, 11, 6, 1e-9},
		{3, 1, 90, 1e-9}, {3, 3, 1, 0}, {3, 4, 10, 1e-9}, {3, 6, 1, 0},
	}
	for _, c := range checks {
		if got := num(c.row, c.col); math.Abs(got-c.want) > c.tol {
			t.Errorf("row %d %q = %v, want %v", c.row, recs[0][c.col], got, c.want)
		}
	}
	// What is not known is empty, not zero: the teacher's difference, the
	// one-seed row's spread, test and intervals.
	for _, c := range [][2]int{{1, 4}, {1, 6}, {1, 9}, {3, 2}, {3, 5}, {3, 7}, {3, 8}, {3, 9}, {3, 10}, {3, 13}} {
		if recs[c[0]][c[1]] != "" {
			t.Errorf("row %d %q = %q, want empty", c[0], recs[0][c[1]], recs[c[0]][c[1]])
		}
	}

	b, err := os.ReadFile(filepath.Join(dir, "seeds.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Notes []string                 `json:"notes"`
		Rows  []map[string]interface{} `json:"rows"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if got := doc.Rows[1]["Δ vs teacher p"]; got == nil || math.Abs(got.(float64)-handP) > 1e-9 {
		t.Errorf("JSON p = %v, want %v", got, handP)
	}
	if got, ok := doc.Rows[2]["Δ vs teacher p"]; !ok || got != nil {
		t.Errorf("JSON p of one seed = %v (present %v), want null", got, ok)
	}
	if len(doc.Notes) != 3 {
		t.Errorf("JSON notes %q, want the caller's and two explanations", doc.Notes)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "seeds.md"))
	if !strings.Contains(string(md), "87.0 ± 1.7") {
		t.Errorf("seeds.md lacks the student's mean ± std:\n%s", md)
	}
}

func TestSeedTableErrors(t *testing.T) {
	good := seedTable(t, ShowP)
	tests := []struct {
		name string
		edit func(*SeedTable)
		want string
	}{
		{"zero scale", func(s *SeedTable) { s.Columns[0].Scale = 0 }, "has scale 0"},
		{"short row", func(s *SeedTable) { s.Rows[1].Cells = s.Rows[1].Cells[:1] }, "row 1 has 1 keys and 1 cells"},
		{"missing key", func(s *SeedTable) { s.Rows[0].Keys = nil }, "row 0 has 0 keys"},
		{"wrong kind", func(s *SeedTable) { s.Rows[0].Cells[1] = s.Rows[0].Cells[0] }, "wrong kind of cell"},
		{"mixed settings", func(s *SeedTable) {
			c, _ := DiffCell(studentSeeds, teacherSeeds, stats.PairedOptions{Seed: 2})
			s.Rows[0].Cells[1] = c
		}, "mixes comparison settings"},
		{"duplicate names", func(s *SeedTable) {
			s.Columns[1].Name = "micro AUC"
			s.Columns[1].Kind = SeedMean
			s.Rows[1].Cells[1] = s.Rows[1].Cells[0]
			s.Rows[2].Cells[1] = SeedCell{}
		}, "appears twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := good
			s.Columns = append([]SeedColumn(nil), good.Columns...)
			s.Rows = nil
			for _, r := range good.Rows {
				s.Rows = append(s.Rows, SeedRow{Keys: append([]string(nil), r.Keys...), Cells: append([]SeedCell(nil), r.Cells...)})
			}
			tc.edit(&s)
			dir := t.TempDir()
			err := WriteSeedTable(dir, "x", s)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a refused table left %d files", len(entries))
			}
		})
	}
}

func TestSigned(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{{1.25, "+1.2"}, {-0.04, "+0.0"}, {-0.06, "-0.1"}, {0, "+0.0"}, {12, "+12.0"}} {
		if got := signed(c.v, 1); got != c.want {
			t.Errorf("signed(%v) = %q, want %q", c.v, got, c.want)
		}
	}
	for _, c := range []struct {
		p    float64
		want string
	}{{0.002833, "p=0.0028"}, {0.29517, "p=0.3"}, {0.0004, "p<0.001"}, {1, "p=1"}} {
		if got := formatP(c.p); got != c.want {
			t.Errorf("formatP(%v) = %q, want %q", c.p, got, c.want)
		}
	}
}
