package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/atomicfile"
)

// Cell is one table entry: either text or a number printed with a fixed
// number of decimals.
type Cell struct {
	Text    string
	Value   float64
	Prec    int // decimals shown in Markdown; negative means the shortest exact form
	Numeric bool
	// Signed shows a plus sign on positive numbers (and on a zero), as a
	// difference reads unambiguously.
	Signed bool
}

// Str returns a text cell.
func Str(s string) Cell { return Cell{Text: s} }

// Num returns a numeric cell shown with prec decimals (prec < 0: shortest
// form that reads back exactly). NaN means absent.
func Num(v float64, prec int) Cell { return Cell{Value: v, Prec: prec, Numeric: true} }

// Diff returns a numeric cell for a difference, always shown with its
// sign ("+1.5", "-0.3", "+0.0").
func Diff(v float64, prec int) Cell { return Cell{Value: v, Prec: prec, Numeric: true, Signed: true} }

// String formats the cell for people: numbers rounded to Prec decimals,
// absent numbers as "-".
func (c Cell) String() string {
	if !c.Numeric {
		return c.Text
	}
	if math.IsNaN(c.Value) {
		return "-"
	}
	if c.Signed {
		return signed(c.Value, c.Prec)
	}
	return strconv.FormatFloat(c.Value, 'f', c.Prec, 64)
}

// machine formats the cell for CSV: full precision so that a reader gets the
// value back exactly, absent numbers as an empty field.
func (c Cell) machine() string {
	if !c.Numeric {
		return c.Text
	}
	if math.IsNaN(c.Value) {
		return ""
	}
	return strconv.FormatFloat(c.Value, 'g', -1, 64)
}

// Table is a titled grid of cells. Footer rows (averages and the like) follow
// the data rows: in bold in Markdown, after the data lines in CSV, and as a
// separate "footer" array in JSON.
type Table struct {
	Title   string
	Columns []string
	Rows    [][]Cell
	Footer  [][]Cell
	// Notes are sentences printed under the Markdown table and stored in the
	// JSON metadata, e.g. the units of the numbers.
	Notes []string
	// Meta is free-form metadata (run name, configuration hash) stored in
	// the JSON file only.
	Meta map[string]string
}

// Validate reports whether the table can be written: column names must be
// unique and non-empty (they are JSON keys) and every row must have one cell
// per column.
func (t Table) Validate() error {
	if len(t.Columns) == 0 {
		return fmt.Errorf("table %q has no columns", t.Title)
	}
	seen := make(map[string]bool, len(t.Columns))
	for i, c := range t.Columns {
		if c == "" {
			return fmt.Errorf("table %q: column %d has an empty name", t.Title, i)
		}
		if seen[c] {
			return fmt.Errorf("table %q: column name %q appears twice; names must be unique (they are JSON keys)", t.Title, c)
		}
		seen[c] = true
	}
	check := func(kind string, rows [][]Cell) error {
		for i, r := range rows {
			if len(r) != len(t.Columns) {
				return fmt.Errorf("table %q: %s row %d has %d cells, want %d (one per column)", t.Title, kind, i, len(r), len(t.Columns))
			}
			for j, c := range r {
				if c.Numeric && math.IsInf(c.Value, 0) {
					return fmt.Errorf("table %q: %s row %d column %q is infinite", t.Title, kind, i, t.Columns[j])
				}
			}
		}
		return nil
	}
	if err := check("data", t.Rows); err != nil {
		return err
	}
	return check("footer", t.Footer)
}

