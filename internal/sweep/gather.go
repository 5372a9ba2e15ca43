package sweep

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/records"
	"github.com/fmam/fmam/internal/report"
)

// ReadRecords reads a run folder's evaluation, one entry per seed
// (compare.RunRecords).
type ReadRecords func(ctx context.Context, dir string) ([]records.Seed, error)

// GatherName is the base name of the gathered table in the sweep folder.
const GatherName = "gather"

// Gather builds one table over the grid from every unit's records.json:
// the axes with several values as columns (but the seed), then data set,
// category and method; mean ± std over the seed axis, and each student's
// paired difference with its own teacher. Every unit must be evaluated.
func Gather(ctx context.Context, p *Plan, units []Unit, read ReadRecords) (report.SeedTable, error) {
	var cols []int // axes shown as columns
	var head []string
	for j, a := range p.Axes {
		if len(a.Values) > 1 && a.Key != KeySeed {
			cols = append(cols, j)
			head = append(head, a.Key)
		}
	}
	type group struct {
		keys []string
		per  []records.Seed
	}
	var groups []*group
	var missing []string
	for _, u := range units {
		all := unitValues(u)
		var keys []string
		for _, j := range cols {
			keys = append(keys, columnValue(p.Axes[j].Key, all[p.Axes[j].Key]))
		}
		i := slices.IndexFunc(groups, func(g *group) bool { return slices.Equal(g.keys, keys) })
		if i < 0 {
			groups = append(groups, &group{keys: keys})
			i = len(groups) - 1
		}
		per, err := read(ctx, u.Dir)
		if err != nil {
			missing = append(missing, fmt.Sprintf("%s (%v)", u.Name, err))
			continue
		}
		groups[i].per = append(groups[i].per, per...)
	}
	if len(missing) > 0 {
		return report.SeedTable{}, fmt.Errorf("gather: %d of %d units have no evaluation; 'fmam sweep status --dir %s' shows their state:\n  %s", len(missing), len(units), p.Dir, strings.Join(missing, "\n  "))
	}
	var rows []*records.Series
	var rcols []records.Column
	for _, g := range groups {
		rs, cs, err := records.Aggregate(g.per, rcols)
		if err != nil {
			return report.SeedTable{}, fmt.Errorf("gather %s: %w", strings.Join(g.keys, ", "), err)
		}
		rcols = cs
		for _, s := range rs {
			s.Keys = append(append([]string(nil), g.keys...), s.Rec.Dataset, orDash(s.Rec.Unit), s.Rec.Method)
		}
		rows = append(rows, rs...)
	}
	for _, s := range rows { // later groups may have added columns
		for len(s.Values) < len(rcols) {
			s.Values = append(s.Values, nil)
		}
	}
	head = append(head, "Dataset", "Category", "Method")
	title := fmt.Sprintf("Sweep %s: %d units", p.Name, len(units))
	if slices.ContainsFunc(p.Axes, func(a Axis) bool { return a.Key == KeySeed }) {
		title += ", mean ± std over seeds"
	}
	t, err := records.SeedTable(title, head, rows, rcols)
	if err != nil {
		return t, err
	}
	t.Notes = append([]string{"One row group per grid point (the columns before Dataset are the sweep's axes); a student's Δ is against the teacher it mimics, seed by seed."}, t.Notes...)
	return t, nil
}

// unitValues are a unit's axis values by key, config and preset included.
func unitValues(u Unit) map[string]string {
	m := map[string]string{KeyConfig: u.Config, KeyPreset: u.Preset}
	for _, s := range u.Settings {
		m[s.Key] = s.Value
	}
	return m
}

func columnValue(key, v string) string {
	if key == KeyConfig {
		return valueName(key, v)
	}
	return orDash(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
