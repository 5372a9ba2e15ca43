// Package nn builds network layers on a graph: convolutions, batch
// normalisation (training form from primitive ops so autodiff can
// differentiate it), pooling, up-sampling, MNAD's memory module, and the
// inconsistency-guided attention modules of feature mimicking (CA, SA,
// SCA).
//
// Parameters are initializers with stable, scoped names ("enc1.conv1.w"),
// so the train-step graph and the inference graph built from the same code
// share names and a checkpoint fits both.
package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fmam/fmam/internal/graph"
)

// Init selects the weight initialisation.
type Init string

// Initialisations.
const (
	// InitPyTorch is PyTorch's default for Conv: U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
	InitPyTorch Init = "pytorch"
	// InitNormal002 is DRAEM's N(0, 0.02) for conv weights, N(1, 0.02) for BN scales.
	InitNormal002 Init = "normal0.02"
)

// State is a non-trained tensor carried between steps (running
// statistics, memory items).
type State struct{ Name, Next string }

// Registry collects what the builders created.
type Registry struct {
	Trainable []string
	States    []State
}

// Builder appends layers to a graph under a name scope.
type Builder struct {
	G *graph.Graph
	// Train selects batch statistics in BatchNorm (and emits running
	// statistics updates); otherwise running statistics are used.
	Train bool
	Init  Init
	// Momentum of running statistics, PyTorch's convention (0.1).
	Momentum float32

	rng    *rand.Rand
	prefix string
	reg    *Registry
}

// New returns a builder with a seeded parameter initialiser.
func New(g *graph.Graph, train bool, seed uint64) *Builder {
	return &Builder{G: g, Train: train, Init: InitPyTorch, Momentum: 0.1, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), reg: &Registry{}}
}

// Registry returns the parameters and states created so far.
func (b *Builder) Registry() *Registry { return b.reg }

// Scope returns a builder whose names are prefixed by name.
func (b *Builder) Scope(name string) *Builder {
	c := *b
	c.prefix = b.prefix + name + "."
	return &c
}

// Name returns the scoped name.
func (b *Builder) Name(n string) string { return b.prefix + n }

// Param creates a trainable initializer named exactly by scope+name.
func (b *Builder) Param(name string, v *graph.Value) string {
	full := b.prefix + name
	if b.G.Has(full) {
		b.G.Fail(fmt.Errorf("parameter %q defined twice", full))
		return full
	}
	n := b.G.Init(full, v)
	b.reg.Trainable = append(b.reg.Trainable, n)
	return n
}

func (b *Builder) constant(name string, v *graph.Value) string {
	full := b.prefix + name
	if b.G.Has(full) {
		b.G.Fail(fmt.Errorf("tensor %q defined twice", full))
		return full
	}
	return b.G.Init(full, v)
}

func (b *Builder) uniform(shape graph.Shape, bound float64) *graph.Value {
	d := make([]float32, shape.Size())
	for i := range d {
		d[i] = float32((2*b.rng.Float64() - 1) * bound)
	}
	return graph.Floats(shape, d)
}

func (b *Builder) normal(shape graph.Shape, mean, std float64) *graph.Value {
	d := make([]float32, shape.Size())
	for i := range d {
		d[i] = float32(mean + std*b.rng.NormFloat64())
	}
	return graph.Floats(shape, d)
}

func fill(shape graph.Shape, v float32) *graph.Value {
	d := make([]float32, shape.Size())
	for i := range d {
		d[i] = v
	}
	return graph.Floats(shape, d)
}

func (b *Builder) weight(shape graph.Shape, fanIn int64) *graph.Value {
	if b.Init == InitNormal002 {
		return b.normal(shape, 0, 0.02)
	}
	return b.uniform(shape, 1/math.Sqrt(float64(fanIn)))
}

// Conv2D is a square-kernel convolution with "same"-style padding pad.
func (b *Builder) Conv2D(x, name string, cout, k, stride, pad int, bias bool) string {
	cin := b.G.Shape(x)[1]
	s := b.Scope(name)
	shape := graph.Shape{int64(cout), cin, int64(k), int64(k)}
	fan := cin * int64(k*k)
	ins := []string{x, s.Param("w", b.weight(shape, fan))}
	if bias {
		bv := b.uniform(graph.Shape{int64(cout)}, 1/math.Sqrt(float64(fan)))
		if b.Init == InitNormal002 {
			bv = fill(graph.Shape{int64(cout)}, 0)
		}
		ins = append(ins, s.Param("b", bv))
	}
	p := int64(pad)
	return b.G.Op("Conv", ins, graph.Attrs{"kernel_shape": []int64{int64(k), int64(k)}, "pads": []int64{p, p, p, p}, "strides": []int64{int64(stride), int64(stride)}})
}