// WriteMarkdown writes the table as a GitHub-flavoured Markdown table under
// a level-3 heading. Numeric columns are right-aligned.
func (t Table) WriteMarkdown(w io.Writer) error {
	if err := t.Validate(); err != nil {
		return err
	}
	var b strings.Builder
	if t.Title != "" {
		fmt.Fprintf(&b, "### %s\n\n", mdEscape(t.Title))
	}
	numeric := make([]bool, len(t.Columns))
	for _, rows := range [][][]Cell{t.Rows, t.Footer} {
		for _, r := range rows {
			for j, c := range r {
				numeric[j] = numeric[j] || c.Numeric
			}
		}
	}
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" ")
			b.WriteString(c)
			b.WriteString(" |")
		}
		b.WriteString("\n")
	}
	head := make([]string, len(t.Columns))
	align := make([]string, len(t.Columns))
	for j, c := range t.Columns {
		head[j] = mdEscape(c)
		align[j] = ":---"
		if numeric[j] {
			align[j] = "---:"
		}
	}
	line(head)
	line(align)
	cells := make([]string, len(t.Columns))
	for _, r := range t.Rows {
		for j, c := range r {
			cells[j] = mdEscape(c.String())
		}
		line(cells)
	}
	for _, r := range t.Footer {
		for j, c := range r {
			s := mdEscape(c.String())
			if s != "" {
				s = "**" + s + "**"
			}
			cells[j] = s
		}
		line(cells)
	}
	if len(t.Notes) > 0 {
		b.WriteString("\n")
		for _, n := range t.Notes {
			b.WriteString(mdEscape(n))
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// mdEscape keeps a cell from breaking the table: pipes would start a new
// column and newlines a new row.
func mdEscape(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// WriteCSV writes a header line of column names, then the data rows, then the
// footer rows. Numbers carry full precision; absent numbers are empty fields.
func (t Table) WriteCSV(w io.Writer) error {
	if err := t.Validate(); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Columns); err != nil {
		return err
	}
	rec := make([]string, len(t.Columns))
	for _, rows := range [][][]Cell{t.Rows, t.Footer} {
		for _, r := range rows {
			for j, c := range r {
				rec[j] = c.machine()
			}
			if err := cw.Write(rec); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteJSON writes one object: the metadata (title, columns, notes, meta) and
// "rows" and "footer", arrays of objects keyed by column name in column order.
// Numbers carry full precision; absent numbers are null.
func (t Table) WriteJSON(w io.Writer) error {
	if err := t.Validate(); err != nil {
		return err
	}
	rows := func(rs [][]Cell) []orderedRow {
		out := make([]orderedRow, len(rs))
		for i, r := range rs {
			out[i] = orderedRow{cols: t.Columns, cells: r}
		}
		return out
	}
	doc := struct {
		Title   string            `json:"title"`
		Columns []string          `json:"columns"`
		Notes   []string          `json:"notes,omitempty"`
		Meta    map[string]string `json:"meta,omitempty"`
		Rows    []orderedRow      `json:"rows"`
		Footer  []orderedRow      `json:"footer"`
	}{t.Title, t.Columns, t.Notes, t.Meta, rows(t.Rows), rows(t.Footer)}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(doc)
}

// orderedRow marshals as a JSON object whose keys keep the column order, which
// a Go map would lose.
type orderedRow struct {
	cols  []string
	cells []Cell
}

func (r orderedRow) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for j, c := range r.cells {
		if j > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(r.cols[j])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		var v []byte
		switch {
		case !c.Numeric:
			v, err = json.Marshal(c.Text)
		case math.IsNaN(c.Value):
			v = []byte("null")
		default:
			v, err = json.Marshal(c.Value)
		}
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// WriteMarkdownFile writes t as Markdown to path, atomically.
func WriteMarkdownFile(path string, t Table) error {
	return atomicfile.WriteFunc(path, t.WriteMarkdown)
}

// WriteCSVFile writes t as CSV to path, atomically.
func WriteCSVFile(path string, t Table) error {
	return atomicfile.WriteFunc(path, t.WriteCSV)
}

// WriteJSONFile writes t as JSON to path, atomically.
func WriteJSONFile(path string, t Table) error {
	return atomicfile.WriteFunc(path, t.WriteJSON)
}

// WriteAll writes dir/basename.md, .csv and .json. The table is validated
// first so that an invalid table leaves no file behind.
func WriteAll(dir, basename string, t Table) error {
	if basename == "" || strings.ContainsRune(basename, filepath.Separator) {
		return fmt.Errorf("write table %q: basename %q must be a plain file name without extension", t.Title, basename)
	}
	if err := t.Validate(); err != nil {
		return fmt.Errorf("write table to %s: %w", filepath.Join(dir, basename), err)
	}
	base := filepath.Join(dir, basename)
	return errors.Join(
		WriteMarkdownFile(base+".md", t),
		WriteCSVFile(base+".csv", t),
		WriteJSONFile(base+".json", t),
	)
}
