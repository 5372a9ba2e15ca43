package report

import (
	"fmt"
	"math"
	"slices"

	"github.com/fmam/fmam/internal/results"

	"gonum.org/v1/gonum/stat"
)

func validateVideoResults(title string, rs []results.VideoResult) error {
	if len(rs) == 0 {
		return fmt.Errorf("video table %q: no results", title)
	}
	type key struct{ ds, method string }
	seen := map[key]bool{}
	for i, r := range rs {
		if r.Dataset == "" || r.Method == "" {
			return fmt.Errorf("video table %q: result %d has an empty data set or method (data set %q, method %q)", title, i, r.Dataset, r.Method)
		}
		k := key{r.Dataset, r.Method}
		if seen[k] {
			return fmt.Errorf("video table %q: two results for data set %q and method %q", title, r.Dataset, r.Method)
		}
		seen[k] = true
		if err := checkFraction(r.MicroAUC); err != nil {
			return fmt.Errorf("video table %q: micro AUC of %s on %s: %w", title, r.Method, r.Dataset, err)
		}
		if err := checkFraction(r.MacroAUC); err != nil {
			return fmt.Errorf("video table %q: macro AUC of %s on %s: %w", title, r.Method, r.Dataset, err)
		}
		videos := map[string]bool{}
		for _, v := range r.Videos {
			if v.Video == "" || videos[v.Video] {
				return fmt.Errorf("video table %q: %s on %s: video name %q is empty or repeated", title, r.Method, r.Dataset, v.Video)
			}
			videos[v.Video] = true
			if err := checkFraction(v.AUC); err != nil {
				return fmt.Errorf("video table %q: AUC of %s on %s video %s: %w", title, r.Method, r.Dataset, v.Video, err)
			}
		}
	}
	return nil
}

// firstAppearance returns the distinct values of f over results in order of
// first appearance.
func firstAppearance(rs []results.VideoResult, f func(results.VideoResult) string) []string {
	var out []string
	for _, r := range rs {
		if !slices.Contains(out, f(r)) {
			out = append(out, f(r))
		}
	}
	return out
}

