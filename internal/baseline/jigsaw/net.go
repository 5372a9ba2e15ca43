// Package jigsaw is the Jigsaw-VAD baseline (Wang et al., "Video Anomaly
// Detection by Solving Decoupled Spatio-Temporal Jigsaw Puzzles", ECCV
// 2022), following its official code (gdwang08/Jigsaw-VAD): the network
// that solves a temporal and a spatial jigsaw on object-centred video
// cubes, its train step, the permutations it trains on, and the chain that
// turns per-object puzzle scores into frame anomaly scores.
//
// Cubes are [3, T, S, S] float32 in [0, 1] (S = 64 in the paper), the
// object crops of T consecutive frames; the boxes and the cube extraction
// are internal/objects'. Baseline puts it all together as fmam's third
// baseline: boxes from files or a detector, a cube cache per split,
// training on the official puzzles, per-object scores through the official
// frame chain.
package jigsaw

import (
	"fmt"
	"slices"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
)

// Config sizes the network.
type Config struct {
	// Frames is the clip length T: 7 for Ped2 and Avenue, 9 for
	// ShanghaiTech (the official README's sample_num).
	Frames int
	// Size is the cube's height and width (64); a multiple of 16.
	Size int
	// Width multiplies every channel count and the heads' hidden width
	// (1 is the official network).
	Width float64
	// Dropout is the Dropout2d probability after the 2-D conv (0.3).
	Dropout float64
}

// Official is the paper's network for T frames: 64x64 cubes, full width,
// Dropout2d 0.3.
func Official(frames int) Config {
	return Config{Frames: frames, Size: 64, Width: 1, Dropout: 0.3}
}

// Grid is the spatial jigsaw's 3x3 grid.
const Grid = 3

// Tiles is the number of spatial jigsaw tiles.
const Tiles = Grid * Grid

// Check reports a configuration the network cannot be built for.
func (c Config) Check() error {
	switch {
	case c.Frames < 2:
		return fmt.Errorf("jigsaw: %d frames per cube; the temporal jigsaw needs at least 2 (the paper uses 7 or 9)", c.Frames)
	case c.Size < 16 || c.Size%16 != 0:
		return fmt.Errorf("jigsaw: cube size %d; it must be a positive multiple of 16 (four halvings; the paper uses 64)", c.Size)
	case c.Width <= 0:
		return fmt.Errorf("jigsaw: width %g; it must be positive (1 is the official network)", c.Width)
	case c.Dropout < 0 || c.Dropout >= 1:
		return fmt.Errorf("jigsaw: dropout %g; it must be in [0, 1)", c.Dropout)
	}
	return nil
}

// Channels is the width of the 2-D part (the last 3-D stage's channels),
// which is also the channel count of the Dropout2d mask.
func (c Config) Channels() int { return arch.Scale(64, c.Width) }

// Features is the length of the flattened feature the heads read: 1024
// for the official network.
func (c Config) Features() int {
	s := c.Size / 16
	return c.Channels() * s * s
}

// TemporalClasses is the temporal head's output size, T*T: a T-way
// classification for each of the T frame positions.
func (c Config) TemporalClasses() int { return c.Frames * c.Frames }

// SpatialClasses is the spatial head's output size, 81: a 9-way
// classification for each of the 9 tiles.
const SpatialClasses = Tiles * Tiles

// Tap points, shallow to deep: the outputs of the first two 3-D stages
// after their pooling, [N, 32, T, S/2, S/2] and [N, 64, T, S/4, S/4],
// tapped with the frames folded into the channels ([N, 32T, S/2, S/2],
// channel c*T+t holding channel c of frame t) so that the 2-D attention
// modules apply; the bottleneck, the output of the third stage after its
// pooling over all T frames with the depth axis squeezed ([N, 64, S/8,
// S/8], what the 2-D part reads); and the feature the two heads share,
// tapped as the pooled map before it is flattened ([N, 64, S/16, S/16],
// the 1024 values in the heads' order). In training the feature tap lies
// after Dropout2d.
var Taps = []string{"stage1", "stage2", "bottleneck", "feature"}

