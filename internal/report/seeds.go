package report

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/stats"
)

// SeedKind says what a SeedColumn holds.
type SeedKind int

const (
	// SeedMean columns show "mean ± std" of per-seed values.
	SeedMean SeedKind = iota
	// SeedDiff columns show a paired difference over seeds against a
	// reference (a student against its teacher).
	SeedDiff
)

// DiffShow picks what a SeedDiff column shows beside the mean difference in
// Markdown; CSV and JSON always hold everything.
type DiffShow int

const (
	// ShowP shows the p-value of the paired t-test: "+1.2 (p=0.0028)".
	ShowP DiffShow = iota
	// ShowCI shows the bootstrap interval: "+1.2 [+0.5, +1.9]".
	ShowCI
)

// SeedColumn is one aggregated column of a SeedTable.
type SeedColumn struct {
	Name string
	Kind SeedKind
	// Scale multiplies means, standard deviations, differences and
	// intervals, in Markdown and in CSV/JSON alike: 100 shows fractions as
	// percent (percentage points for differences), 1 keeps the values.
	// Zero is refused, so that no column is silently left unscaled.
	Scale float64
	// Prec is the number of decimals in Markdown.
	Prec int
	// Show applies to SeedDiff columns.
	Show DiffShow
}

// MeanColumn returns a "mean ± std" column of fractions shown in percent
// with one decimal, the convention of this package.
func MeanColumn(name string) SeedColumn {
	return SeedColumn{Name: name, Kind: SeedMean, Scale: 100, Prec: 1}
}

// DiffColumn returns a paired-difference column of fractions, shown in
// percentage points with one decimal.
func DiffColumn(name string, show DiffShow) SeedColumn {
	return SeedColumn{Name: name, Kind: SeedDiff, Scale: 100, Prec: 1, Show: show}
}

// SeedCell is one aggregated entry: Summary in a SeedMean column, Diff in a
// SeedDiff column. The zero SeedCell is absent ("-", empty fields, null),
// e.g. the reference row of a difference column.
type SeedCell struct {
	Summary stats.Summary
	Diff    stats.Paired
}

// MeanCell summarises per-seed values.
func MeanCell(values []float64) (SeedCell, error) {
	s, err := stats.Summarize(values)
	if err != nil {
		return SeedCell{}, err
	}
	return SeedCell{Summary: s}, nil
}

// DiffCell compares a against the reference b, both one value per seed in
// the same seed order; the difference is a - b.
func DiffCell(a, b []float64, opt stats.PairedOptions) (SeedCell, error) {
	p, err := stats.Compare(a, b, opt)
	if err != nil {
		return SeedCell{}, err
	}
	return SeedCell{Diff: p}, nil
}

// SeedRow is one row: its key texts (one per SeedTable.Keys) and one cell
// per SeedTable.Columns.
type SeedRow struct {
	Keys  []string
	Cells []SeedCell
}

// SeedTable is a results table over seeds. People read "mean ± std" in one
// Markdown column; programs get the mean, standard deviation and number of
// seeds as separate numeric columns in CSV and JSON ("<name> mean", "<name>
// std", "<name> n"; difference columns add "<name> t", "<name> df",
// "<name> p", "<name> boot low", "<name> boot high", "<name> t low",
// "<name> t high"). A note under the table explains each difference column.
type SeedTable struct {
	Title   string
	Keys    []string // leading text columns, e.g. "Dataset", "Method"
	Columns []SeedColumn
	Rows    []SeedRow
	Notes   []string
	Meta    map[string]string
}

