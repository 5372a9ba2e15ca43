package autodiff

import (
	"fmt"
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradBatchNorm, graph.OpBatchNormalization)
	register(gradInstanceNorm, graph.OpInstanceNormalization)
}

// channelShape is the shape a per-channel [C] vector takes to broadcast
// against an [N, C, spatial...] tensor of rank r.
func channelShape(ch int64, r int) graph.Shape {
	s := graph.Shape{ch}
	for i := 2; i < r; i++ {
		s = append(s, 1)
	}
	return s
}

// gradBatchNorm differentiates BatchNormalization in inference form,
// Y = (X - mean) / sqrt(var + eps) * scale + B with the running statistics
// as constants. Training-mode batch norm must be written with primitive
// ops (ReduceMean, Sub, ...) so its gradient follows from theirs: release
// builds of ONNX Runtime give neither saved statistics nor a gradient op.
func gradBatchNorm(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	if n.Int("training_mode", 0) != 0 {
		return nil, fmt.Errorf("training_mode=1 is not differentiable here; build training batch norm from ReduceMean/Sub/Mul/Sqrt/Div instead")
	}
	if slices.ContainsFunc(n.Outputs[1:], func(o string) bool { return o != "" }) {
		return nil, fmt.Errorf("running-statistics outputs exist only in training mode; inference-form batch norm has one output")
	}
	if n.Int("spatial", 1) != 1 {
		return nil, fmt.Errorf("spatial=0 (pre-opset-9 per-activation batch norm) is not supported")
	}
	if len(n.Inputs) < 5 {
		return nil, fmt.Errorf("has %d inputs, want 5 (X, scale, B, mean, var)", len(n.Inputs))
	}
	x, scale, bias, mean, vr := n.Inputs[0], n.Inputs[1], n.Inputs[2], n.Inputs[3], n.Inputs[4]
	for _, s := range []string{mean, vr} {
		if c.Needs(s) {
			return nil, fmt.Errorf("running statistic %q depends on a trainable tensor; in inference form mean and var are constants and get no gradient", s)
		}
	}
	xs := g.Shape(x)
	if len(xs) < 2 {
		return nil, fmt.Errorf("input %q has shape %v; want [N, C, ...]", x, xs)
	}
	r := len(xs)
	cs := channelShape(xs[1], r)
	eps := n.Float("epsilon", 1e-5)
	inv := c.Reshape(g.Reciprocal(g.Sqrt(c.Add(vr, c.Scalar(eps)))), cs)
	d := dy[0]
	sumAxes := []int64{0}
	for i := 2; i < r; i++ {
		sumAxes = append(sumAxes, int64(i))
	}
	out := make([]string, len(n.Inputs))
	if c.Needs(x) {
		out[0] = c.Mul(d, c.Mul(c.Reshape(scale, cs), inv))
	}
	if c.Needs(scale) {
		xhat := c.Mul(c.Sub(x, c.Reshape(mean, cs)), inv)
		out[1] = c.ReduceSum(c.Mul(d, xhat), sumAxes, false)
	}
	if c.Needs(bias) {
		out[2] = c.ReduceSum(d, sumAxes, false)
	}
	return out, nil
}

// gradInstanceNorm differentiates InstanceNormalization, which normalizes
// each (sample, channel) over its spatial axes with the biased variance:
//
//	dX = scale/sigma (dY - mean(dY) - xhat mean(dY xhat))
//
// with means over the spatial axes. The statistics are recomputed here
// because the forward op does not expose them.
func gradInstanceNorm(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x, scale, bias := n.Inputs[0], n.In(1), n.In(2)
	xs := g.Shape(x)
	r := len(xs)
	if r < 3 {
		return nil, fmt.Errorf("input %q has shape %v; want [N, C, spatial...] with at least one spatial axis", x, xs)
	}
	cs := channelShape(xs[1], r)
	var spatial []int64
	count := int64(1)
	for i := 2; i < r; i++ {
		spatial = append(spatial, int64(i))
		count *= xs[i]
	}
	// ReduceSum (axes as an input since opset 13) scaled, rather than
	// ReduceMean, whose axes moved from attribute to input at opset 18.
	mean := func(v string) string {
		return c.Mul(c.ReduceSum(v, spatial, true), c.Scalar(1/float32(count)))
	}
	d := dy[0]
	// Sum over the batch of spatial means, times the spatial count, is the
	// sum over batch and space.
	perChannel := func(m string) string {
		s := c.ReduceSum(m, []int64{0}, false)
		return c.Reshape(c.Mul(s, c.Scalar(float32(count))), graph.Shape{xs[1]})
	}
	out := make([]string, len(n.Inputs))
	var md string
	if c.Needs(x) || c.Needs(bias) {
		md = mean(d)
	}
	if c.Needs(x) || c.Needs(scale) {
		eps := n.Float("epsilon", 1e-5)
		xc := c.Sub(x, mean(x))
		inv := g.Reciprocal(g.Sqrt(c.Add(mean(c.Mul(xc, xc)), c.Scalar(eps))))
		xhat := c.Mul(xc, inv)
		mdxh := mean(c.Mul(d, xhat)) // [N, C, 1...]
		if c.Needs(x) {
			k := c.Mul(c.Reshape(scale, cs), inv)
			out[0] = c.Mul(k, c.Sub(c.Sub(d, md), c.Mul(xhat, mdxh)))
		}
		if c.Needs(scale) {
			out[1] = perChannel(mdxh)
		}
	}
	if c.Needs(bias) {
		out[2] = perChannel(md)
	}
	return out, nil
}
