package main

import (
	"math"

	"github.com/fmam/fmam/internal/experiment"
)

// num is a metric for JSON: null when absent (NaN), which encoding/json
// cannot write.
func num(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

type videoRowJSON struct {
	Dataset  string   `json:"dataset"`
	Method   string   `json:"method"`
	MicroAUC *float64 `json:"micro_auc"`
	MacroAUC *float64 `json:"macro_auc"`
	// Kinds: AUC per anomaly kind, where the data set names them.
	Kinds []kindJSON `json:"kinds,omitempty"`
}

type kindJSON struct {
	Kind   string   `json:"kind"`
	AUC    *float64 `json:"auc"`
	Frames int      `json:"frames"`
}

type imageRowJSON struct {
	Category        string   `json:"category"`
	Method          string   `json:"method"`
	PixelAUROC      *float64 `json:"pixel_auroc"`
	PixelAP         *float64 `json:"pixel_ap"`
	ImageAUROC      *float64 `json:"image_auroc"`
	AUPRO           *float64 `json:"aupro"`
	PixelAUROCSigma *float64 `json:"pixel_auroc_sigma"`
	PixelAPSigma    *float64 `json:"pixel_ap_sigma"`
}

type unitJSON struct {
	Unit         string         `json:"unit,omitempty"`
	HeadlineName string         `json:"headline_name"`
	Headline     *float64       `json:"headline"`
	Teacher      *float64       `json:"teacher"`
	Frames       int            `json:"frames,omitempty"`
	Video        []videoRowJSON `json:"video,omitempty"`
	Images       []imageRowJSON `json:"images,omitempty"`
	Table        string         `json:"table"`
	KindTable    string         `json:"kind_table,omitempty"`
}

// evalJSON is what 'fmam eval --json' prints: the run, its headline table
// and every unit's rows, metrics as fractions.
func evalJSON(e *experiment.Env, ev *experiment.Evaluation) any {
	var units []unitJSON
	for _, u := range ev.Units {
		j := unitJSON{Unit: u.Unit, HeadlineName: u.HeadlineName, Headline: num(u.Headline), Teacher: num(u.Teacher), Frames: u.Frames, Table: u.Table, KindTable: u.KindTable}
		for _, r := range u.Video {
			row := videoRowJSON{Dataset: r.Dataset, Method: r.Method, MicroAUC: num(r.MicroAUC), MacroAUC: num(r.MacroAUC)}
			for _, k := range r.Kinds {
				row.Kinds = append(row.Kinds, kindJSON{k.Kind, num(k.AUC), k.Frames})
			}
			j.Video = append(j.Video, row)
		}
		for _, r := range u.Images {
			j.Images = append(j.Images, imageRowJSON{r.Category, r.Method, num(r.PixelAUROC), num(r.PixelAP), num(r.ImageAUROC), num(r.AUPRO), num(r.PixelAUROCSigma), num(r.PixelAPSigma)})
		}
		units = append(units, j)
	}
	return struct {
		Run   string     `json:"run"`
		Table string     `json:"table"`
		Units []unitJSON `json:"units"`
	}{e.RunDir(), ev.Table, units}
}

type lambdaJSON struct {
	Lambda   float64  `json:"lambda"`
	MicroAUC *float64 `json:"micro_auc"`
	MacroAUC *float64 `json:"macro_auc"`
}

// sweepJSON is what 'fmam sweep-lambda --json' prints: the AUC of each
// unit at every lambda (for image runs micro_auc is the image AUROC).
func sweepJSON(e *experiment.Env, sw *experiment.SweepResult) any {
	type unit struct {
		Unit   string       `json:"unit,omitempty"`
		Points []lambdaJSON `json:"points"`
	}
	var units []unit
	for i, pts := range sw.Points {
		u := unit{}
		if i < len(sw.Units) {
			u.Unit = sw.Units[i]
		}
		for _, p := range pts {
			u.Points = append(u.Points, lambdaJSON{p.Lambda, num(p.MicroAUC), num(p.MacroAUC)})
		}
		units = append(units, u)
	}
	return struct {
		Run   string   `json:"run"`
		Files []string `json:"files"`
		Units []unit   `json:"units"`
	}{e.RunDir(), sw.Files, units}
}
