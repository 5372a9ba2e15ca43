package main

import (
	"fmt"
	"sort"

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
'bottleneck' resolves to is marked.`,
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
