// Package compare lays several evaluated run folders out as one table
// ('fmam compare'), with the configuration keys that differ between them
// and an HTML page of their pictures. It reads run folders only (their
// config.yaml and records.json): nothing is trained or scored, and no
// ONNX Runtime is opened.
package compare

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/records"
	"github.com/fmam/fmam/internal/report"
)

// Comparison is one table over several evaluated run folders: their
// student and teacher rows aligned by data set and category, with the
// configuration keys that differ between the runs as columns.
type Comparison struct {
	// Seeds reports whether any run has several seeds: the table then
	// shows mean ± std over seeds (Seed), else plain values (Plain).
	Seeds bool
	Seed  report.SeedTable
	Plain report.Table
	// Keys are the configuration keys that differ between the runs.
	Keys []string
	// Runs are the run folders in the order given, with their pictures.
	Runs []ComparedRun
}

// ComparedRun is one run folder of a comparison.
type ComparedRun struct {
	Dir, Name string
	// Pictures are the PNG files of its evaluated stages that exist.
	Pictures []string
}

// compareIgnored are configuration keys that do not change results.
var compareIgnored = []string{"name", "device", "threads", "log_level", "ort_lib", "runs_dir"}

type comparedRun struct {
	ComparedRun
	cfg  *config.Config
	flat map[string]string
	per  []records.Seed
}

// Compare reads the records of each run folder's configured student
// (every seed of a multi-seed run; 'fmam eval' writes them) and lays them
// out as one table.
func Compare(ctx context.Context, dirs []string) (*Comparison, error) {
	if len(dirs) == 0 {
		return nil, fmt.Errorf("compare: no run folders")
	}
	var runs []*comparedRun
	for _, d := range dirs {
		r, err := loadCompared(ctx, d)
		if err != nil {
			return nil, err
		}
		runs = append(runs, r)
	}
	names := runNames(dirs)
	for i, r := range runs {
		r.Name = names[i]
	}
	keys := differingKeys(runs)
	c := &Comparison{Keys: keys}
	var cols []records.Column
	var rows []*records.Series
	rowRun := map[*records.Series]*comparedRun{}
	for _, r := range runs {
		rs, cs, err := records.Aggregate(r.per, cols)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", r.Dir, err)
		}
		cols = cs
		for _, s := range rs {
			rowRun[s] = r
		}
		rows = append(rows, rs...)
		c.Seeds = c.Seeds || r.cfg.MultiSeed()
		c.Runs = append(c.Runs, r.ComparedRun)
	}
	// aggregate sized each row's values for the columns known then; later
	// runs may have added columns.
	for _, s := range rows {
		for len(s.Values) < len(cols) {
			s.Values = append(s.Values, nil)
		}
	}
	rows, shared := alignRows(rows, rowRun)
	category := slices.ContainsFunc(rows, func(s *records.Series) bool { return s.Rec.Unit != "" })
	head := []string{"Dataset"}
	if category {
		head = append(head, "Category")
	}
	head = append(head, "Run")
	head = append(head, keys...)
	head = append(head, "Method")
	for _, s := range rows {
		k := []string{s.Rec.Dataset}
		if category {
			k = append(k, orDash(s.Rec.Unit))
		}
		var rn []string
		for _, r := range shared[s] {
			rn = append(rn, r.Name)
		}
		k = append(k, strings.Join(rn, ", "))
		for _, key := range keys {
			var vals []string
			for _, r := range shared[s] {
				if v := orDash(r.flat[key]); !slices.Contains(vals, v) {
					vals = append(vals, v)
				}
			}
			k = append(k, strings.Join(vals, ", "))
		}
		s.Keys = append(k, s.Rec.Method)
	}
	title := fmt.Sprintf("Comparison of %d runs", len(runs))
	notes := []string{"Rows are aligned by data set and category; Run names the run folder, and the columns after it the configuration keys that differ between the runs (- where a run does not set the key)."}
	if len(rows) != len(rowRun) {
		notes = append(notes, "A teacher row listing several runs stands for identical teachers (same numbers on every seed), shown once.")
	}
	if c.Seeds {
		t, err := records.SeedTable(title, head, rows, cols)
		if err != nil {
			return nil, err
		}
		t.Notes = append(notes, t.Notes...)
		c.Seed = t
		return c, nil
	}
	c.Plain = plainTable(title, head, rows, cols, notes)
	return c, c.Plain.Validate()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// loadCompared opens a run folder for reading only: its configuration,
