package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fmam/fmam/internal/graph"
)

// Layers for video-cube networks (Jigsaw-VAD): 3-D convolution and max
// pooling on [N, C, T, H, W], instance normalisation, fully connected
// layers and channel dropout. Parameters are scoped like Conv2D's ("w",
// "b") and initialised as PyTorch does by default.

// Conv3D is a cubic-kernel 3-D convolution (PyTorch's Conv3d with kernel
// k, stride and padding the same on every axis) on [N, C, T, H, W].
func (b *Builder) Conv3D(x, name string, cout, k, stride, pad int, bias bool) string {
	xs := b.G.Shape(x)
	if len(xs) != 5 {
		b.G.Fail(fmt.Errorf("conv3d %s: input %q has shape %v; want [N, C, T, H, W]", b.Name(name), x, xs))
		return ""
	}
	cin := xs[1]
	s := b.Scope(name)
	kk := int64(k)
	shape := graph.Shape{int64(cout), cin, kk, kk, kk}
	fan := cin * kk * kk * kk
	ins := []string{x, s.Param("w", b.weight(shape, fan))}
	if bias {
		ins = append(ins, s.Param("b", b.bias(int64(cout), fan)))
	}
	p, st := int64(pad), int64(stride)
	return b.G.Op(graph.OpConv, ins, graph.Attrs{"kernel_shape": []int64{kk, kk, kk}, "pads": []int64{p, p, p, p, p, p}, "strides": []int64{st, st, st}})
}

// bias is a conv or linear bias: PyTorch's U(-1/sqrt(fan_in), 1/sqrt(fan_in)),
// zeros under InitNormal002 (as Conv2D does).
func (b *Builder) bias(n, fanIn int64) *graph.Value {
	if b.Init == InitNormal002 {
		return fill(graph.Shape{n}, 0)
	}
	return b.uniform(graph.Shape{n}, 1/math.Sqrt(float64(fanIn)))
}

// InstanceNorm normalises every (sample, channel) over its spatial axes
// with the biased variance and eps 1e-5, in training and inference alike
// (PyTorch's InstanceNorm1d/2d/3d keep no running statistics by default).
// With affine it learns a per-channel scale and bias ("scale", "bias");
// without, as PyTorch's default affine=False, scale and bias are fixed
// constants of ones and zeros that are not trained.
func (b *Builder) InstanceNorm(x, name string, affine bool) string {
	xs := b.G.Shape(x)
	if len(xs) < 3 {
		b.G.Fail(fmt.Errorf("instance norm %s: input %q has shape %v; want [N, C, spatial...]", b.Name(name), x, xs))
		return ""
	}
	c := xs[1]
	s := b.Scope(name)
	var scale, bias string
	if affine {
		scale, bias = s.Param("scale", fill(graph.Shape{c}, 1)), s.Param("bias", fill(graph.Shape{c}, 0))
	} else {
		scale, bias = s.constant("scale", fill(graph.Shape{c}, 1)), s.constant("bias", fill(graph.Shape{c}, 0))
	}
	return b.G.Op(graph.OpInstanceNormalization, []string{x, scale, bias}, graph.Attrs{"epsilon": float32(1e-5)})
}

