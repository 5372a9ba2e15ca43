package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/objects"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/synth"
)

// newDataCmd returns the "data" command group: dataset utilities.
func newDataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "data",
		Short: "Dataset utilities",
		Long:  "Dataset utilities: make small synthetic datasets in the layouts of the real benchmarks, detect object boxes in video frames.",
	}
	cmd.AddCommand(newDataSynthCmd(), newDataBoxesCmd())
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

func newDataBoxesCmd() *cobra.Command {
	var (
		kind, root, split, labels, out string
		detector, layout, output       string
		interp, inputSize, classes     string
		score, iou, inputRange         float64
		letterbox, agnostic            bool
		maxDet                         int
		foreground, fgUnion            bool
		fgThreshold                    float64
		fgClose, fgDilate, fgMinArea   int
	)
	dc := objects.DefaultDetectorConfig("")
	fc := objects.DefaultForegroundConfig()
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
		RunE: func(cmd *cobra.Command, _ []string) error {
			if root == "" || out == "" {
				return fmt.Errorf("--root (the dataset folder) and --out (the CSV to write) are required")
			}
			if (detector == "") == !foreground {
				return fmt.Errorf("give exactly one of --detector MODEL.onnx and --foreground")
			}
			var sp data.Split
			switch split {
			case "train":
				sp = data.Train
			case "test":
				sp = data.Test
			default:
				return fmt.Errorf("--split %q: want train or test", split)
			}
			ds, err := loadBoxesDataset(kind, root, sp, labels)
			if err != nil {
				return err
			}
			var det objects.VideoDetector
			if foreground {
				fc.Threshold, fc.Close, fc.Dilate, fc.MinArea, fc.Union = fgThreshold, fgClose, fgDilate, fgMinArea, fgUnion
				f, err := objects.NewForeground(fc)
				if err != nil {
					return fmt.Errorf("--fg-*: %w", err)
				}
				det = f
			} else {
				cfg := dc
				cfg.Model, cfg.Output = detector, output
				if cfg.Classes, err = parseClasses(classes); err != nil {
					return err
				}
				cfg.Score, cfg.IoU, cfg.Letterbox, cfg.ClassAgnostic, cfg.MaxDet, cfg.InputRange = score, iou, letterbox, agnostic, maxDet, inputRange
				if cfg.Layout, err = objects.ParseLayout(layout); err != nil {
					return fmt.Errorf("--layout: %w", err)
				}
				if cfg.Interp, err = objects.ParseInterp(interp); err != nil {
					return fmt.Errorf("--interp: %w", err)
				}
				if cfg.InputW, cfg.InputH, err = parseInputSize(inputSize); err != nil {
					return err
				}
				if _, err := os.Stat(detector); err != nil {
					return fmt.Errorf("--detector: %w", err)
				}
				if cfg.Device, cfg.Threads, err = rootDevice(cmd); err != nil {
					return err
				}
				lib, err := ort.FindLibrary(cmd.Flag("ort-lib").Value.String(), "")
				if err != nil {
					return err
				}
				rt, err := ort.Open(lib)
				if err != nil {
					return err
				}
				defer rt.Close()
				d, err := objects.NewDetector(rt, cfg)
				if err != nil {
					return err
				}
				defer d.Close()
				det = d
			}
			log := commandLogger(cmd)
			log.Info("detecting boxes", "videos", len(ds.Videos), "frames", ds.NumFrames(), "root", root)
			set, err := objects.DetectDataset(cmd.Context(), det, ds, func(p objects.Progress) {
				// A line per video, and every 10% of a long one.
				step := max(p.Total/10, 50)
				if p.Done == p.Total || p.Done%step == 0 {
					log.Info("detecting boxes", "video", p.Video, "index", fmt.Sprintf("%d/%d", p.VideoIndex+1, p.Videos), "frame", fmt.Sprintf("%d/%d", p.Done, p.Total))
				}
			})
			if err != nil {
				return err
			}
			var empty []string
			for _, v := range ds.Videos {
				if set.VideoLen(v.Name) == 0 {
					empty = append(empty, v.Name)
				}
			}
			if len(empty) > 0 {
				log.Warn("no boxes in some videos; lower --score / --fg-threshold, or try --foreground", "videos", strings.Join(empty, ", "))
			}
			if err := objects.WriteCSV(out, set); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s: %d boxes in %d videos (%d frames)\n", out, set.Len(), len(ds.Videos), ds.NumFrames())
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&kind, "data-kind", "frames", "dataset kind: ped2, ped1, avenue, shanghaitech, or frames (any <root>/{training,testing}/frames/<video>/)")
	f.StringVar(&root, "root", "", "dataset folder (required)")
	f.StringVar(&split, "split", "test", "split: train or test")
	f.StringVar(&labels, "labels", "", "test split: frame labels (.npy, .mat, .m or a folder), when the loader does not find them itself")
	f.StringVar(&out, "out", "", "CSV file to write (required)")
	f.StringVar(&detector, "detector", "", "ONNX detector model")
	f.StringVar(&layout, "layout", "auto", "detector output layout: auto, yolov8, yolov5 or decoded")
	f.StringVar(&output, "output", "", "detector output to decode (default: the only rank-3 output)")
	f.StringVar(&classes, "classes", "0,1", "class indices to keep, comma-separated (COCO: 0 person, 1 bicycle), or all")
	f.Float64Var(&score, "score", dc.Score, "keep boxes with score > this")
	f.Float64Var(&iou, "iou", dc.IoU, "NMS IoU threshold (1: no NMS)")
	f.BoolVar(&agnostic, "class-agnostic", false, "NMS across classes (default: per class)")
	f.IntVar(&maxDet, "max-det", dc.MaxDet, "at most this many boxes per frame (0: no cap)")
	f.StringVar(&inputSize, "input-size", "", "detector input size, N or WxH (default: the model's fixed size)")
	f.BoolVar(&letterbox, "letterbox", dc.Letterbox, "letterbox frames (aspect kept, pad 114/255); --letterbox=false stretches")
	f.Float64Var(&inputRange, "input-range", dc.InputRange, "value of a white pixel in the detector input: 1 or 255")
	f.StringVar(&interp, "interp", string(dc.Interp), "resize rule: half-pixel (OpenCV, PyTorch) or asymmetric (TF1)")
	f.BoolVar(&foreground, "foreground", false, "use the temporal-gradient foreground detector instead of a model")
	f.Float64Var(&fgThreshold, "fg-threshold", fc.Threshold, "foreground: gray difference threshold, 0..1")
	f.IntVar(&fgClose, "fg-close", fc.Close, "foreground: closing radius in pixels")
	f.IntVar(&fgDilate, "fg-dilate", fc.Dilate, "foreground: extra dilation radius in pixels")
	f.IntVar(&fgMinArea, "fg-min-area", fc.MinArea, "foreground: smallest region in pixels")
	f.BoolVar(&fgUnion, "fg-union", false, "foreground: a pixel moves if either frame difference is large (default: both)")
	_ = cmd.MarkFlagRequired("root")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

// loadBoxesDataset loads one split the way the experiment config names
// datasets: the benchmarks by name, anything else as a frames folder.
func loadBoxesDataset(kind, root string, split data.Split, labels string) (*data.VideoDataset, error) {
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
		return data.LoadVideo(kind, root, split, data.FramesOptions{Labels: l})
	case "frames":
		return data.LoadFrames(root, split, data.FramesOptions{Labels: l})
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

// rootDevice reads fmam's --device and --threads; the detector defaults to
// the CPU.
func rootDevice(cmd *cobra.Command) (ort.Device, int, error) {
	dev := ort.CPU
	if f := cmd.Flag("device"); f != nil && f.Value.String() != "" {
		d, err := ort.ParseDevice(f.Value.String())
		if err != nil {
			return "", 0, fmt.Errorf("--device: %w", err)
		}
		dev = d
	}
	threads := 0
	if f := cmd.Flag("threads"); f != nil {
		threads, _ = strconv.Atoi(f.Value.String())
	}
	return dev, threads, nil
}