// VideoTable builds the frame-level table of the video data sets: one row per
// data set (order of first appearance), and for each method "<method> micro
// AUC" and, when that method reports it anywhere, "<method> macro AUC".
// Values are percentages with one decimal. Per-video AUCs go in
// VideoDetailTable.
func VideoTable(title string, rs []results.VideoResult) (Table, error) {
	if err := validateVideoResults(title, rs); err != nil {
		return Table{}, err
	}
	datasets := firstAppearance(rs, func(r results.VideoResult) string { return r.Dataset })
	methods := firstAppearance(rs, func(r results.VideoResult) string { return r.Method })
	find := func(ds, m string) (results.VideoResult, bool) {
		i := slices.IndexFunc(rs, func(r results.VideoResult) bool { return r.Dataset == ds && r.Method == m })
		if i < 0 {
			return results.VideoResult{}, false
		}
		return rs[i], true
	}
	hasMacro := func(m string) bool {
		return slices.ContainsFunc(rs, func(r results.VideoResult) bool { return r.Method == m && !math.IsNaN(r.MacroAUC) })
	}
	t := Table{Title: title, Columns: []string{"Dataset"}}
	for _, m := range methods {
		t.Columns = append(t.Columns, m+" micro AUC")
		if hasMacro(m) {
			t.Columns = append(t.Columns, m+" macro AUC")
		}
	}
	for _, ds := range datasets {
		row := []Cell{Str(ds)}
		for _, m := range methods {
			r, ok := find(ds, m)
			if !ok {
				r = results.VideoResult{MicroAUC: math.NaN(), MacroAUC: math.NaN()}
			}
			row = append(row, percent(r.MicroAUC))
			if hasMacro(m) {
				row = append(row, percent(r.MacroAUC))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	t.Notes = []string{
		"Frame-level AUROC in percent, one decimal. Micro: all test frames of a data set pooled; macro: mean of per-video AUCs.",
	}
	return t, nil
}

// VideoDetailTable builds the per-video table of one data set: one row per
// video (sorted by name), one "<method> AUC" column per method, and footer
// rows with the macro AUC (mean of the rows, computed here from unrounded
// values) and the micro AUC (as given in the results).
func VideoDetailTable(title, dataset string, all []results.VideoResult) (Table, error) {
	if err := validateVideoResults(title, all); err != nil {
		return Table{}, err
	}
	var rs []results.VideoResult
	for _, r := range all {
		if r.Dataset == dataset {
			rs = append(rs, r)
		}
	}
	if len(rs) == 0 {
		return Table{}, fmt.Errorf("video table %q: no results for data set %q", title, dataset)
	}
	var videos []string
	for _, r := range rs {
		if len(r.Videos) == 0 {
			return Table{}, fmt.Errorf("video table %q: %s on %s has no per-video AUCs", title, r.Method, dataset)
		}
		for _, v := range r.Videos {
			if !slices.Contains(videos, v.Video) {
				videos = append(videos, v.Video)
			}
		}
	}
	slices.Sort(videos)

	t := Table{Title: title, Columns: []string{"Video"}}
	perVideo := make([][]float64, len(rs)) // [method][video]
	for i, r := range rs {
		t.Columns = append(t.Columns, r.Method+" AUC")
		perVideo[i] = make([]float64, len(videos))
		for j, name := range videos {
			perVideo[i][j] = math.NaN()
			if k := slices.IndexFunc(r.Videos, func(v results.VideoAUC) bool { return v.Video == name }); k >= 0 {
				perVideo[i][j] = r.Videos[k].AUC
			}
		}
	}
	for j, name := range videos {
		row := []Cell{Str(name)}
		for i := range rs {
			row = append(row, percent(perVideo[i][j]))
		}
		t.Rows = append(t.Rows, row)
	}
	macro := []Cell{Str("macro (mean of videos)")}
	micro := []Cell{Str("micro (all frames)")}
	for i, r := range rs {
		macro = append(macro, percent(stat.Mean(perVideo[i], nil)))
		micro = append(micro, percent(r.MicroAUC))
	}
	t.Footer = [][]Cell{macro, micro}
	t.Notes = []string{
		fmt.Sprintf("Data set %s: frame-level AUROC per test video in percent, one decimal; a video missing for a method is shown as - and makes its macro mean absent.", dataset),
	}
	return t, nil
}

// HasKinds reports whether any result holds AUCs per anomaly kind.
func HasKinds(rs []results.VideoResult) bool {
	return slices.ContainsFunc(rs, func(r results.VideoResult) bool { return len(r.Kinds) > 0 })
}

// KindTable builds the per-kind table of one data set's results: one row
// per method (in the order given), one "<kind> AUC" column per anomaly kind
// (sorted), each the AUC of that kind's frames against all normal frames,
// and a footer row with each kind's number of frames (from the first
// result that has the kind). A method without a kind shows -.
func KindTable(title string, rs []results.VideoResult) (Table, error) {
	if err := validateVideoResults(title, rs); err != nil {
		return Table{}, err
	}
	var kinds []string
	frames := map[string]int{}
	for _, r := range rs {
		for _, k := range r.Kinds {
			if err := checkFraction(k.AUC); err != nil {
				return Table{}, fmt.Errorf("kind table %q: AUC of %s on %s: %w", title, r.Method, k.Kind, err)
			}
			if k.Kind == "" {
				return Table{}, fmt.Errorf("kind table %q: %s has a kind without a name", title, r.Method)
			}
			if !slices.Contains(kinds, k.Kind) {
				kinds = append(kinds, k.Kind)
				frames[k.Kind] = k.Frames
			}
		}
	}
	if len(kinds) == 0 {
		return Table{}, fmt.Errorf("kind table %q: no result has AUCs per anomaly kind", title)
	}
	slices.Sort(kinds)
	t := Table{Title: title, Columns: []string{"Method"}}
	for _, k := range kinds {
		t.Columns = append(t.Columns, k+" AUC")
	}
	for _, r := range rs {
		row := []Cell{Str(r.Method)}
		for _, k := range kinds {
			v := math.NaN()
			if i := slices.IndexFunc(r.Kinds, func(x results.KindAUC) bool { return x.Kind == k }); i >= 0 {
				v = r.Kinds[i].AUC
			}
			row = append(row, percent(v))
		}
		t.Rows = append(t.Rows, row)
	}
	foot := []Cell{Str("frames of the kind")}
	for _, k := range kinds {
		foot = append(foot, Num(float64(frames[k]), 0))
	}
	t.Footer = [][]Cell{foot}
	t.Notes = []string{
		"Frame-level AUROC in percent, one decimal, per anomaly kind: the frames of that kind against all normal frames, all videos pooled (micro).",
	}
	return t, nil
}
