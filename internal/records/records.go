// Package records is the task-independent form of a stage's evaluation:
// rows of metrics, one per method and unit, written to records.json at
// eval and read by the tables over seeds and by 'fmam compare'.
package records

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"

	"github.com/fmam/fmam/internal/atomicfile"
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
	Teacher  bool `json:"teacher"`
	Headline bool `json:"headline"`
	// Control marks the control's rows: the student network trained on
	// L_o alone beside the student (no taps of its own); like a
	// student's, its differences are against the unit's teacher.
	Control bool     `json:"control,omitempty"`
	Metrics []Metric `json:"metrics"`
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

// NewMetric is a metric of value v, absent when v is NaN.
func NewMetric(name string, v float64, compare bool) Metric {
	m := Metric{Name: name, Compare: compare}
	if !math.IsNaN(v) {
		m.Value = &v
	}
	return m
}

// Float returns the metric's value, NaN when absent.
func (m Metric) Float() float64 {
	if m.Value == nil {
		return math.NaN()
	}
	return *m.Value
}

// file is the records.json file of a stage.
type file struct {
	Records []Record `json:"records"`
}

// Write saves records as a stage's records.json at path.
func Write(path string, recs []Record) error {
	b, err := json.MarshalIndent(file{Records: recs}, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// Read reads a stage's records.json at path; a missing file is reported
// with what to run.
func Read(path string) ([]Record, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("records of %s: %w; run 'fmam eval' on the run (it reuses saved raw scores)", filepath.Dir(path), err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("records %s: %w", path, err)
	}
	if len(f.Records) == 0 {
		return nil, fmt.Errorf("records %s: no rows", path)
	}
	return f.Records, nil
}

// WithMeanUnit appends, when records cover several units, a unit MeanUnit
// per method: the mean of each metric over the units (absent when any
// unit lacks it), as in the summary row of the paper's Table 4.
func WithMeanUnit(recs []Record) []Record {
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
				mean = &Record{Unit: MeanUnit, Dataset: r.Dataset, Method: m, Taps: r.Taps, Teacher: r.Teacher, Headline: r.Headline, Control: r.Control}
				for _, x := range r.Metrics {
					mean.Metrics = append(mean.Metrics, NewMetric(x.Name, 0, x.Compare))
				}
			}
			for j := range mean.Metrics {
				v := math.NaN()
				if j < len(r.Metrics) && r.Metrics[j].Name == mean.Metrics[j].Name {
					v = r.Metrics[j].Float()
				}
				mean.Metrics[j] = NewMetric(mean.Metrics[j].Name, mean.Metrics[j].Float()+v/float64(len(units)), mean.Metrics[j].Compare)
			}
		}
		if complete {
			out = append(out, *mean)
		}
	}
	return out
}

// MeanUnit names the mean over categories in tables.
const MeanUnit = "mean"

// MetricsNote explains the metrics of a record in a table note.
func MetricsNote(r Record) string {
	if r.Metrics[0].Name == "micro AUC" {
		return "micro AUC: frame-level AUROC over all test frames pooled; macro AUC: mean of per-video AUROCs; frame scores as the run's results table makes them (per-video min-max for MNAD, the official chains for Jigsaw-VAD and PKG-Net)."
	}
	return "P- = pixel level, I- = image level; AUPRO: area under the per-region-overlap curve up to FPR 0.3, divided by 0.3 (absent without masks); σ: pixel metrics on anomaly maps smoothed with a Gaussian of that σ (absent without eval.sigma)."
}
