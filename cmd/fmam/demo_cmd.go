package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/results"
)

// newRunCmd is the whole pipeline in one command: what 'make demo' runs.
func (a *app) newRunCmd() *cobra.Command {
	var runDir, grid string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Train teacher and student, evaluate, sweep lambda, and print the tables",
		Example: `  fmam run                                   # the embedded demo on synthetic video
  fmam run --config configs/ped2.yaml --preset cpu-small`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			e, err := a.openRun(cmd, runDir, false, nil)
			if err != nil {
				return err
			}
			defer e.Finish(&err)
			ctx := cmd.Context()
			if err := e.Train(ctx, experiment.StageAll); err != nil {
				return err
			}
			ev, err := e.Evaluate(ctx)
			if err != nil {
				return err
			}
			if err := printFile(cmd, ev.Table); err != nil {
				return err
			}
			g := grid
			if !cmd.Flags().Changed("grid") {
				g = e.Cfg.Eval.Grid
			}
			sw, err := e.Sweep(ctx, g)
			if err != nil {
				return err
			}
			for _, f := range sw.Files {
				if err := printFile(cmd, f); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
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
		},
	}
	cmd.Flags().StringVar(&runDir, "run", "", "run folder (default runs/<config name>)")
	cmd.Flags().StringVar(&grid, "grid", "", "lambda grid (default eval.grid of the config)")
	a.addNewVersion(cmd)
	return cmd
}