// Names of the network's graph inputs.
const (
	InCubes = "cubes"
	// InDropoutMask is the Dropout2d keep-mask [N, Channels, 1, 1] that
	// training graphs take (see nn.Dropout2dMask); inference has none.
	InDropoutMask = "dropout_mask"
)

// Build appends the network to b's graph: cubes [N, 3, T, S, S] in [0, 1]
// (no mean or std normalisation, as the official code feeds ToTensor's
// values) to temporal logits [N, T*T] and spatial logits [N, 81]. Row i of
// the temporal logits viewed as [N, T, T] scores which original frame
// position i holds; row j of the spatial logits viewed as [N, 9, 9] scores
// where original tile j was put (see Sample).
//
// The layers are the official WideBranchNet's: three stages of two 3x3x3
// Conv3d (padding 1, no bias) each followed by InstanceNorm3d (no affine
// parameters, no running statistics) and ReLU, with 32/32, 64/64 and 64/64
// channels; MaxPool3d (1,2,2) after the first two stages and (T,2,2) with
// stride (1,2,2) after the third; the depth axis squeezed; Conv2d 64->64
// 3x3 padding 1 with bias, InstanceNorm2d, ReLU, Dropout2d; MaxPool2d 2;
// flattened channel-major; and two heads Linear(1024, 512) - ReLU -
// Linear(512, out), the temporal one first. In training mode (b.Train) the
// graph gets the input InDropoutMask (all ones when Dropout is 0).
func Build(b *nn.Builder, cubes string, cfg Config, hook arch.Tap) (temporalLogits, spatialLogits string) {
	g := b.G
	if err := cfg.Check(); err != nil {
		g.Fail(err)
		return "", ""
	}
	want := graph.Shape{0, 3, int64(cfg.Frames), int64(cfg.Size), int64(cfg.Size)}
	xs := g.Shape(cubes)
	if len(xs) == 5 {
		want[0] = xs[0]
	}
	if !slices.Equal(xs, want) {
		g.Fail(fmt.Errorf("jigsaw: cubes %q have shape %v; want [N, 3, %d, %d, %d] for %d-frame %dx%d cubes", cubes, xs, cfg.Frames, cfg.Size, cfg.Size, cfg.Frames, cfg.Size, cfg.Size))
		return "", ""
	}
	ch := func(c int) int { return arch.Scale(c, cfg.Width) }
	stage := func(x, name string, cout int) string {
		s := b.Scope(name)
		for _, conv := range []string{"conv1", "conv2"} {
			x = s.Conv3D(x, conv, cout, 3, 1, 1, false)
			x = s.Relu(s.InstanceNorm(x, conv+".in", false))
		}
		return x
	}
	x := stage(cubes, "stage1", ch(32))
	x = arch.TapAt(b, "stage1", b.MaxPool3D(x, [3]int{1, 2, 2}, [3]int{1, 2, 2}), hook)
	x = stage(x, "stage2", ch(64))
	x = arch.TapAt(b, "stage2", b.MaxPool3D(x, [3]int{1, 2, 2}, [3]int{1, 2, 2}), hook)
	x = stage(x, "stage3", cfg.Channels())
	x = b.MaxPool3D(x, [3]int{cfg.Frames, 2, 2}, [3]int{1, 2, 2})
	x = g.Op(graph.OpSqueeze, []string{x, g.Const1D(2)}, nil)
	x = arch.TapAt(b, "bottleneck", x, hook)

	s := b.Scope("conv2d")
	x = s.Conv2D(x, "conv", cfg.Channels(), nn.ConvOpts{Kernel: 3, Stride: 1, Pad: 1, Bias: true})
	x = s.Relu(s.InstanceNorm(x, "in", false))
	x = b.Dropout2d(x, InDropoutMask)
	x = arch.TapAt(b, "feature", b.MaxPool2(x), hook)
	x = g.Op(graph.OpFlatten, []string{x}, graph.Attrs{"axis": int64(1)})

	head := func(name string, out int) string {
		h := b.Scope(name)
		return h.Linear(h.Relu(h.Linear(x, "fc1", ch(512), true)), "fc2", out, true)
	}
	return head("temporal", cfg.TemporalClasses()), head("spatial", SpatialClasses)
}
