package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/synth"
)

// newDataCmd returns the "data" command group: dataset utilities.
func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Dataset utilities",
		Long:  "Dataset utilities: make small synthetic datasets in the layouts of the real benchmarks.",
	}
	cmd.AddCommand(newDataSynthCmd())
	return cmd
}

func newDataSynthCmd() *cobra.Command {
	var (
		kind, out, name      string
		size, frames         int
		videosTrain, videosT int
		train, testGood      int
		testDefect           int
		categories           []string
		seed                 uint64
		force                bool
	)
	cmd := &cobra.Command{
		Use:   "synth --kind video|mvtec --out DIR",
		Short: "Write a small deterministic synthetic dataset",
		Long: `Write a small synthetic dataset with exact ground truth, for trying fmam
end to end without downloading a benchmark. The same options and seed give
byte-identical files. The dataset is built beside --out and moved into place
when complete; a non-empty --out is only replaced with --force.

--kind video writes the frames layout of UCSD Ped2 / CUHK Avenue:
  training/frames/NN/NNN.png, testing/frames/NN/NNN.png (0-based frames),
  testing/pixel_masks/NN/NNN.png (0/255, one per test frame),
  frame_labels_<name>.npy (MNAD format: int64, shape (1, total test frames),
  test videos in order, 1 = anomalous) and labels.json (ranges, for people).
  Squares and disks walk left-right on a noisy gray background; test videos
  add a wrong direction (vertical), a wrong speed (3-4x) or an unseen object
  (a large bright triangle).

--kind mvtec writes the MVTec AD layout for each category:
  <category>/train/good, test/good, test/{scratch,hole,stain},
  ground_truth/<defect>/NNN_mask.png (255 exactly on the changed pixels).
  Categories: ` + strings.Join(synth.MVTecCategories(), ", ") + ".",
		Example: `  fmam data synth --kind video --out data/synth-video
  fmam data synth --kind video --out data/synth-video --size 128 --videos-train 8 --videos-test 6 --frames 120 --seed 7 --force
  fmam data synth --kind mvtec --out data/synth-mvtec
  fmam data synth --kind mvtec --out data/synth-mvtec --categories synth_object --size 128 --train 100`,
		Args: cobra.NoArgs,
		// Errors here name the file or flag at fault; the usage text would bury them.
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required: the folder to write the dataset into")
			}
			// The library reads 0 as "default"; on the command line 0 would
			// silently become the default, so refuse it.
			for _, c := range []struct {
				flag string
				v    int
			}{{"size", size}, {"videos-train", videosTrain}, {"videos-test", videosT}, {"frames", frames},
				{"train", train}, {"test-good", testGood}, {"test-defect", testDefect}} {
				if c.v < 1 {
					return fmt.Errorf("--%s is %d, must be at least 1", c.flag, c.v)
				}
			}
			w := cmd.OutOrStdout()
			switch kind {
			case "video":
				sum, err := synth.GenerateVideo(cmd.Context(), synth.VideoOptions{
					Out: out, Name: name, Width: size, Height: size,
					TrainVideos: videosTrain, TestVideos: videosT, Frames: frames,
					Seed: seed, Force: force,
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "wrote %s: %d training videos (%d frames), %d test videos (%d frames, %d anomalous), %dx%d\nframe labels: %s\n",
					sum.Root, sum.TrainVideos, sum.TrainFrames, sum.TestVideos, sum.TestFrames, sum.AnomalousFrames,
					sum.Width, sum.Height, sum.LabelsPath)
			case "mvtec":
				sum, err := synth.GenerateMVTec(cmd.Context(), synth.MVTecOptions{
					Out: out, Categories: categories, Size: size,
					Train: train, TestGood: testGood, TestDefect: testDefect,
					Seed: seed, Force: force,
				})
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "wrote %s: categories %s, %d train, %d test good, %d test defective images (%s), %dx%d\n",
					sum.Root, strings.Join(sum.Categories, ", "), sum.TrainImages, sum.TestGoodImages, sum.TestDefectImages,
					strings.Join(sum.Defects, ", "), sum.Size, sum.Size)
			default:
				return fmt.Errorf("--kind %q: want video or mvtec", kind)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "kind", "", "dataset kind: video or mvtec (required)")
	f.StringVar(&out, "out", "", "output folder (required)")
	f.IntVar(&size, "size", 64, "image width and height in pixels")
	f.Uint64Var(&seed, "seed", 1, "random seed; the same seed gives the same files")
	f.BoolVar(&force, "force", false, "replace --out if it is not empty")
	f.IntVar(&videosTrain, "videos-train", 4, "video: number of training videos (1-99)")
	f.IntVar(&videosT, "videos-test", 4, "video: number of test videos (1-99)")
	f.IntVar(&frames, "frames", 60, "video: frames per video (8-999)")
	f.StringVar(&name, "name", "synth", "video: dataset name, used in frame_labels_<name>.npy")
	f.StringSliceVar(&categories, "categories", synth.MVTecCategories(), "mvtec: categories to write")
	f.IntVar(&train, "train", 40, "mvtec: train/good images per category")
	f.IntVar(&testGood, "test-good", 10, "mvtec: test/good images per category")
	f.IntVar(&testDefect, "test-defect", 6, "mvtec: test images per defect type and category")
	_ = cmd.MarkFlagRequired("kind")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}