// ConvTranspose2D is PyTorch's ConvTranspose2d(k, stride, pad, output_padding).
func (b *Builder) ConvTranspose2D(x, name string, cout, k, stride, pad, outPad int) string {
	cin := b.G.Shape(x)[1]
	s := b.Scope(name)
	shape := graph.Shape{cin, int64(cout), int64(k), int64(k)}
	// PyTorch computes ConvTranspose fan-in from weight.size(1) * k * k.
	fan := int64(cout) * int64(k*k)
	w := s.Param("w", b.weight(shape, fan))
	bias := s.Param("b", b.uniform(graph.Shape{int64(cout)}, 1/math.Sqrt(float64(fan))))
	if b.Init == InitNormal002 {
		b.G.SetInit(bias, fill(graph.Shape{int64(cout)}, 0))
	}
	p, op := int64(pad), int64(outPad)
	return b.G.Op("ConvTranspose", []string{x, w, bias}, graph.Attrs{"kernel_shape": []int64{int64(k), int64(k)}, "pads": []int64{p, p, p, p},
		"strides": []int64{int64(stride), int64(stride)}, "output_padding": []int64{op, op}})
}

// BatchNorm normalises over batch and space. In training it uses batch
// statistics built from primitive ops and emits running-statistics updates
// (PyTorch's momentum and unbiased running variance); otherwise it is the
// inference BatchNormalization op on the running statistics.
func (b *Builder) BatchNorm(x, name string) string {
	g := b.G
	xs := g.Shape(x)
	c := xs[1]
	s := b.Scope(name)
	scale := fill(graph.Shape{c}, 1)
	if b.Init == InitNormal002 {
		scale = b.normal(graph.Shape{c}, 1, 0.02)
	}
	gamma := s.Param("scale", scale)
	beta := s.Param("bias", fill(graph.Shape{c}, 0))
	mean := s.constant("running_mean", fill(graph.Shape{c}, 0))
	variance := s.constant("running_var", fill(graph.Shape{c}, 1))
	const eps = 1e-5
	if !b.Train {
		return g.Op("BatchNormalization", []string{x, gamma, beta, mean, variance}, graph.Attrs{"epsilon": float32(eps)})
	}
	// A composite op: its closed-form gradient is far smaller than that of
	// its expansion, which graph lowering writes when the model is saved.
	outs := g.Composite(graph.BatchNormTrain, []string{x, gamma, beta}, 3, graph.Attrs{"epsilon": float32(eps)})
	y, mu, invstd := outs[0], outs[1], outs[2]
	// Running statistics: r <- (1-m) r + m * batch, variance unbiased as
	// PyTorch keeps it (the batch variance is 1/invstd^2 - eps).
	cnt := xs.Size() / c
	m := b.Momentum
	unbias := float32(cnt) / float32(max(cnt-1, 1))
	flat := func(t string) string { return reshape(g, t, graph.Shape{c}) }
	v := g.Op("Sub", []string{g.Op("Reciprocal", []string{g.Op("Mul", []string{invstd, invstd}, nil)}, nil), g.Scalar(eps)}, nil)
	nextMean := g.Op("Add", []string{g.Op("Mul", []string{mean, g.Scalar(1 - m)}, nil), g.Op("Mul", []string{flat(mu), g.Scalar(m)}, nil)}, nil)
	nextVar := g.Op("Add", []string{g.Op("Mul", []string{variance, g.Scalar(1 - m)}, nil), g.Op("Mul", []string{flat(v), g.Scalar(m * unbias)}, nil)}, nil)
	b.reg.States = append(b.reg.States, State{mean, nextMean}, State{variance, nextVar})
	return y
}

func reshape(g *graph.Graph, x string, shape graph.Shape) string {
	return g.Op("Reshape", []string{x, g.Const1D(shape...)}, nil)
}

// Relu applies ReLU.
func (b *Builder) Relu(x string) string { return b.G.Op("Relu", []string{x}, nil) }

// MaxPool2 halves the spatial size with a 2x2 max pool.
func (b *Builder) MaxPool2(x string) string {
	return b.G.Op("MaxPool", []string{x}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}})
}

// Upsample2 doubles the spatial size by bilinear interpolation with
// align_corners, as PyTorch's nn.Upsample(scale_factor=2,
// mode='bilinear', align_corners=True) that DRAEM uses.
func (b *Builder) Upsample2(x string) string {
	g := b.G
	scales := g.Init("scales", graph.Floats(graph.Shape{4}, []float32{1, 1, 2, 2}))
	return g.Op("Resize", []string{x, "", scales}, graph.Attrs{"mode": "linear", "coordinate_transformation_mode": "align_corners"})
}

// ConvBNRelu is conv3x3-BN-ReLU.
func (b *Builder) ConvBNRelu(x, name string, cout int) string {
	s := b.Scope(name)
	return b.Relu(s.BatchNorm(s.Conv2D(x, "conv", cout, 3, 1, 1, true), "bn"))
}

// Concat joins tensors on the channel axis.
func (b *Builder) Concat(xs ...string) string {
	return b.G.Op("Concat", xs, graph.Attrs{"axis": int64(1)})
}

// Tanh applies tanh.
func (b *Builder) Tanh(x string) string { return b.G.Op("Tanh", []string{x}, nil) }