// MaxPool3D is PyTorch's MaxPool3d(kernel, stride) without padding on
// [N, C, T, H, W]. Some shapes are written in forms whose values are the
// same but whose gradients take autodiff's fast paths: a kernel of depth 1
// with depth stride 1 pools every frame on its own, written as a 2-D pool
// of [N, C*T, H, W]; a kernel spanning the whole depth has one output
// frame whatever its depth stride, so the stride is written equal to the
// kernel there, and when its windows also tile the frames it is that 2-D
// pool followed by a ReduceMax over the frames. (Ties, as after a ReLU,
// share the gradient in ReduceMax where MaxPool gives it to the first
// maximum; both are subgradients.)
func (b *Builder) MaxPool3D(x string, kernel, stride [3]int) string {
	g := b.G
	xs := g.Shape(x)
	if len(xs) != 5 {
		g.Fail(fmt.Errorf("max pool 3d: input %q has shape %v; want [N, C, T, H, W]", x, xs))
		return ""
	}
	k := []int64{int64(kernel[0]), int64(kernel[1]), int64(kernel[2])}
	st := []int64{int64(stride[0]), int64(stride[1]), int64(stride[2])}
	if k[0] == 1 && st[0] == 1 {
		// Reshape's 0 copies the batch size, so a graph exported with a
		// dynamic batch axis still runs at any batch.
		flat := g.Reshape(x, graph.Shape{0, xs[1] * xs[2], xs[3], xs[4]})
		y := g.Op(graph.OpMaxPool, []string{flat}, graph.Attrs{"kernel_shape": k[1:], "strides": st[1:]})
		ys := g.Shape(y)
		return g.Reshape(y, graph.Shape{0, xs[1], xs[2], ys[2], ys[3]})
	}
	if k[0] == xs[2] && k[1] == st[1] && k[2] == st[2] {
		// One output frame of tiles: every frame's tiles pooled in 2-D,
		// then the maximum over frames (the same maximum).
		y := b.MaxPool3D(x, [3]int{1, kernel[1], kernel[2]}, [3]int{1, stride[1], stride[2]})
		return g.Op(graph.OpReduceMax, []string{y}, graph.Attrs{"axes": []int64{2}, "keepdims": int64(1)})
	}
	if k[0] == xs[2] {
		st[0] = k[0]
	}
	return g.Op(graph.OpMaxPool, []string{x}, graph.Attrs{"kernel_shape": k, "strides": st})
}

// Linear is PyTorch's Linear on [N, in]: y = x W^T + b with W [out, in]
// ("w", laid out as PyTorch stores it) and b [out] ("b").
func (b *Builder) Linear(x, name string, out int, bias bool) string {
	xs := b.G.Shape(x)
	if len(xs) != 2 {
		b.G.Fail(fmt.Errorf("linear %s: input %q has shape %v; want [N, features]", b.Name(name), x, xs))
		return ""
	}
	s := b.Scope(name)
	in := xs[1]
	ins := []string{x, s.Param("w", b.weight(graph.Shape{int64(out), in}, in))}
	if bias {
		ins = append(ins, s.Param("b", b.bias(int64(out), in)))
	}
	return b.G.Op(graph.OpGemm, ins, graph.Attrs{"transB": int64(1)})
}

// Dropout2d is PyTorch's Dropout2d on [N, C, H, W]: in training whole
// channels are zeroed and the others scaled by 1/(1-p). The keep-mask is
// not drawn by ONNX Runtime: training declares the graph input mask
// ([N, C, 1, 1], its name used as given) for the caller to feed from
// Dropout2dMask, so a run is reproducible and resumes bit for bit. In
// inference it is the identity and declares nothing.
func (b *Builder) Dropout2d(x, mask string) string {
	if !b.Train {
		return x
	}
	xs := b.G.Shape(x)
	if len(xs) < 3 {
		b.G.Fail(fmt.Errorf("dropout2d: input %q has shape %v; want [N, C, spatial...]", x, xs))
		return ""
	}
	ms := graph.Shape{xs[0], xs[1]}
	for range len(xs) - 2 {
		ms = append(ms, 1)
	}
	m := b.G.Input(mask, graph.Float, ms)
	return b.G.Op(graph.OpMul, []string{x, m}, nil)
}

// Dropout2dMask draws the keep-mask Dropout2d reads in training: n*c
// values, each 0 with probability p and 1/(1-p) otherwise.
func Dropout2dMask(rng *rand.Rand, n, c int, p float64) []float32 {
	m := make([]float32, n*c)
	keep := float32(1 / (1 - p))
	for i := range m {
		if rng.Float64() >= p {
			m[i] = keep
		}
	}
	return m
}
