package autodiff

import (
	"fmt"
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradMaxPool, graph.OpMaxPool)
	register(gradAveragePool, graph.OpAveragePool)
	register(gradGlobalPool, graph.OpGlobalAveragePool, graph.OpGlobalMaxPool)
}

// poolGeom resolves a pool node's geometry and checks the input rank.
func poolGeom(c *Ctx, n *graph.Node) (graph.ConvGeom, graph.Shape, graph.Shape, error) {
	xs, ys := c.Shape(n.Inputs[0]), c.Shape(n.Outputs[0])
	if len(xs) < 3 {
		return graph.ConvGeom{}, nil, nil, fmt.Errorf("input %q has shape %v; want [N, C, spatial...]", n.Inputs[0], xs)
	}
	geo, err := graph.Geom(n, xs[2:], nil)
	return geo, xs, ys, err
}

// gradMaxPool routes each output gradient to the input element that won
// its window (the first maximum in scan order on ties, as ONNX Runtime and
// PyTorch pick it). Windows that tile the input take a compare-based path;
// any other geometry makes the forward node emit its Indices output (flat
// positions in the whole input) and scatter-adds dY there with
// ScatterElements, so overlapping windows that share a winner add up.
// ONNX Runtime computes MaxPool with Indices in a slower kernel than the
// plain op (5-10x measured), which is why tiles avoid it.
func gradMaxPool(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	geo, xs, ys, err := poolGeom(c, n)
	if err != nil {
		return nil, err
	}
	if dx, ok := c.maxPoolTileGrad(n.Inputs[0], n.Outputs[0], dy[0], geo); ok {
		return []string{dx}, nil
	}
	var idx string
	if len(n.Outputs) > 1 && n.Outputs[1] != "" {
		idx = n.Outputs[1]
		if n.Int("storage_order", 0) != 0 {
			return nil, fmt.Errorf("the Indices output is in column-major order (storage_order=1); the gradient needs row-major indices")
		}
	} else {
		// storage_order only affects the Indices output, which nobody else
		// reads because this rule is adding it.
		delete(n.Attrs, "storage_order")
		idx = g.Fresh(n.Outputs[0] + "_indices")
		g.SetNodeOutput(n, 1, idx, graph.Info{DType: graph.Int64, Shape: ys})
	}
	total := xs.Size()
	flat := graph.Shape{ys.Size()}
	scat := c.Op(graph.OpScatterElements, []string{
		c.Fill(graph.Shape{total}, 0),
		c.Reshape(idx, flat),
		c.Reshape(dy[0], flat),
	}, graph.Attrs{"axis": int64(0), "reduction": "add"})
	return []string{c.Reshape(scat, xs)}, nil
}

// avgPoolDivisors returns, per output position along one axis, the number
// ONNX Runtime divides that window's sum by: the window clipped to the
// padded input when padding counts, else clipped to the input itself.
func avgPoolDivisors(in, out, k, s, padBegin, padEnd int64, includePad bool) []int64 {
	d := make([]int64, out)
	for o := range out {
		start := o*s - padBegin
		end := min(start+k, in+padEnd)
		if !includePad {
			start, end = max(start, 0), min(end, in)
		}
		d[o] = max(end-start, 0)
	}
	return d
}

