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
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/configs"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/ort"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.1.0-dev"

// app holds the root flags every command reads.
type app struct {
	configFile string
	preset     string
	device     string
	threads    int
	seed       uint64
	seeds      string
	logLevel   string
	ortLib     string
	newVersion bool
	root       *cobra.Command
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a := &app{}
	root := a.newRoot()
	if err := root.ExecuteContext(ctx); err != nil {
		// The same format as every other line fmam logs, a record per
		// line of the message (errors.Join puts each error on its own).
		log := slog.New(slog.NewTextHandler(os.Stderr, nil))
		for _, line := range strings.Split(err.Error(), "\n") {
			log.Error("fmam: " + line)
		}
		if errors.Is(err, context.Canceled) {
			os.Exit(130)
		}
		os.Exit(1)
	}
}

func (a *app) newRoot() *cobra.Command {
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
		SilenceUsage:  true,
		SilenceErrors: true,
		// Every line fmam logs, whichever package logs it, in one format.
		PersistentPreRun: func(cmd *cobra.Command, _ []string) { commandLogger(cmd) },
	}
	pf := root.PersistentFlags()
	pf.StringVar(&a.configFile, "config", "", "experiment YAML (default: the embedded demo)")
	pf.StringVar(&a.preset, "preset", "", "named preset from the config, e.g. cpu-small")
	pf.StringVar(&a.device, "device", "", "cpu, cuda or auto (default from config: auto)")
	pf.IntVar(&a.threads, "threads", 0, "ONNX Runtime intra-op threads (0: from config, else ONNX Runtime's choice)")
	pf.Uint64Var(&a.seed, "seed", 0, "random seed (0: from config)")
	pf.StringVar(&a.seeds, "seeds", "", "run every stage once per seed, e.g. 0,1,2, in seed-<k>/ sub-folders (train.seeds; default: one seed)")
	pf.StringVar(&a.logLevel, "log-level", "", "debug, info, warn or error")
	pf.StringVar(&a.ortLib, "ort-lib", "", "path to libonnxruntime.so (also FMAM_ORT_LIB; default: the cache filled by 'make setup')")
	a.root = root
	a.registerCompletions(root)
	root.AddCommand(
		a.newVersionCmd(),
		a.newTrainCmd(),
		a.newEvalCmd(),
		a.newSweepCmd(),
		a.newAblateCmd(),
		a.newBenchCmd(),
		a.newRunCmd(),
		a.newInspectCmd(),
		newDataCmd(),
		newMetricsCmd(),
		newCompareCmd(),
	)
	return root
}

// loadConfig resolves the configuration with the root flags on top.
func (a *app) loadConfig(cmd *cobra.Command, extra map[string]any) (*config.Config, error) {
	over := map[string]any{}
	flags := cmd.Flags()
	if flags.Changed("device") {
		over["device"] = a.device
	}
	if flags.Changed("threads") {
		over["threads"] = a.threads
	}
	if flags.Changed("seed") {
		over["seed"] = a.seed
	}
	if flags.Changed("seeds") {
		seeds, err := config.ParseSeeds(a.seeds)
		if err != nil {
			return nil, fmt.Errorf("--seeds: %w", err)
		}
		over["train.seeds"] = seeds
	}
	if flags.Changed("log-level") {
		over["log_level"] = a.logLevel
	}
	if flags.Changed("ort-lib") {
		over["ort_lib"] = a.ortLib
	}
	for k, v := range extra {
		over[k] = v
	}
	var embedded []byte
	if a.configFile == "" {
		b, err := configs.Get(configs.Default)
		if err != nil {
			return nil, err
		}
		embedded = b
	}
	return config.Load(a.configFile, embedded, a.preset, over)
}

// setLogger makes a text logger at level on the command's stderr the
// process's default (packages that log through slog.Default share its
// format) and returns it.
func (a *app) setLogger(cmd *cobra.Command, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: l}))
	slog.SetDefault(log)
	return log
}

// commandLogger is setLogger at the --log-level flag (default info), for
// commands that read no config.
func commandLogger(cmd *cobra.Command) *slog.Logger {
	level := "info"
	if f := cmd.Flag("log-level"); f != nil && f.Value.String() != "" {
		level = f.Value.String()
	}
	return (&app{}).setLogger(cmd, level)
}

// openRuntime loads ONNX Runtime for commands that take no config.
func (a *app) openRuntime() (*ort.Runtime, error) {
	lib, err := ort.FindLibrary(a.ortLib, "")
	if err != nil {
		return nil, err
	}
	return ort.Open(lib)
}
