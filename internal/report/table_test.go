package report

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestCellString(t *testing.T) {
	tests := []struct {
		cell Cell
		want string
	}{
		{Str("carpet"), "carpet"},
		{Num(97.149, 1), "97.1"},
		{Num(97.151, 1), "97.2"},
		{Num(3, 0), "3"},
		{Num(math.NaN(), 1), "-"},
		{Num(0.1, -1), "0.1"},
		{Num(1e-3, -1), "0.001"},
	}
	for _, tc := range tests {
		if got := tc.cell.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.cell, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name    string
		table   Table
		wantErr string
	}{
		{"ok", Table{Columns: []string{"a", "b"}, Rows: [][]Cell{{Str("x"), Num(1, 1)}}}, ""},
		{"no columns", Table{}, "no columns"},
		{"empty column", Table{Columns: []string{"a", ""}}, "empty name"},
		{"duplicate column", Table{Columns: []string{"a", "a"}}, "appears twice"},
		{"short row", Table{Columns: []string{"a", "b"}, Rows: [][]Cell{{Str("x")}}}, "has 1 cells, want 2"},
		{"long footer", Table{Columns: []string{"a"}, Footer: [][]Cell{{Str("x"), Str("y")}}}, "footer row 0 has 2 cells"},
		{"infinite", Table{Columns: []string{"a"}, Rows: [][]Cell{{Num(math.Inf(1), 1)}}}, "infinite"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.table.Validate()
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("Validate() = %v, want error containing %q", err, tc.wantErr)
			}
		})
	}
}

func sampleTable() Table {
	return Table{
		Title:   "Sample | test",
		Columns: []string{"Name", "Score", "Ratio"},
		Rows: [][]Cell{
			{Str("alpha"), Num(97.14159, 1), Num(1.0/3, 3)},
			{Str("be|ta"), Num(math.NaN(), 1), Num(1e-7, 3)},
		},
		Footer: [][]Cell{{Str("Average"), Num(97.14159, 1), Num(0.15, 3)}},
		Notes:  []string{"Scores in percent."},
		Meta:   map[string]string{"run": "r1"},
	}
}

func TestWriteMarkdown(t *testing.T) {
	var b strings.Builder
	if err := sampleTable().WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	want := `### Sample \| test

| Name | Score | Ratio |
| :--- | ---: | ---: |
| alpha | 97.1 | 0.333 |
| be\|ta | - | 0.000 |
| **Average** | **97.1** | **0.150** |

Scores in percent.
`
	if got := b.String(); got != want {
		t.Errorf("Markdown:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteAllRoundTrip(t *testing.T) {
	dir := t.TempDir()
	tab := sampleTable()
	if err := WriteAll(dir, "sample", tab); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"sample.csv", "sample.json", "sample.md"}; !slices.Equal(names, want) {
		t.Errorf("files in dir = %q, want %q (no temporaries left behind)", names, want)
	}

	t.Run("csv", func(t *testing.T) {
		f, err := os.Open(filepath.Join(dir, "sample.csv"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(recs[0], tab.Columns) {
			t.Errorf("header = %q, want %q", recs[0], tab.Columns)
		}
		all := append(slices.Clone(tab.Rows), tab.Footer...)
		if len(recs)-1 != len(all) {
			t.Fatalf("got %d records after the header, want %d", len(recs)-1, len(all))
		}
		for i, row := range all {
			for j, c := range row {
				got := recs[i+1][j]
				switch {
				case !c.Numeric:
					if got != c.Text {
						t.Errorf("record %d field %d = %q, want %q", i+1, j, got, c.Text)
					}
				case math.IsNaN(c.Value):
					if got != "" {
						t.Errorf("record %d field %d = %q, want empty for NaN", i+1, j, got)
					}
				default:
					v, err := strconv.ParseFloat(got, 64)
					if err != nil || v != c.Value {
						t.Errorf("record %d field %d = %q, want exactly %v", i+1, j, got, c.Value)
					}
				}
			}
		}
	})

	t.Run("json", func(t *testing.T) {
		raw, err := os.ReadFile(filepath.Join(dir, "sample.json"))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Title   string
			Columns []string
			Notes   []string
			Meta    map[string]string
			Rows    []map[string]any
			Footer  []map[string]any
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Title != tab.Title || !slices.Equal(doc.Columns, tab.Columns) || !slices.Equal(doc.Notes, tab.Notes) || doc.Meta["run"] != "r1" {
			t.Errorf("metadata = %q %q %q %v, want those of the table", doc.Title, doc.Columns, doc.Notes, doc.Meta)
		}
		check := func(kind string, got []map[string]any, want [][]Cell) {
			if len(got) != len(want) {
				t.Fatalf("%s: %d objects, want %d", kind, len(got), len(want))
			}
			for i, row := range want {
				for j, c := range row {
					v, ok := got[i][tab.Columns[j]]
					if !ok {
						t.Errorf("%s %d: key %q missing", kind, i, tab.Columns[j])
						continue
					}
					switch {
					case !c.Numeric:
						if v != c.Text {
							t.Errorf("%s %d %q = %v, want %q", kind, i, tab.Columns[j], v, c.Text)
						}
					case math.IsNaN(c.Value):
						if v != nil {
							t.Errorf("%s %d %q = %v, want null", kind, i, tab.Columns[j], v)
						}
					default:
						if f, ok := v.(float64); !ok || f != c.Value {
							t.Errorf("%s %d %q = %v, want exactly %v", kind, i, tab.Columns[j], v, c.Value)
						}
					}
				}
			}
		}
		check("row", doc.Rows, tab.Rows)
		check("footer", doc.Footer, tab.Footer)

		// Keys keep the column order, which a reader of the raw file sees.
		first := strings.Index(string(raw), `"Name": "alpha"`)
		second := strings.Index(string(raw), `"Score": 97.14159`)
		third := strings.Index(string(raw), `"Ratio": 0.3333333333333333`)
		if first < 0 || !(first < second && second < third) {
			t.Errorf("row keys not in column order in:\n%s", raw)
		}
	})
}

func TestWriteFileAtomicKeepsOldFileOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.md")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := Table{Columns: []string{"a", "a"}}
	if err := WriteMarkdownFile(path, bad); err == nil {
		t.Fatal("writing an invalid table succeeded")
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "old" {
		t.Errorf("after failed write file = %q, %v; want the old content", got, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("dir holds %d entries after failed write, want 1 (temporary removed)", len(entries))
	}

	if err := WriteMarkdownFile(path, sampleTable()); err != nil {
		t.Fatal(err)
	}
	got, _ = os.ReadFile(path)
	if !strings.HasPrefix(string(got), "### Sample") {
		t.Errorf("file not replaced: %q", got)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v; want 0644", fi.Mode().Perm(), err)
	}
}

func TestWriteAllRejects(t *testing.T) {
	dir := t.TempDir()
	if err := WriteAll(dir, "a/b", sampleTable()); err == nil {
		t.Error("basename with a separator accepted")
	}
	if err := WriteAll(dir, "x", Table{Columns: []string{"a"}, Rows: [][]Cell{{}}}); err == nil {
		t.Error("ragged table accepted")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("rejected writes left %d files", len(entries))
	}
	// The writer makes missing folders, but none can be made below a file.
	blocker := filepath.Join(t.TempDir(), "blocker")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteAll(blocker, "x", sampleTable()); err == nil || !strings.Contains(err.Error(), "blocker") {
		t.Errorf("write below a plain file: %v, want an error naming the path", err)
	}
}