// gradAveragePool spreads each output gradient, divided by its window's
// element count, evenly over the window. Disjoint windows repeat it by
// nearest upsampling; any other geometry uses a transposed convolution of
// the scaled gradient with a constant kernel, each channel on its own (the
// channels are folded into the batch so the kernel stays [1, 1, k...]).
// The counts (which vary near the borders when padding is excluded or
// ceil_mode windows overhang) are computed here at build time.
func gradAveragePool(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	geo, xs, ys, err := poolGeom(c, n)
	if err != nil {
		return nil, err
	}
	if slices.ContainsFunc(geo.Dilations, func(v int64) bool { return v != 1 }) {
		return nil, fmt.Errorf("dilations %v are not supported (AveragePool has none before opset 19)", geo.Dilations)
	}
	k := len(geo.Kernel)
	includePad := n.Int("count_include_pad", 0) == 1
	// The divisor of each output position is a product of per-axis counts.
	div := []float64{1}
	for i := range k {
		d := avgPoolDivisors(xs[2+i], ys[2+i], geo.Kernel[i], geo.Strides[i], geo.Pads[i], geo.Pads[k+i], includePad)
		next := make([]float64, 0, len(div)*len(d))
		for _, a := range div {
			for _, b := range d {
				next = append(next, a*float64(b))
			}
		}
		div = next
	}
	kernelSize := graph.Shape(geo.Kernel).Size()
	uniform := !slices.ContainsFunc(div, func(v float64) bool { return v != div[0] })
	kernelValue := float32(1)
	d := dy[0]
	if uniform {
		if div[0] != 0 {
			kernelValue = float32(1 / div[0])
		}
	} else {
		inv := make([]float32, len(div))
		for i, v := range div {
			if v != 0 {
				inv[i] = float32(1 / v)
			}
		}
		d = c.Mul(d, g.Init("avgpool_inv_count", graph.Floats(ys[2:], inv)))
	}
	if dx, ok := c.tileGrad(d, geo, xs, ys, kernelValue); ok {
		return []string{dx}, nil
	}
	d = c.Reshape(d, append(graph.Shape{xs[0] * xs[1], 1}, ys[2:]...))
	kernel := make([]float32, kernelSize)
	for i := range kernel {
		kernel[i] = kernelValue
	}
	w := g.Init("avgpool_kernel", graph.Floats(append(graph.Shape{1, 1}, geo.Kernel...), kernel))
	dx, err := c.spread(d, w, geo, xs[2:])
	if err != nil {
		return nil, err
	}
	return []string{c.Reshape(dx, xs)}, nil
}

// tileGrad handles windows that tile the input (see poolTiles): the gradient
// is the scaled dY repeated over each window (nearest upsampling, about 3x
// faster than the transposed convolution in ONNX Runtime), and zeros for
// input rows past the last tile.
func (c *Ctx) tileGrad(d string, geo graph.ConvGeom, xs, ys graph.Shape, scale float32) (string, bool) {
	if !poolTiles(geo, xs, ys) {
		return "", false
	}
	covered := xs.Clone()
	for i := range geo.Kernel {
		covered[2+i] = ys[2+i] * geo.Kernel[i]
	}
	if scale != 1 {
		d = c.Mul(d, c.Scalar(scale))
	}
	return c.padTo(c.upsample(d, covered), xs), true
}

// spread is the adjoint of a strided window read: ConvTranspose of d
// ([B, 1, out...]) with kernel w, cropped (or extended by output_padding)
// so the result has the input's spatial shape.
func (c *Ctx) spread(d, w string, geo graph.ConvGeom, spatial graph.Shape) (string, error) {
	g := c.Graph
	k := len(geo.Kernel)
	ds := g.Shape(d)
	pads := make([]int64, 2*k)
	opad := make([]int64, k)
	for i := range k {
		full := geo.Strides[i]*(ds[2+i]-1) + geo.Kernel[i]
		pads[i] = geo.Pads[i]
		rem := full - geo.Pads[i] - spatial[i]
		switch {
		case rem >= 0:
			// Windows reaching past the input (end padding, ceil_mode) are
			// cropped off.
			pads[k+i] = rem
		case -rem < geo.Strides[i]:
			// Input rows after the last window, which floor mode leaves
			// unread (always fewer than the stride).
			opad[i] = -rem
		default:
			return "", fmt.Errorf("axis %d: %d input rows after the last window is not a valid pooling geometry", i, -rem)
		}
	}
	attrs := graph.Attrs{"kernel_shape": geo.Kernel, "strides": geo.Strides, "pads": pads}
	if slices.ContainsFunc(opad, func(v int64) bool { return v != 0 }) {
		attrs["output_padding"] = opad
	}
	dx := g.Op(graph.OpConvTranspose, []string{d, w}, attrs)
	if got := g.Shape(dx)[2:]; !slices.Equal(got, spatial) {
		return "", fmt.Errorf("spread gradient has spatial shape %v, want %v", got, spatial)
	}
	return dx, nil
}

