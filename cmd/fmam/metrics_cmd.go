package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/score"
)

// metricsOptions are the options of 'fmam metrics'.
type metricsOptions struct {
	scores, maps, masks  string
	column, runDir       string
	sigma, maxFPR        float64
	temporalSigma        float64
	lambda               float64
	lambdaGiven          bool
	asJSON, skipUnmasked bool
}

func (o *metricsOptions) complete(cmd *cobra.Command, _ []string) error {
	o.lambdaGiven = cmd.Flags().Changed("lambda")
	return nil
}

func (o *metricsOptions) validate() error {
	if !(o.maxFPR > 0 && o.maxFPR <= 1) {
		return fmt.Errorf("--max-fpr %v must be in (0, 1]; MVTec AD uses %v", o.maxFPR, metrics.DefaultMaxFPR)
	}
	switch {
	case o.scores != "" && (o.maps != "" || o.masks != ""):
		return errors.New("give either --scores or --maps with --masks, not both")
	case o.scores == "" && o.maps == "" && o.masks != "":
		return errors.New("--masks goes with --maps: the anomaly-map folder")
	case o.scores == "" && o.maps == "":
		return errors.New("nothing to evaluate: give --scores FILE.csv, or --maps DIR with --masks DIR")
	}
	return nil
}

func (o *metricsOptions) run(ctx context.Context, s streams, log *slog.Logger) error {
	out := s.Out
	if o.scores != "" {
		kind, err := score.FileKindOf(o.scores)
		if err != nil {
			return err
		}
		if kind == score.OtherFile {
			if o.lambdaGiven || o.runDir != "" {
				return fmt.Errorf("--lambda and --run apply to raw scores files of fmam (columns s_o, s_fea); %s is not one", o.scores)
			}
			return scoresFile(out, o.scores, o.column, o.temporalSigma, o.asJSON)
		}
		if o.temporalSigma > 0 {
			return errors.New("--temporal-sigma: a raw scores file of fmam is scored as its run's evaluation scores it, which does not smooth")
		}
		var lam *float64
		if o.lambdaGiven {
			lam = &o.lambda
		}
		return rawScoresFile(ctx, log, out, o.scores, o.column, o.runDir, lam, o.asJSON)
	}
	masks, skipUnmasked := o.masks, o.skipUnmasked
	if st, err := os.Stat(o.maps); err != nil || !st.IsDir() {
		return fmt.Errorf("--maps %s is not a folder of anomaly maps (fmam eval of an image run writes <run>/<category>/student/maps/student): %v", o.maps, err)
	}
	if masks == "" {
		truth := filepath.Join(filepath.Dir(filepath.Clean(o.maps)), "truth")
		if st, err := os.Stat(truth); err != nil || !st.IsDir() {
			return fmt.Errorf("--maps %s without --masks: no folder %s (fmam eval writes one beside a run's maps); give --masks DIR", o.maps, truth)
		}
		masks = truth
		// fmam writes no truth for a defect image without a mask, and its
		// tables leave such images out too.
		skipUnmasked = true
	}
	res, err := score.EvaluateMapsDir(ctx, log, o.maps, masks, score.PixelOptions{Sigma: o.sigma, MaxFPR: o.maxFPR, SkipUnmasked: skipUnmasked, Progress: barWriter(s.ErrOut)})
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(out, struct {
			Maps  string  `json:"maps"`
			Masks string  `json:"masks"`
			Sigma float64 `json:"sigma"`
			metrics.PixelResult
		}{o.maps, masks, o.sigma, res})
	}
	return writePixelTable(out, o.maps, o.sigma, res)
}

