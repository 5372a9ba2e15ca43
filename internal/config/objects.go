package config

import (
	"fmt"
	"strings"
)

// Objects configures the object pipeline of object-centric baselines
// (Jigsaw-VAD): where the boxes come from, which of them are kept, and
// which training frames give cubes. The cube itself is data.frames frames
// of data.size x data.size (the network's input). Every zero value means
// Jigsaw-VAD's official setting for data.kind, and the block is left out
// of config.yaml when nothing is set, so runs of other baselines record
// nothing here.
type Objects struct {
	// TrainBoxes and TestBoxes are box files of the two splits: CSV
	// (video,frame,x1,y1,x2,y2,score[,class]), a Jigsaw-VAD pickle, or a
	// folder <video>/<frame>.npy.
	TrainBoxes string `mapstructure:"train_boxes" yaml:"train_boxes,omitempty"`
	TestBoxes  string `mapstructure:"test_boxes" yaml:"test_boxes,omitempty"`
	// Detector finds the boxes instead: "foreground" (temporal gradients)
	// or an ONNX detector file; Layout is its output layout (auto, yolov8,
	// yolov5, decoded). Detected boxes are kept in the run folder.
	Detector string `mapstructure:"detector" yaml:"detector,omitempty"`
	Layout   string `mapstructure:"layout" yaml:"layout,omitempty"`
	// FgThreshold, FgMinArea and FgUnion tune the foreground detector
	// (gray difference threshold, default 20/255; smallest region, 100 px;
	// a pixel moves when either frame difference is large, not both).
	FgThreshold *float64 `mapstructure:"fg_threshold" yaml:"fg_threshold,omitempty"`
	FgMinArea   int      `mapstructure:"fg_min_area" yaml:"fg_min_area,omitempty"`
	FgUnion     bool     `mapstructure:"fg_union" yaml:"fg_union,omitempty"`
	// Score, MinSide and DropInside override the official box filter
	// (score > 0.5 on Ped2, 0.8 on Avenue and ShanghaiTech; boxes inside
	// another dropped; longest side >= 10 px).
	Score      *float64 `mapstructure:"score" yaml:"score,omitempty"`
	MinSide    *float64 `mapstructure:"min_side" yaml:"min_side,omitempty"`
	DropInside *bool    `mapstructure:"drop_inside" yaml:"drop_inside,omitempty"`
	// TrainStride takes the boxes of every k-th training frame (0: the
	// official 5 on ShanghaiTech, 1 elsewhere).
	TrainStride int `mapstructure:"train_stride" yaml:"train_stride,omitempty"`
	// StaticThreshold: a training cube whose end frames differ by less is
	// not shuffled in time (official 0.3; the README trains ShanghaiTech
	// with 0.2).
	StaticThreshold *float64 `mapstructure:"static_threshold" yaml:"static_threshold,omitempty"`
	// Cache is the cube cache folder; empty puts it in the run folder.
	// Runs that share boxes and cube settings may share one.
	Cache string `mapstructure:"cache" yaml:"cache,omitempty"`
}

// DetectorForeground is data.objects.detector's value for the
// temporal-gradient foreground detector.
const DetectorForeground = "foreground"

// DetectorMotion is data.objects.detector's value for STC boxes from
// motion alone (PKG-Net's extraction without an appearance detector).
const DetectorMotion = "motion"

// ArchPKGNet is model.arch's value for PKG-Net, whose settings
// (model.pkgnet) config.yaml records only when it is the baseline.
const ArchPKGNet = "pkgnet"

func (o Objects) validate() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch {
	case o.Detector == "" || o.Detector == DetectorForeground || o.Detector == DetectorMotion:
	case !strings.HasSuffix(strings.ToLower(o.Detector), ".onnx"):
		bad("data.objects.detector %q: use %s, %s (STC motion boxes only) or an ONNX detector file (.onnx)", o.Detector, DetectorForeground, DetectorMotion)
	}
	if o.Detector != "" && (o.TrainBoxes != "" || o.TestBoxes != "") {
		bad("data.objects: give box files (train_boxes, test_boxes) or a detector, not both")
	}
	if o.Layout != "" && !strings.HasSuffix(strings.ToLower(o.Detector), ".onnx") {
		bad("data.objects.layout %q is the output layout of an ONNX detector, but data.objects.detector is %q", o.Layout, o.Detector)
	}
	if (o.FgThreshold != nil || o.FgMinArea != 0 || o.FgUnion) && o.Detector != DetectorForeground {
		bad("data.objects.fg_threshold, fg_min_area and fg_union tune the foreground detector, but data.objects.detector is %q", o.Detector)
	}
	if o.FgThreshold != nil && (*o.FgThreshold <= 0 || *o.FgThreshold >= 1) {
		bad("data.objects.fg_threshold %v must be in (0, 1) (gray levels in [0, 1])", *o.FgThreshold)
	}
	if o.FgMinArea < 0 {
		bad("data.objects.fg_min_area %d must be >= 0 pixels (0: 100)", o.FgMinArea)
	}
	if o.Score != nil && (*o.Score < 0 || *o.Score >= 1) {
		bad("data.objects.score %v must be in [0, 1) (boxes with a higher score are kept)", *o.Score)
	}
	if o.MinSide != nil && *o.MinSide < 0 {
		bad("data.objects.min_side %v must be >= 0 pixels", *o.MinSide)
	}
	if o.TrainStride < 0 {
		bad("data.objects.train_stride %d must be >= 0 (0: official)", o.TrainStride)
	}
	if o.StaticThreshold != nil && (*o.StaticThreshold < 0 || *o.StaticThreshold > 1) {
		bad("data.objects.static_threshold %v must be in [0, 1] (pixel values are in [0, 1])", *o.StaticThreshold)
	}
	return errs
}