// gradGlobalPool: the average spreads dY evenly; the max sends it to the
// elements equal to the maximum, shared equally on ties so the result is
// still a subgradient.
func gradGlobalPool(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x, y := n.Inputs[0], n.Outputs[0]
	xs := g.Shape(x)
	if len(xs) < 3 {
		return nil, fmt.Errorf("input %q has shape %v; want [N, C, spatial...]", x, xs)
	}
	count := graph.Shape(xs[2:]).Size()
	switch n.Op {
	case graph.OpGlobalAveragePool:
		return []string{c.ExpandTo(c.Mul(dy[0], c.Scalar(1/float32(count))), xs)}, nil
	case graph.OpGlobalMaxPool:
		var axes []int64
		for i := 2; i < len(xs); i++ {
			axes = append(axes, int64(i))
		}
		mask := c.Cast(g.Equal(x, y), graph.Float)
		ties := c.ReduceSum(mask, axes, true)
		return []string{c.Mul(mask, c.Div(dy[0], ties))}, nil
	}
	return nil, fmt.Errorf("%w for %s", ErrNoRule, n.Op)
}

// poolTiles reports whether pool windows cover the input in disjoint tiles
// (kernel = stride, no padding or dilation) that start at the origin.
func poolTiles(geo graph.ConvGeom, xs, ys graph.Shape) bool {
	k := len(geo.Kernel)
	for i := range k {
		if geo.Strides[i] != geo.Kernel[i] || geo.Pads[i] != 0 || geo.Pads[k+i] != 0 || geo.Dilations[i] != 1 || ys[2+i]*geo.Kernel[i] > xs[2+i] {
			return false
		}
	}
	return true
}

// maxPoolTileGrad is the max-pool gradient for disjoint windows, without
// indices: every input element is compared with its window's max (both
// brought to the input's size by nearest upsampling, which ONNX Runtime
// does at copy speed), matches are marked with a priority that falls in
// scan order, and a second max pool of the marks picks the first maximum
// of each window. Input rows past the last tile get zeros.
func (c *Ctx) maxPoolTileGrad(x, y, d string, geo graph.ConvGeom) (string, bool) {
	g := c.Graph
	xs, ys := g.Shape(x), g.Shape(y)
	if !poolTiles(geo, xs, ys) {
		return "", false
	}
	k := len(geo.Kernel)
	covered := xs.Clone()
	for i := range k {
		covered[2+i] = ys[2+i] * geo.Kernel[i]
	}
	xc := x
	if !slices.Equal(covered, xs) {
		xc = c.slicePrefix(x, covered)
	}
	if k == 2 && geo.Kernel[0] == geo.Kernel[1] {
		return c.padTo(c.squareTileGrad(xc, y, d, geo.Kernel[0]), xs), true
	}
	// Priority K - t for tap t (row-major within the window) at every
	// position of the covered spatial extent; it broadcasts over N and C.
	K := graph.Shape(geo.Kernel).Size()
	spatial := covered[2:]
	pri := make([]float32, spatial.Size())
	pos := make([]int64, k)
	for i := range pri {
		rem := int64(i)
		for a := k - 1; a >= 0; a-- {
			pos[a] = rem % spatial[a]
			rem /= spatial[a]
		}
		t := int64(0)
		for a := range k {
			t = t*geo.Kernel[a] + pos[a]%geo.Kernel[a]
		}
		pri[i] = float32(K - t)
	}
	p := g.Init("maxpool_priority", graph.Floats(spatial, pri))
	attrs := graph.Attrs{"kernel_shape": geo.Kernel, "strides": geo.Strides}
	marked := c.Keep(g.Equal(xc, c.upsample(y, covered)), p)
	best := g.Op(graph.OpMaxPool, []string{marked}, attrs)
	dx := c.Keep(g.Equal(marked, c.upsample(best, covered)), c.upsample(d, covered))
	return c.padTo(dx, xs), true
}