// newMetricsCmd returns the "metrics" command: metrics of a scores file or
// of anomaly-map and mask folders.
func newMetricsCmd(f *factory) *cobra.Command {
	o := &metricsOptions{}
	cmd := &cobra.Command{
		Use:   "metrics (--scores FILE.csv | --maps DIR [--masks DIR])",
		Short: "Compute AUROC, AP, F1-max, frame AUC or pixel AUROC/AP/AUPRO from files",
		Long: `Compute evaluation metrics from files written by fmam or any other tool.

--scores FILE.csv: a CSV with a header naming the columns id, score
(higher = more anomalous) and label (0 normal, 1 anomalous), in any order,
and optionally video. Prints AUROC, AP (scikit-learn's definitions) and the
best F1 with its threshold over all rows. With a video column it also prints
frame AUC: micro (all frames pooled after min-max normalising each video) and
macro (mean of per-video AUCs, skipping videos with one class only). Rows of
a video are its frames in order; --temporal-sigma smooths each video first.
--score COLUMN reads the scores from another column.

A raw scores file of fmam (a stage's scores.csv or teacher_scores.csv,
columns s_o and s_fea) is scored as the run's evaluation scores it:
--score s_o, s_fea or total (the default; their fusion at --lambda, which
defaults to the run's eval.lambda). Video scores are min-max normalised
per video and fused, so the micro AUC equals the run's results table;
image s_o is the table's I-AUROC. The run's config.yaml (found in the
file's folder or the folders above, or given with --run) says which end
of each score is anomalous.

--maps DIR [--masks DIR]: float32 .npy anomaly maps (H x W) and PNG masks
(0 normal, 255 anomalous) paired by name, subfolders included: 000.npy
with 000.png or 000_mask.png, good/000.npy with good/000.png. Prints pixel
AUROC, pixel AP and AUPRO up to --max-fpr (MVTec AD's definition); --sigma
smooths the maps with a Gaussian first. fmam eval of an image run writes
maps/<model>/ and the ground truth it used, maps/truth/, in each stage
folder: without --masks, DIR/../truth is used, and the numbers are the
results table's.

A malformed row or an unpaired file is an error naming the file and line.`,
		Example: `  fmam metrics --scores runs/demo/student/scores.csv                 # total at the run's lambda
  fmam metrics --scores runs/demo/student/scores.csv --score s_fea --json
  fmam metrics --scores runs/demo/student/scores.csv --score total --lambda 0.3
  fmam metrics --scores my_scores.csv --temporal-sigma 3
  fmam metrics --maps runs/synth-mvtec/synth_object/student/maps/student
  fmam metrics --maps my_maps --masks data/mvtec/bottle/ground_truth --sigma 4`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE:         f.runE(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.scores, "scores", "", "scores CSV with columns id,score,label[,video], or a raw scores file of fmam")
	fl.StringVar(&o.column, "score", "", "the score to evaluate: a column name (default score), or s_o, s_fea or total (default) for fmam's raw scores")
	fl.Float64Var(&o.lambda, "lambda", 0, "fusion weight of S_fea for --score total, in [0, 1] (default: the run's eval.lambda)")
	fl.StringVar(&o.runDir, "run", "", "run folder of a raw scores file (default: found above the file)")
	fl.StringVar(&o.maps, "maps", "", "folder of float32 .npy anomaly maps")
	fl.StringVar(&o.masks, "masks", "", "folder of PNG ground-truth masks (0/255); default with --maps: the run's maps/truth")
	fl.BoolVar(&o.skipUnmasked, "skip-unmasked", false, "leave out maps without a mask instead of failing (on by default for fmam's maps/truth, where it means: no mask given)")
	fl.Float64Var(&o.sigma, "sigma", 0, "Gaussian smoothing of the anomaly maps in pixels (0: none; 4 is common)")
	fl.Float64Var(&o.maxFPR, "max-fpr", metrics.DefaultMaxFPR, "FPR limit of AUPRO, in (0, 1]")
	fl.Float64Var(&o.temporalSigma, "temporal-sigma", 0, "Gaussian smoothing of each video's frame scores in frames (0: none)")
	fl.BoolVar(&o.asJSON, "json", false, "print one JSON object instead of a table")
	return cmd
}

// scoresFile evaluates a generic scores CSV.
func scoresFile(out io.Writer, path, column string, sigma float64, asJSON bool) error {
	if column == "" {
		column = "score"
	}
	t, err := score.ReadTableColumn(path, column)
	if err != nil {
		return err
	}
	res, err := metrics.EvaluateScores(t, metrics.VideoOptions{SmoothSigma: sigma})
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(out, struct {
			Scores string `json:"scores"`
			Column string `json:"column"`
			metrics.ScoreResult
		}{path, column, res})
	}
	return writeScoreTable(out, path, res)
}

