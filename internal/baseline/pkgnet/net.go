package pkgnet

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
)

// Config sizes the student.
type Config struct {
	// K is the official variant: 1 (strided-conv encoder, one distilled
	// block) or 2 (max-pool encoder, two distilled blocks).
	K int
	// Width multiplies every internal channel count (1 is the official
	// network); the data channels are never scaled.
	Width float64
	// Frames is the number of input frames (4: t-4..t-1) and Channels the
	// channels per frame (3); the prediction has Channels channels.
	Frames, Channels int
	// Size is the patch side (32); a multiple of 8 (three halvings).
	Size int
	// EvalBatchNorm builds every BatchNorm in inference form even in a
	// training graph, with running statistics 0 and 1 that never change:
	// what the official train.py does (it trains a module put in .eval()
	// mode). Off, BatchNorm follows the builder (batch statistics in
	// training, running statistics updated).
	EvalBatchNorm bool
}

// Official is the official student of variant k: 4 RGB frames of 32x32,
// width 1, BatchNorm as the official training runs it.
func Official(k int) Config {
	return Config{K: k, Width: 1, Frames: 4, Channels: 3, Size: 32, EvalBatchNorm: true}
}

// Check reports a configuration the network cannot be built for.
func (c Config) Check() error {
	switch {
	case c.K != 1 && c.K != 2:
		return fmt.Errorf("pkgnet: k %d; use 1 (strided-conv encoder) or 2 (max-pool encoder, two distilled blocks)", c.K)
	case c.Width <= 0:
		return fmt.Errorf("pkgnet: width %g; it must be positive (1 is the official network)", c.Width)
	case c.Frames < 1 || c.Channels < 1:
		return fmt.Errorf("pkgnet: %d frames of %d channels; both must be positive (officially 4 of 3)", c.Frames, c.Channels)
	case c.Size < 8 || c.Size%8 != 0:
		return fmt.Errorf("pkgnet: patch size %d; it must be a positive multiple of 8 (three halvings; officially 32)", c.Size)
	}
	return nil
}

// InChannels is the input's channel count, Frames*Channels (12).
func (c Config) InChannels() int { return c.Frames * c.Channels }

// ch is an official channel count at the configured width.
func (c Config) ch(n int) int { return arch.Scale(n, c.Width) }

// Blocks is the number of distilled features: K.
func (c Config) Blocks() int { return c.K }

// FeatureShapes are the shapes of the distilled features for a batch of
// n, in Outputs.Features order: the bottleneck [n, 512w, S/8, S/8], then
// for k = 2 the decoder's first stage [n, 256w, S/4, S/4]. At width 1
// and S = 32 they are ResNet50's layer2 (512x4x4) and layer1 (256x8x8)
// on a 32x32 patch.
func (c Config) FeatureShapes(n int64) []graph.Shape {
	s := int64(c.Size)
	out := []graph.Shape{{n, int64(c.ch(512)), s / 8, s / 8}}
	if c.K == 2 {
		out = append(out, graph.Shape{n, int64(c.ch(256)), s / 4, s / 4})
	}
	return out
}

// Taps are the tap points, shallow to deep, the same for both variants:
//
//   - encoder: the output of the second down-sampling stage, [N, 256w,
//     S/4, S/4] (8x8); in k = 1 it is also the skip the decoder's first
//     stage concatenates, and the tapped tensor is what both read.
//   - bottleneck: the output of the third down-sampling stage, [N, 512w,
//     S/8, S/8] (4x4), the deepest encoder feature and distilled block 1.
//   - decoder: the output of the decoder's first stage (transposed
//     convolution, the skip concatenation in k = 1, double conv), [N, 256w,
//     S/4, S/4] (8x8); distilled block 2 in k = 2.
//
// Each tapped tensor is what the network continues with (and what
// Outputs.Features holds), so a student's attention-refined feature is
// the one its decoder reads and its feature loss sees.
var Taps = []string{"encoder", "bottleneck", "decoder"}

// Outputs is what Build made.
type Outputs struct {
	// Prediction is the predicted target patch [N, Channels, S, S], the
	// 1x1 output convolution with no activation (the target is in [0, 1]).
	Prediction string
	// Features are the distilled features, block 1 first: the bottleneck,
	// and for k = 2 the decoder tap (see FeatureShapes).
	Features []string

	// For InitOfficial: the Conv2d weights with their fan-in, and the
	// BatchNorm scales.
	convWeights []string
	convFanIn   []int64
	bnScales    []string
}

