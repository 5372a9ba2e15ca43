package records

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/stats"
)

// pairedOptions is the comparison of every difference column: the
// defaults of package stats (95%, 10,000 bootstrap resamples).
var pairedOptions = stats.PairedOptions{}

// Seed are the records of one seed.
type Seed struct {
	Seed    uint64
	Records []Record
}

// Column is a metric of a table over seeds; Compare adds its difference
// with the teacher.
type Column struct {
	Name    string
	Compare bool
}

// Series is one table row over seeds: its key texts and, per column, one
// value per seed (nil: not measured). Ref is the row of the teacher it is
// compared with, nil for teachers and rows without one.
type Series struct {
	Keys   []string
	Rec    Record // the first seed's record, for its names and flags
	Seeds  []uint64
	Values [][]float64
	Ref    *Series
}

// Aggregate lines up the records of several seeds by unit, tap set and
// method (in the first seed's order) and gathers each metric's values. Every
// seed must hold the same rows. cols extends a column list shared with other
// runs (nil to start one).
func Aggregate(per []Seed, cols []Column) ([]*Series, []Column, error) {
	if len(per) == 0 {
		return nil, nil, fmt.Errorf("no seeds to summarise")
	}
	key := func(r Record) string { return r.Unit + "\x00" + r.Taps + "\x00" + r.Method }
	byKey := make([]map[string]Record, len(per))
	for i, p := range per {
		byKey[i] = map[string]Record{}
		for _, r := range p.Records {
			byKey[i][key(r)] = r
		}
	}
	var rows []*Series
	teachers := map[string]*Series{}
	for _, r := range per[0].Records {
		s := &Series{Rec: r}
		for _, m := range r.Metrics {
			if !hasColumn(cols, m.Name) {
				cols = append(cols, Column{Name: m.Name, Compare: m.Compare})
			}
		}
		for i, p := range per {
			if _, ok := byKey[i][key(r)]; !ok {
				return nil, nil, fmt.Errorf("seed %d has no row for %s%s; seed %d has one: evaluate every seed the same way", p.Seed, r.Method, unitPhrase(r.Unit), per[0].Seed)
			}
			s.Seeds = append(s.Seeds, p.Seed)
		}
		if r.Teacher {
			teachers[r.Unit] = s
		}
		rows = append(rows, s)
	}
	if len(byKey[0]) != len(per[0].Records) {
		return nil, nil, fmt.Errorf("seed %d holds two rows of the same unit, tap set and method", per[0].Seed)
	}
	for _, p := range per {
		if len(p.Records) != len(per[0].Records) {
			return nil, nil, fmt.Errorf("seed %d has %d rows and seed %d %d: evaluate every seed the same way", p.Seed, len(p.Records), per[0].Seed, len(per[0].Records))
		}
	}
	for _, s := range rows {
		s.Values = make([][]float64, len(cols))
		for j, c := range cols {
			vals := make([]float64, 0, len(per))
			for i := range per {
				v := math.NaN()
				for _, m := range byKey[i][key(s.Rec)].Metrics {
					if m.Name == c.Name {
						v = m.Float()
					}
				}
				vals = append(vals, v)
			}
			if !hasNaN(vals) {
				s.Values[j] = vals
			}
		}
		if !s.Rec.Teacher {
			s.Ref = teachers[s.Rec.Unit]
		}
		s.Keys = []string{s.Rec.Method}
		if s.Rec.Unit != "" {
			s.Keys = []string{s.Rec.Unit, s.Rec.Method}
		}
	}
	return rows, cols, nil
}

func unitPhrase(u string) string {
	if u == "" {
		return ""
	}
	return " in " + u
}

func hasColumn(cols []Column, name string) bool {
	return slices.ContainsFunc(cols, func(c Column) bool { return c.Name == name })
}

func hasNaN(x []float64) bool { return slices.ContainsFunc(x, math.IsNaN) }

// SeedTable lays rows out as a table over seeds: one "mean ± std" column
// per metric, then one paired-difference column per compared metric.
func SeedTable(title string, keys []string, rows []*Series, cols []Column) (report.SeedTable, error) {
	t := report.SeedTable{Title: title, Keys: keys}
	for _, c := range cols {
		t.Columns = append(t.Columns, report.MeanColumn(c.Name))
	}
	var diffs []int
	for j, c := range cols {
		if c.Compare {
			t.Columns = append(t.Columns, report.DiffColumn("Δ "+c.Name, report.ShowP))
			diffs = append(diffs, j)
		}
	}
	for _, r := range rows {
		row := report.SeedRow{Keys: r.Keys}
		for j, c := range cols {
			var cell report.SeedCell
			if r.Values[j] != nil {
				var err error
				if cell, err = report.MeanCell(r.Values[j]); err != nil {
					return t, fmt.Errorf("%s, %s: %w", strings.Join(r.Keys, " "), c.Name, err)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		for _, j := range diffs {
			var cell report.SeedCell
			if r.Ref != nil && r.Values[j] != nil && r.Ref.Values[j] != nil {
				var err error
				if cell, err = report.DiffCell(r.Values[j], r.Ref.Values[j], pairedOptions); err != nil {
					return t, fmt.Errorf("%s, Δ %s: %w", strings.Join(r.Keys, " "), cols[j].Name, err)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	if len(diffs) > 0 {
		t.Notes = append(t.Notes, "Values in percent. Δ: a student row minus the teacher it mimics, seed by seed (the teacher of the same seed), in percentage points; the teacher row has none.")
	}
	if len(rows) > 0 && len(rows[0].Rec.Metrics) > 0 {
		t.Notes = append(t.Notes, MetricsNote(rows[0].Rec))
	}
	return t, nil
}
