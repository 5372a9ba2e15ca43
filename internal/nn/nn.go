// Package nn builds network layers on a graph: convolutions, batch
// normalisation (in training, a composite op with a closed-form gradient
// that is lowered to standard ops when the model is written), pooling,
// up-sampling, MNAD's memory module, and the inconsistency-guided
// attention modules of feature mimicking (CA, SA, SCA).
//
// Parameters are initializers with stable, scoped names ("enc1.c1.conv.w"),
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

// Registry collects what the builders created.
type Registry struct {
	Trainable []string
	g         *graph.Graph
	states    []graph.State
	pending   []bnStats
}

// States returns the non-trained tensors carried between steps (running
// statistics, memory items) with their next values; each is an
// initializer holding its initial value. It first writes the pending running-statistics updates of
// training-mode BatchNorms (see finishStates), so call it once the network
// is built.
func (r *Registry) States() []graph.State {
	r.finishStates()
	return r.states
}

// bnStats is one training-mode BatchNorm whose running statistics still
// need their update.
type bnStats struct {
	mean, variance string // running statistics, [C]
	mu, invstd     string // batch statistics, [1, C, 1, ...]
	momentum       float32
	unbias         float32 // n / (n - 1): PyTorch keeps the unbiased variance
	eps            float32
}

// finishStates writes the running-statistics updates of every
// training-mode BatchNorm built so far and fills in their Next. The
// update r <- (1-m) r + m * batch is the same arithmetic for every layer,
// so it runs once on all layers' statistics concatenated: per layer it
// would cost a dozen tiny ONNX nodes, and ONNX Runtime's per-node overhead
// dominates such nodes. A second call only handles BatchNorms added since.
func (r *Registry) finishStates() {
	if len(r.pending) == 0 {
		return
	}
	g := r.g
	ps := r.pending
	r.pending = nil
	var sizes []int64
	var mus, invs, means, vars []string
	var decay, gainMean, gainVar, eps []float32
	for _, p := range ps {
		c := g.Shape(p.mean)[0]
		sizes = append(sizes, c)
		// Batch statistics of any rank flatten to [C] for free.
		mus = append(mus, g.Reshape(p.mu, graph.Shape{c}))
		invs = append(invs, g.Reshape(p.invstd, graph.Shape{c}))
		means = append(means, p.mean)
		vars = append(vars, p.variance)
		for range c {
			decay = append(decay, 1-p.momentum)
			gainMean = append(gainMean, p.momentum)
			gainVar = append(gainVar, p.momentum*p.unbias)
			eps = append(eps, p.eps)
		}
	}
	total := int64(len(decay))
	vec := func(name string, v []float32) string { return g.Init(name, graph.Floats(graph.Shape{total}, v)) }
	mu, inv := g.Concat(0, mus...), g.Concat(0, invs...)
	dec := vec("bn_stats.decay", decay)
	// The batch variance is 1/invstd^2 - eps.
	v := g.Sub(g.Reciprocal(g.Mul(inv, inv)), vec("bn_stats.eps", eps))
	nextMean := g.Add(g.Mul(g.Concat(0, means...), dec), g.Mul(mu, vec("bn_stats.gain_mean", gainMean)))
	nextVar := g.Add(g.Mul(g.Concat(0, vars...), dec), g.Mul(v, vec("bn_stats.gain_var", gainVar)))
	nm, nv := g.Split(nextMean, 0, sizes...), g.Split(nextVar, 0, sizes...)
	next := map[string]string{}
	for i, p := range ps {
		next[p.mean], next[p.variance] = nm[i], nv[i]
	}
	for i := range r.states {
		if n, ok := next[r.states[i].Name]; ok {
			r.states[i].Next = n
		}
	}
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
	return &Builder{G: g, Train: train, Init: InitPyTorch, Momentum: 0.1, rng: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15)), reg: &Registry{g: g}}
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

// ConvOpts shapes a square-kernel 2-D convolution. Kernel and Stride 0
// mean 1, so the zero value is a 1x1 convolution with stride 1, no
// padding and no bias.
type ConvOpts struct {
	Kernel int // side of the square kernel
	Stride int
	Pad    int // zero padding on every side
	// OutPad is a transposed convolution's output_padding (PyTorch's
	// output_padding): rows and columns added at the end of the output.
	OutPad int
	Bias   bool
}

func (o ConvOpts) kernelStride() (k, stride int64) {
	k, stride = int64(o.Kernel), int64(o.Stride)
	if k == 0 {
		k = 1
	}
	if stride == 0 {
		stride = 1
	}
	return k, stride
}

