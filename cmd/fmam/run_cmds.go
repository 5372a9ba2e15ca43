package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/ort"
)

// openRun loads the configuration (from --config, or the run folder's
// config.yaml when --run is given) and opens the run environment.
func (a *app) openRun(cmd *cobra.Command, runDir string, mustExist bool, extra map[string]any) (*experiment.Env, error) {
	if runDir != "" && a.configFile == "" {
		p := filepath.Join(runDir, "config.yaml")
		_, err := os.Stat(p)
		switch {
		case err == nil:
			a.configFile = p
		case mustExist:
			return nil, fmt.Errorf("--run %s: %w; is it a run folder written by 'fmam train'?", runDir, err)
		}
	}
	cfg, err := a.loadConfig(cmd, extra)
	if err != nil {
		return nil, err
	}
	log := a.setLogger(cmd, cfg.LogLevel)
	for _, w := range cfg.Warnings() {
		log.Warn(w)
	}
	if a.newVersion {
		base := runDir
		if base == "" {
			base = experiment.DefaultRunDir(cfg)
		}
		if runDir, err = experiment.NextVersion(base); err != nil {
			return nil, err
		}
		log.Info("new version of the run", "dir", runDir)
	}
	// Progress bars only on a terminal (they go to stderr); otherwise the
	// training loop logs a line every train.DefaultLogEvery.
	var progress io.Writer
	if f, ok := cmd.ErrOrStderr().(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		progress = f
	}
	lib, err := ort.FindLibrary(a.ortLib, cfg.OrtLib)
	if err != nil {
		return nil, err
	}
	return experiment.Open(cfg, runDir, lib, log, progress)
}

// addNewVersion adds --new-version to a command that starts runs.
func (a *app) addNewVersion(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&a.newVersion, "new-version", false, "start the next version of the run folder (<run>/v2, v3, ...) instead of resuming it")
}

func (a *app) newTrainCmd() *cobra.Command {
	var stage, runDir, teacherRun string
	var teacherSteps, studentSteps int
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
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			st, err := experiment.ParseStage(stage)
			if err != nil {
				return err
			}
			extra := map[string]any{}
			if cmd.Flags().Changed("teacher-steps") {
				extra["train.teacher_steps"] = teacherSteps
			}
			if cmd.Flags().Changed("student-steps") {
				extra["train.student_steps"] = studentSteps
			}
			if teacherRun != "" {
				extra["model.teacher_run"] = teacherRun
			}
			e, err := a.openRun(cmd, runDir, false, extra)
			if err != nil {
				return err
			}
			defer e.Finish(&err)
			if err := e.Train(cmd.Context(), st); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trained: %s\nnext: fmam eval --run %s\n", e.RunDir(), e.RunDir())
			return nil
		},
	}
	cmd.Flags().StringVar(&stage, "stage", "all", "teacher, student or all")
	cmd.Flags().StringVar(&runDir, "run", "", "run folder (default runs/<config name>)")
	cmd.Flags().IntVar(&teacherSteps, "teacher-steps", 0, "override train.teacher_steps")
	cmd.Flags().IntVar(&studentSteps, "student-steps", 0, "override train.student_steps")
	a.addNewVersion(cmd)
	cmd.Flags().StringVar(&teacherRun, "teacher-run", "", "use the trained teacher of this run folder, in place (sets model.teacher_run)")
	return cmd
}

func (a *app) newEvalCmd() *cobra.Command {
	var runDir string
	var lambda float64
	var asJSON bool
	var teacherOnly bool
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
run's results; the run's config.yaml is not changed.

--teacher-only scores the teacher alone (trained, imported with
model.teacher, or model.teacher_run's) into the teacher stage folder: the
teacher column of the tables. A run with train.student_steps 0 has no
student and is always evaluated so.`,
		Example: `  fmam eval --run runs/demo
  fmam eval --run runs/ped2-mnad-sca-cpu-small --lambda 0.3
  fmam eval --config configs/ped2-imported.yaml --teacher-only`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			at := cmd.Flags().Changed("lambda")
			if at && (lambda < 0 || lambda > 1) {
				return fmt.Errorf("--lambda %v must be in [0, 1]", lambda)
			}
			if at && teacherOnly {
				return fmt.Errorf("--lambda and --teacher-only: the teacher alone has no S_fea to fuse; drop one")
			}
			e, err := a.openRun(cmd, runDir, true, nil)
			if err != nil {
				return err
			}
			defer e.Finish(&err)
			var ev *experiment.Evaluation
			switch {
			case teacherOnly:
				ev, err = e.EvaluateTeacher(cmd.Context())
			case at:
				ev, err = e.EvaluateAt(cmd.Context(), lambda)
			default:
				ev, err = e.Evaluate(cmd.Context())
			}
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), evalJSON(e, ev))
			}
			for _, t := range ev.Tables() {
				if err := printFile(cmd, t); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&runDir, "run", "", "run folder written by 'fmam train' (default runs/<config name>)")
	cmd.Flags().Float64Var(&lambda, "lambda", 0, "fusion weight of S_fea in [0,1]: writes results-lambda-L.* (default: eval.lambda, results.*)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the results as one JSON object instead of the Markdown table")
	cmd.Flags().BoolVar(&teacherOnly, "teacher-only", false, "score the teacher alone (no student needed)")
	return cmd
}

func printFile(cmd *cobra.Command, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	fmt.Fprintf(cmd.OutOrStdout(), "%s\n(%s)\n", strings.TrimSpace(string(b)), path)
	return nil
}

func (a *app) newSweepCmd() *cobra.Command {
	var runDir, grid string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "sweep-lambda",
		Short: "Re-score saved raw scores for a grid of lambda values (no network runs)",
		Example: `  fmam sweep-lambda --run runs/demo
  fmam sweep-lambda --run runs/demo --grid 0:1:0.05
  fmam sweep-lambda --run runs/demo --grid 0,0.25,0.5,0.75,1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			e, err := a.openRun(cmd, runDir, true, nil)
			if err != nil {
				return err
			}
			defer e.Finish(&err)
			g := grid
			if !cmd.Flags().Changed("grid") {
				g = e.Cfg.Eval.Grid
			}
			sw, err := e.Sweep(cmd.Context(), g)
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), sweepJSON(e, sw))
			}
			for _, f := range sw.Files {
				if err := printFile(cmd, f); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&runDir, "run", "", "run folder (default runs/<config name>)")
	cmd.Flags().StringVar(&grid, "grid", "0:1:0.05", "start:stop:step, a comma list, or one value")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the sweep as one JSON object instead of the Markdown tables")
	return cmd
}

func (a *app) newAblateCmd() *cobra.Command {
	var runDir, taps string
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
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			var sets [][]string
			if taps != "" {
				if sets, err = experiment.ParseTapSets(taps); err != nil {
					return err
				}
			}
			e, err := a.openRun(cmd, runDir, false, nil)
			if err != nil {
				return err
			}
			defer e.Finish(&err)
			if sets == nil {
				sets = experiment.DefaultTapSets(e.Baseline)
			}
			if _, err := e.Ablate(cmd.Context(), sets); err != nil {
				return err
			}
			return printFile(cmd, e.Layout.Table("", "ablation")+".md")
		},
	}
	cmd.Flags().StringVar(&runDir, "run", "", "run folder (default runs/<config name>)")
	cmd.Flags().StringVar(&taps, "taps", "", "comma-separated tap sets, taps joined by + (default: each tap, adjacent pairs, all)")
	a.addNewVersion(cmd)
	return cmd
}