func (t SeedTable) validate() error {
	for j, c := range t.Columns {
		if c.Scale == 0 || math.IsNaN(c.Scale) || math.IsInf(c.Scale, 0) {
			return fmt.Errorf("seed table %q: column %q has scale %v; use 100 for fractions shown in percent or 1 to keep the values (MeanColumn and DiffColumn set it)", t.Title, c.Name, c.Scale)
		}
		if c.Kind != SeedMean && c.Kind != SeedDiff {
			return fmt.Errorf("seed table %q: column %q has unknown kind %d", t.Title, c.Name, c.Kind)
		}
		var ref *stats.Paired
		for i, r := range t.Rows {
			if len(r.Keys) != len(t.Keys) || len(r.Cells) != len(t.Columns) {
				return fmt.Errorf("seed table %q: row %d has %d keys and %d cells, want %d and %d", t.Title, i, len(r.Keys), len(r.Cells), len(t.Keys), len(t.Columns))
			}
			cell := r.Cells[j]
			if c.Kind == SeedMean && cell.Diff.N != 0 || c.Kind == SeedDiff && cell.Summary.N != 0 {
				return fmt.Errorf("seed table %q: row %d column %q holds the wrong kind of cell (a difference in a mean column or the reverse)", t.Title, i, c.Name)
			}
			// One note describes the whole column, so its test settings
			// must agree.
			if d := cell.Diff; d.N > 0 {
				if ref != nil && (d.Level != ref.Level || d.Resamples > 0 && ref.Resamples > 0 && (d.Resamples != ref.Resamples || d.Seed != ref.Seed)) {
					return fmt.Errorf("seed table %q: column %q mixes comparison settings (level %v, %d resamples, seed %d against level %v, %d, %d); compare every row with the same stats.PairedOptions", t.Title, c.Name, d.Level, d.Resamples, d.Seed, ref.Level, ref.Resamples, ref.Seed)
				}
				if ref == nil || ref.Resamples == 0 {
					ref = &d
				}
			}
		}
	}
	return nil
}

// Markdown returns the table people read: keys, then one text cell per
// column, and the notes with an explanation of each difference column.
func (t SeedTable) Markdown() (Table, error) {
	if err := t.validate(); err != nil {
		return Table{}, err
	}
	out := Table{Title: t.Title, Columns: append([]string(nil), t.Keys...), Meta: t.Meta}
	for _, c := range t.Columns {
		out.Columns = append(out.Columns, c.Name)
	}
	for _, r := range t.Rows {
		row := keyCells(r.Keys)
		for j, c := range t.Columns {
			row = append(row, Str(formatSeedCell(c, r.Cells[j])))
		}
		out.Rows = append(out.Rows, row)
	}
	out.Notes = t.notes()
	return out, out.Validate()
}

// Machine returns the table programs read: every quantity its own numeric
// column, scaled by the column's Scale where it is in the column's unit.
func (t SeedTable) Machine() (Table, error) {
	if err := t.validate(); err != nil {
		return Table{}, err
	}
	out := Table{Title: t.Title, Columns: append([]string(nil), t.Keys...), Meta: t.Meta}
	for _, c := range t.Columns {
		for _, part := range seedParts(c.Kind) {
			out.Columns = append(out.Columns, c.Name+" "+part)
		}
	}
	for _, r := range t.Rows {
		row := keyCells(r.Keys)
		for j, c := range t.Columns {
			row = append(row, machineCells(c, r.Cells[j])...)
		}
		out.Rows = append(out.Rows, row)
	}
	out.Notes = t.notes()
	return out, out.Validate()
}

// WriteSeedTable writes dir/basename.md from the Markdown form and .csv and
// .json from the machine form. Both are built first, so that an invalid
// table leaves no file behind.
func WriteSeedTable(dir, basename string, t SeedTable) error {
	if basename == "" || strings.ContainsRune(basename, filepath.Separator) {
		return fmt.Errorf("write seed table %q: basename %q must be a plain file name without extension", t.Title, basename)
	}
	base := filepath.Join(dir, basename)
	md, err := t.Markdown()
	if err != nil {
		return fmt.Errorf("write seed table to %s: %w", base, err)
	}
	mc, err := t.Machine()
	if err != nil {
		return fmt.Errorf("write seed table to %s: %w", base, err)
	}
	return errors.Join(
		WriteMarkdownFile(base+".md", md),
		WriteCSVFile(base+".csv", mc),
		WriteJSONFile(base+".json", mc),
	)
}

func keyCells(keys []string) []Cell {
	row := make([]Cell, len(keys))
	for i, k := range keys {
		row[i] = Str(k)
	}
	return row
}

func seedParts(k SeedKind) []string {
	if k == SeedDiff {
		return []string{"mean", "std", "n", "t", "df", "p", "boot low", "boot high", "t low", "t high"}
	}
	return []string{"mean", "std", "n"}
}

