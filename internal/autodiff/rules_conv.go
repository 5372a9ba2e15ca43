package autodiff

import (
	"fmt"
	"math"
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradConv, graph.OpConv)
	register(gradConvTranspose, graph.OpConvTranspose)
}

// im2col gathers the kernel windows of x into [N, C, K, L] (K = kernel
// size, L = output positions), so the weight gradient becomes one batched
// MatMul. The windows come from a single convolution of every channel with
// K one-hot kernels (the "unfold" conv): ONNX Runtime runs it as one GEMM,
// several times faster than K strided Slices and a Concat, and it handles
// pads, strides and dilations natively.
func (c *Ctx) im2col(x string, geo graph.ConvGeom, outSpatial graph.Shape) string {
	g := c.Graph
	xs := g.Shape(x)
	k := len(geo.Kernel)
	n, ch := xs[0], xs[1]
	kernelSize := graph.Shape(geo.Kernel).Size()
	L := graph.Shape(outSpatial).Size()
	eye := make([]float32, kernelSize*kernelSize)
	for i := int64(0); i < kernelSize; i++ {
		eye[i*kernelSize+i] = 1
	}
	wshape := append(graph.Shape{kernelSize, 1}, geo.Kernel...)
	w := g.Init("unfold_eye", graph.Floats(wshape, eye))
	flat := c.Reshape(x, append(graph.Shape{n * ch, 1}, xs[2:]...))
	cols := g.Op(graph.OpConv, []string{flat, w}, graph.Attrs{"kernel_shape": geo.Kernel, "pads": geo.Pads, "strides": geo.Strides, "dilations": geo.Dilations})
	if got := g.Shape(cols)[2:]; !slices.Equal(got, outSpatial) {
		// A transposed conv's output_padding can leave extra rows: keep
		// the positions the forward pass used.
		starts := make([]int64, k)
		axes := make([]int64, k)
		for i := range axes {
			axes[i] = int64(2 + i)
		}
		cols = g.Slice(cols, starts, outSpatial, axes, nil)
	}
	return c.Reshape(cols, graph.Shape{n, ch, kernelSize, L})
}

// flipKernel returns the weights of the adjoint convolution for stride 1:
// input and output channels swapped within each group, spatial axes
// reversed. Reversing every spatial axis reverses the flattened kernel, a
// MatMul with the exchange matrix: ONNX Runtime's negative-step Slice is
// several times slower on big kernels.
func (c *Ctx) flipKernel(w string, group int64) string {
	g := c.Graph
	ws := g.Shape(w)
	co, ci := ws[0], ws[1]
	k := len(ws) - 2
	kernelSize := graph.Shape(ws[2:]).Size()
	grouped := c.Reshape(w, graph.Shape{group, co / group, ci, kernelSize})
	swapped := c.Transpose(grouped, 0, 2, 1, 3) // [G, ci, co/G, K]
	flatShape := append(graph.Shape{group * ci, co / group}, ws[2:]...)
	if kernelSize > 64 {
		// The exchange matrix grows with the square of the kernel.
		starts, ends, axes, steps := make([]int64, k), make([]int64, k), make([]int64, k), make([]int64, k)
		for i := range k {
			starts[i], ends[i], axes[i], steps[i] = -1, math.MinInt64, int64(2+i), -1
		}
		return g.Slice(c.Reshape(swapped, flatShape), starts, ends, axes, steps)
	}
	ex := make([]float32, kernelSize*kernelSize)
	for i := int64(0); i < kernelSize; i++ {
		ex[i*kernelSize+kernelSize-1-i] = 1
	}
	j := g.Init("flip_exchange", graph.Floats(graph.Shape{kernelSize, kernelSize}, ex))
	return c.Reshape(g.MatMul(swapped, j), flatShape)
}

// smallMap is the number of output positions at or below which the
// conv gradients switch form: there the channel counts are large and the
// maps tiny, ONNX Runtime's ConvTranspose beats a Conv with a flipped
// kernel, and one MatMul over batch and positions together beats a
// batched MatMul and a sum over the batch (measured on DRAEM's layer
// shapes; BenchmarkConvGrad times the forms chosen).
const smallMap = 64

