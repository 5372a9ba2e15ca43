package experiment

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/stats"
)

// A multi-seed run (train.seeds) is a run folder whose seed-<k>/
// sub-folders are ordinary run folders, one per seed, each with its own
// config.yaml (seed k, see config.ForSeed). Every stage runs in them
// through the single-seed code, so a seed folder resumes, and can be
// evaluated on its own, like any run; the run folder itself holds the
// tables over seeds: mean ± std of each number, and for each student row
// the paired difference with the teacher of the same seed.

// pairedOptions is the comparison of every difference column: the
// defaults of package stats (95%, 10,000 bootstrap resamples).
var pairedOptions = stats.PairedOptions{}

// SeedEvaluation is the evaluation of one seed of a multi-seed run.
type SeedEvaluation struct {
	Seed uint64
	*Evaluation
}

// seedEnv is the environment of seed k; write records the seed folder's
// configuration (refusing one that disagrees), as Open does for a run.
func (e *Env) seedEnv(k uint64, write bool) (*Env, error) {
	log := e.Log
	if log != nil {
		log = log.With("seed", k)
	}
	s := &Env{Cfg: e.Cfg.ForSeed(k), RT: e.RT, Log: log, Progress: e.Progress, Layout: e.Layout.Seed(k), Baseline: e.Baseline}
	if !write {
		return s, nil
	}
	if _, err := os.Stat(s.Layout.Config()); err == nil {
		// The run's own config.yaml has been checked already; this names
		// what differs should a seed folder have been edited by hand.
		if err := checkSameRun(s.Layout.Config(), s.Cfg); err != nil {
			return nil, err
		}
		return s, nil
	}
	if err := s.writeConfig(); err != nil {
		return nil, err
	}
	return s, nil
}

// eachSeed runs fn in every seed's environment, in the order of
// train.seeds.
func (e *Env) eachSeed(fn func(k uint64, s *Env) error) error {
	for _, k := range e.Cfg.Train.Seeds {
		s, err := e.seedEnv(k, true)
		if err != nil {
			return err
		}
		e.Log.Info("seed", "seed", k, "folder", s.RunDir())
		if err := fn(k, s); err != nil {
			return fmt.Errorf("seed %d: %w", k, err)
		}
	}
	return nil
}

// seedRecords are the records of one seed.
type seedRecords struct {
	Seed    uint64
	Records []Record
}

// records reads the records of every unit's student for taps, with the
// mean over units when there are several.
func (e *Env) records(ctx context.Context, taps []string) ([]Record, error) {
	units, err := e.Units(ctx)
	if err != nil {
		return nil, err
	}
	var out []Record
	for _, u := range units {
		r, err := readRecords(e.student(u, taps))
		if err != nil {
			return nil, inUnit(u, err)
		}
		out = append(out, r...)
	}
	return withMeanUnit(out), nil
}

// perSeed runs an evaluation in every seed folder and collects them,
// with no table over seeds.
func (e *Env) perSeed(fn func(s *Env) (*Evaluation, error)) (*Evaluation, error) {
	out := &Evaluation{}
	err := e.eachSeed(func(k uint64, s *Env) error {
		ev, err := fn(s)
		if err != nil {
			return err
		}
		out.Seeds = append(out.Seeds, SeedEvaluation{Seed: k, Evaluation: ev})
		return nil
	})
	return out, err
}

func (e *Env) trainSeeds(ctx context.Context, stage Stage) error {
	return e.eachSeed(func(_ uint64, s *Env) error { return s.Train(ctx, stage) })
}

