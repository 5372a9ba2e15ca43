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
	// Formats are the forms Write draws its figures in beside PNG ("svg",
	// "pdf"); the runs' own pictures are copied in whatever forms they
	// have.
	Formats []string
}

// ComparedRun is one run folder of a comparison.
type ComparedRun struct {
	Dir, Name string
	// Pictures are the PNG files of its evaluated stages that exist.
	Pictures []Picture
	figures  figureFiles
}

// Picture is one PNG of a run folder: Path as found, Unit the image
// category it shows ("" for a video run), Caption what it is.
type Picture struct {
	Path, Unit, Caption string
}

// compareIgnored are configuration keys that do not change results.
var compareIgnored = []string{"name", "device", "threads", "log_level", "ort_lib", "runs_dir", "report.formats"}

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
	// Image and video runs share no metric: refused before anything else
	// is read.
	var first config.Task
	for i, d := range dirs {
		cfg, err := config.LoadRecorded(baseline.Layout{Root: d}.Config())
		if err != nil {
			return nil, fmt.Errorf("compare %s: %w; is it a run folder written by 'fmam train'?", d, err)
		}
		if i == 0 {
			first = cfg.Task
		} else if cfg.Task != first {
			return nil, fmt.Errorf("compare: %s is %s run and %s %s run; their metrics have nothing in common: compare runs of one task", dirs[0], withArticle(first), d, withArticle(cfg.Task))
		}
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
	cols = dropEmpty(rows, cols)
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
	if len(runs) == 1 {
		title = "Comparison of 1 run"
	}
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
		c.Seed = dropEmptySeedColumns(t)
		return c, nil
	}
	c.Plain = plainTable(title, head, rows, cols, notes)
	return c, c.Plain.Validate()
}

// withArticle is a task's name after its indefinite article: "a video",
// "an image".
func withArticle(t config.Task) string {
	if t != "" && strings.ContainsRune("aeiou", rune(t[0])) {
		return "an " + string(t)
	}
	return "a " + string(t)
}

// dropEmpty leaves out the metrics that no row measures (pixel metrics of
// runs without masks, smoothed ones without eval.sigma), trimming every
// row's values to match.
func dropEmpty(rows []*records.Series, cols []records.Column) []records.Column {
	var keep []int
	for j := range cols {
		if slices.ContainsFunc(rows, func(s *records.Series) bool { return s.Values[j] != nil && !hasOnlyNaN(s.Values[j]) }) {
			keep = append(keep, j)
		}
	}
	if len(keep) == len(cols) {
		return cols
	}
	// A row's Ref is another row of rows, so every row is trimmed once.
	var out []records.Column
	for _, j := range keep {
		out = append(out, cols[j])
	}
	for _, s := range rows {
		var v [][]float64
		for _, j := range keep {
			v = append(v, s.Values[j])
		}
		s.Values = v
	}
	return out
}

func hasOnlyNaN(x []float64) bool {
	for _, v := range x {
		if !math.IsNaN(v) {
			return false
		}
	}
	return true
}

