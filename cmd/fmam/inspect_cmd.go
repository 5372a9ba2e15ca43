package main

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
)

// tensorInfo is one tensor of an inspected model.
type tensorInfo struct {
	Name  string  `json:"name"`
	DType string  `json:"dtype"`
	Shape []int64 `json:"shape"`
	Op    string  `json:"op,omitempty"`
}

// modelInfo is what inspect prints.
type modelInfo struct {
	Model       string         `json:"model"`
	Inputs      []tensorInfo   `json:"inputs"`
	Outputs     []tensorInfo   `json:"outputs"`
	Ops         map[string]int `json:"ops"`
	NoGradient  []string       `json:"no_gradient_rule"`
	Bottleneck  string         `json:"bottleneck,omitempty"`
	FeatureMaps []tensorInfo   `json:"feature_maps"`
	// Expects says what input the model wants, in config keys.
	Expects []string `json:"expects"`
	// Deploy is the batch axis, score rules and calibration.
	Deploy *deployInfo `json:"deploy"`
}

func inspectModel(path string, all bool) (*modelInfo, error) {
	g, err := graph.LoadFile(path, graph.ImportOptions{Batch: 1})
	if err != nil {
		return nil, err
	}
	info := &modelInfo{Model: path, Ops: map[string]int{}, NoGradient: []string{}, FeatureMaps: []tensorInfo{}}
	tensor := func(name, op string) tensorInfo {
		return tensorInfo{Name: name, DType: fmt.Sprint(g.DType(name)), Shape: g.Shape(name), Op: op}
	}
	for _, in := range g.Inputs {
		info.Inputs = append(info.Inputs, tensor(in, ""))
	}
	for _, o := range g.Outputs {
		info.Outputs = append(info.Outputs, tensor(o, ""))
	}
	for _, n := range g.Nodes {
		info.Ops[string(n.Op)]++
	}
	for op := range info.Ops {
		if !autodiff.HasRule(graph.OpType(op)) {
			info.NoGradient = append(info.NoGradient, op)
		}
	}
	sort.Strings(info.NoGradient)
	if len(g.Outputs) > 0 {
		info.Bottleneck = method.FindBottleneck(g, g.Outputs[0])
	}
	for _, n := range g.Nodes {
		o := n.Outputs[0]
		if len(g.Shape(o)) != 4 || (!all && n.Op != graph.OpConv && n.Op != graph.OpConvTranspose && o != info.Bottleneck) {
			continue
		}
		info.FeatureMaps = append(info.FeatureMaps, tensor(o, string(n.Op)))
	}
	info.Expects = expects(g)
	if info.Deploy, err = inspectDeploy(path); err != nil {
		return nil, err
	}
	return info, nil
}

// inspectOptions are the options of 'fmam inspect'.
type inspectOptions struct {
	all, asJSON bool
	model       string
}

func (o *inspectOptions) complete(_ *cobra.Command, args []string) error {
	o.model = args[0]
	return nil
}

func (o *inspectOptions) validate() error { return nil }

func (o *inspectOptions) run(_ context.Context, s streams, _ *slog.Logger) error {
	info, err := inspectModel(o.model, o.all)
	if err != nil {
		return err
	}
	out := s.Out
	if o.asJSON {
		return writeJSON(out, info)
	}
	for _, in := range info.Inputs {
		fmt.Fprintf(out, "input   %s %s %v\n", in.Name, in.DType, in.Shape)
	}
	for _, o := range info.Outputs {
		fmt.Fprintf(out, "output  %s %s %v\n", o.Name, o.DType, o.Shape)
	}
	for _, l := range info.Expects {
		fmt.Fprintln(out, l)
	}
	info.Deploy.print(out)
	ops := make([]string, 0, len(info.Ops))
	for op := range info.Ops {
		ops = append(ops, op)
	}
	sort.Strings(ops)
	fmt.Fprintf(out, "ops    ")
	for _, op := range ops {
		mark := ""
		if !autodiff.HasRule(graph.OpType(op)) {
			mark = "(no gradient rule)"
		}
		fmt.Fprintf(out, " %s:%d%s", op, info.Ops[op], mark)
	}
	fmt.Fprintln(out)
	fmt.Fprintln(out, "feature maps (tap candidates):")
	for _, f := range info.FeatureMaps {
		mark := ""
		if f.Name == info.Bottleneck {
			mark = "   <- bottleneck"
		}
		fmt.Fprintf(out, "  %-50s %-14s %v%s\n", f.Name, f.Op, f.Shape, mark)
	}
	return nil
}

func newInspectCmd(f *factory) *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect MODEL.onnx",
		Short: "List a model's inputs, outputs, ops and feature maps (to choose a tap)",
		Long: `Import an ONNX model at batch 1 and print its inputs and outputs, op counts
(marking ops fmam cannot train through), and the 4-D feature maps with
their shapes; any of those names can be a tap in model.taps. The tensor
'bottleneck' resolves to is marked.

It also says what the model expects as input: its input's name and shape
(set data.channels, data.frames and data.size to match), and for teachers
fmam exported the input format they were trained on (data.range,
data.mean, data.std, data.filter), from the model's metadata.`,
		Example: `  fmam inspect ../shared/teachers/mnad_pred.onnx
  fmam inspect ../shared/teachers/draem.onnx --all
  fmam inspect ../shared/teachers/mnad_pred.onnx --json`,
		Args: cobra.ExactArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"onnx"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: f.runE(o),
	}
	cmd.Flags().BoolVar(&o.all, "all", false, "list every 4-D tensor, not only conv outputs")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print one JSON object instead of the listing")
	return cmd
}

// expects says what input the model expects: the shape, and the
// format fmam recorded when it exported the model.
func expects(g *graph.Graph) []string {
	var lines []string
	for _, in := range g.Inputs {
		if sh := g.Shape(in); len(sh) == 4 {
			lines = append(lines, fmt.Sprintf("expects input %q: %d channels (data.channels, times data.frames for clips), %dx%d pixels (data.size)", in, sh[1], sh[3], sh[2]))
		}
	}
	keys := []struct{ meta, name string }{
		{method.MetaArch, "model.arch"}, {method.MetaWidth, "model.width"},
		{method.MetaChannels, "data.channels"}, {method.MetaFrames, "data.frames"}, {method.MetaSize, "data.size"},
		{method.MetaRange, "data.range"}, {method.MetaMean, "data.mean"}, {method.MetaStd, "data.std"}, {method.MetaFilter, "data.filter"},
	}
	var parts []string
	for _, k := range keys {
		if v := g.Meta(k.meta); v != "" {
			parts = append(parts, k.name+": "+v)
		}
	}
	switch {
	case len(parts) > 0:
		lines = append(lines, "trained by fmam with "+strings.Join(parts, ", "))
	case g.Meta(method.MetaArch) == "":
		lines = append(lines, "no fmam metadata: set data.range, data.mean and data.std to the input normalisation of the model's training code")
	}
	return lines
}
