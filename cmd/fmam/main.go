// Command fmam trains and evaluates anomaly detectors boosted by feature
// mimicking with attention, through ONNX Runtime. This package only wires
// flags to internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		// The same format as every other line fmam logs, a record per
		// line of the message (errors.Join puts each error on its own).
		log := slog.New(slog.NewTextHandler(os.Stderr, nil))
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error("fmam: " + line)
		}
		if errors.Is(err, context.Canceled) {
			log.Error("fmam: " + interruptedHint(os.Args))
			os.Exit(130)
		}
		os.Exit(1)
	}
}

// interruptedHint is what fmam says after Ctrl-C or SIGTERM, when the
// error itself is only "context canceled": what became of the work and
// how to go on.
func interruptedHint(args []string) string {
	cmd := "fmam"
	if len(args) > 1 {
		cmd += " " + strings.Join(args[1:], " ")
	}
	return fmt.Sprintf("interrupted (Ctrl-C or SIGTERM): every file already in the run folder is complete (fmam writes files atomically), so trained stages, checkpoints and finished scores are kept, and nothing half-written is; run '%s' again to resume: finished work is skipped", cmd)
}

// newRoot builds the command tree around one factory.
func newRoot() *cobra.Command {
	f := &factory{}
	root := &cobra.Command{
		Use:   "fmam",
		Short: "Boost anomaly detectors with feature mimicking and attention",
		Long: `fmam trains a student network to mimic a frozen teacher's features with
inconsistency-guided attention (Zheng et al., Sci Rep 2026), on ONNX Runtime,
and writes AUROC/AP tables like the paper's.

Without --config, commands use the embedded demo experiment (synthetic video).
Settings come from, lowest to highest: built-in defaults, the YAML file, the
--preset, FMAM_* environment variables (FMAM_DEVICE, FMAM_TRAIN_LR, ...), flags.`,
		Example: `  fmam train                                   # the demo: teacher, then student
  fmam train --config configs/ped2.yaml --preset cpu-small
  fmam eval --run runs/demo
  fmam sweep-lambda --run runs/demo --grid 0:1:0.05
  fmam ablate-layer --config configs/ped2.yaml --preset cpu-small
  fmam version`,
		// fmam --version prints the first line of 'fmam version' (which
		// also opens ONNX Runtime to name the library and providers).
		Version:          fmt.Sprintf("%s (%s, %s/%s)", version, runtime.Version(), runtime.GOOS, runtime.GOARCH),
		SilenceUsage:     true,
		SilenceErrors:    true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) { f.bind(cmd) },
	}
	root.SetVersionTemplate("fmam {{.Version}}\n")
	f.addLogFlag(root.PersistentFlags())
	root.AddCommand(
		newVersionCmd(f),
		newTrainCmd(f),
		newEvalCmd(f),
		newSweepCmd(f),
		newAblateCmd(f),
		newBenchCmd(f),
		newRunCmd(f),
		newInspectCmd(f),
		newDataCmd(f),
		newMetricsCmd(f),
		newCompareCmd(f),
		newGridSweepCmd(f),
		newPredictCmd(f),
	)
	return root
}
