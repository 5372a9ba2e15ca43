package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/experiment"
)

// addNewVersion adds --new-version to a command that starts runs.
func addNewVersion(cmd *cobra.Command, v *bool) {
	cmd.Flags().BoolVar(v, "new-version", false, "start the next version of the run folder (<run>/v2, v3, ...) instead of resuming it")
}

// trainOptions are the options of 'fmam train'.
type trainOptions struct {
	f                          *factory
	stage, runDir, teacherRun  string
	teacherSteps, studentSteps int
	newVersion                 bool

	st    experiment.Stage
	extra map[string]any
}

func (o *trainOptions) complete(cmd *cobra.Command, _ []string) error {
	o.extra = map[string]any{}
	if cmd.Flags().Changed("teacher-steps") {
		o.extra["train.teacher_steps"] = o.teacherSteps
	}
	if cmd.Flags().Changed("student-steps") {
		o.extra["train.student_steps"] = o.studentSteps
	}
	if o.teacherRun != "" {
		o.extra["model.teacher_run"] = o.teacherRun
	}
	return nil
}

func (o *trainOptions) validate() (err error) {
	o.st, err = experiment.ParseStage(o.stage)
	return err
}

func (o *trainOptions) run(ctx context.Context, s streams, _ *slog.Logger) (err error) {
	e, err := o.f.openRun(ctx, s.ErrOut, runRequest{dir: o.runDir, newVersion: o.newVersion, extra: o.extra})
	if err != nil {
		return err
	}
	defer e.Finish(&err)
	if err := e.Train(ctx, o.st); err != nil {
		return err
	}
	next := "fmam eval --run " + e.RunDir()
	if o.st == experiment.StageTeacher {
		// No student yet: eval would fail for the want of one.
		next = fmt.Sprintf("fmam train --run %s --stage student (or fmam eval --run %s --teacher-only)", e.RunDir(), e.RunDir())
	}
	fmt.Fprintf(s.Out, "trained: %s\nnext: %s\n", e.RunDir(), next)
	return nil
}

func newTrainCmd(f *factory) *cobra.Command {
	o := &trainOptions{f: f}
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Train the teacher and/or the student with feature mimicking and attention",
		Long: `Train stage teacher (the baseline alone, unless model.teacher names an ONNX
teacher), then stage student (same architecture, mimicking the frozen
teacher's features at the taps, with the configured attention).

Everything lands in the run folder (runs/<name>/ unless --run): config.yaml,
teacher/ and student/ with checkpoint.bin, log.csv (loss terms per step),
summary.json (timings) and the exported ONNX models. Ctrl-C saves a
checkpoint; the same command resumes. Finished stages are skipped.`,
		Example: `  fmam train                                        # embedded demo, both stages
  fmam train --config configs/ped2.yaml --preset cpu-small
  fmam train --config configs/ped2.yaml --stage teacher --device cuda
  fmam train --config configs/ped2-imported.yaml    # teacher from an ONNX file
  fmam train --config configs/ped2.yaml --run runs/ped2-ca --teacher-run runs/ped2`,
		Args: cobra.NoArgs,
		RunE: f.runE(o),
	}
	cmd.Flags().StringVar(&o.stage, "stage", "all", "teacher, student or all")
	cmd.Flags().StringVar(&o.runDir, "run", "", "run folder (default runs/<config name>)")
	cmd.Flags().IntVar(&o.teacherSteps, "teacher-steps", 0, "override train.teacher_steps")
	cmd.Flags().IntVar(&o.studentSteps, "student-steps", 0, "override train.student_steps")
	addNewVersion(cmd, &o.newVersion)
	cmd.Flags().StringVar(&o.teacherRun, "teacher-run", "", "use the trained teacher of this run folder, in place (sets model.teacher_run)")
	f.addRunFlags(cmd)
	return cmd
}

