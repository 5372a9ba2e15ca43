package main

import (
	"context"
	"fmt"
	"log/slog"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/experiment"
)

// predictOptions are the options of 'fmam predict'.
type predictOptions struct {
	f              *factory
	runDir, input  string
	out, threshold string
	category       string
	asJSON, maps   bool
	teacher        bool
	lambda         float64
	at             bool // --lambda given
}

func (o *predictOptions) complete(cmd *cobra.Command, _ []string) error {
	o.at = cmd.Flags().Changed("lambda")
	return nil
}

func (o *predictOptions) validate() error {
	if o.runDir == "" {
		return fmt.Errorf("--run is required: the run folder whose model scores the input")
	}
	if o.input == "" {
		return fmt.Errorf("--input is required: an image, a folder of images, a folder of frames or a video file")
	}
	if o.at && (o.lambda < 0 || o.lambda > 1) {
		return fmt.Errorf("--lambda %v must be in [0, 1]", o.lambda)
	}
	return nil
}

func (o *predictOptions) run(ctx context.Context, s streams, _ *slog.Logger) (err error) {
	e, err := o.f.openRun(ctx, s.ErrOut, runRequest{dir: o.runDir, mustExist: true})
	if err != nil {
		return err
	}
	defer e.Finish(&err)
	rep, err := e.Predict(ctx, experiment.PredictOptions{Input: o.input, Out: o.out, Threshold: o.threshold, Category: o.category, Lambda: o.lambda, LambdaSet: o.at, Teacher: o.teacher, NoMaps: !o.maps})
	if err != nil {
		return err
	}
	if o.asJSON {
		return writeJSON(s.Out, rep)
	}
	w := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "item\tS_o\tS_fea\tS_total\tdecision")
	for _, p := range rep.Items {
		d := "normal"
		if p.Anomalous {
			d = "anomalous"
		}
		fmt.Fprintf(w, "%s\t%.4g\t%.4g\t%.4f\t%s\n", p.ID, p.SO, p.SFea, p.STotal, d)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if rep.TeacherOnly {
		fmt.Fprintln(s.Out, "scored by the teacher alone: S_fea 0, S_total = n(S_o)")
	}
	fmt.Fprintf(s.Out, "%d of %d anomalous at S_total >= %.4g (%s, lambda %g)\nwritten: %s, %s\n",
		rep.Anomalous, len(rep.Items), rep.Threshold, rep.ThresholdOf, rep.Lambda, rep.CSV, rep.JSON)
	return nil
}

func newPredictCmd(f *factory) *cobra.Command {
	o := &predictOptions{f: f}
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Score new, unlabelled images or videos with a run's model and stored threshold",
		Long: `Score new images (image runs: a file, or a folder searched recursively, any
layout, no labels) or videos (video runs: a folder of frames, a folder of frame
folders, or .avi/.mp4/.mov/.mkv files, extracted with ffmpeg) with the run's
student model, as the run scores its test set: S_o (the baseline's score), S_fea
(the feature inconsistency) and S_total = lambda*n(S_fea) + (1-lambda)*n(S_o),
n the min-max normalisation over normal reference data that 'fmam eval' stored
in <stage>/thresholds.json (not the test set's per-video min-max).

The decision is S_total >= the threshold: by default the label-free one
(eval.quantile of the normal reference scores: held-out training normals with
data.val_fraction, else training normals), --threshold f1 the F1-max on the
test set, or a number. --lambda L uses the thresholds and fusion weight that
'fmam eval --lambda L' stored (<stage>/thresholds-lambda-L.json) in place of
eval.lambda's.

--teacher, and a run without a student (train.student_steps: 0), predict with
the teacher alone: teacher/teacher_eval.onnx and the thresholds 'fmam eval --teacher-only'
stored in teacher/thresholds.json (S_fea 0, S_total = n(S_o)).

Writes into --out (default <run>/predict) predictions.csv and
predictions.json, and per image or predicted frame the anomaly map
maps/<name>.npy (maps/<video>/<frame>.npy; H x W float32: DRAEM's map, or
the per-pixel squared error whose mean is the error behind S_o) and
overlays/<name>.png (image, heat map on one colour scale for the whole
predict and its colour bar, and on items decided anomalous the contour where
the map reaches the deciding level). --maps=false
writes the scores only (a long video gives one map and one PNG per frame).`,
		Example: `  fmam predict --run runs/synth-mvtec --input new-images/ --category synth_object
  fmam predict --run runs/ped2 --input ../shared/data/ped2/testing/frames/01 --json
  fmam predict --run runs/avenue --input camera3.avi --threshold f1 --out out/camera3
  fmam predict --run runs/ped2 --input new-frames/ --lambda 0.3   # after fmam eval --lambda 0.3
  fmam predict --run runs/ped2-teacher --input new-frames/ --maps=false   # no student: after fmam eval --teacher-only`,
		Args: cobra.NoArgs,
		RunE: f.runE(o),
	}
	cmd.Flags().StringVar(&o.runDir, "run", "", "run folder (trained and evaluated)")
	cmd.Flags().StringVar(&o.input, "input", "", "image, folder of images, folder of frames, folder of frame folders, or video file")
	cmd.Flags().StringVar(&o.out, "out", "", "output folder (default <run>/predict)")
	cmd.Flags().StringVar(&o.threshold, "threshold", "", "quantile (default: label-free), f1 (F1-max on the test set) or a number on S_total")
	cmd.Flags().StringVar(&o.category, "category", "", "category of an image run with several")
	cmd.Flags().Float64Var(&o.lambda, "lambda", 0, "use the thresholds 'fmam eval --lambda L' stored for this fusion weight (default: eval.lambda's)")
	cmd.Flags().BoolVar(&o.asJSON, "json", false, "print the predictions as JSON")
	cmd.Flags().BoolVar(&o.teacher, "teacher", false, "predict with the teacher alone (after 'fmam eval --teacher-only'; output default <run>/predict-teacher)")
	cmd.Flags().BoolVar(&o.maps, "maps", true, "write anomaly maps (maps/*.npy) and overlays (overlays/*.png); --maps=false writes scores only")
	f.addRuntimeFlags(cmd.Flags())
	return cmd
}
