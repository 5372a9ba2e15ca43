package autodiff

import (
	"fmt"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradBatchNormTrain, graph.BatchNormTrain)
}

// gradBatchNormTrain is the closed-form gradient of training-mode batch
// normalisation. With xc = x - mean, xhat = xc * invstd, M the number of
// values per channel and sums over the statistics axes:
//
//	dbias = sum(dy),  s = sum(dy * xc),  dscale = invstd * s
//	dx = a*dy - a*dbias/M - xc * (a * invstd^2 * s / M),  a = invstd * scale
//
// which is the textbook invstd*scale*(dy - mean(dy) - xhat*mean(dy*xhat))
// rearranged so that only seven ops touch the whole tensor: the reductions
// are shared between the parameter gradients and dx, and every other
// factor is a per-channel vector.
func gradBatchNormTrain(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	if dy[1] != "" || dy[2] != "" || (len(dy) > 3 && dy[3] != "") {
		return nil, fmt.Errorf("the loss depends on the batch statistics of %s; only y can carry a gradient", n.Describe())
	}
	g := c.Graph
	x, scale, bias := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	invstd, xc := n.Outputs[2], n.Outputs[3]
	xs := g.Shape(x)
	axes := graph.StatAxes(len(xs))
	stat := graph.StatShape(xs)
	ch := graph.Shape{xs[1]}
	cnt := float32(xs.Size() / xs[1])
	d := dy[0]
	needX, needS, needB := c.Needs(x), c.Needs(scale), c.Needs(bias)
	out := make([]string, 3)
	var db, s string // keepdims, [1, C, 1, ...]
	if needB || needX {
		db = c.ReduceSum(d, axes, true)
	}
	if needS || needX {
		s = c.ReduceSum(c.Mul(d, xc), axes, true)
	}
	if needB {
		out[2] = c.Reshape(db, ch)
	}
	if needS {
		out[1] = c.Reshape(c.Mul(s, invstd), ch)
	}
	if needX {
		a := c.Mul(invstd, c.Reshape(scale, stat))
		c1 := c.Mul(c.Mul(a, c.Mul(invstd, invstd)), c.Mul(s, c.Scalar(-1/cnt)))
		c0 := c.Mul(a, c.Mul(db, c.Scalar(-1/cnt)))
		out[0] = c.Add(c.Add(c.Mul(d, a), c.Mul(xc, c1)), c0)
	}
	return out, nil
}
