package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/compare"
	"github.com/fmam/fmam/internal/report"
)

// compareOptions are the options of 'fmam compare'.
type compareOptions struct {
	out, name, format string
	formats           []string
	asJSON            bool
	runs              []string
}

func (o *compareOptions) complete(_ *cobra.Command, args []string) error {
	o.runs = args
	return nil
}

func (o *compareOptions) validate() error {
	var err error
	if o.formats, err = report.ParseFormats(o.format); err != nil {
		return fmt.Errorf("--format: %w", err)
	}
	return nil
}

func (o *compareOptions) run(ctx context.Context, s streams, _ *slog.Logger) error {
	c, err := compare.Compare(ctx, o.runs)
	if err != nil {
		return err
	}
	c.Formats = o.formats
	if o.out != "" {
		if err := c.Write(o.out, o.name); err != nil {
			return err
		}
	}
	w := s.Out
	if o.asJSON {
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
	if o.out != "" {
		fmt.Fprintf(w, "(%s.{md,csv,json,html} and %s-*)\n", filepath.Join(o.out, o.name), filepath.Join(o.out, o.name))
	}
	return nil
}

// newCompareCmd returns the "compare" command: one table over several
// evaluated run folders.
func newCompareCmd(f *factory) *cobra.Command {
	o := &compareOptions{}
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

Runs of one task only: an image run and a video run share no metric. A
run that mimics another run's teacher (model.teacher_run) shows that
teacher run's training keys, so different teachers show as a difference.

--out DIR also writes DIR/<name>.md, .csv, .json, the figures over all
runs (<name>-roc.png: each run's headline ROC curve and each distinct
teacher's, video runs; <name>-lambda.png: each run's lambda sweep, where
'fmam sweep-lambda' made one) and an HTML page with the table, those
figures and each run's pictures (ROC curves, map panels, loss curves)
under a heading per category. The pictures are copied into
DIR/<name>-pictures, so the folder can be moved or mailed on its own.`,
		Example: `  fmam compare runs/ped2-compare-cpu-small/sca runs/ped2-compare-cpu-small/ca
  fmam compare runs/a runs/b --out results/a-vs-b
  fmam compare runs/a runs/b --json`,
		Args: cobra.MinimumNArgs(1),
		RunE: f.runE(o),
	}
	cmd.Flags().StringVar(&o.out, "out", "", "also write the table and an HTML page into this folder")
	cmd.Flags().StringVar(&o.name, "name", "compare", "base name of the files --out writes")
	cmd.Flags().StringVar(&o.format, "format", "png", "figure formats --out writes, comma-separated: png (always), svg, pdf")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the table as JSON (every number its own field) instead of Markdown")
	return cmd
}
