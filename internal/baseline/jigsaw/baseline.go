package jigsaw

import (
	"context"
	"fmt"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/objects"
	"github.com/fmam/fmam/internal/train"
)

// Baseline is Jigsaw-VAD as an fmam baseline: the network on object
// cubes of data.frames frames of data.size pixels, trained on the official
// puzzles; L_o is the sum of the two branches' cross-entropies; S_o is
// the official frame score made from the per-object branch scores. Its
// zero value is ready to use.
type Baseline struct {
	// chains keeps the official chain's frame scores of this process's
	// evaluations (see chainCache).
	chains chainCache
}

// Baseline is a baseline.Baseline.
var _ baseline.Baseline = (*Baseline)(nil)

// New returns the Jigsaw-VAD baseline.
func New() *Baseline { return &Baseline{} }

// Per-object outputs of the evaluation graph, [N]: each branch's official
// score (OutTemporalScore, OutSpatialScore) of the teacher and of the
// student.
const (
	OutTeacherTemporal = "t_temporal"
	OutTeacherSpatial  = "t_spatial"
	OutStudentTemporal = "s_temporal"
	OutStudentSpatial  = "s_spatial"
)

// dropout is the official Dropout2d probability.
const dropout = 0.3

func (*Baseline) Arch() string        { return "jigsaw" }
func (*Baseline) Taps() []string      { return Taps }
func (*Baseline) Input() string       { return InCubes }
func (*Baseline) Outputs() []string   { return []string{OutTemporalLogits, OutSpatialLogits} }
func (*Baseline) Task() baseline.Task { return baseline.VideoTask() }

func (*Baseline) Title(*config.Config) string { return "Jigsaw" }

// netConfig is the network of a spec: cubes of s.Frames frames of s.Size
// pixels, width s.Width.
func netConfig(s method.Spec) Config {
	return Config{Frames: s.Frames, Size: s.Size, Width: s.Width, Dropout: dropout}
}

func (*Baseline) Check(s method.Spec) error {
	if s.Memory {
		return fmt.Errorf("model.memory is MNAD's memory module; Jigsaw-VAD has none: set model.memory: false")
	}
	if s.Channels != 3 {
		return fmt.Errorf("data.channels %d: Jigsaw-VAD's cubes are RGB; set data.channels: 3", s.Channels)
	}
	return netConfig(s).Check()
}

// CheckConfig refuses settings the object pipeline cannot run: cubes are
// RGB with an odd number of frames centred on the box's frame, every test
// frame is scored, and boxes come from files or a detector.
func (bl *Baseline) CheckConfig(cfg *config.Config) error {
	if err := bl.Check(baseline.Spec(bl, cfg, nil)); err != nil { // RGB, no memory, a buildable network
		return err
	}
	d := cfg.Data
	switch {
	case d.Frames < 3 || d.Frames%2 == 0:
		return fmt.Errorf("data.frames %d: a Jigsaw-VAD cube is an odd number of frames (>= 3) centred on the box's frame; the paper uses 7 (Ped2, Avenue) and 9 (ShanghaiTech)", d.Frames)
	case d.TestStride != 1:
		return fmt.Errorf("data.test_stride %d: Jigsaw-VAD scores the objects of every test frame; set data.test_stride: 1", d.TestStride)
	}
	o := d.Objects
	if o.Detector == config.DetectorMotion {
		return fmt.Errorf("data.objects.detector motion makes PKG-Net's STC boxes; Jigsaw-VAD takes foreground or an ONNX detector")
	}
	if o.Detector == "" && (o.TrainBoxes == "" || o.TestBoxes == "") {
		return fmt.Errorf("data.objects.train_boxes and data.objects.test_boxes must name the box files of both splits (CSV, Jigsaw-VAD pickle or <video>/<frame>.npy folder), or set data.objects.detector to foreground or an ONNX detector")
	}
	if o.Layout != "" {
		if _, err := objects.ParseLayout(o.Layout); err != nil {
			return fmt.Errorf("data.objects.layout: %w", err)
		}
	}
	return nil
}

func cubeShape(s method.Spec) graph.Shape {
	return graph.Shape{int64(s.Batch), 3, int64(s.Frames), int64(s.Size), int64(s.Size)}
}

func (*Baseline) InputShape(s method.Spec) graph.Shape { return cubeShape(s) }

func (*Baseline) Build(b *nn.Builder, s method.Spec, input string, hook arch.Tap) method.Forward {
	tl, sl := Build(b, input, netConfig(s), hook)
	return method.Forward{Outputs: []string{tl, sl}}
}

// targets declares the one-hot targets of both branches.
func targets(g *graph.Graph, s method.Spec) (temporal, spatial string) {
	n, t := int64(s.Batch), int64(s.Frames)
	return g.Input(InTemporalTarget, graph.Float, graph.Shape{n, t, t}), g.Input(InSpatialTarget, graph.Float, graph.Shape{n, Tiles, Tiles})
}