// baseline and records, without opening ONNX Runtime.
func loadCompared(ctx context.Context, dir string) (*comparedRun, error) {
	l := baseline.Layout{Root: dir}
	y, err := os.ReadFile(l.Config())
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w; is it a run folder written by 'fmam train'?", dir, err)
	}
	cfg, err := config.LoadRecorded(l.Config())
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", dir, err)
	}
	b, err := registry.Lookup(cfg)
	if err != nil {
		return nil, fmt.Errorf("compare %s: %w", dir, err)
	}
	r := &comparedRun{ComparedRun: ComparedRun{Dir: dir}, cfg: cfg}
	if r.flat, err = flatConfig(y); err != nil {
		return nil, fmt.Errorf("compare %s: %w", l.Config(), err)
	}
	// Run folders record absolute paths; the table shows them as the
	// user would type them from here.
	if wd, err := os.Getwd(); err == nil {
		for _, k := range config.PathKeys() {
			if rel, err := filepath.Rel(wd, r.flat[k]); err == nil && filepath.IsAbs(r.flat[k]) && !strings.HasPrefix(rel, "..") {
				r.flat[k] = rel
			}
		}
	}
	// A multi-seed run's seed folders are run folders of their own, each
	// with the configuration of its seed.
	layouts, cfgs, seeds := []baseline.Layout{l}, []*config.Config{cfg}, []uint64{cfg.Seed}
	if cfg.MultiSeed() {
		layouts, cfgs, seeds = nil, nil, cfg.Train.Seeds
		for _, k := range seeds {
			layouts = append(layouts, l.Seed(k))
			cfgs = append(cfgs, cfg.ForSeed(k))
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for i, sl := range layouts {
		// The run's units as its stage folders name them: the one video
		// data set (""), or every image category.
		units, err := b.Task().Units(ctx, &baseline.Unit{Cfg: cfgs[i], Log: log, Layout: sl})
		if err != nil {
			return nil, err
		}
		// Each unit's student of the run's own tap set (true: the plain
		// "student" folder).
		var recs []records.Record
		for _, u := range units {
			rs, err := records.Read(sl.Student(u, cfg.Model.Taps, true).Records())
			if err != nil {
				return nil, fmt.Errorf("compare %s: %w", dir, inUnit(u, err))
			}
			recs = append(recs, rs...)
		}
		r.per = append(r.per, records.Seed{Seed: seeds[i], Records: records.WithMeanUnit(recs)})
		for _, u := range units {
			st := sl.Student(u, cfg.Model.Taps, true)
			for _, p := range []string{st.Picture("roc"), st.Picture("maps"), st.LossPlot(), sl.Teacher(u).LossPlot()} {
				if _, err := os.Stat(p); err == nil {
					r.Pictures = append(r.Pictures, p)
				}
			}
		}
	}
	return r, nil
}

func inUnit(unit string, err error) error {
	if unit == "" {
		return err
	}
	return fmt.Errorf("category %s: %w", unit, err)
}

// flatConfig flattens config.yaml into dotted keys ("model.attention.kind")
// with lists joined by commas.
func flatConfig(y []byte) (map[string]string, error) {
	var m map[string]any
	if err := yaml.Unmarshal(y, &m); err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, sub := range x {
				p := k
				if prefix != "" {
					p = prefix + "." + k
				}
				walk(p, sub)
			}
		case []any:
			var s []string
			for _, e := range x {
				s = append(s, fmt.Sprint(e))
			}
			out[prefix] = strings.Join(s, ",")
		case nil:
			out[prefix] = ""
		default:
			out[prefix] = fmt.Sprint(x)
		}
	}
	walk("", m)
	return out, nil
}