// rowsMap is the number of output positions from which stride-1 2-D
// weight gradients take the row form (weightGradRows).
const rowsMap = 32 * 32

func gradConv(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x, w := n.Inputs[0], n.Inputs[1]
	xs, ws, ys := g.Shape(x), g.Shape(w), g.Shape(n.Outputs[0])
	k := len(xs) - 2
	geo, err := graph.Geom(n, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	out := make([]string, len(n.Inputs))
	d := dy[0]
	if c.Needs(x) {
		// dX is the transposed convolution of dY with the same weights;
		// output_padding restores input rows the forward strides skipped.
		op := make([]int64, k)
		for i := range k {
			full := geo.Strides[i]*(ys[2+i]-1) + (geo.Kernel[i]-1)*geo.Dilations[i] + 1 - geo.Pads[i] - geo.Pads[i+k]
			op[i] = xs[2+i] - full
			if op[i] < 0 {
				return nil, fmt.Errorf("input gradient: output_padding %d < 0", op[i])
			}
		}
		attrs := graph.Attrs{"strides": geo.Strides, "pads": geo.Pads, "dilations": geo.Dilations, "group": geo.Group, "kernel_shape": geo.Kernel}
		out[0] = c.convInputGrad(d, w, geo, attrs, op)
	}
	if c.Needs(w) {
		out[1] = c.weightGrad(x, d, geo, ws, false)
	}
	if len(n.Inputs) > 2 && c.Needs(n.Inputs[2]) {
		out[2] = biasGrad(c, n, d)
	}
	return out, nil
}

// biasGrad sums dY over the batch and spatial axes. A bias whose output
// feeds only a training-mode BatchNorm has an exactly zero gradient: the
// normalisation subtracts the per-channel batch mean, which absorbs any
// per-channel shift (and BatchNorm's input gradient sums to zero per
// channel). Summing dY gives that zero as rounding noise; fmam skips the
// full-tensor reduction and returns the exact value.
func biasGrad(c *Ctx, n *graph.Node, d string) string {
	if cons := c.consumers[n.Outputs[0]]; len(cons) == 1 && cons[0].Op == graph.BatchNormTrain && cons[0].Domain == graph.Domain &&
		cons[0].Inputs[0] == n.Outputs[0] && !slices.Contains(cons[0].Inputs[1:], n.Outputs[0]) {
		return c.Zeros(c.Shape(n.Inputs[2]))
	}
	axes := []int64{0}
	for i := 2; i < c.Rank(d); i++ {
		axes = append(axes, int64(i))
	}
	return c.ReduceSum(d, axes, false)
}

// convInputGrad is the transposed convolution of dY with the forward
// weights; op is the output padding that restores input rows the forward
// strides skipped. For stride 1 the same result is a plain Conv with the
// flipped kernel: ONNX Runtime's Conv is much faster than its ConvTranspose.
func (c *Ctx) convInputGrad(d, w string, geo graph.ConvGeom, attrs graph.Attrs, op []int64) string {
	g := c.Graph
	k := len(geo.Kernel)
	pads := make([]int64, 2*k)
	plain := true
	for i := range k {
		ext := geo.Dilations[i] * (geo.Kernel[i] - 1)
		pads[i], pads[i+k] = ext-geo.Pads[i], ext-geo.Pads[i+k]
		plain = plain && geo.Strides[i] == 1 && op[i] == 0 && pads[i] >= 0 && pads[i+k] >= 0
	}
	if plain && graph.Shape(g.Shape(d)[2:]).Size() > smallMap {
		return g.Op(graph.OpConv, []string{d, c.flipKernel(w, geo.Group)}, graph.Attrs{"kernel_shape": geo.Kernel, "pads": pads, "dilations": geo.Dilations, "group": geo.Group})
	}
	if !slices.ContainsFunc(op, func(v int64) bool { return v != 0 }) {
		return g.Op(graph.OpConvTranspose, []string{d, w}, attrs)
	}
	// output_padding is the remainder of the forward division by the
	// stride, so it is always below the stride as ONNX Runtime requires.
	a := graph.Attrs{"output_padding": op}
	for key, v := range attrs {
		a[key] = v
	}
	return g.Op(graph.OpConvTranspose, []string{d, w}, a)
}

// weightGrad computes the kernel gradient of Conv (transposed=false:
// windows of the input x times dY) or of ConvTranspose (transposed=true:
// windows of dY times x). Either way it is a sum over batch and positions
// of window patches times the other operand, one MatMul per group; stride-1
// 2-D convs on large maps take the row form (weightGradRows) instead.
func (c *Ctx) weightGrad(x, d string, geo graph.ConvGeom, ws graph.Shape, transposed bool) string {
	g := c.Graph
	G := geo.Group
	kernelSize := graph.Shape(geo.Kernel).Size()
	// The row form copies x kh times and dY kw times where im2col copies x
	// kh*kw times. Below rowsMap output positions the channel counts are
	// large and the maps small, and the unfold forms win (measured on
	// MNAD's and DRAEM's layer shapes).
	if !transposed && len(geo.Kernel) == 2 && geo.Strides[0] == 1 && geo.Strides[1] == 1 && graph.Shape(g.Shape(d)[2:]).Size() >= rowsMap {
		return c.weightGradRows(x, d, geo, ws)
	}
	if !transposed && rows3D(geo, g.Shape(d)[2:]) {
		return c.weightGradRows3D(x, d, geo, ws)
	}
	// Conv (W [Co, Ci/G, k...]): patches of x at dY's positions, times dY.
	// ConvTranspose (W [Ci, Co/G, k...]): patches of dY at x's positions,
	// times x. Either way one batched MatMul per group, summed over N.
	patched, other := x, d
	if transposed {
		patched, other = d, x
	}
	otherShape := g.Shape(other)
	N, L := otherShape[0], graph.Shape(otherShape[2:]).Size()
	cK, o := ws[1]*kernelSize, otherShape[1]/G
	cols := c.im2col(patched, geo, otherShape[2:])    // [N, C, K, L]
	cols = c.Reshape(cols, graph.Shape{N, G, cK, L})  // [N, G, c*K, L]
	rows := c.Reshape(other, graph.Shape{N, G, o, L}) // [N, G, o, L]
	if L <= smallMap && N > 1 {
		// Few positions: fold the batch into the MatMul's inner
		// dimension instead of summing N products afterwards. Both
		// transposes move whole rows of L values; the last one is fused
		// into the MatMul by ONNX Runtime.
		rows = c.Reshape(c.Transpose(rows, 1, 2, 0, 3), graph.Shape{G, o, N * L})  // [G, o, N*L]
		cols = c.Reshape(c.Transpose(cols, 1, 2, 0, 3), graph.Shape{G, cK, N * L}) // [G, c*K, N*L]
		return c.Reshape(g.MatMul(rows, c.Transpose(cols, 0, 2, 1)), ws)
	}
	prod := g.MatMul(rows, c.Transpose(cols, 0, 1, 3, 2)) // [N, G, o, c*K]
	return c.Reshape(c.ReduceSum(prod, []int64{0}, false), ws)
}

func gradConvTranspose(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x, w := n.Inputs[0], n.Inputs[1]
	xs, ws := g.Shape(x), g.Shape(w)
	geo, err := graph.Geom(n, xs[2:], ws[2:])
	if err != nil {
		return nil, err
	}
	d := dy[0]
	out := make([]string, len(n.Inputs))
	if c.Needs(x) {
		// The adjoint of a transposed conv is the conv with the same
		// weights; output_padding only added rows that no input reached.
		attrs := graph.Attrs{"strides": geo.Strides, "pads": geo.Pads, "dilations": geo.Dilations, "group": geo.Group, "kernel_shape": geo.Kernel}
		r := g.Op(graph.OpConv, []string{d, w}, attrs)
		if !slices.Equal(g.Shape(r), xs) {
			return nil, fmt.Errorf("input gradient has shape %v, want %v", g.Shape(r), xs)
		}
		out[0] = r
	}
	if c.Needs(w) {
		out[1] = c.weightGrad(x, d, geo, ws, true)
	}
	if len(n.Inputs) > 2 && c.Needs(n.Inputs[2]) {
		out[2] = biasGrad(c, n, d)
	}
	return out, nil
}

// weightGradRows is the kernel gradient of a stride-1 2-D conv without
// materialising im2col. On the padded input flattened row by row, tap
// (a, b)'s window starts a*dh rows plus b*dw columns further on, if the
// output grid is taken as wide as the padded input (dY gets zero columns
// there). The row shifts go on the input and the column shifts on dY:
//
//	S[n, ci, a, :] = xpad rows from a*dh on, flattened          (kh copies of x)
//	T[n, co, b, :] = wide dY shifted right by b*dw, flattened   (kw copies of dY)
//	dW[co, ci, a, b] = sum over n and positions of T[.., co, b, :] * S[.., ci, a, :]
//
// so one MatMul of kw*co by kh*ci rows does all taps. Each stack is one
// Conv with one-hot kernels ([kh, 1] on x, [1, kw] on dY) that also pads:
// kh + kw copies instead of im2col's kh*kw, and ONNX Runtime runs a Conv
// on both threads where it runs a Slice on one.
func (c *Ctx) weightGradRows(x, d string, geo graph.ConvGeom, ws graph.Shape) string {
	g := c.Graph
	xs, ys := g.Shape(x), g.Shape(d)
	N, Ci, Co, G := xs[0], xs[1], ys[1], geo.Group
	Ho, Wo := ys[2], ys[3]
	kh, kw := geo.Kernel[0], geo.Kernel[1]
	dh, dw := geo.Dilations[0], geo.Dilations[1]
	Wp := xs[3] + geo.Pads[1] + geo.Pads[3]
	// T's last column shift runs (kw-1)*dw past the last output row, less
	// than one padded row: one more zero row holds it.
	extra := int64(0)
	if kw > 1 {
		extra = 1
	}
	L := (Ho + extra) * Wp
	onehot := func(k int64, reversed bool, shape graph.Shape) string {
		v := make([]float32, k*k)
		for i := range k {
			j := i
			if reversed {
				j = k - 1 - i
			}
			v[i*k+j] = 1
		}
		return g.Init("onehot", graph.Floats(shape, v))
	}
	// Output channel a of the row conv picks kernel row a: rows a*dh on.
	xr := c.Reshape(x, graph.Shape{N * Ci, 1, xs[2], xs[3]})
	rows := g.Op(graph.OpConv, []string{xr, onehot(kh, false, graph.Shape{kh, 1, kh, 1})}, graph.Attrs{
		"kernel_shape": []int64{kh, 1}, "dilations": []int64{dh, 1},
		"pads": []int64{geo.Pads[0], geo.Pads[1], geo.Pads[2] + extra, geo.Pads[3]}})
	// Output channel b picks kernel column kw-1-b of dY padded by
	// (kw-1)*dw on the left: dY shifted right by b*dw. The right pad
	// widens rows from Wo to Wp.
	dr := c.Reshape(d, graph.Shape{N * Co, 1, Ho, Wo})
	cols := g.Op(graph.OpConv, []string{dr, onehot(kw, true, graph.Shape{kw, 1, 1, kw})}, graph.Attrs{
		"kernel_shape": []int64{1, kw}, "dilations": []int64{1, dw},
		"pads": []int64{0, (kw - 1) * dw, extra, Wp - Wo}})
	S := c.Reshape(rows, graph.Shape{N, G, Ci / G * kh, L}) // (ci, a)
	T := c.Reshape(cols, graph.Shape{N, G, Co / G * kw, L}) // (co, b)
	prod := g.MatMul(T, c.Transpose(S, 0, 1, 3, 2))
	sum := c.ReduceSum(prod, []int64{0}, false) // [G, co*kw, ci*kh]
	sum = c.Reshape(sum, graph.Shape{G, Co / G, kw, Ci / G, kh})
	return c.Reshape(c.Transpose(sum, 0, 1, 3, 4, 2), ws)
}