func machineCells(c SeedColumn, cell SeedCell) []Cell {
	nan := math.NaN()
	count := func(n int) Cell {
		if n == 0 {
			return Num(nan, 0)
		}
		return Num(float64(n), 0)
	}
	scaled := func(v float64) Cell { return Num(c.Scale*v, c.Prec) }
	if c.Kind == SeedMean {
		s := cell.Summary
		if s.N == 0 {
			return []Cell{Num(nan, c.Prec), Num(nan, c.Prec), count(0)}
		}
		return []Cell{scaled(s.Mean), scaled(s.Std), count(s.N)}
	}
	d := cell.Diff
	if d.N == 0 {
		d = stats.Paired{MeanDiff: nan, StdDiff: nan, T: nan, P: nan, BootLow: nan, BootHigh: nan, TLow: nan, THigh: nan}
	}
	df := Num(float64(d.DF), 0)
	if d.N < 2 {
		df = Num(nan, 0)
	}
	return []Cell{scaled(d.MeanDiff), scaled(d.StdDiff), count(d.N), Num(d.T, 4), df, Num(d.P, 4),
		scaled(d.BootLow), scaled(d.BootHigh), scaled(d.TLow), scaled(d.THigh)}
}

func formatSeedCell(c SeedColumn, cell SeedCell) string {
	if c.Kind == SeedMean {
		s := cell.Summary
		return stats.FormatMeanStd(c.Scale*s.Mean, c.Scale*s.Std, s.N, c.Prec)
	}
	d := cell.Diff
	if d.N == 0 {
		return "-"
	}
	mean := signed(c.Scale*d.MeanDiff, c.Prec)
	switch {
	case c.Show == ShowCI && !math.IsNaN(d.BootLow):
		return fmt.Sprintf("%s [%s, %s]", mean, signed(c.Scale*d.BootLow, c.Prec), signed(c.Scale*d.BootHigh, c.Prec))
	case c.Show == ShowCI:
		return fmt.Sprintf("%s (n=%d, no CI)", mean, d.N)
	case math.IsNaN(d.P):
		return fmt.Sprintf("%s (n=%d, no test)", mean, d.N)
	default:
		return fmt.Sprintf("%s (%s)", mean, formatP(d.P))
	}
}

// signed formats v with an explicit sign, and a value that rounds to zero
// as +0 rather than the puzzling -0.0.
func signed(v float64, prec int) string {
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if r, _ := strconv.ParseFloat(s, 64); r == 0 {
		s = strconv.FormatFloat(0, 'f', prec, 64)
	}
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	return s
}

// formatP shows two significant digits, and p < 0.001 as such: more digits
// of a small p-value from a handful of seeds would be false precision.
func formatP(p float64) string {
	if p < 0.001 {
		return "p<0.001"
	}
	return "p=" + strconv.FormatFloat(p, 'g', 2, 64)
}

// notes returns the caller's notes, one sentence on the mean columns and one
// per difference column describing its test.
func (t SeedTable) notes() []string {
	out := append([]string(nil), t.Notes...)
	var means []string
	for _, c := range t.Columns {
		if c.Kind == SeedMean {
			means = append(means, fmt.Sprintf("%q", c.Name))
		}
	}
	if len(means) > 0 {
		out = append(out, fmt.Sprintf("%s: mean ± sample standard deviation (n-1) over the seeds of each row; a single seed shows its value and (n=1).", strings.Join(means, ", ")))
	}
	for j, c := range t.Columns {
		if c.Kind != SeedDiff {
			continue
		}
		var ref stats.Paired
		for _, r := range t.Rows {
			if d := r.Cells[j].Diff; d.N > 0 && (ref.N == 0 || ref.Resamples == 0) {
				ref = d
			}
		}
		if ref.N == 0 {
			continue
		}
		unit := ""
		if c.Scale == 100 {
			unit = " in percentage points"
		}
		s := fmt.Sprintf("%q: mean over seeds of the per-seed difference (row minus reference)%s", c.Name, unit)
		test := "two-sided paired t-test on the per-seed differences, df = seeds - 1"
		boot := "percentile bootstrap interval of the mean difference"
		if ref.Resamples > 0 {
			boot = fmt.Sprintf("%g%% %s, %d resamples of the seeds (generator seed %d)", 100*ref.Level, boot, ref.Resamples, ref.Seed)
		} else {
			boot += " (absent here: bootstrap off or fewer than three seeds)"
		}
		if c.Show == ShowCI {
			s += fmt.Sprintf("; [low, high]: %s; CSV and JSON add the %s", boot, test)
		} else {
			s += fmt.Sprintf("; p: %s; CSV and JSON add the %s", test, boot)
		}
		s += ". One seed gives no test and no interval; fewer than three give no bootstrap interval."
		out = append(out, s)
	}
	return out
}
