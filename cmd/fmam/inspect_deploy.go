package main

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/graph"
)

// deployInfo is what an evaluated run's model.onnx says about its use
// outside fmam: the batch axis, the score rules and the calibration.
type deployInfo struct {
	// Batch is "N" for a dynamic batch axis, else the fixed size.
	Batch       string                `json:"batch"`
	Task        string                `json:"task,omitempty"`
	Score       string                `json:"score,omitempty"`
	Calibration *baseline.Calibration `json:"calibration,omitempty"`
	// Metadata are all fmam.* metadata entries.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// inspectDeploy reads the batch axis and fmam metadata of a model file.
func inspectDeploy(path string) (*deployInfo, error) {
	m, err := graph.ReadModel(path)
	if err != nil {
		return nil, err
	}
	d := &deployInfo{Batch: "?", Metadata: map[string]string{}}
	if ins := m.GetGraph().GetInput(); len(ins) > 0 {
		if dims := ins[0].GetType().GetTensorType().GetShape().GetDim(); len(dims) > 0 {
			if p := dims[0].GetDimParam(); p != "" {
				d.Batch = p
			} else {
				d.Batch = strconv.FormatInt(dims[0].GetDimValue(), 10)
			}
		}
	}
	for k, v := range graph.ModelMetadata(m) {
		if strings.HasPrefix(k, "fmam.") {
			d.Metadata[k] = v
		}
	}
	d.Task, d.Score = d.Metadata[experiment.MetaTask], d.Metadata[experiment.MetaScore]
	if cj := d.Metadata[experiment.MetaCalibration]; cj != "" {
		var c baseline.Calibration
		if err := json.Unmarshal([]byte(cj), &c); err != nil {
			return nil, fmt.Errorf("%s: metadata %s: %w", path, experiment.MetaCalibration, err)
		}
		d.Calibration = &c
	}
	return d, nil
}

// print writes the deployment lines of inspect's listing.
func (d *deployInfo) print(out io.Writer) {
	switch d.Batch {
	case "?":
	case "N":
		fmt.Fprintln(out, "batch   dynamic (first axis N of every input and output)")
	default:
		fmt.Fprintf(out, "batch   fixed at %s (inspect shows the model imported at batch 1)\n", d.Batch)
	}
	if d.Task != "" {
		fmt.Fprintf(out, "task    %s\n", d.Task)
	}
	if d.Score != "" {
		fmt.Fprintf(out, "scores  %s\n", d.Score)
	}
	c := d.Calibration
	if c == nil {
		return
	}
	fmt.Fprintf(out, "normalisation (from %d %s normals): s_o [%.6g, %.6g] %s; s_fea [%.6g, %.6g] %s; lambda %g\n",
		c.References, c.Reference, c.SO.Min, c.SO.Max, c.SO.Direction, c.SFea.Min, c.SFea.Max, c.SFea.Direction, c.Lambda)
	ts := append([]baseline.Threshold(nil), c.Thresholds...)
	sort.SliceStable(ts, func(i, j int) bool { return ts[i].Name == c.Default && ts[j].Name != c.Default })
	for _, t := range ts {
		what := fmt.Sprintf("label-free: quantile %g of the normals", t.Quantile)
		if t.Labels != "none" {
			what = fmt.Sprintf("labels of the %s set: F1 %.3f there", t.Labels, t.F1)
		}
		def := ""
		if t.Name == c.Default {
			def = " (default)"
		}
		fmt.Fprintf(out, "threshold %-16s S_total >= %.6g   %s%s\n", t.Name, t.Value, what, def)
	}
}
