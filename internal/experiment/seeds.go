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
	"github.com/fmam/fmam/internal/records"
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
	s := &Env{Cfg: e.Cfg.ForSeed(k), RT: e.RT, Log: log, Progress: e.Progress, Layout: e.Layout.Seed(k), Baseline: e.Baseline, checks: e.checks}
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

// records reads the records of every unit's student for taps, with the
// mean over units when there are several.
func (e *Env) records(ctx context.Context, taps []string) ([]records.Record, error) {
	units, err := e.Units(ctx)
	if err != nil {
		return nil, err
	}
	var out []records.Record
	for _, u := range units {
		r, err := records.Read(e.student(u, taps).Records())
		if err != nil {
			return nil, inUnit(u, err)
		}
		out = append(out, r...)
	}
	return records.WithMeanUnit(out), nil
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
	var per []records.Seed
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
		per = append(per, records.Seed{Seed: k, Records: recs})
		return nil
	})
	if err != nil {
		return nil, err
	}
	rows, cols, err := records.Aggregate(per, nil)
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
// student row, then the control's rows once.
func (e *Env) ablateSeeds(ctx context.Context, sets [][]string) (report.Table, error) {
	var per []records.Seed
	err := e.eachSeed(func(k uint64, s *Env) error {
		if _, err := s.Ablate(ctx, sets); err != nil {
			return err
		}
		var recs, control []records.Record
		for i, taps := range sets {
			rs, err := s.records(ctx, taps)
			if err != nil {
				return err
			}
			for _, r := range rs {
				switch {
				case r.Control && i == 0:
					control = append(control, r)
				case r.Teacher && i == 0 || !r.Teacher && r.Headline:
					recs = append(recs, r)
				}
			}
		}
		per = append(per, records.Seed{Seed: k, Records: append(recs, control...)})
		return nil
	})
	if err != nil {
		return report.Table{}, err
	}
	rows, cols, err := records.Aggregate(per, nil)
	if err != nil {
		return report.Table{}, err
	}
	keys := unitKeys(rows)
	keys = append(keys[:len(keys)-1], "Taps", "Method")
	for _, r := range rows {
		taps := r.Rec.Taps
		if taps == "" {
			taps = "-"
		}
		r.Keys = append(r.Keys[:len(r.Keys)-1], taps, r.Rec.Method)
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
	var rows []*records.Series
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
			// such a column stays empty, as in records.Aggregate.
			r := &records.Series{Values: [][]float64{measured(micro), measured(macro)}}
			r.Keys = []string{strconv.FormatFloat(p.Lambda, 'g', -1, 64)}
			if u != "" {
				r.Keys = append([]string{u}, r.Keys...)
			}
			rows = append(rows, r)
			mean = append(mean, results.LambdaPoint{Lambda: p.Lambda, MicroAUC: stats.Mean(r.Values[0]), MacroAUC: stats.Mean(r.Values[1])})
		}
		out.Points = append(out.Points, mean)
	}
	cols := []records.Column{{Name: m.Micro}, {Name: m.Macro}}
	if !slices.ContainsFunc(rows, func(r *records.Series) bool { return r.Values[1] != nil }) {
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

// unitKeys names the key columns aggregate set: the method, after the
// category for image runs.
func unitKeys(rows []*records.Series) []string {
	for _, r := range rows {
		if r.Rec.Unit != "" {
			return []string{"Category", "Method"}
		}
	}
	return []string{"Method"}
}

// seedTable lays rows out as a table over seeds: one "mean ± std" column
// per metric, then one paired-difference column per compared metric.
func (e *Env) seedTable(title string, keys []string, rows []*records.Series, cols []records.Column) (report.SeedTable, error) {
	t, err := records.SeedTable(title, keys, rows, cols)
	if err != nil {
		return t, err
	}
	t.Meta = map[string]string{"run": e.RunDir(), "seeds": strings.TrimPrefix(seedsPhrase(e.Cfg.Train.Seeds), "mean ± std over ")}
	return t, nil
}

// measured is x, or nil when a seed did not measure it (NaN), which the
// tables over seeds show as an empty cell.
func measured(x []float64) []float64 {
	if slices.ContainsFunc(x, math.IsNaN) {
		return nil
	}
	return x
}
