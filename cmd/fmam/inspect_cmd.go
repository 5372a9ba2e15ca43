package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
)

func (a *app) newInspectCmd() *cobra.Command {
	var all bool
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
  fmam inspect ../shared/teachers/draem.onnx --all`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, err := graph.LoadFile(args[0], graph.ImportOptions{Batch: 1})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			for _, in := range g.Inputs {
				fmt.Fprintf(out, "input   %s %v %v\n", in, g.DType(in), g.Shape(in))
			}
			for _, o := range g.Outputs {
				fmt.Fprintf(out, "output  %s %v %v\n", o, g.DType(o), g.Shape(o))
			}
			printExpects(out, g)
			counts := map[string]int{}
			for _, n := range g.Nodes {
				counts[n.Op]++
			}
			ops := make([]string, 0, len(counts))
			for op := range counts {
				ops = append(ops, op)
			}
			sort.Strings(ops)
			fmt.Fprintf(out, "ops    ")
			for _, op := range ops {
				mark := ""
				if !autodiff.HasRule(op) {
					mark = "(no gradient rule)"
				}
				fmt.Fprintf(out, " %s:%d%s", op, counts[op], mark)
			}
			fmt.Fprintln(out)
			bottleneck := ""
			if len(g.Outputs) > 0 {
				bottleneck = method.FindBottleneck(g, g.Outputs[0])
			}
			fmt.Fprintln(out, "feature maps (tap candidates):")
			for _, n := range g.Nodes {
				o := n.Outputs[0]
				s := g.Shape(o)
				if len(s) != 4 || (!all && n.Op != "Conv" && n.Op != "ConvTranspose" && o != bottleneck) {
					continue
				}
				mark := ""
				if o == bottleneck {
					mark = "   <- bottleneck"
				}
				fmt.Fprintf(out, "  %-50s %-14s %v%s\n", o, n.Op, s, mark)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "list every 4-D tensor, not only conv outputs")
	return cmd
}

// printExpects says what input the model expects: the shape, and the
// format fmam recorded when it exported the model.
func printExpects(out io.Writer, g *graph.Graph) {
	for _, in := range g.Inputs {
		if sh := g.Shape(in); len(sh) == 4 {
			fmt.Fprintf(out, "expects input %q: %d channels (data.channels, times data.frames for clips), %dx%d pixels (data.size)\n", in, sh[1], sh[3], sh[2])
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
		fmt.Fprintf(out, "trained by fmam with %s\n", strings.Join(parts, ", "))
	case g.Meta(method.MetaArch) == "":
		fmt.Fprintln(out, "no fmam metadata: set data.range, data.mean and data.std to the input normalisation of the model's training code")
	}
}
