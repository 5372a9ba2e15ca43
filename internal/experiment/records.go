package experiment

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"

	"github.com/fmam/fmam/internal/baseline"
)

// Record is one row of a stage's evaluation, one method on one unit, in a
// form that does not depend on the task: the seed summaries and 'fmam
// compare' read records instead of parsing the task-shaped tables.
type Record struct {
	// Unit is the category ("" for a video data set) and Dataset the data
	// set's name in tables.
	Unit    string `json:"unit"`
	Dataset string `json:"dataset"`
	Method  string `json:"method"`
	// Taps is the student's tap set ("" on the teacher's row).
	Taps string `json:"taps,omitempty"`
	// Teacher marks the teacher's row, the reference of the unit's
	// student-teacher differences; Headline the row whose number
	// ablations compare (the student at lambda, or the teacher alone).
	Teacher  bool     `json:"teacher"`
	Headline bool     `json:"headline"`
	Metrics  []Metric `json:"metrics"`
}

// Metric is one measured number, a fraction.
type Metric struct {
	Name string `json:"name"`
	// Value is null when the stage does not measure it (pixel metrics
	// without masks, smoothed ones without eval.sigma).
	Value *float64 `json:"value"`
	// Compare marks the metrics whose student-teacher difference the
	// tables show: the headline measures.
	Compare bool `json:"compare"`
}

// stageRecords is the records.json file of a stage.
type stageRecords struct {
	Records []Record `json:"records"`
}

// value returns the metric's value, NaN when absent.
func (m Metric) value() float64 {
	if m.Value == nil {
		return math.NaN()
	}
	return *m.Value
}

func metric(name string, v float64, compare bool) Metric {
	m := Metric{Name: name, Compare: compare}
	if !math.IsNaN(v) {
		m.Value = &v
	}
	return m
}

// evalRecords turns a unit's evaluation into records. The first row of an
// evaluation is the teacher's and the last the headline (see
// baseline.Eval).
func evalRecords(u *baseline.Unit, ev *baseline.Eval, taps []string) []Record {
	var out []Record
	add := func(i, n int, method string, ms []Metric) {
		r := Record{Unit: u.Name, Dataset: u.DatasetName(), Method: method, Teacher: i == 0, Headline: i == n-1, Metrics: ms}
		if !r.Teacher {
			r.Taps = baseline.TapSetName(taps)
		}
		out = append(out, r)
	}
	for i, r := range ev.Video {
		add(i, len(ev.Video), r.Method, []Metric{metric("micro AUC", r.MicroAUC, true), metric("macro AUC", r.MacroAUC, false)})
	}
	sigma := fmt.Sprintf(" σ=%g", u.Cfg.Eval.Sigma)
	for i, r := range ev.Images {
		add(i, len(ev.Images), r.Method, []Metric{
			metric("P-AUROC", r.PixelAUROC, true), metric("P-AP", r.PixelAP, false), metric("I-AUROC", r.ImageAUROC, true),
			metric("P-AUROC"+sigma, r.PixelAUROCSigma, false), metric("P-AP"+sigma, r.PixelAPSigma, false),
		})
	}
	return out
}

// writeRecords saves a unit's evaluation beside its results table.
func writeRecords(st baseline.Stage, u *baseline.Unit, ev *baseline.Eval, taps []string) error {
	return writeJSON(st.Records(), stageRecords{Records: evalRecords(u, ev, taps)})
}

// readRecords reads a stage's records.json.
func readRecords(st baseline.Stage) ([]Record, error) {
	b, err := os.ReadFile(st.Records())
	if err != nil {
		return nil, fmt.Errorf("records of %s: %w; run 'fmam eval' on the run (it reuses saved raw scores)", st.Dir, err)
	}
	var sr stageRecords
	if err := json.Unmarshal(b, &sr); err != nil {
		return nil, fmt.Errorf("records %s: %w", st.Records(), err)
	}
	if len(sr.Records) == 0 {
		return nil, fmt.Errorf("records %s: no rows", st.Records())
	}
	return sr.Records, nil
}

// withMeanUnit appends, when records cover several units, a unit "mean"
// per method: the mean of each metric over the units (absent when any
// unit lacks it), as in the summary row of the paper's Table 4.
func withMeanUnit(recs []Record) []Record {
	var units, methods []string
	byKey := map[[2]string]Record{} // unit, method
	for _, r := range recs {
		if !slices.Contains(units, r.Unit) {
			units = append(units, r.Unit)
		}
		if !slices.Contains(methods, r.Method) {
			methods = append(methods, r.Method)
		}
		byKey[[2]string{r.Unit, r.Method}] = r
	}
	if len(units) < 2 {
		return recs
	}
	out := append([]Record(nil), recs...)
	for _, m := range methods {
		var mean *Record
		complete := true
		for _, u := range units {
			r, ok := byKey[[2]string{u, m}]
			if !ok {
				complete = false
				break
			}
			if mean == nil {
				mean = &Record{Unit: meanUnit, Dataset: r.Dataset, Method: m, Taps: r.Taps, Teacher: r.Teacher, Headline: r.Headline}
				for _, x := range r.Metrics {
					mean.Metrics = append(mean.Metrics, metric(x.Name, 0, x.Compare))
				}
			}
			for j := range mean.Metrics {
				v := math.NaN()
				if j < len(r.Metrics) && r.Metrics[j].Name == mean.Metrics[j].Name {
					v = r.Metrics[j].value()
				}
				mean.Metrics[j] = metric(mean.Metrics[j].Name, mean.Metrics[j].value()+v/float64(len(units)), mean.Metrics[j].Compare)
			}
		}
		if complete {
			out = append(out, *mean)
		}
	}
	return out
}

// meanUnit names the mean over categories in tables.
const meanUnit = "mean"

// metricsNote explains the metrics of a record in a table note.
func metricsNote(r Record) string {
	if r.Metrics[0].Name == "micro AUC" {
		return "micro AUC: frame-level AUROC over all test frames pooled; macro AUC: mean of per-video AUROCs; frame scores as the run's results table makes them (per-video min-max for MNAD, the official chain for Jigsaw-VAD)."
	}
	return "P- = pixel level, I- = image level; σ: pixel metrics on anomaly maps smoothed with a Gaussian of that σ (absent without eval.sigma)."
}