// Conv2D is PyTorch's Conv2d(cin, cout, o.Kernel, o.Stride, o.Pad,
// bias=o.Bias), cin taken from x.
func (b *Builder) Conv2D(x, name string, cout int, o ConvOpts) string {
	if o.OutPad != 0 {
		b.G.Fail(fmt.Errorf("conv %s: output padding %d is for transposed convolutions", b.Name(name), o.OutPad))
	}
	k, stride := o.kernelStride()
	cin := b.G.Shape(x)[1]
	s := b.Scope(name)
	shape := graph.Shape{int64(cout), cin, k, k}
	fan := cin * k * k
	ins := []string{x, s.Param("w", b.weight(shape, fan))}
	if o.Bias {
		bv := b.uniform(graph.Shape{int64(cout)}, 1/math.Sqrt(float64(fan)))
		if b.Init == InitNormal002 {
			bv = fill(graph.Shape{int64(cout)}, 0)
		}
		ins = append(ins, s.Param("b", bv))
	}
	p := int64(o.Pad)
	return b.G.Op(graph.OpConv, ins, graph.Attrs{"kernel_shape": []int64{k, k}, "pads": []int64{p, p, p, p}, "strides": []int64{stride, stride}})
}

// ConvTranspose2D is PyTorch's ConvTranspose2d(cin, cout, o.Kernel,
// o.Stride, o.Pad, o.OutPad, bias=o.Bias), cin taken from x.
func (b *Builder) ConvTranspose2D(x, name string, cout int, o ConvOpts) string {
	k, stride := o.kernelStride()
	cin := b.G.Shape(x)[1]
	s := b.Scope(name)
	shape := graph.Shape{cin, int64(cout), k, k}
	// PyTorch computes ConvTranspose fan-in from weight.size(1) * k * k.
	fan := int64(cout) * k * k
	ins := []string{x, s.Param("w", b.weight(shape, fan))}
	if o.Bias {
		// Under InitNormal002 zeros replace the uniform draw, which still
		// happens: every weight drawn after it depends on the sequence.
		bias := s.Param("b", b.uniform(graph.Shape{int64(cout)}, 1/math.Sqrt(float64(fan))))
		if b.Init == InitNormal002 {
			if err := b.G.SetInit(bias, fill(graph.Shape{int64(cout)}, 0)); err != nil {
				b.G.Fail(err)
			}
		}
		ins = append(ins, bias)
	}
	p, op := int64(o.Pad), int64(o.OutPad)
	return b.G.Op(graph.OpConvTranspose, ins, graph.Attrs{"kernel_shape": []int64{k, k}, "pads": []int64{p, p, p, p},
		"strides": []int64{stride, stride}, "output_padding": []int64{op, op}})
}

// BatchNorm normalises over batch and space. In training it uses batch
// statistics (a composite op lowered to primitive ops) and registers the
// running statistics as states, updated with PyTorch's momentum and
// unbiased running variance when Registry.States is read; otherwise it is the
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
		return g.Op(graph.OpBatchNormalization, []string{x, gamma, beta, mean, variance}, graph.Attrs{"epsilon": float32(eps)})
	}
	// A composite op: its closed-form gradient is far smaller than that of
	// its expansion, which graph lowering writes when the model is saved.
	outs := g.Composite(graph.BatchNormTrain, []string{x, gamma, beta}, 4, graph.Attrs{"epsilon": float32(eps)})
	cnt := xs.Size() / c
	b.reg.pending = append(b.reg.pending, bnStats{mean: mean, variance: variance, mu: outs[1], invstd: outs[2],
		momentum: b.Momentum, unbias: float32(cnt) / float32(max(cnt-1, 1)), eps: eps})
	b.reg.states = append(b.reg.states, graph.State{Name: mean}, graph.State{Name: variance})
	return outs[0]
}

// Relu applies ReLU.
func (b *Builder) Relu(x string) string { return b.G.Relu(x) }

// MaxPool2 halves the spatial size with a 2x2 max pool.
func (b *Builder) MaxPool2(x string) string {
	return b.G.Op(graph.OpMaxPool, []string{x}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}})
}

// Upsample2 doubles the spatial size by bilinear interpolation with
// align_corners, as PyTorch's nn.Upsample(scale_factor=2,
// mode='bilinear', align_corners=True) that DRAEM uses.
func (b *Builder) Upsample2(x string) string {
	g := b.G
	scales := g.Init("scales", graph.Floats(graph.Shape{4}, []float32{1, 1, 2, 2}))
	return g.Op(graph.OpResize, []string{x, "", scales}, graph.Attrs{"mode": "linear", "coordinate_transformation_mode": "align_corners"})
}

// ConvBNRelu is conv3x3-BN-ReLU.
func (b *Builder) ConvBNRelu(x, name string, cout int) string {
	s := b.Scope(name)
	return b.Relu(s.BatchNorm(s.Conv2D(x, "conv", cout, ConvOpts{Kernel: 3, Pad: 1, Bias: true}), "bn"))
}

// Concat joins tensors on the channel axis.
func (b *Builder) Concat(xs ...string) string {
	return b.G.Concat(1, xs...)
}

// Tanh applies tanh.
func (b *Builder) Tanh(x string) string { return b.G.Tanh(x) }
