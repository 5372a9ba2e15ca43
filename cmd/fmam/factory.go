package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/fmam/fmam/configs"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/progress"
	"github.com/fmam/fmam/internal/report"
)

// factory is the one place that resolves what commands share, as kubectl's
// cmdutil.Factory: the root flags, the configuration (file, preset, FMAM_*
// variables, flags), the ONNX Runtime library and the logger. Commands get
// these from it and pass them on; nothing below cmd reads flags, the
// environment or a default logger.
type factory struct {
	configFile string
	preset     string
	device     string
	threads    int
	seed       uint64
	seeds      string
	logLevel   string
	ortLib     string
	format     string

	// changed holds the root flags given on the command line, set by
	// bind before a command runs.
	changed map[string]bool
	// level is the logger's level: --log-level until a command resolves
	// its configuration, then the configuration's log_level.
	level slog.LevelVar
	log   *slog.Logger
}

// addLogFlag binds the one flag every command has: --log-level.
func (f *factory) addLogFlag(pf *pflag.FlagSet) {
	pf.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error")
}

// addRunFlags binds the flags of the commands that resolve an experiment
// configuration (train, eval, sweep-lambda, ablate-layer, run): only they
// show --config, --preset, --seed(s) and --format in their help.
func (f *factory) addRunFlags(cmd *cobra.Command) {
	pf := cmd.Flags()
	pf.StringVar(&f.configFile, "config", "", "experiment YAML (default: the embedded demo)")
	pf.StringVar(&f.preset, "preset", "", "named preset from the config, e.g. cpu-small")
	pf.Uint64Var(&f.seed, "seed", 0, "random seed (default: the config's seed; --seed 0 sets seed 0)")
	pf.StringVar(&f.seeds, "seeds", "", "run every stage once per seed, e.g. 0,1,2, in seed-<k>/ sub-folders (train.seeds; default: one seed)")
	pf.StringVar(&f.format, "format", "", "figure formats, comma-separated: png (always), svg, pdf (report.formats; default png)")
	f.addRuntimeFlags(pf)
	registerCompletions(cmd)
}

// addRuntimeFlags binds the flags of the commands that open ONNX Runtime.
func (f *factory) addRuntimeFlags(pf *pflag.FlagSet) {
	pf.StringVar(&f.device, "device", "", "cpu, cuda or auto (default from config: auto)")
	pf.IntVar(&f.threads, "threads", 0, "ONNX Runtime intra-op threads (0: from config, else ONNX Runtime's choice)")
	f.addOrtLibFlag(pf)
}

// addOrtLibFlag binds --ort-lib, for commands that load ONNX Runtime.
func (f *factory) addOrtLibFlag(pf *pflag.FlagSet) {
	pf.StringVar(&f.ortLib, "ort-lib", "", "path to libonnxruntime.so (also FMAM_ORT_LIB; default: the cache filled by 'make setup')")
}

// bind runs before every command: it records which root flags were given
// and builds the logger, once, on the command's stderr. Every line fmam
// logs goes through it, in one format.
func (f *factory) bind(cmd *cobra.Command) {
	f.changed = map[string]bool{}
	cmd.Flags().Visit(func(fl *pflag.Flag) { f.changed[fl.Name] = true })
	level := "info"
	if f.logLevel != "" {
		level = f.logLevel
	}
	f.setLevel(level)
	errOut := cmd.ErrOrStderr()
	if fl, ok := errOut.(*os.File); ok && term.IsTerminal(int(fl.Fd())) {
		errOut = progress.ClearLine(errOut)
	}
	f.log = slog.New(slog.NewTextHandler(errOut, &slog.HandlerOptions{Level: &f.level}))
}

// setLevel sets the logger's level; an unknown name means info.
func (f *factory) setLevel(name string) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(name)); err != nil {
		l = slog.LevelInfo
	}
	f.level.Set(l)
}

// logger is the command's logger (bind built it).
func (f *factory) logger() *slog.Logger {
	if f.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.log
}