// evaluateSeeds evaluates every seed and writes the run's results table
// over seeds (results.{md,csv,json} in the run folder).
func (e *Env) evaluateSeeds(ctx context.Context) (*Evaluation, error) {
	taps := e.Cfg.Model.Taps
	out := &Evaluation{}
	var per []seedRecords
	err := e.eachSeed(func(k uint64, s *Env) error {
		ev, err := s.Evaluate(ctx)
		if err != nil {
			return err
		}
		recs, err := s.records(ctx, taps)
		if err != nil {
			return err
		}
		out.Seeds = append(out.Seeds, SeedEvaluation{Seed: k, Evaluation: ev})
		per = append(per, seedRecords{Seed: k, Records: recs})
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, cols, err := aggregate(per, nil)
	if err != nil {
		return nil, err
	}
	title := fmt.Sprintf("%s on %s, taps %s: %s", e.Baseline.Title(e.Cfg), e.unit("", e.Cfg).DatasetName(), baseline.TapSetName(taps), seedsPhrase(e.Cfg.Train.Seeds))
	t, err := e.seedTable(title, unitKeys(rows), rows, cols)
	if err != nil {
		return nil, err
	}
	out.Table = e.Layout.Table("", "results") + ".md"
	return out, report.WriteSeedTable(e.Layout.Root, "results", t)
}

// ablateSeeds runs the layer ablation in every seed and writes the run's
// ablation table over seeds: the teacher, then each tap set's headline
// student row.
func (e *Env) ablateSeeds(ctx context.Context, sets [][]string) (report.Table, error) {
	var per []seedRecords
	err := e.eachSeed(func(k uint64, s *Env) error {
		if _, err := s.Ablate(ctx, sets); err != nil {
			return err
		}
		var recs []Record
		for i, taps := range sets {
			rs, err := s.records(ctx, taps)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if r.Teacher && i == 0 || !r.Teacher && r.Headline {
					recs = append(recs, r)
				}
			}
		}
		per = append(per, seedRecords{Seed: k, Records: recs})
		return nil
	})
	if err != nil {
		return report.Table{}, err
	}
	rows, cols, err := aggregate(per, nil)
	if err != nil {
		return report.Table{}, err
	}
	keys := unitKeys(rows)
	keys = append(keys[:len(keys)-1], "Taps", "Method")
	for _, r := range rows {
		taps := r.rec.Taps
		if taps == "" {
			taps = "-"
		}
		r.keys = append(r.keys[:len(r.keys)-1], taps, r.rec.Method)
	}
	title := fmt.Sprintf("Layer ablation, %s, attention %s: %s", e.unit("", e.Cfg).DatasetName(), e.Cfg.Model.Attention.Kind, seedsPhrase(e.Cfg.Train.Seeds))
	t, err := e.seedTable(title, keys, rows, cols)
	if err != nil {
		return report.Table{}, err
	}
	if err := report.WriteSeedTable(e.Layout.Root, "ablation", t); err != nil {
		return report.Table{}, err
	}
	return t.Markdown()
}

// sweepSeeds sweeps lambda in every seed and writes lambda.{md,csv,json}
// in the run folder: each point's mean ± std over seeds. Points holds the
// means.
func (e *Env) sweepSeeds(ctx context.Context, grid string) (*SweepResult, error) {
	var per []*SweepResult
	var units []string
	err := e.eachSeed(func(_ uint64, s *Env) error {
		sw, err := s.Sweep(ctx, grid)
		if err != nil {
			return err
		}
		us, err := s.Units(ctx)
		if err != nil {
			return err
		}
		units = units[:0]
		for _, u := range us {
			units = append(units, u.Name)
		}
		per = append(per, sw)
		return nil
	})
	if err != nil {
		return nil, err
	}
	m := e.lambdaMeasure()
	var rows []*series
	out := &SweepResult{Units: units}
	for i, u := range units {
		var mean []results.LambdaPoint
		for j, p := range per[0].Points[i] {
			var micro, macro []float64
			for _, sw := range per {
				q := sw.Points[i][j]
				micro = append(micro, q.MicroAUC)
				macro = append(macro, q.MacroAUC)
			}
			// NaN is "not measured" (an image sweep has no macro AUC):
			// such a column stays empty, as in aggregate.
			r := &series{values: [][]float64{measured(micro), measured(macro)}}
			r.keys = []string{strconv.FormatFloat(p.Lambda, 'g', -1, 64)}
			if u != "" {
				r.keys = append([]string{u}, r.keys...)
			}
			rows = append(rows, r)
			mean = append(mean, results.LambdaPoint{Lambda: p.Lambda, MicroAUC: stats.Mean(r.values[0]), MacroAUC: stats.Mean(r.values[1])})
		}
		out.Points = append(out.Points, mean)
	}
	cols := []column{{name: m.Micro}, {name: m.Macro}}
	if !slices.ContainsFunc(rows, func(r *series) bool { return r.values[1] != nil }) {
		cols = cols[:1]
	}
	keys := []string{"λ"}
	if len(units) > 0 && units[0] != "" {
		keys = []string{"Category", "λ"}
	}
	title := fmt.Sprintf("%s against λ, %s: %s", m.Micro, e.unit("", e.Cfg).DatasetName(), seedsPhrase(e.Cfg.Train.Seeds))
	t, err := e.seedTable(title, keys, rows, cols)
	if err != nil {
		return nil, err
	}
	t.Notes = append([]string{m.Note}, t.Notes...)
	out.Files = []string{e.Layout.Table("", "lambda") + ".md"}
	return out, report.WriteSeedTable(e.Layout.Root, "lambda", t)
}

func seedsPhrase(seeds []uint64) string {
	var s []string
	for _, k := range seeds {
		s = append(s, strconv.FormatUint(k, 10))
	}
	return fmt.Sprintf("mean ± std over %d seeds (%s)", len(seeds), strings.Join(s, ", "))
}

// column is a metric of a table over seeds; compare adds its difference
// with the teacher.
type column struct {
	name    string
	compare bool
}

// series is one table row over seeds: its key texts and, per column, one
// value per seed (nil: not measured). ref is the row of the teacher it is
// compared with, nil for teachers and rows without one.
type series struct {
	keys   []string
	rec    Record // the first seed's record, for its names and flags
	seeds  []uint64
	values [][]float64
	ref    *series
}

// aggregate lines up the records of several seeds by unit, tap set and
// method (in the first seed's order) and gathers each metric's values. Every
// seed must hold the same rows. cols extends a column list shared with other
// runs (nil to start one).
func aggregate(per []seedRecords, cols []column) ([]*series, []column, error) {
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
	var rows []*series
	teachers := map[string]*series{}
	for _, r := range per[0].Records {
		s := &series{rec: r}
		for _, m := range r.Metrics {
			if !hasColumn(cols, m.Name) {
				cols = append(cols, column{name: m.Name, compare: m.Compare})
			}
		}
		for i, p := range per {
			if _, ok := byKey[i][key(r)]; !ok {
				return nil, nil, fmt.Errorf("seed %d has no row for %s%s; seed %d has one: evaluate every seed the same way", p.Seed, r.Method, unitPhrase(r.Unit), per[0].Seed)
			}
			s.seeds = append(s.seeds, p.Seed)
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
		s.values = make([][]float64, len(cols))
		for j, c := range cols {
			vals := make([]float64, 0, len(per))
			for i := range per {
				v := math.NaN()
				for _, m := range byKey[i][key(s.rec)].Metrics {
					if m.Name == c.name {
						v = m.value()
					}
				}
				vals = append(vals, v)
			}
			if !hasNaN(vals) {
				s.values[j] = vals
			}
		}
		if !s.rec.Teacher {
			s.ref = teachers[s.rec.Unit]
		}
		s.keys = []string{s.rec.Method}
		if s.rec.Unit != "" {
			s.keys = []string{s.rec.Unit, s.rec.Method}
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

func hasColumn(cols []column, name string) bool {
	return slices.ContainsFunc(cols, func(c column) bool { return c.name == name })
}

func hasNaN(x []float64) bool { return slices.ContainsFunc(x, math.IsNaN) }

// measured returns x, or nil (not measured) when a seed has no value.
func measured(x []float64) []float64 {
	if hasNaN(x) {
		return nil
	}
	return x
}

// unitKeys names the key columns aggregate set: the method, after the
// category for image runs.
func unitKeys(rows []*series) []string {
	for _, r := range rows {
		if r.rec.Unit != "" {
			return []string{"Category", "Method"}
		}
	}
	return []string{"Method"}
}

// seedTable lays rows out as a table over seeds: one "mean ± std" column
// per metric, then one paired-difference column per compared metric.
func (e *Env) seedTable(title string, keys []string, rows []*series, cols []column) (report.SeedTable, error) {
	t, err := buildSeedTable(title, keys, rows, cols)
	if err != nil {
		return t, err
	}
	t.Meta = map[string]string{"run": e.RunDir(), "seeds": strings.TrimPrefix(seedsPhrase(e.Cfg.Train.Seeds), "mean ± std over ")}
	return t, nil
}

func buildSeedTable(title string, keys []string, rows []*series, cols []column) (report.SeedTable, error) {
	t := report.SeedTable{Title: title, Keys: keys}
	for _, c := range cols {
		t.Columns = append(t.Columns, report.MeanColumn(c.name))
	}
	var diffs []int
	for j, c := range cols {
		if c.compare {
			t.Columns = append(t.Columns, report.DiffColumn("Δ "+c.name, report.ShowP))
			diffs = append(diffs, j)
		}
	}
	for _, r := range rows {
		row := report.SeedRow{Keys: r.keys}
		for j, c := range cols {
			var cell report.SeedCell
			if r.values[j] != nil {
				var err error
				if cell, err = report.MeanCell(r.values[j]); err != nil {
					return t, fmt.Errorf("%s, %s: %w", strings.Join(r.keys, " "), c.name, err)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		for _, j := range diffs {
			var cell report.SeedCell
			if r.ref != nil && r.values[j] != nil && r.ref.values[j] != nil {
				var err error
				if cell, err = report.DiffCell(r.values[j], r.ref.values[j], pairedOptions); err != nil {
					return t, fmt.Errorf("%s, Δ %s: %w", strings.Join(r.keys, " "), cols[j].name, err)
				}
			}
			row.Cells = append(row.Cells, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	if len(diffs) > 0 {
		t.Notes = append(t.Notes, "Values in percent. Δ: a student row minus the teacher it mimics, seed by seed (the teacher of the same seed), in percentage points; the teacher row has none.")
	}
	if len(rows) > 0 && len(rows[0].rec.Metrics) > 0 {
		t.Notes = append(t.Notes, metricsNote(rows[0].rec))
	}
	return t, nil
}