// evalOptions are the options of 'fmam eval'.
type evalOptions struct {
	f                   *factory
	runDir              string
	lambda              float64
	asJSON, teacherOnly bool
	at                  bool // --lambda given
}

func (o *evalOptions) complete(cmd *cobra.Command, _ []string) error {
	o.at = cmd.Flags().Changed("lambda")
	return nil
}

func (o *evalOptions) validate() error {
	if o.at && (o.lambda < 0 || o.lambda > 1) {
		return fmt.Errorf("--lambda %v must be in [0, 1]", o.lambda)
	}
	if o.at && o.teacherOnly {
		return fmt.Errorf("--lambda and --teacher-only: the teacher alone has no S_fea to fuse; drop one")
	}
	return nil
}

func (o *evalOptions) run(ctx context.Context, s streams, _ *slog.Logger) (err error) {
	e, err := o.f.openRun(ctx, s.ErrOut, runRequest{dir: o.runDir, mustExist: true})
	if err != nil {
		return err
	}
	defer e.Finish(&err)
	var ev *experiment.Evaluation
	switch {
	case o.teacherOnly:
		ev, err = e.EvaluateTeacher(ctx)
	case o.at:
		ev, err = e.EvaluateAt(ctx, o.lambda)
	default:
		ev, err = e.Evaluate(ctx)
	}
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(s.Out, evalJSON(e, ev))
	}
	for _, t := range append(ev.Tables(), ev.KindTables()...) {
		if err := printFile(s.Out, t); err != nil {
			return err
		}
	}
	return nil
}

func newEvalCmd(f *factory) *cobra.Command {
	o := &evalOptions{f: f}
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Score the test set with teacher and student and write the results table",
		Long: `Run the exported models over the test split, save raw per-frame (or
per-image) scores S_o and S_fea as CSV, and write the results table
(results.md/.csv/.json) and pictures (score curves for video, map panels
for images). Video: S_total = lambda*S_fea + (1-lambda)*S_o, each min-max
normalised per video; raw scores allow any lambda later (sweep-lambda).

--lambda L scores a video run at another lambda than its eval.lambda and
writes results-lambda-L.{md,csv,json} (and roc-lambda-L.png) beside the
run's results, and the thresholds at that lambda into
<stage>/thresholds-lambda-L.json, which 'fmam predict --lambda L' uses (plain
predict and model.onnx keep eval.lambda's thresholds.json); the run's
config.yaml is not changed.

--teacher-only scores the teacher alone (trained, imported with
model.teacher, or model.teacher_run's) into the teacher stage folder: the
teacher column of the tables. A run with train.student_steps 0 has no
student and is always evaluated so.`,
		Example: `  fmam eval --run runs/demo
  fmam eval --run runs/ped2-mnad-sca-cpu-small --lambda 0.3
  fmam eval --config configs/ped2-imported.yaml --teacher-only`,
		Args: cobra.NoArgs,
		RunE: f.runE(o),
	}
	cmd.Flags().StringVar(&o.runDir, "run", "", "run folder written by 'fmam train' (default runs/<config name>)")
	cmd.Flags().Float64Var(&o.lambda, "lambda", 0, "fusion weight of S_fea in [0,1]: writes results-lambda-L.* (default: eval.lambda, results.*)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the results as one JSON object instead of the Markdown table")
	cmd.Flags().BoolVar(&o.teacherOnly, "teacher-only", false, "score the teacher alone (no student needed)")
	f.addRunFlags(cmd)
	return cmd
}

// printFile prints a table file the command wrote, and its path.
func printFile(out io.Writer, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s\n(%s)\n", strings.TrimSpace(string(b)), path)
	return nil
}

// sweepOptions are the options of 'fmam sweep-lambda'.
type sweepOptions struct {
	f            *factory
	runDir, grid string
	gridGiven    bool
	asJSON       bool
}

func (o *sweepOptions) complete(cmd *cobra.Command, _ []string) error {
	o.gridGiven = cmd.Flags().Changed("grid")
	return nil
}

