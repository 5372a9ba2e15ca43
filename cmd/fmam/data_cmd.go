package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/objects"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/progress"
	"github.com/fmam/fmam/internal/synth"
)

// newDataCmd returns the "data" command group: dataset utilities.
func newDataCmd(f *factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Dataset utilities",
		Long:  "Dataset utilities: make small synthetic datasets in the layouts of the real benchmarks, detect object boxes in video frames.",
	}
	cmd.AddCommand(newDataSynthCmd(f), newDataBoxesCmd(f))
	return cmd
}

// synthOptions are the options of 'fmam data synth'.
type synthOptions struct {
	kind, out, name      string
	size, frames         int
	videosTrain, videosT int
	train, testGood      int
	testDefect           int
	categories           []string
	seed                 uint64
	force                bool
}

func (o *synthOptions) complete(*cobra.Command, []string) error { return nil }

func (o *synthOptions) validate() error {
	if o.out == "" {
		return fmt.Errorf("--out is required: the folder to write the dataset into")
	}
	// The library reads 0 as "default"; on the command line 0 would
	// silently become the default, so refuse it.
	for _, c := range []struct {
		flag string
		v    int
	}{{"size", o.size}, {"videos-train", o.videosTrain}, {"videos-test", o.videosT}, {"frames", o.frames},
		{"train", o.train}, {"test-good", o.testGood}, {"test-defect", o.testDefect}} {
		if c.v < 1 {
			return fmt.Errorf("--%s is %d, must be at least 1", c.flag, c.v)
		}
	}
	if o.kind != "video" && o.kind != "mvtec" {
		return fmt.Errorf("--kind %q: want video or mvtec", o.kind)
	}
	return nil
}