// squareTileGrad is maxPoolTileGrad for b x b tiles of a 2-D map, done in
// "depth" layout: SpaceToDepth puts the b*b taps of every window on their
// own channel of an [N*C, b*b, h, w] tensor, where the window's max and
// gradient broadcast without upsampling, and a stride-b ConvTranspose with
// one-hot kernels puts every tap back in place. ONNX Runtime runs these
// ops about twice as fast as the three nearest-neighbour upsamplings of the
// general form (and its DepthToSpace is slower than that ConvTranspose).
// x is the covered input [N, C, h*b, w*b].
func (c *Ctx) squareTileGrad(x, y, d string, b int64) string {
	g := c.Graph
	xs, ys := g.Shape(x), g.Shape(y)
	nc, K := xs[0]*xs[1], b*b
	one := graph.Shape{nc, 1, ys[2], ys[3]}
	taps := g.Op(graph.OpSpaceToDepth, []string{c.Reshape(x, graph.Shape{nc, 1, xs[2], xs[3]})}, graph.Attrs{"blocksize": b}) // [NC, K, h, w]
	pri := make([]float32, K)
	hot := make([]float32, K*K)
	for t := range K {
		pri[t] = float32(K - t) // the first max in scan order wins, as in PyTorch
		hot[t*K+t] = 1
	}
	p := g.Init("maxpool_priority", graph.Floats(graph.Shape{1, K, 1, 1}, pri))
	marked := c.Keep(g.Equal(taps, c.Reshape(y, one)), p)
	best := g.ReduceMax(marked, []int64{1}, true)
	sel := c.Keep(g.Equal(marked, best), c.Reshape(d, one))
	w := g.Init("maxpool_scatter", graph.Floats(graph.Shape{K, 1, b, b}, hot))
	dx := g.Op(graph.OpConvTranspose, []string{sel, w}, graph.Attrs{"kernel_shape": []int64{b, b}, "strides": []int64{b, b}})
	return c.Reshape(dx, xs)
}

// upsample repeats each element of x over a block, growing it to shape (a
// whole multiple of x's shape on every axis).
func (c *Ctx) upsample(x string, shape graph.Shape) string {
	if slices.Equal(c.Shape(x), shape) {
		return x
	}
	// With half_pixel, output o = m*k + r maps to m + (r+0.5)/k - 0.5, at
	// least 0.5/k away from a rounding boundary, so float error in the
	// coordinate cannot pick a neighbouring element.
	return c.Op(graph.OpResize, []string{x, "", "", c.Const1D(shape...)}, graph.Attrs{
		"mode": "nearest", "coordinate_transformation_mode": "half_pixel", "nearest_mode": "round_prefer_floor",
	})
}

// padTo zero-pads the end of x up to shape.
func (c *Ctx) padTo(x string, shape graph.Shape) string {
	xs := c.Shape(x)
	if slices.Equal(xs, shape) {
		return x
	}
	pads := make([]int64, 2*len(xs))
	for i := range xs {
		pads[len(xs)+i] = shape[i] - xs[i]
	}
	return c.Op(graph.OpPad, []string{x, c.Const1D(pads...)}, graph.Attrs{"mode": "constant"})
}

// slicePrefix keeps the leading part of x of the given shape.
func (c *Ctx) slicePrefix(x string, shape graph.Shape) string {
	r := len(shape)
	axes := make([]int64, r)
	for i := range axes {
		axes[i] = int64(i)
	}
	return c.Slice(x, make([]int64, r), shape, axes, nil)
}
