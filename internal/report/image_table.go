package report

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/results"

	"gonum.org/v1/gonum/stat"
)

// MVTecTextures returns MVTec AD's texture categories in the order of the
// paper's Table 4.
func MVTecTextures() []string {
	return []string{"carpet", "grid", "leather", "tile", "wood"}
}

// MVTecObjects returns MVTec AD's object categories in the order of the
// paper's Table 4.
func MVTecObjects() []string {
	return []string{"bottle", "cable", "capsule", "hazelnut", "metal_nut", "pill", "screw", "toothbrush", "transistor", "zipper"}
}

// Row groups of the image table; categories that are not MVTec AD's (for
// example synthetic test sets) go to GroupOther.
const (
	GroupTextures = "textures"
	GroupObjects  = "objects"
	GroupOther    = "other"
	GroupAll      = "all"
)

type imageMetric struct {
	name     string
	get      func(results.ImageResult) float64
	optional bool // shown only for methods that report it
}

func imageMetrics() []imageMetric {
	return []imageMetric{
		{"P-AUROC", func(r results.ImageResult) float64 { return r.PixelAUROC }, false},
		{"P-AP", func(r results.ImageResult) float64 { return r.PixelAP }, false},
		{"I-AUROC", func(r results.ImageResult) float64 { return r.ImageAUROC }, false},
		{"AUPRO", func(r results.ImageResult) float64 { return r.AUPRO }, true},
		{"P-AUROC σ=4", func(r results.ImageResult) float64 { return r.PixelAUROCSigma }, true},
		{"P-AP σ=4", func(r results.ImageResult) float64 { return r.PixelAPSigma }, true},
	}
}

// imageGroup names the row group of an image category: group when set.
func imageGroup(category, group string) string {
	c := strings.ToLower(category)
	switch {
	case group != "":
		return group
	case slices.Contains(MVTecTextures(), c):
		return GroupTextures
	case slices.Contains(MVTecObjects(), c):
		return GroupObjects
	default:
		return GroupOther
	}
}