func (o *sweepOptions) validate() error { return nil }

func (o *sweepOptions) run(ctx context.Context, s streams, _ *slog.Logger) (err error) {
	e, err := o.f.openRun(ctx, s.ErrOut, runRequest{dir: o.runDir, mustExist: true})
	if err != nil {
		return err
	}
	defer e.Finish(&err)
	g := o.grid
	if !o.gridGiven {
		g = e.Cfg.Eval.Grid
	}
	sw, err := e.Sweep(ctx, g)
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(s.Out, sweepJSON(e, sw))
	}
	for _, f := range sw.Files {
		if err := printFile(s.Out, f); err != nil {
			return err
		}
	}
	return nil
}

func newSweepCmd(f *factory) *cobra.Command {
	o := &sweepOptions{f: f}
	cmd := &cobra.Command{
		Use:   "sweep-lambda",
		Short: "Re-score saved raw scores for a grid of lambda values (no network runs)",
		Example: `  fmam sweep-lambda --run runs/demo
  fmam sweep-lambda --run runs/demo --grid 0:1:0.05
  fmam sweep-lambda --run runs/demo --grid 0,0.25,0.5,0.75,1`,
		Args: cobra.NoArgs,
		RunE: f.runE(o),
	}
	cmd.Flags().StringVar(&o.runDir, "run", "", "run folder (default runs/<config name>)")
	cmd.Flags().StringVar(&o.grid, "grid", "0:1:0.05", "start:stop:step, a comma list, or one value")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the sweep as one JSON object instead of the Markdown tables")
	f.addRunFlags(cmd)
	return cmd
}

// ablateOptions are the options of 'fmam ablate-layer'.
type ablateOptions struct {
	f            *factory
	runDir, taps string
	newVersion   bool
	sets         [][]string
}

func (o *ablateOptions) complete(*cobra.Command, []string) error { return nil }

func (o *ablateOptions) validate() (err error) {
	if o.taps != "" {
		o.sets, err = experiment.ParseTapSets(o.taps)
	}
	return err
}

func (o *ablateOptions) run(ctx context.Context, s streams, _ *slog.Logger) (err error) {
	e, err := o.f.openRun(ctx, s.ErrOut, runRequest{dir: o.runDir, newVersion: o.newVersion})
	if err != nil {
		return err
	}
	defer e.Finish(&err)
	sets := o.sets
	if sets == nil {
		sets = experiment.DefaultTapSets(e.Baseline)
	}
	if _, err := e.Ablate(ctx, sets); err != nil {
		return err
	}
	return printFile(s.Out, e.Layout.Table("", "ablation")+".md")
}

func newAblateCmd(f *factory) *cobra.Command {
	o := &ablateOptions{f: f}
	cmd := &cobra.Command{
		Use:   "ablate-layer",
		Short: "Train and evaluate one student per set of tap layers (the paper's Table 2)",
		Long: `For each tap set, train a student (one attention module and one L_fea per
tap), evaluate it, and write ablation.md/.csv/.json in the run folder. The
teacher is trained once; students already trained are reused.

Without --taps the sets are the baseline's taps alone, then each adjacent
pair, then all of them (for MNAD and DRAEM: the paper's Table 2 rows).`,
		Example: `  fmam ablate-layer --config configs/ped2.yaml --preset cpu-small
  fmam ablate-layer --taps encoder,bottleneck,decoder,encoder+bottleneck,bottleneck+decoder,encoder+bottleneck+decoder`,
		Args: cobra.NoArgs,
		RunE: f.runE(o),
	}
	cmd.Flags().StringVar(&o.runDir, "run", "", "run folder (default runs/<config name>)")
	cmd.Flags().StringVar(&o.taps, "taps", "", "comma-separated tap sets, taps joined by + (default: each tap, adjacent pairs, all)")
	addNewVersion(cmd, &o.newVersion)
	f.addRunFlags(cmd)
	return cmd
}