func (o *synthOptions) run(ctx context.Context, s streams, log *slog.Logger) error {
	w := s.Out
	if o.kind == "video" {
		sum, err := synth.GenerateVideo(ctx, synth.VideoOptions{
			Log: log, Out: o.out, Name: o.name, Width: o.size, Height: o.size,
			TrainVideos: o.videosTrain, TestVideos: o.videosT, Frames: o.frames,
			Seed: o.seed, Force: o.force,
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "wrote %s: %d training videos (%d frames), %d test videos (%d frames, %d anomalous), %dx%d\nframe labels: %s\n",
			sum.Root, sum.TrainVideos, sum.TrainFrames, sum.TestVideos, sum.TestFrames, sum.AnomalousFrames,
			sum.Width, sum.Height, sum.LabelsPath)
		return nil
	}
	sum, err := synth.GenerateMVTec(ctx, synth.MVTecOptions{
		Log: log, Out: o.out, Categories: o.categories, Size: o.size,
		Train: o.train, TestGood: o.testGood, TestDefect: o.testDefect,
		Seed: o.seed, Force: o.force,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s: categories %s, %d train, %d test good, %d test defective images (%s), %dx%d\n",
		sum.Root, strings.Join(sum.Categories, ", "), sum.TrainImages, sum.TestGoodImages, sum.TestDefectImages,
		strings.Join(sum.Defects, ", "), sum.Size, sum.Size)
	return nil
}

func newDataSynthCmd(f *factory) *cobra.Command {
	o := &synthOptions{}
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
		RunE:         f.runE(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.kind, "kind", "", "dataset kind: video or mvtec (required)")
	fl.StringVar(&o.out, "out", "", "output folder (required)")
	fl.IntVar(&o.size, "size", 64, "image width and height in pixels")
	fl.Uint64Var(&o.seed, "seed", 1, "random seed; the same seed gives the same files")
	fl.BoolVar(&o.force, "force", false, "replace --out if it is not empty")
	fl.IntVar(&o.videosTrain, "videos-train", 4, "video: number of training videos (1-99)")
	fl.IntVar(&o.videosT, "videos-test", 4, "video: number of test videos (1-99)")
	fl.IntVar(&o.frames, "frames", 60, "video: frames per video (8-999)")
	fl.StringVar(&o.name, "name", "synth", "video: dataset name, used in frame_labels_<name>.npy")
	fl.StringSliceVar(&o.categories, "categories", synth.MVTecCategories(), "mvtec: categories to write")
	fl.IntVar(&o.train, "train", 40, "mvtec: train/good images per category")
	fl.IntVar(&o.testGood, "test-good", 10, "mvtec: test/good images per category")
	fl.IntVar(&o.testDefect, "test-defect", 6, "mvtec: test images per defect type and category")
	_ = cmd.MarkFlagRequired("kind")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// boxesOptions are the options of 'fmam data boxes'; the work is
// objects.DetectBoxes.
type boxesOptions struct {
	f                              *factory
	kind, root, split, labels, out string
	detector, layout, output       string
	interp, inputSize, classes     string
	score, iou, inputRange         float64
	letterbox, agnostic            bool
	maxDet                         int
	foreground, fgUnion            bool
	fgThreshold                    float64
	fgClose, fgDilate, fgMinArea   int

	sp data.Split
	dc objects.DetectorConfig
	fc objects.ForegroundConfig
}

func (o *boxesOptions) complete(*cobra.Command, []string) error { return nil }

// validate checks the flags and builds the detector's configuration.
func (o *boxesOptions) validate() error {
	if o.root == "" || o.out == "" {
		return fmt.Errorf("--root (the dataset folder) and --out (the CSV to write) are required")
	}
	if (o.detector == "") == !o.foreground {
		return fmt.Errorf("give exactly one of --detector MODEL.onnx and --foreground")
	}
	switch o.split {
	case "train":
		o.sp = data.Train
	case "test":
		o.sp = data.Test
	default:
		return fmt.Errorf("--split %q: want train or test", o.split)
	}
	if o.foreground {
		o.fc.Threshold, o.fc.Close, o.fc.Dilate, o.fc.MinArea, o.fc.Union = o.fgThreshold, o.fgClose, o.fgDilate, o.fgMinArea, o.fgUnion
		if _, err := objects.NewForeground(o.fc); err != nil {
			return fmt.Errorf("--fg-*: %w", err)
		}
		return nil
	}
	var err error
	cfg := &o.dc
	cfg.Model, cfg.Output = o.detector, o.output
	if cfg.Classes, err = parseClasses(o.classes); err != nil {
		return err
	}
	cfg.Score, cfg.IoU, cfg.Letterbox, cfg.ClassAgnostic, cfg.MaxDet, cfg.InputRange = o.score, o.iou, o.letterbox, o.agnostic, o.maxDet, o.inputRange
	if cfg.Layout, err = objects.ParseLayout(o.layout); err != nil {
		return fmt.Errorf("--layout: %w", err)
	}
	if cfg.Interp, err = objects.ParseInterp(o.interp); err != nil {
		return fmt.Errorf("--interp: %w", err)
	}
	if cfg.InputW, cfg.InputH, err = parseInputSize(o.inputSize); err != nil {
		return err
	}
	if _, err := os.Stat(o.detector); err != nil {
		return fmt.Errorf("--detector: %w", err)
	}
	// The detector defaults to the CPU.
	cfg.Device, cfg.Threads, err = o.f.deviceOr(ort.CPU)
	return err
}

func (o *boxesOptions) run(ctx context.Context, s streams, log *slog.Logger) error {
	ds, err := loadBoxesDataset(o.kind, o.root, o.sp, o.labels, log)
	if err != nil {
		return err
	}
	bo := objects.BoxesOptions{Dataset: ds, Detector: o.dc, Out: o.out}
	if o.foreground {
		bo.Foreground = &o.fc
	} else if bo.Library, err = o.f.library(""); err != nil {
		return err
	}
	// A bar on a terminal, else a log line every progress.LogEvery: a
	// split takes minutes on a real detector.
	bar := progress.NewLogged(barWriter(s.ErrOut), log, ds.NumFrames(), "boxes", "frames")
	bo.Progress = func(done, _ int) { bar.Set(done) }
	res, err := objects.DetectBoxes(ctx, bo, log)
	bar.Finish()
	if err != nil {
		return err
	}
	if len(res.Empty) > 0 {
		log.Warn("no boxes in some videos; lower --score / --fg-threshold, or try --foreground", "videos", strings.Join(res.Empty, ", "))
	}
	fmt.Fprintf(s.Out, "wrote %s: %d boxes in %d videos (%d frames)\n", o.out, res.Set.Len(), len(ds.Videos), ds.NumFrames())
	return nil
}

func newDataBoxesCmd(f *factory) *cobra.Command {
	o := &boxesOptions{f: f, dc: objects.DefaultDetectorConfig(""), fc: objects.DefaultForegroundConfig()}
	dc, fc := o.dc, o.fc
	cmd := &cobra.Command{
		Use:   "boxes --data-kind KIND --root DIR --split train|test (--detector MODEL.onnx | --foreground) --out BOXES.csv",
		Short: "Detect object boxes in every frame of a video dataset",
		Long: `Detect object boxes in every frame of one split of a video dataset and write
them as CSV (video,frame,x1,y1,x2,y2,score,class; frames 0-based, frame
pixels), the input of the object-centric methods (Jigsaw-VAD).

--detector runs an ONNX detector you exported (batch 1, float32 RGB input
[1, 3, H, W]) through ONNX Runtime. Output layouts: yolov8 [1, 4+classes, N]
(ultralytics YOLOv8/YOLO11), yolov5 [1, N, 5+classes], decoded [1, N, 6]
(x1, y1, x2, y2, score, class); auto tells them apart from the shape. Frames
are letterboxed (aspect kept, pad 114/255, as ultralytics) or stretched,
then boxes of --classes with score > --score go through NMS at --iou.

--foreground finds moving regions from temporal gradients instead (frame
differences of gray frames, threshold, closing, connected components), as
PKG-Net and HF2VAD add to detector boxes; it needs no model.

The --device, --threads and --ort-lib flags of fmam apply (default device:
cpu). Progress goes to stderr.`,
		Example: `  fmam data boxes --data-kind ped2 --root ../shared/data/ped2 --split test \
      --detector yolov8s.onnx --classes 0,1 --score 0.25 --out ped2_test_boxes.csv
  fmam data boxes --data-kind ped2 --root ../shared/data/ped2 --split test \
      --detector ../shared/models/centernet_coco.onnx --layout decoded --letterbox=false \
      --interp asymmetric --input-range 255 --class-agnostic --iou 0.4 --score 0.3 --max-det 0 \
      --out centernet_boxes.csv
  fmam data boxes --data-kind avenue --root data/avenue --split train --foreground \
      --fg-threshold 0.08 --fg-min-area 400 --out avenue_train_fg.csv
  fmam data boxes --data-kind frames --root data/synth-video --split test --labels data/synth-video/frame_labels_synth.npy \
      --foreground --out synth_boxes.csv`,
		Args:         cobra.NoArgs,
		SilenceUsage: true,
		RunE:         f.runE(o),
	}
	fl := cmd.Flags()
	fl.StringVar(&o.kind, "data-kind", "frames", "dataset kind: ped2, ped1, avenue, shanghaitech, or frames (any <root>/{training,testing}/frames/<video>/)")
	fl.StringVar(&o.root, "root", "", "dataset folder (required)")
	fl.StringVar(&o.split, "split", "test", "split: train or test")
	fl.StringVar(&o.labels, "labels", "", "test split: frame labels (.npy, .mat, .m or a folder), when the loader does not find them itself")
	fl.StringVar(&o.out, "out", "", "CSV file to write (required)")
	fl.StringVar(&o.detector, "detector", "", "ONNX detector model")
	fl.StringVar(&o.layout, "layout", "auto", "detector output layout: auto, yolov8, yolov5 or decoded")
	fl.StringVar(&o.output, "output", "", "detector output to decode (default: the only rank-3 output)")
	fl.StringVar(&o.classes, "classes", "0,1", "class indices to keep, comma-separated (COCO: 0 person, 1 bicycle), or all")
	fl.Float64Var(&o.score, "score", dc.Score, "keep boxes with score > this")
	fl.Float64Var(&o.iou, "iou", dc.IoU, "NMS IoU threshold (1: no NMS)")
	fl.BoolVar(&o.agnostic, "class-agnostic", false, "NMS across classes (default: per class)")
	fl.IntVar(&o.maxDet, "max-det", dc.MaxDet, "at most this many boxes per frame (0: no cap)")
	fl.StringVar(&o.inputSize, "input-size", "", "detector input size, N or WxH (default: the model's fixed size)")
	fl.BoolVar(&o.letterbox, "letterbox", dc.Letterbox, "letterbox frames (aspect kept, pad 114/255); --letterbox=false stretches")
	fl.Float64Var(&o.inputRange, "input-range", dc.InputRange, "value of a white pixel in the detector input: 1 or 255")
	fl.StringVar(&o.interp, "interp", string(dc.Interp), "resize rule: half-pixel (OpenCV, PyTorch) or asymmetric (TF1)")
	fl.BoolVar(&o.foreground, "foreground", false, "use the temporal-gradient foreground detector instead of a model")
	fl.Float64Var(&o.fgThreshold, "fg-threshold", fc.Threshold, "foreground: gray difference threshold, 0..1")
	fl.IntVar(&o.fgClose, "fg-close", fc.Close, "foreground: closing radius in pixels")
	fl.IntVar(&o.fgDilate, "fg-dilate", fc.Dilate, "foreground: extra dilation radius in pixels")
	fl.IntVar(&o.fgMinArea, "fg-min-area", fc.MinArea, "foreground: smallest region in pixels")
	fl.BoolVar(&o.fgUnion, "fg-union", false, "foreground: a pixel moves if either frame difference is large (default: both)")
	_ = cmd.MarkFlagRequired("root")
	_ = cmd.MarkFlagRequired("out")
	f.addRuntimeFlags(cmd.Flags())
	return cmd
}

// loadBoxesDataset loads one split the way the experiment config names
// datasets: the benchmarks by name, anything else as a frames folder.
func loadBoxesDataset(kind, root string, split data.Split, labels string, log *slog.Logger) (*data.VideoDataset, error) {
	var l data.FrameLabels
	if labels != "" {
		st, err := os.Stat(labels)
		switch {
		case err != nil:
			return nil, fmt.Errorf("--labels: %w", err)
		case st.IsDir() && kind == "avenue":
			l.AvenueMaskDir = labels
		case st.IsDir():
			l.NPYDir = labels
		case strings.HasSuffix(labels, ".mat"):
			l.RangesMAT = labels
		case strings.HasSuffix(labels, ".m"):
			l.UCSDm = labels
		case strings.HasSuffix(labels, ".npy"):
			l.NPY = labels
		default:
			return nil, fmt.Errorf("--labels %s: use a .mat, .m or .npy file, or a folder of label files", labels)
		}
	}
	switch kind {
	case "ped1", "ped2", "avenue", "shanghaitech":
		return data.LoadVideo(kind, root, split, data.FramesOptions{Labels: l, Log: log})
	case "frames":
		return data.LoadFrames(root, split, data.FramesOptions{Labels: l, Log: log})
	}
	return nil, fmt.Errorf("--data-kind %q: want ped2, ped1, avenue, shanghaitech or frames", kind)
}

// parseInputSize reads --input-size: "", "640" or "640x384" (width x height).
func parseInputSize(s string) (w, h int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	ws, hs, found := strings.Cut(strings.ToLower(s), "x")
	if !found {
		hs = ws
	}
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil || w < 1 || h < 1 {
		return 0, 0, fmt.Errorf("--input-size %q: want N or WxH, e.g. 640 or 640x384", s)
	}
	return w, h, nil
}

// parseClasses reads --classes: "all" or comma-separated class indices.
func parseClasses(s string) ([]int, error) {
	if s == "all" || s == "" {
		return nil, nil
	}
	var out []int
	for _, p := range strings.Split(s, ",") {
		c, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || c < 0 {
			return nil, fmt.Errorf("--classes %q: want all or class indices like 0,1", s)
		}
		out = append(out, c)
	}
	return out, nil
}
