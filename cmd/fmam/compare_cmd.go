package main

import (
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/experiment"
)

// newCompareCmd returns the "compare" command: one table over several
// evaluated run folders.
func newCompareCmd() *cobra.Command {
	var out, name string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "compare RUN...",
		Short: "One table over several evaluated run folders, with the config keys that differ",
		Long: `Read the evaluation of each run folder's student (records.json, which
'fmam eval' writes; every seed of a multi-seed run) and print one table:
rows aligned by data set and category, a Run column, one column per
configuration key whose value differs between the runs, then the metrics
and each student's difference with its own teacher. Runs with several
seeds show mean ± std over seeds and the paired difference (t-test); a
teacher row shared by several runs (same numbers on every seed) is shown
once. Nothing is trained or scored.

--out DIR also writes DIR/<name>.md, .csv, .json and an HTML page with
the table and the runs' pictures (ROC curves, map panels, loss curves).`,
		Example: `  fmam compare runs/ped2-compare-cpu-small/sca runs/ped2-compare-cpu-small/ca
  fmam compare runs/a runs/b --out results/a-vs-b
  fmam compare runs/a runs/b --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, runs []string) error {
			c, err := experiment.Compare(cmd.Context(), runs)
			if err != nil {
				return err
			}
			if out != "" {
				if err := c.Write(out, name); err != nil {
					return err
				}
			}
			w := cmd.OutOrStdout()
			if asJSON {
				t, err := c.Machine()
				if err != nil {
					return err
				}
				return t.WriteJSON(w)
			}
			t, err := c.Markdown()
			if err != nil {
				return err
			}
			if err := t.WriteMarkdown(w); err != nil {
				return err
			}
			if out != "" {
				fmt.Fprintf(w, "(%s.{md,csv,json,html})\n", filepath.Join(out, name))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "also write the table and an HTML page into this folder")
	cmd.Flags().StringVar(&name, "name", "compare", "base name of the files --out writes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the table as JSON (every number its own field) instead of Markdown")
	return cmd
}