// Build appends the student to b's graph. input is [N, Frames*Channels,
// S, S] in [0, 1], channel f*Channels + c holding channel c of frame f
// (oldest first), as the official ToTensor of a [T, H, W, C] cube gives.
// Parameter names follow the official modules: enc.inc, enc.down1..3,
// dec.up1..3, dec.out.
func Build(b *nn.Builder, cfg Config, input string, hook arch.Tap) Outputs {
	g := b.G
	if err := cfg.Check(); err != nil {
		g.Fail(err)
		return Outputs{}
	}
	xs := g.Shape(input)
	want := graph.Shape{0, int64(cfg.InChannels()), int64(cfg.Size), int64(cfg.Size)}
	if len(xs) == 4 {
		want[0] = xs[0]
	}
	if !slices.Equal(xs, want) {
		g.Fail(fmt.Errorf("pkgnet: input %q has shape %v; want [N, %d, %d, %d] (%d frames of %d channels)", input, xs, cfg.InChannels(), cfg.Size, cfg.Size, cfg.Frames, cfg.Channels))
		return Outputs{}
	}
	if cfg.EvalBatchNorm && b.Train {
		c := *b
		c.Train = false
		b = &c
	}
	var out Outputs
	conv := func(s *nn.Builder, x, name string, cout int, o nn.ConvOpts) string {
		y := s.Conv2D(x, name, cout, o)
		k := int64(max(o.Kernel, 1))
		out.convWeights = append(out.convWeights, s.Name(name+".w"))
		out.convFanIn = append(out.convFanIn, g.Shape(x)[1]*k*k)
		return y
	}
	cbr := func(s *nn.Builder, x, name string, cout int) string {
		c := s.Scope(name)
		y := conv(c, x, "conv", cout, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})
		y = c.BatchNorm(y, "bn")
		out.bnScales = append(out.bnScales, c.Name("bn.scale"))
		return c.Relu(y)
	}
	double := func(s *nn.Builder, x string, cout int) string {
		return cbr(s, cbr(s, x, "c1", cout), "c2", cout)
	}
	tap := func(name, x string) string {
		named := b.Name(arch.TapName(name))
		g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: named, Inputs: []string{x}, Outputs: []string{named}})
		if hook == nil {
			return named
		}
		return hook(name, named)
	}

	enc := b.Scope("enc")
	f32 := double(enc.Scope("inc"), input, cfg.ch(64))
	down := func(x, name string, cout int) string {
		s := enc.Scope(name)
		if cfg.K == 1 {
			x = conv(s, x, "down", cout, nn.ConvOpts{Kernel: 3, Stride: 2, Pad: 1, Bias: true})
		} else {
			x = s.MaxPool2(x)
		}
		return double(s, x, cout)
	}
	f16 := down(f32, "down1", cfg.ch(128))
	f8 := tap("encoder", down(f16, "down2", cfg.ch(256)))
	f4 := tap("bottleneck", down(f8, "down3", cfg.ch(512)))

	dec := b.Scope("dec")
	up := func(x, skip, name string, cout int) string {
		s := dec.Scope(name)
		x = s.ConvTranspose2D(x, "deconv", cout, nn.ConvOpts{Kernel: 3, Stride: 2, Pad: 1, OutPad: 1, Bias: true})
		if skip != "" {
			x = s.Concat(skip, x)
		}
		return double(s, x, cout)
	}
	skip8 := f8
	if cfg.K == 2 {
		skip8 = ""
	}
	d8 := tap("decoder", up(f4, skip8, "up1", cfg.ch(256)))
	d := up(d8, f16, "up2", cfg.ch(128))
	d = up(d, f32, "up3", cfg.ch(64))
	out.Prediction = conv(dec, d, "out", cfg.Channels, nn.ConvOpts{Kernel: 1, Bias: true})
	out.Features = []string{f4}
	if cfg.K == 2 {
		out.Features = append(out.Features, d8)
	}
	return out
}

// KaimingGain is the gain of kaiming_normal_(a=0.1) for leaky_relu,
// sqrt(2 / (1 + 0.1^2)).
var KaimingGain = math.Sqrt(2 / 1.01)

// InitOfficial redraws the parameters the official weights_init_kaiming
// sets, from a stream seeded by seed: every Conv2d weight (not the
// transposed convolutions) N(0, (KaimingGain/sqrt(fan_in))^2) with fan_in
// = in channels x kernel area, every BatchNorm scale N(1, 0.02^2). The
// BatchNorm biases are already 0; conv biases and transposed convolutions
// keep the builder's PyTorch-default draw, as in the official code.
func (o Outputs) InitOfficial(g *graph.Graph, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x706b676e6574))
	normal := func(name string, mean, std float64) error {
		v := make([]float32, g.Shape(name).Size())
		for i := range v {
			v[i] = float32(mean + std*rng.NormFloat64())
		}
		if err := g.SetInit(name, graph.Floats(g.Shape(name), v)); err != nil {
			return fmt.Errorf("pkgnet init %s: %w", name, err)
		}
		return nil
	}
	for i, w := range o.convWeights {
		if err := normal(w, 0, KaimingGain/math.Sqrt(float64(o.convFanIn[i]))); err != nil {
			return err
		}
	}
	for _, s := range o.bnScales {
		if err := normal(s, 1, 0.02); err != nil {
			return err
		}
	}
	return nil
}
