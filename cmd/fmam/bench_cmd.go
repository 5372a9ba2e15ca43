package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/bench"
	"github.com/fmam/fmam/internal/experiment"
)

func (a *app) newBenchCmd() *cobra.Command {
	o := bench.Options{}
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time training steps and inference batches of a built-in network on random data",
		Long: `Build the network's train-step graph (forward, gradients, Adam) and its
inference graph, run each warmup+steps times, and report median and
fastest times. mnad: MNAD's predictor without memory, next-frame MSE.
draem: both DRAEM subnetworks, MSE(reconstruction, image) + cross-entropy
(mask logits, random mask). jigsaw: Jigsaw-VAD's network on cubes of 7
RGB frames of --size pixels, both puzzle cross-entropies (random targets)
with its Dropout2d mask. scripts/bench_compare.py runs this and the
same network in PyTorch (scripts/bench_torch.py) alternately.

--conv-floor also times every convolution of the network alone, forward
and forward + gradients, each in a session of its own: the share of the
step that only faster conv kernels could shrink.`,
		Example: `  fmam bench --model mnad --width 0.25 --size 64 --batch 4 --threads 2 --json
  fmam bench --model draem --width 0.125 --size 64 --batch 4 --threads 2
  fmam bench --model mnad --threads 2 --conv-floor
  fmam bench --model jigsaw --width 1 --size 64 --batch 32 --threads 2
  /usr/bin/python3 scripts/bench_compare.py --fmam bin/fmam --model draem --width 0.125 --rounds 5`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cmd.Flags().Changed("threads") {
				o.Threads = a.threads
			}
			if cmd.Flags().Changed("device") {
				o.Device = a.device
			}
			b, err := experiment.LookupArch(o.Model)
			if err != nil {
				return err
			}
			rt, err := a.openRuntime()
			if err != nil {
				return err
			}
			defer rt.Close()
			res, err := bench.Run(cmd.Context(), rt, b, o)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				b, _ := json.Marshal(res)
				fmt.Fprintln(out, string(b))
				return nil
			}
			fmt.Fprintf(out, "%s width %g, %dx%d, batch %d, %d threads, %s\n", res.Model, res.Width, res.Size, res.Size, res.Batch, res.Threads, res.DeviceUsed)
			fmt.Fprintf(out, "params         %d\ntrain step     %.1f ms (fastest %.1f)\ninference      %.1f ms / batch (fastest %.1f)\ntrain/infer    %.2f\npeak RSS       %.0f MB\ncompile        %.0f ms\n",
				res.Params, res.TrainStepMS, res.TrainStepMinMS, res.InferBatchMS, res.InferBatchMinMS, res.Ratio, res.PeakRSSMB, res.CompileMS)
			if cf := res.ConvFloor; cf != nil {
				fmt.Fprintf(out, "convs alone    %.1f ms forward, %.1f ms with gradients (%d convs, %.0f%% of the step)\n",
					cf.ForwardMS, cf.StepMS, cf.Convs, 100*cf.StepMS/res.TrainStepMS)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Model, "model", "mnad", "the baseline network: "+strings.Join(archNames(), ", "))
	f.Float64Var(&o.Width, "width", 0.25, "channel width multiplier")
	f.IntVar(&o.Size, "size", 64, "input height and width")
	f.IntVar(&o.Batch, "batch", 4, "batch size")
	f.IntVar(&o.Steps, "steps", 20, "timed steps")
	f.IntVar(&o.Warmup, "warmup", 3, "untimed steps first")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.BoolVar(&o.ConvFloor, "conv-floor", false, "also time each convolution alone, forward and with gradients")
	f.StringVar(&o.Profile, "profile", "", "write ONNX Runtime per-node profiles (Chrome trace JSON) with this file prefix")
	o.Device = "cpu"
	return cmd
}

// archNames lists the baselines' architecture names for help texts.
func archNames() []string {
	var out []string
	for _, b := range experiment.Baselines() {
		out = append(out, b.Arch())
	}
	return out
}
