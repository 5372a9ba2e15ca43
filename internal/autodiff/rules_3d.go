package autodiff

import (
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

// rows3D reports whether a Conv's weight gradient takes weightGradRows3D:
// 3-D, stride 1, and at least rowsMap output positions, where im2col's
// kt*kh*kw copies of the input dominate the step (Jigsaw-VAD's first
// stage: 27 copies of a [32, 32, 7, 64, 64] input are 3.2 GB).
func rows3D(geo graph.ConvGeom, outSpatial graph.Shape) bool {
	return len(geo.Kernel) == 3 && !slices.ContainsFunc(geo.Strides, func(s int64) bool { return s != 1 }) &&
		outSpatial.Size() >= rowsMap
}

// weightGradRows3D is weightGradRows for stride-1 3-D convs: the depth and
// row taps (a, b) go on the input, the column taps c on dY, so the kernel
// gradient is one batched MatMul of kw*co by kt*kh*ci rows over the output
// positions, taken on a grid as wide as the padded input:
//
//	S[n, ci, (a, b), t, y, x] = xpad[t + a*dt, y + b*dh, x]             (kt*kh copies of x)
//	T[n, co, c, t, y, x]      = dY[t, y, x - c*dw], 0 outside        (kw copies of dY)
//	dW[co, ci, a, b, c]       = sum over n, t, y, x of T[.., co, c, ..] * S[.., ci, (a, b), ..]
//
// Both stacks are one Conv with one-hot kernels that also pads. For a 3x3x3
// kernel that is 9 + 3 copies where im2col makes 27.
func (c *Ctx) weightGradRows3D(x, d string, geo graph.ConvGeom, ws graph.Shape) string {
	g := c.Graph
	xs, ys := g.Shape(x), g.Shape(d)
	N, Ci, Co, G := xs[0], xs[1], ys[1], geo.Group
	To, Ho, Wo := ys[2], ys[3], ys[4]
	kt, kh, kw := geo.Kernel[0], geo.Kernel[1], geo.Kernel[2]
	dt, dh, dw := geo.Dilations[0], geo.Dilations[1], geo.Dilations[2]
	p := geo.Pads // t0, h0, w0, t1, h1, w1
	Wp := xs[4] + p[2] + p[5]
	L := To * Ho * Wp
	// Output channel a*kh+b of the tap conv is kernel element (a, b).
	taps := make([]float32, kt*kh*kt*kh)
	for i := range kt * kh {
		taps[i*kt*kh+i] = 1
	}
	xr := c.Reshape(x, graph.Shape{N * Ci, 1, xs[2], xs[3], xs[4]})
	rows := g.Op(graph.OpConv, []string{xr, g.Init("onehot", graph.Floats(graph.Shape{kt * kh, 1, kt, kh, 1}, taps))}, graph.Attrs{
		"kernel_shape": []int64{kt, kh, 1}, "dilations": []int64{dt, dh, 1}, "pads": slices.Clone(p)})
	// Output channel c picks kernel column kw-1-c of dY padded by
	// (kw-1)*dw on the left: dY shifted right by c*dw. The right pad
	// widens rows from Wo to Wp.
	cols := make([]float32, kw*kw)
	for i := range kw {
		cols[i*kw+kw-1-i] = 1
	}
	dr := c.Reshape(d, graph.Shape{N * Co, 1, To, Ho, Wo})
	shifted := g.Op(graph.OpConv, []string{dr, g.Init("onehot", graph.Floats(graph.Shape{kw, 1, 1, 1, kw}, cols))}, graph.Attrs{
		"kernel_shape": []int64{1, 1, kw}, "dilations": []int64{1, 1, dw},
		"pads": []int64{0, 0, (kw - 1) * dw, 0, 0, Wp - Wo}})
	S := c.Reshape(rows, graph.Shape{N, G, Ci / G * kt * kh, L})               // (ci, a, b)
	T := c.Reshape(shifted, graph.Shape{N, G, Co / G * kw, L})                 // (co, c)
	prod := g.Op(graph.OpMatMul, []string{T, c.Transpose(S, 0, 1, 3, 2)}, nil) // [N, G, co*kw, ci*kt*kh]
	sum := c.ReduceSum(prod, []int64{0}, false)
	sum = c.Reshape(sum, graph.Shape{G, Co / G, kw, Ci / G, kt, kh})
	return c.Reshape(c.Transpose(sum, 0, 1, 3, 4, 5, 2), ws)
}