// config resolves the configuration: built-in defaults, the YAML file
// (--config, else the embedded demo), the --preset, FMAM_* variables, then
// the root flags given and extra, highest last. The logger takes the
// configuration's log level.
func (f *factory) config(extra map[string]any) (*config.Config, error) {
	over := map[string]any{}
	if f.changed["device"] {
		over["device"] = f.device
	}
	if f.changed["threads"] {
		over["threads"] = f.threads
	}
	if f.changed["seed"] {
		over["seed"] = f.seed
	}
	if f.changed["seeds"] {
		seeds, err := config.ParseSeeds(f.seeds)
		if err != nil {
			return nil, fmt.Errorf("--seeds: %w", err)
		}
		over["train.seeds"] = seeds
	}
	if f.changed["log-level"] {
		over["log_level"] = f.logLevel
	}
	if f.changed["ort-lib"] {
		over["ort_lib"] = f.ortLib
	}
	if f.changed["format"] {
		formats, err := report.ParseFormats(f.format)
		if err != nil {
			return nil, fmt.Errorf("--format: %w", err)
		}
		over["report.formats"] = formats
	}
	for k, v := range extra {
		over[k] = v
	}
	var embedded []byte
	if f.configFile == "" {
		b, err := configs.Get(configs.Default)
		if err != nil {
			return nil, err
		}
		embedded = b
	}
	cfg, err := config.Load(f.configFile, embedded, f.preset, over)
	if err != nil {
		return nil, err
	}
	f.setLevel(cfg.LogLevel)
	return cfg, nil
}

// library is the ONNX Runtime library (ort.FindLibrary's order: --ort-lib,
// FMAM_ORT_LIB, the configuration's ort_lib, the cache); cfgLib is "" for
// commands without a configuration.
func (f *factory) library(cfgLib string) (string, error) {
	return ort.FindLibrary(f.ortLib, cfgLib)
}

// runtime loads ONNX Runtime for commands that take no configuration.
func (f *factory) runtime() (*ort.Runtime, error) {
	lib, err := f.library("")
	if err != nil {
		return nil, err
	}
	return ort.Open(lib)
}

// deviceOr reads --device and --threads for commands without a
// configuration; def is the device without --device.
func (f *factory) deviceOr(def ort.Device) (ort.Device, int, error) {
	dev := def
	if f.device != "" {
		d, err := ort.ParseDevice(f.device)
		if err != nil {
			return "", 0, fmt.Errorf("--device: %w", err)
		}
		dev = d
	}
	return dev, f.threads, nil
}

// barWriter is where progress bars go: stderr when it is a terminal, else
// nowhere (long phases then log a line every so often instead).
func barWriter(errOut io.Writer) io.Writer {
	if f, ok := errOut.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return f
	}
	return nil
}

// runRequest is what a command that works on a run folder asks for.
type runRequest struct {
	dir        string // --run; "" for runs/<config name>
	mustExist  bool   // the folder must hold a run already (eval, sweep)
	newVersion bool   // --new-version
	extra      map[string]any
}

// openRun loads the configuration (from --config, or the run folder's
// config.yaml when --run is given), resolves the library and opens the run.
func (f *factory) openRun(_ context.Context, errOut io.Writer, r runRequest) (*experiment.Env, error) {
	if r.dir != "" && f.configFile == "" {
		p := filepath.Join(r.dir, "config.yaml")
		_, err := os.Stat(p)
		switch {
		case err == nil:
			f.configFile = p
		case r.mustExist:
			return nil, fmt.Errorf("--run %s: %w; is it a run folder written by 'fmam train'?", r.dir, err)
		}
	}
	cfg, err := f.config(r.extra)
	if err != nil {
		return nil, err
	}
	log := f.logger()
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	runDir := r.dir
	if r.newVersion {
		base := runDir
		if base == "" {
			base = experiment.DefaultRunDir(cfg)
		}
		if runDir, err = experiment.NextVersion(base); err != nil {
			return nil, err
		}
		log.Info("new version of the run", "dir", runDir)
	}
	lib, err := f.library(cfg.OrtLib)
	if err != nil {
		return nil, err
	}
	return experiment.Open(cfg, runDir, lib, log, barWriter(errOut))
}

// streams are a command's outputs, as kubectl's IOStreams.
type streams struct {
	Out    io.Writer
	ErrOut io.Writer
}

// options is a command's options struct, run as kubectl runs its commands:
// complete fills what the flags leave open, validate checks the
// combination before anything is touched, run does the work.
type options interface {
	complete(cmd *cobra.Command, args []string) error
	validate() error
	run(ctx context.Context, s streams, log *slog.Logger) error
}

// runE is the cobra RunE of a command with options o.
func (f *factory) runE(o options) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.complete(cmd, args); err != nil {
			return err
		}
		if err := o.validate(); err != nil {
			return err
		}
		return o.run(cmd.Context(), streams{Out: cmd.OutOrStdout(), ErrOut: cmd.ErrOrStderr()}, f.logger())
	}
}