// ImageTable builds a table in the shape of the paper's Table 4 (MVTec AD).
// Columns are "Group", "Category", then for each method, in order of first
// appearance, "<method> P-AUROC", "<method> P-AP", "<method> I-AUROC" and,
// when that method reports them, "<method> AUPRO" and the σ=4 variants. Rows are the categories:
// textures, then objects (both in the paper's order), then other categories
// alphabetically. Footer rows hold the mean of each group (when there is
// more than one) and the overall mean. Values are percentages with one
// decimal.
func ImageTable(title string, rs []results.ImageResult) (Table, error) {
	if len(rs) == 0 {
		return Table{}, fmt.Errorf("image table %q: no results", title)
	}
	type key struct{ cat, method string }
	byKey := make(map[key]results.ImageResult, len(rs))
	var methods, cats []string
	groupOf := map[string]string{}
	for i, r := range rs {
		if r.Category == "" || r.Method == "" {
			return Table{}, fmt.Errorf("image table %q: result %d has an empty category or method (category %q, method %q)", title, i, r.Category, r.Method)
		}
		k := key{r.Category, r.Method}
		if _, dup := byKey[k]; dup {
			return Table{}, fmt.Errorf("image table %q: two results for category %q and method %q", title, r.Category, r.Method)
		}
		for _, m := range imageMetrics() {
			if err := checkFraction(m.get(r)); err != nil {
				return Table{}, fmt.Errorf("image table %q: %s of %s on %s: %w", title, m.name, r.Method, r.Category, err)
			}
		}
		byKey[k] = r
		if g, ok := groupOf[r.Category]; ok && g != r.Group {
			return Table{}, fmt.Errorf("image table %q: category %q is in groups %q and %q", title, r.Category, g, r.Group)
		}
		groupOf[r.Category] = r.Group
		if !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
		if !slices.Contains(cats, r.Category) {
			cats = append(cats, r.Category)
		}
	}
	cats = orderImageCategories(cats)

	// One getter per metric column, so that rows and means share the layout.
	type column struct {
		method string
		get    func(results.ImageResult) float64
	}
	cols := []string{"Group", "Category"}
	var metricCols []column
	hasSigma, hasPRO := false, false
	for _, m := range methods {
		for _, met := range imageMetrics() {
			if met.optional && !methodReports(rs, m, met.get) {
				continue
			}
			hasSigma = hasSigma || strings.HasSuffix(met.name, "σ=4")
			hasPRO = hasPRO || met.name == "AUPRO"
			cols = append(cols, m+" "+met.name)
			metricCols = append(metricCols, column{m, met.get})
		}
	}
	value := func(cat string, c column) float64 {
		r, ok := byKey[key{cat, c.method}]
		if !ok {
			return math.NaN()
		}
		return c.get(r)
	}

	t := Table{Title: title, Columns: cols}
	groupCats := map[string][]string{}
	var groups []string
	for _, cat := range cats {
		g := imageGroup(cat, groupOf[cat])
		if _, ok := groupCats[g]; !ok {
			groups = append(groups, g)
		}
		groupCats[g] = append(groupCats[g], cat)
		row := []Cell{Str(g), Str(cat)}
		for _, c := range metricCols {
			row = append(row, percent(value(cat, c)))
		}
		t.Rows = append(t.Rows, row)
	}
	meanRow := func(group string, members []string) []Cell {
		row := []Cell{Str(group), Str("mean")}
		vals := make([]float64, len(members))
		for _, c := range metricCols {
			for i, cat := range members {
				vals[i] = value(cat, c)
			}
			// A NaN member makes the mean NaN: absent, not averaged over fewer.
			row = append(row, percent(stat.Mean(vals, nil)))
		}
		return row
	}
	if len(groups) > 1 {
		for _, g := range groups {
			t.Footer = append(t.Footer, meanRow(g, groupCats[g]))
		}
	}
	t.Footer = append(t.Footer, meanRow(GroupAll, cats))

	t.Notes = []string{
		"Values are percentages (fraction x 100) rounded to one decimal; means are taken over unrounded per-category values, and a mean with an absent member is absent (-).",
		"P- = pixel level, I- = image level.",
	}
	if hasPRO {
		t.Notes = append(t.Notes, "AUPRO: area under the per-region-overlap curve up to FPR 0.3, divided by 0.3 (MVTec AD's).")
	}
	if hasSigma {
		t.Notes = append(t.Notes, "σ=4: pixel metrics on anomaly maps smoothed with a Gaussian of σ = 4.")
	}
	return t, nil
}

// orderImageCategories puts MVTec AD categories in the paper's order and
// the others after them, sorted.
func orderImageCategories(cats []string) []string {
	rank := map[string]int{}
	for i, c := range append(MVTecTextures(), MVTecObjects()...) {
		rank[c] = i
	}
	out := slices.Clone(cats)
	slices.SortStableFunc(out, func(a, b string) int {
		ra, okA := rank[strings.ToLower(a)]
		rb, okB := rank[strings.ToLower(b)]
		switch {
		case okA && okB:
			return ra - rb
		case okA:
			return -1
		case okB:
			return 1
		default:
			return strings.Compare(a, b)
		}
	})
	return out
}

// methodReports reports whether any result of method has a value for get.
func methodReports(rs []results.ImageResult, method string, get func(results.ImageResult) float64) bool {
	for _, r := range rs {
		if r.Method == method && !math.IsNaN(get(r)) {
			return true
		}
	}
	return false
}

// checkFraction rejects metrics that cannot be fractions; a value above 1 is
// almost always a percentage passed by mistake.
func checkFraction(v float64) error {
	if math.IsNaN(v) {
		return nil
	}
	if math.IsInf(v, 0) || v < 0 || v > 1 {
		return fmt.Errorf("value %v is not a fraction in [0, 1] (pass 0.971, not 97.1; NaN for absent)", v)
	}
	return nil
}

// percent shows a fraction as a percentage with one decimal.
func percent(v float64) Cell { return Num(100*v, 1) }