// Targets are the temporal and spatial one-hot targets and the Dropout2d
// keep-mask, which the network in training form declares itself (before
// or after this call, depending on the stage; Loss declares it for a
// student cloned from an imported teacher, which has no Dropout2d).
func (*Baseline) Targets(g *graph.Graph, s method.Spec) []string {
	tt, st := targets(g, s)
	return []string{tt, st, InDropoutMask}
}

// Loss is the official L: the mean cross-entropy of each branch over the
// samples of that branch, summed.
func (*Baseline) Loss(g *graph.Graph, s method.Spec, f method.Forward, targets []string) method.Loss {
	if !g.Has(InDropoutMask) {
		// The source feeds the mask to every Jigsaw student alike; one
		// without Dropout2d leaves it unused.
		g.Input(InDropoutMask, graph.Float, graph.Shape{int64(s.Batch), int64(netConfig(s).Channels()), 1, 1})
	}
	lt := branchLoss(g, f.Outputs[0], targets[0], int64(s.Frames))
	ls := branchLoss(g, f.Outputs[1], targets[1], Tiles)
	return method.Loss{Total: g.Op(graph.OpAdd, []string{lt, ls}, nil), Terms: []string{lt, ls}, Names: TrainTerms}
}

// Scores are each branch's per-object official score, of the teacher and
// of the student.
func (*Baseline) Scores(g *graph.Graph, s method.Spec, teacher, student *method.Forward) ([]string, []string, error) {
	t := int64(s.Frames)
	outs := []string{
		method.Rename(g, diagMin(g, teacher.Outputs[0], t), OutTeacherTemporal),
		method.Rename(g, diagMin(g, teacher.Outputs[1], Tiles), OutTeacherSpatial),
	}
	if student != nil {
		outs = append(outs,
			method.Rename(g, diagMin(g, student.Outputs[0], t), OutStudentTemporal),
			method.Rename(g, diagMin(g, student.Outputs[1], Tiles), OutStudentSpatial))
	}
	return nil, outs, g.Err()
}

// MimicImage is the cube's centre frame, the box's own frame: [N, 3, S, S]
// in [0, 1].
func (*Baseline) MimicImage(g *graph.Graph, s method.Spec, input string) string {
	c := int64(s.Frames / 2)
	x := g.Op(graph.OpSlice, []string{input, g.Const1D(c), g.Const1D(c + 1), g.Const1D(2)}, nil)
	return g.Op(graph.OpSqueeze, []string{x, g.Const1D(2)}, nil)
}

func (*Baseline) TeacherMeta(method.Spec) map[string]string { return nil }

func (*Baseline) CheckTeacher(*method.Teacher, method.Spec) error { return nil }

// BenchShape is the cube of `fmam bench`: 7 RGB frames, as
// scripts/bench_torch.py --model jigsaw builds it.
func (*Baseline) BenchShape() (frames, channels int) { return 7, 3 }

// BenchLoss is the official loss against target inputs.
func (bl *Baseline) BenchLoss(g *graph.Graph, s method.Spec, f method.Forward, input string) (string, []string) {
	tt, st := targets(g, s)
	l := bl.Loss(g, s, f, []string{tt, st, InDropoutMask})
	return l.Total, []string{input, tt, st, InDropoutMask}
}

// layoutFor is the spatial jigsaw's grid for size x size cubes: the
// official one (2-pixel border, 20-pixel tiles) at 64, scaled to other
// sizes (border size/32, three tiles in what is left after two borders).
func layoutFor(size int) Layout {
	b := size / 32
	return Layout{Border: b, Tile: (size - 2*b) / Grid}
}

// augment is the official training sample setting with the configured
// static threshold, for the configured cube size.
func augment(cfg *config.Config) Augment {
	a := OfficialAugment
	a.Layout = layoutFor(cfg.Data.Size)
	if t := cfg.Data.Objects.StaticThreshold; t != nil {
		a.StaticThreshold = *t
	}
	return a
}

// Source extracts the training cubes (once, into the cube cache) and
// yields the official puzzles: cubes, temporal and spatial targets, and
// the Dropout2d mask.
func (*Baseline) Source(ctx context.Context, u *baseline.Unit, seed uint64) (train.Source, error) {
	tr, _, err := u.VideoSets(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := cubes(ctx, u, tr, data.Train)
	if err != nil {
		return nil, err
	}
	vs, err := objects.OpenAllVideoCubes(dir, tr)
	if err != nil {
		return nil, err
	}
	cfg := u.Cfg
	src, err := newCubeSource(netConfig(baseline.Spec(New(), cfg, nil)), augment(cfg), cfg.Train.Batch, seed, vs)
	if err != nil {
		objects.CloseAll(vs)
		return nil, err
	}
	u.Log.Info("training cubes", "cubes", len(src.index), "batches_per_epoch", src.batches())
	return src, nil
}
