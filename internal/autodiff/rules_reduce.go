package autodiff

import (
	"fmt"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradReshape, graph.OpReshape, graph.OpFlatten, graph.OpSqueeze, graph.OpUnsqueeze)
	register(gradReduce, graph.OpReduceSum, graph.OpReduceMean, graph.OpReduceMax, graph.OpReduceMin, graph.OpReduceSumSquare)
}

// gradReshape undoes any pure re-shaping op: the data order is unchanged.
func gradReshape(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	out := make([]string, len(n.Inputs))
	out[0] = c.Reshape(dy[0], c.Shape(n.Inputs[0]))
	return out, nil
}

// gradReduce broadcasts the output gradient back over the reduced axes.
func gradReduce(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x := n.Inputs[0]
	xs := g.Shape(x)
	axes, err := g.ReduceAxes(n, len(xs))
	if err != nil {
		return nil, err
	}
	kept := xs.Clone()
	count := int64(1)
	for _, a := range axes {
		kept[a] = 1
		count *= xs[a]
	}
	d := c.Reshape(dy[0], kept)
	var dx string
	switch n.Op {
	case graph.OpReduceSum:
		dx = c.ExpandTo(d, xs)
	case graph.OpReduceMean:
		dx = c.ExpandTo(c.Mul(d, c.Scalar(1/float32(count))), xs)
	case graph.OpReduceSumSquare:
		dx = c.Mul(c.ExpandTo(d, xs), c.Mul(x, c.Scalar(2)))
	case graph.OpReduceMax, graph.OpReduceMin:
		// Ties share the gradient equally, so it stays a true subgradient.
		y := c.Reshape(n.Outputs[0], kept)
		mask := c.Cast(g.Equal(x, y), graph.Float)
		ties := c.ReduceSum(mask, intsOf(axes), true)
		dx = c.Mul(mask, c.Div(d, ties))
	default:
		return nil, fmt.Errorf("%w for %s", ErrNoRule, n.Op)
	}
	out := make([]string, len(n.Inputs))
	out[0] = dx
	return out, nil
}

func intsOf(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}
