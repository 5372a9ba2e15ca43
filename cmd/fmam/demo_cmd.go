package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/results"
)

// runOptions are the options of 'fmam run'.
type runOptions struct {
	f            *factory
	runDir, grid string
	gridGiven    bool
	newVersion   bool
}

func (o *runOptions) complete(cmd *cobra.Command, _ []string) error {
	o.gridGiven = cmd.Flags().Changed("grid")
	return nil
}

func (o *runOptions) validate() error { return nil }

func (o *runOptions) run(ctx context.Context, s streams, _ *slog.Logger) (err error) {
	e, err := o.f.openRun(ctx, s.ErrOut, runRequest{dir: o.runDir, newVersion: o.newVersion})
	if err != nil {
		return err
	}
	defer e.Finish(&err)
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		return err
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		return err
	}
	for _, t := range append([]string{ev.Table}, ev.KindTables()...) {
		if err := printFile(s.Out, t); err != nil {
			return err
		}
	}
	g := o.grid
	if !o.gridGiven {
		g = e.Cfg.Eval.Grid
	}
	sw, err := e.Sweep(ctx, g)
	if err != nil {
		return err
	}
	for _, f := range sw.Files {
		if err := printFile(s.Out, f); err != nil {
			return err
		}
	}
	out := s.Out
	for i, u := range ev.Units {
		var pts []results.LambdaPoint
		if i < len(sw.Points) {
			pts = sw.Points[i]
		}
		lines := experiment.Summary(u, pts)
		if len(lines) == 0 {
			continue
		}
		fmt.Fprintln(out, "\nSummary:")
		for _, l := range lines {
			fmt.Fprintf(out, "  %s\n", l)
		}
	}
	if strings.HasPrefix(e.Cfg.Data.Kind, "synth-") {
		fmt.Fprintf(out, "\nThis was generated toy data. The method on real data (UCSD Ped2, a teacher and four students,\n"+
			"about 2 minutes on 2 CPU cores): scripts/ped2-compare.sh; the README's 'Measured here' has its table.\n")
	}
	fmt.Fprintf(out, "run folder: %s\n", e.RunDir())
	return nil
}

// newRunCmd is the whole pipeline in one command: what 'make demo' runs.
func newRunCmd(f *factory) *cobra.Command {
	o := &runOptions{f: f}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Train teacher and student, evaluate, sweep lambda, and print the tables",
		Example: `  fmam run                                   # the embedded demo on synthetic video
  fmam run --config configs/ped2.yaml --preset cpu-small`,
		Args: cobra.NoArgs,
		RunE: f.runE(o),
	}
	cmd.Flags().StringVar(&o.runDir, "run", "", "run folder (default runs/<config name>)")
	cmd.Flags().StringVar(&o.grid, "grid", "", "lambda grid (default eval.grid of the config)")
	addNewVersion(cmd, &o.newVersion)
	f.addRunFlags(cmd)
	return cmd
}