// differingKeys lists, sorted, the configuration keys whose values differ
// between runs (a key one run lacks differs from any value), leaving out
// of the comparison the runs for which a key is unused (the teacher
// settings of a run that imports its teacher).
func differingKeys(runs []*comparedRun) []string {
	all := map[string]bool{}
	for _, r := range runs {
		for k := range r.flat {
			all[k] = true
		}
	}
	var out []string
	for k := range all {
		if slices.Contains(compareIgnored, k) {
			continue
		}
		var seen []string
		for _, r := range runs {
			if r.cfg.Unused(k) {
				continue
			}
			v, has := r.flat[k]
			if !has {
				v = "\x00" // absent: differs from any value
			}
			if !slices.Contains(seen, v) {
				seen = append(seen, v)
			}
		}
		if len(seen) > 1 {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return out
}

// runNames are the folders' base names when those tell the runs apart,
// else the paths as given.
func runNames(dirs []string) []string {
	var out []string
	for _, d := range dirs {
		out = append(out, filepath.Base(filepath.Clean(d)))
	}
	for i := range out {
		if slices.Index(out, out[i]) != i {
			out = nil
			for _, d := range dirs {
				out = append(out, filepath.Clean(d))
			}
			return out
		}
	}
	return out
}

// alignRows orders rows by data set and category (first appearance, the
// mean over categories last), then by run, then in each run's order, and
// folds a teacher row into an earlier one of another run that has the same
// numbers on the same seeds. shared lists each kept row's runs.
func alignRows(rows []*records.Series, run map[*records.Series]*comparedRun) ([]*records.Series, map[*records.Series][]*comparedRun) {
	type group struct{ dataset, unit string }
	var groups []group
	for _, s := range rows {
		g := group{s.Rec.Dataset, s.Rec.Unit}
		if !slices.Contains(groups, g) {
			groups = append(groups, g)
		}
	}
	rank := func(s *records.Series) int {
		g := group{s.Rec.Dataset, s.Rec.Unit}
		i := slices.Index(groups, g)
		if g.unit == records.MeanUnit {
			i += len(groups)
		}
		return i
	}
	sorted := append([]*records.Series(nil), rows...)
	sort.SliceStable(sorted, func(a, b int) bool { return rank(sorted[a]) < rank(sorted[b]) })
	shared := map[*records.Series][]*comparedRun{}
	var out []*records.Series
	for _, s := range sorted {
		if s.Rec.Teacher {
			if i := slices.IndexFunc(out, func(o *records.Series) bool { return sameTeacher(o, s) }); i >= 0 {
				o := out[i]
				shared[o] = append(shared[o], run[s])
				// The runs' students keep comparing with their own teacher,
				// whose numbers are the same.
				continue
			}
		}
		out = append(out, s)
		shared[s] = []*comparedRun{run[s]}
	}
	return out, shared
}

func sameTeacher(a, b *records.Series) bool {
	if !a.Rec.Teacher || a.Rec.Dataset != b.Rec.Dataset || a.Rec.Unit != b.Rec.Unit || a.Rec.Method != b.Rec.Method || !slices.Equal(a.Seeds, b.Seeds) {
		return false
	}
	for j := range a.Values {
		if !slices.Equal(a.Values[j], b.Values[j]) {
			return false
		}
	}
	return true
}

// plainTable is the comparison of single-seed runs: the values in percent
// and each student's difference with its teacher in percentage points.
func plainTable(title string, head []string, rows []*records.Series, cols []records.Column, notes []string) report.Table {
	t := report.Table{Title: title, Columns: append([]string(nil), head...), Notes: notes}
	for _, c := range cols {
		t.Columns = append(t.Columns, c.Name)
	}
	for _, c := range cols {
		if c.Compare {
			t.Columns = append(t.Columns, "Δ "+c.Name)
		}
	}
	one := func(v []float64) float64 {
		if v == nil {
			return math.NaN()
		}
		return v[0]
	}
	for _, s := range rows {
		var row []report.Cell
		for _, k := range s.Keys {
			row = append(row, report.Str(k))
		}
		for j := range cols {
			row = append(row, report.Num(100*one(s.Values[j]), 1))
		}
		for j, c := range cols {
			if !c.Compare {
				continue
			}
			d := math.NaN()
			if s.Ref != nil {
				d = one(s.Values[j]) - one(s.Ref.Values[j])
			}
			row = append(row, report.Num(100*d, 1))
		}
		t.Rows = append(t.Rows, row)
	}
	t.Notes = append(t.Notes, "Values in percent, one seed per run. Δ: a student row minus its run's teacher, in percentage points.")
	if len(rows) > 0 && len(rows[0].Rec.Metrics) > 0 {
		t.Notes = append(t.Notes, records.MetricsNote(rows[0].Rec))
	}
	return t
}

// Markdown is the table people read.
func (c *Comparison) Markdown() (report.Table, error) {
	if c.Seeds {
		return c.Seed.Markdown()
	}
	return c.Plain, nil
}

// Machine is the table programs read (CSV, JSON).
func (c *Comparison) Machine() (report.Table, error) {
	if c.Seeds {
		return c.Seed.Machine()
	}
	return c.Plain, nil
}

// Write writes dir/base.{md,csv,json} and the HTML page dir/base.html.
func (c *Comparison) Write(dir, base string) error {
	var err error
	if c.Seeds {
		err = report.WriteSeedTable(dir, base, c.Seed)
	} else {
		err = report.WriteAll(dir, base, c.Plain)
	}
	if err != nil {
		return err
	}
	return c.writeHTML(filepath.Join(dir, base+".html"))
}