// dropEmptySeedColumns leaves out the difference columns no row has (a
// comparison of teachers alone).
func dropEmptySeedColumns(t report.SeedTable) report.SeedTable {
	var keep []int
	for j := range t.Columns {
		if slices.ContainsFunc(t.Rows, func(r report.SeedRow) bool { return r.Cells[j].Summary.N > 0 || r.Cells[j].Diff.N > 0 }) {
			keep = append(keep, j)
		}
	}
	if len(keep) == len(t.Columns) {
		return t
	}
	out := t
	out.Columns = nil
	for _, j := range keep {
		out.Columns = append(out.Columns, t.Columns[j])
	}
	out.Rows = nil
	for _, r := range t.Rows {
		nr := report.SeedRow{Keys: r.Keys}
		for _, j := range keep {
			nr.Cells = append(nr.Cells, r.Cells[j])
		}
		out.Rows = append(out.Rows, nr)
	}
	return out
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
	if err := addTeacherKeys(r); err != nil {
		return nil, fmt.Errorf("compare %s: %w", dir, err)
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
	var allUnits []string
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
		if i == 0 {
			allUnits = units
		}
		for _, u := range units {
			st := sl.Student(u, cfg.Model.Taps, true)
			for _, p := range []Picture{
				{st.Picture("roc"), u, "student ROC"}, {st.Picture("lambda"), u, "student against λ"}, {st.Picture("maps"), u, "student maps"},
				{st.LossPlot(), u, "student loss"}, {sl.Teacher(u).LossPlot(), u, "teacher loss"},
			} {
				if _, err := os.Stat(p.Path); err == nil {
					if cfg.MultiSeed() {
						p.Caption = fmt.Sprintf("seed %d, %s", seeds[i], p.Caption)
					}
					r.Pictures = append(r.Pictures, p)
				}
			}
		}
	}
	// What the figures over runs redraw: a video run's ROC curves (of its
	// first seed), and its lambda sweep, over seeds or categories where
	// it has several.
	if len(allUnits) == 1 && allUnits[0] == "" {
		r.figures.roc = firstExisting(strings.TrimSuffix(layouts[0].Student("", cfg.Model.Taps, true).Picture("roc"), ".png") + ".json")
	}
	lam := []string{l.Table("", "lambda") + ".json"}
	if len(allUnits) == 1 && !cfg.MultiSeed() {
		lam = append(lam, l.Student(allUnits[0], cfg.Model.Taps, true).Table("lambda")+".json")
	}
	r.figures.lambda = firstExisting(lam...)
	return r, nil
}

// addTeacherKeys fills in the keys a run that mimics another run's teacher
// (model.teacher_run) leaves out of its config.yaml with that teacher
// run's own values, so that two runs whose teachers were trained
// differently differ in those keys. A run with an imported ONNX teacher
// keeps them out: nothing recorded says how that teacher was made.
func addTeacherKeys(r *comparedRun) error {
	tr := r.cfg.Model.TeacherRun
	if tr == "" {
		return nil
	}
	path := baseline.Layout{Root: tr}.Config()
	y, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("teacher run: %w", err)
	}
	flat, err := flatConfig(y)
	if err != nil {
		return fmt.Errorf("teacher run %s: %w", path, err)
	}
	for k, v := range flat {
		if _, has := r.flat[k]; !has && r.cfg.Unused(k) {
			r.flat[k] = v
		}
	}
	return nil
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
// of the comparison the runs for which a key is unused and unknown (the
// teacher settings of a run that imports an ONNX teacher; a run that
// mimics another run's teacher has that run's, see addTeacherKeys).
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
			v, has := r.flat[k]
			if !has && r.cfg.Unused(k) {
				continue
			}
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
	one := func(v []float64) float64 {
		if v == nil {
			return math.NaN()
		}
		return v[0]
	}
	// A difference column appears when some student row has one (not in
	// a comparison of teachers alone).
	var diffs []int
	for j, c := range cols {
		if c.Compare && slices.ContainsFunc(rows, func(s *records.Series) bool {
			return s.Ref != nil && !math.IsNaN(one(s.Values[j])) && !math.IsNaN(one(s.Ref.Values[j]))
		}) {
			t.Columns = append(t.Columns, "Δ "+c.Name)
			diffs = append(diffs, j)
		}
	}
	for _, s := range rows {
		var row []report.Cell
		for _, k := range s.Keys {
			row = append(row, report.Str(k))
		}
		for j := range cols {
			row = append(row, report.Num(100*one(s.Values[j]), 1))
		}
		for _, j := range diffs {
			d := math.NaN()
			if s.Ref != nil {
				d = one(s.Values[j]) - one(s.Ref.Values[j])
			}
			row = append(row, report.Diff(100*d, 1))
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
	figs, err := c.writeFigures(dir, base)
	if err != nil {
		return err
	}
	return c.writeHTML(filepath.Join(dir, base+".html"), figs)
}
