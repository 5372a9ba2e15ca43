package autodiff

import (
	"fmt"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradSoftmax, graph.OpSoftmax, graph.OpLogSoftmax)
}

// gradSoftmax differentiates Softmax and LogSoftmax over one axis (the
// opset-13 semantics) from their outputs, so no exponential of the input
// is recomputed:
//
//	Softmax:    dX = Y (dY - sum(dY Y))
//	LogSoftmax: dX = dY - exp(Y) sum(dY)
func gradSoftmax(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	if g.Opset < 13 {
		// Before opset 13 the op flattened every axis from 'axis' on.
		return nil, fmt.Errorf("%s at opset %d has the pre-13 flattening semantics; only opset 13+ (one axis) is supported", n.Op, g.Opset)
	}
	x, y, d := n.Inputs[0], n.Outputs[0], dy[0]
	r := g.Rank(x)
	ax := n.Int("axis", -1)
	if ax < 0 {
		ax += int64(r)
	}
	if ax < 0 || ax >= int64(r) {
		return nil, fmt.Errorf("axis %d out of range for rank %d", n.Int("axis", -1), r)
	}
	axes := []int64{ax}
	var dx string
	switch n.Op {
	case graph.OpSoftmax:
		s := c.ReduceSum(c.Mul(d, y), axes, true)
		dx = c.Mul(y, c.Sub(d, s))
	case graph.OpLogSoftmax:
		s := c.ReduceSum(d, axes, true)
		dx = c.Sub(d, c.Mul(g.Exp(y), s))
	default:
		return nil, fmt.Errorf("%w for %s", ErrNoRule, n.Op)
	}
	return []string{dx}, nil
}
