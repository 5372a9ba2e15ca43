package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/metrics"
)

// newMetricsCmd returns the "metrics" command: metrics of a scores file or
// of anomaly-map and mask folders.
func newMetricsCmd() *cobra.Command {
	var (
		scores, maps, masks string
		sigma, maxFPR       float64
		temporalSigma       float64
		asJSON              bool
	)
	cmd := &cobra.Command{
		Use:   "metrics (--scores FILE.csv | --maps DIR --masks DIR)",
		Short: "Compute AUROC, AP, F1-max, frame AUC or pixel AUROC/AP/AUPRO from files",
		Long: `Compute evaluation metrics from files written by fmam or any other tool.

--scores FILE.csv: a CSV with a header naming the columns id, score
(higher = more anomalous) and label (0 normal, 1 anomalous), in any order,
and optionally video. Prints AUROC, AP (scikit-learn's definitions) and the
best F1 with its threshold over all rows. With a video column it also prints
frame AUC: micro (all frames pooled after min-max normalising each video) and
macro (mean of per-video AUCs, skipping videos with one class only). Rows of
a video are its frames in order; --temporal-sigma smooths each video first.

--maps DIR --masks DIR: float32 .npy anomaly maps (H x W) and PNG masks
(0 normal, 255 anomalous) paired by name: 000.npy with 000.png or
000_mask.png. Prints pixel AUROC, pixel AP and AUPRO up to --max-fpr
(MVTec AD's definition); --sigma smooths the maps with a Gaussian first.

A malformed row or an unpaired file is an error naming the file and line.`,
		Example: `  fmam metrics --scores runs/demo/scores.csv
  fmam metrics --scores runs/demo/scores.csv --temporal-sigma 3 --json
  fmam metrics --maps runs/mvtec/bottle/maps --masks data/mvtec/bottle/ground_truth/all --sigma 4`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			if !(maxFPR > 0 && maxFPR <= 1) {
				return fmt.Errorf("--max-fpr %v must be in (0, 1]; MVTec AD uses %v", maxFPR, metrics.DefaultMaxFPR)
			}
			switch {
			case scores != "" && (maps != "" || masks != ""):
				return errors.New("give either --scores or --maps with --masks, not both")
			case scores != "":
				t, err := metrics.ReadScoresCSV(scores)
				if err != nil {
					return err
				}
				res, err := metrics.EvaluateScores(t, metrics.VideoOptions{SmoothSigma: temporalSigma})
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(out, struct {
						Scores string `json:"scores"`
						metrics.ScoreResult
					}{scores, res})
				}
				return writeScoreTable(out, scores, res)
			case maps != "" && masks != "":
				res, err := metrics.EvaluateMapsDir(cmd.Context(), maps, masks, metrics.PixelOptions{Sigma: sigma, MaxFPR: maxFPR})
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(out, struct {
						Maps  string  `json:"maps"`
						Masks string  `json:"masks"`
						Sigma float64 `json:"sigma"`
						metrics.PixelResult
					}{maps, masks, sigma, res})
				}
				return writePixelTable(out, maps, sigma, res)
			case maps != "" || masks != "":
				return errors.New("--maps and --masks go together: the anomaly-map folder and the mask folder")
			default:
				return errors.New("nothing to evaluate: give --scores FILE.csv, or --maps DIR with --masks DIR")
			}
		},
	}
	f := cmd.Flags()
	f.StringVar(&scores, "scores", "", "scores CSV with columns id,score,label[,video]")
	f.StringVar(&maps, "maps", "", "folder of float32 .npy anomaly maps")
	f.StringVar(&masks, "masks", "", "folder of PNG ground-truth masks (0/255)")
	f.Float64Var(&sigma, "sigma", 0, "Gaussian smoothing of the anomaly maps in pixels (0: none; 4 is common)")
	f.Float64Var(&maxFPR, "max-fpr", metrics.DefaultMaxFPR, "FPR limit of AUPRO, in (0, 1]")
	f.Float64Var(&temporalSigma, "temporal-sigma", 0, "Gaussian smoothing of each video's frame scores in frames (0: none)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object instead of a table")
	return cmd
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