// rawScoresFile evaluates one score of a raw scores file as its run's
// evaluation does; lambda nil means the run's eval.lambda.
func rawScoresFile(ctx context.Context, log *slog.Logger, out io.Writer, path, column, runDir string, lambda *float64, asJSON bool) error {
	teacher, err := score.IsTeacherFile(path)
	if err != nil {
		return err
	}
	cfg, cfgPath, err := runConfigOf(path, runDir)
	if err != nil {
		return err
	}
	// A file of the run's stage folders is checked against the run's test
	// set as eval checks it: a damaged file must not give numbers.
	if _, err := experiment.CheckScoresFile(ctx, cfg, filepath.Dir(cfgPath), path, log); err != nil {
		return err
	}
	b, err := registry.Lookup(cfg)
	if err != nil {
		return fmt.Errorf("run config of %s: %w", path, err)
	}
	switch {
	case column == "" && (teacher || baseline.ScoringOf(b).Final):
		// The teacher's column of the tables, or the headline of a
		// baseline whose S_total is S_o (Jigsaw-VAD).
		column = string(baseline.ScoreO)
	case column == "":
		column = string(baseline.ScoreTotal)
	}
	which, err := baseline.ParseWhich(column)
	if err != nil {
		return err
	}
	if teacher && which != baseline.ScoreO {
		return fmt.Errorf("%s is a teacher's scores: its only score is s_o (its %s column is the student's S_fea); use --score s_o, or the student's scores.csv for %s", path, score.StudentFea, which)
	}
	lam := cfg.Eval.Lambda
	if lambda != nil {
		if *lambda < 0 || *lambda > 1 {
			return fmt.Errorf("--lambda %v must be in [0, 1]", *lambda)
		}
		lam = *lambda
	}
	t, opts, err := baseline.ScoringOf(b).Rescore(path, which, lam)
	if err != nil {
		return err
	}
	res, err := metrics.EvaluateScores(t, opts)
	if err != nil {
		return err
	}
	lam = which.Lambda(lam)
	if asJSON {
		return writeJSON(out, struct {
			Scores string  `json:"scores"`
			Score  string  `json:"score"`
			Lambda float64 `json:"lambda"`
			metrics.ScoreResult
		}{path, string(which), lam, res})
	}
	fmt.Fprintf(out, "score %s (S_total = λ·S_fea + (1-λ)·S_o at λ=%g, as the run's evaluation computes it)\n", which, lam)
	return writeScoreTable(out, path, res)
}

// runConfigOf loads the configuration of the run a raw scores file belongs
// to: runDir's config.yaml, or the first one in the file's folder or the
// three above it (a stage folder of a video run is one below the run, of
// an image run two).
func runConfigOf(path, runDir string) (cfg *config.Config, cfgPath string, err error) {
	var cand []string
	if runDir != "" {
		cand = []string{filepath.Join(runDir, "config.yaml")}
	} else {
		dir, err := filepath.Abs(filepath.Dir(path))
		if err != nil {
			return nil, "", err
		}
		for range 4 {
			cand = append(cand, filepath.Join(dir, "config.yaml"))
			dir = filepath.Dir(dir)
		}
	}
	for _, c := range cand {
		if _, err := os.Stat(c); err == nil {
			cfg, err := config.LoadRecorded(c)
			return cfg, c, err
		}
	}
	if runDir != "" {
		return nil, "", fmt.Errorf("--run %s has no config.yaml; is it a run folder written by fmam train?", runDir)
	}
	return nil, "", fmt.Errorf("%s holds raw scores of fmam, but no config.yaml of its run is in its folder or the three above; give --run DIR (the run folder) so that fmam knows which end of each score is anomalous", path)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeScoreTable(w io.Writer, path string, r metrics.ScoreResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "scores\t%s\n", path)
	fmt.Fprintf(tw, "samples\t%d (%d anomalous)\n", r.N, r.Anomalous)
	fmt.Fprintf(tw, "AUROC\t%.4f\n", r.AUROC)
	fmt.Fprintf(tw, "AP\t%.4f\n", r.AP)
	fmt.Fprintf(tw, "F1-max\t%.4f (score >= %g)\n", r.F1Max, r.F1Threshold)
	if v := r.Video; v != nil {
		fmt.Fprintf(tw, "videos\t%d (%d frames)\n", v.Videos, v.Frames)
		fmt.Fprintf(tw, "frame AUC micro\t%.4f\n", v.Micro)
		fmt.Fprintf(tw, "frame AUC macro\t%.4f (%d videos; %d with one class skipped: %v)\n",
			v.Macro, v.MacroVideos, len(v.Skipped), v.Skipped)
	}
	return tw.Flush()
}

func writePixelTable(w io.Writer, maps string, sigma float64, r metrics.PixelResult) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "maps\t%s (%d of %dx%d, sigma %g)\n", maps, r.Images, r.Width, r.Height, sigma)
	fmt.Fprintf(tw, "pixels\t%d (%d anomalous, %d regions)\n", r.Pixels, r.AnomalousPixels, r.Regions)
	fmt.Fprintf(tw, "pixel AUROC\t%.4f\n", r.AUROC)
	fmt.Fprintf(tw, "pixel AP\t%.4f\n", r.AP)
	fmt.Fprintf(tw, "AUPRO@%g\t%.4f\n", r.MaxFPR, r.AUPRO)
	return tw.Flush()
}
