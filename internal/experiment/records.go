package experiment

import (
	"fmt"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/records"
)

// evalRecords turns a unit's evaluation into records. The first row of an
// evaluation is the teacher's, the last ev.Control rows the control's, and
// the last before them the headline (see baseline.Eval).
func evalRecords(u *baseline.Unit, ev *baseline.Eval, taps []string) []records.Record {
	var out []records.Record
	add := func(i, n int, method string, ms []records.Metric) {
		own := n - ev.Control // the teacher's and the student's rows
		r := records.Record{Unit: u.Name, Dataset: u.DatasetName(), Method: method, Teacher: i == 0, Headline: i == own-1, Control: i >= own, Metrics: ms}
		if !r.Teacher && !r.Control {
			r.Taps = baseline.TapSetName(taps)
		}
		out = append(out, r)
	}
	metric := records.NewMetric
	for i, r := range ev.Video {
		add(i, len(ev.Video), r.Method, []records.Metric{metric("micro AUC", r.MicroAUC, true), metric("macro AUC", r.MacroAUC, false)})
	}
	sigma := fmt.Sprintf(" σ=%g", u.Cfg.Eval.Sigma)
	for i, r := range ev.Images {
		add(i, len(ev.Images), r.Method, []records.Metric{
			metric("P-AUROC", r.PixelAUROC, true), metric("P-AP", r.PixelAP, false), metric("I-AUROC", r.ImageAUROC, true),
			metric("AUPRO", r.AUPRO, false),
			metric("P-AUROC"+sigma, r.PixelAUROCSigma, false), metric("P-AP"+sigma, r.PixelAPSigma, false),
		})
	}
	return out
}

// writeRecords saves a unit's evaluation beside its results table.
func writeRecords(st baseline.Stage, u *baseline.Unit, ev *baseline.Eval, taps []string) error {
	return records.Write(st.Records(), evalRecords(u, ev, taps))
}
