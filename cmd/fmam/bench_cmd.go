package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/bench"
)

// benchOptions are the options of 'fmam bench'.
type benchOptions struct {
	f      *factory
	o      bench.Options
	asJSON bool
}

func (o *benchOptions) complete(cmd *cobra.Command, _ []string) error {
	if cmd.Flags().Changed("threads") {
		o.o.Threads = o.f.threads
	}
	if cmd.Flags().Changed("device") {
		o.o.Device = o.f.device
	}
	return nil
}

func (o *benchOptions) validate() error {
	_, err := registry.LookupArch(o.o.Model)
	return err
}

func (o *benchOptions) run(ctx context.Context, s streams, _ *slog.Logger) error {
	b, err := registry.LookupArch(o.o.Model)
	if err != nil {
		return err
	}
	rt, err := o.f.runtime()
	if err != nil {
		return err
	}
	defer rt.Close()
	res, err := bench.Run(ctx, rt, b, o.o)
	if err != nil {
		return err
	}
	out := s.Out
	if o.asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(out, string(b))
		return nil
	}
	fmt.Fprintf(out, "%s width %g, %dx%d, batch %d, %d threads, %s\n", res.Model, res.Width, res.Size, res.Size, res.Batch, res.ThreadsUsed, res.DeviceUsed)
	fmt.Fprintf(out, "params         %d\ntrain step     %.1f ms (fastest %.1f)\ninference      %.1f ms / batch (fastest %.1f)\ntrain/infer    %.2f\npeak RSS       %.0f MB\ncompile        %.0f ms\n",
		res.Params, res.TrainStepMS, res.TrainStepMinMS, res.InferBatchMS, res.InferBatchMinMS, res.Ratio, res.PeakRSSMB, res.CompileMS)
	if cf := res.ConvFloor; cf != nil {
		fmt.Fprintf(out, "convs alone    %.1f ms forward, %.1f ms with gradients (%d convs, %.0f%% of the step)\n",
			cf.ForwardMS, cf.StepMS, cf.Convs, 100*cf.StepMS/res.TrainStepMS)
	}
	return nil
}

func newBenchCmd(f *factory) *cobra.Command {
	o := &benchOptions{f: f}
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Time training steps and inference batches of a built-in network on random data",
		Long: `Build the network's train-step graph (forward, gradients, Adam) and its
inference graph, run each warmup+steps times, and report median and
fastest times. mnad: MNAD's predictor without memory, next-frame MSE.
draem: both DRAEM subnetworks, MSE(reconstruction, image) + cross-entropy
(mask logits, random mask). jigsaw: Jigsaw-VAD's network on cubes of 7
RGB frames of --size pixels, both puzzle cross-entropies (random targets)
with its Dropout2d mask. pkgnet: PKG-Net's student U-Net (--k 1 or 2) on
cubes of 5 RGB frames of --size pixels (32 is the paper's), the official
loss against random teacher features (the frozen backbone is not timed).
scripts/bench_compare.py runs this and the
same network in PyTorch (scripts/bench_torch.py) alternately.

--conv-floor also times every convolution of the network alone, forward
and forward + gradients, each in a session of its own: the share of the
step that only faster conv kernels could shrink.`,
		Example: `  fmam bench --model mnad --width 0.25 --size 64 --batch 4 --threads 2 --json
  fmam bench --model draem --width 0.125 --size 64 --batch 4 --threads 2
  fmam bench --model mnad --threads 2 --conv-floor
  fmam bench --model jigsaw --width 1 --size 64 --batch 32 --threads 2
  fmam bench --model pkgnet --k 2 --width 1 --size 32 --batch 32 --threads 2
  /usr/bin/python3 scripts/bench_compare.py --fmam bin/fmam --model draem --width 0.125 --rounds 5`,
		Args: cobra.NoArgs,
		RunE: f.runE(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.o.Model, "model", "mnad", "the baseline network: "+strings.Join(archNames(), ", "))
	fl.Float64Var(&o.o.Width, "width", 0.25, "channel width multiplier")
	fl.IntVar(&o.o.Size, "size", 64, "input height and width")
	fl.IntVar(&o.o.K, "k", 0, "pkgnet: the student variant, 1 or 2 (0: 1)")
	fl.IntVar(&o.o.Batch, "batch", 4, "batch size")
	fl.IntVar(&o.o.Steps, "steps", 20, "timed steps")
	fl.IntVar(&o.o.Warmup, "warmup", 3, "untimed steps first")
	fl.BoolVar(&o.asJSON, "json", false, "print one JSON object")
	fl.BoolVar(&o.o.ConvFloor, "conv-floor", false, "also time each convolution alone, forward and with gradients")
	fl.StringVar(&o.o.Profile, "profile", "", "write ONNX Runtime per-node profiles (Chrome trace JSON) with this file prefix")
	o.o.Device = "cpu"
	f.addRuntimeFlags(cmd.Flags())
	return cmd
}

// archNames lists the baselines' architecture names for help texts.
func archNames() []string {
	var out []string
	for _, b := range registry.Baselines() {
		if !slices.Contains(out, b.Arch()) { // reconstruction has an image and a video baseline
			out = append(out, b.Arch())
		}
	}
	return out
}
