package autodiff

import (
	"fmt"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradAddSub, graph.OpAdd, graph.OpSub)
	register(gradMul, graph.OpMul)
	register(gradDiv, graph.OpDiv)
	register(gradPow, graph.OpPow)
	register(gradSum, graph.OpSum)
	register(gradMaxMin, graph.OpMax, graph.OpMin)
	register(gradWhere, graph.OpWhere)
	register(gradUnary, graph.OpNeg, graph.OpRelu, graph.OpLeakyRelu, graph.OpSigmoid, graph.OpTanh, graph.OpExp, graph.OpLog,
		graph.OpSqrt, graph.OpAbs, graph.OpClip, graph.OpIdentity, graph.OpReciprocal, graph.OpSoftplus, graph.OpElu)
	register(gradPassThrough, graph.OpDropout)
	register(gradCast, graph.OpCast)
}

func gradAddSub(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	out := make([]string, 2)
	if c.Needs(n.Inputs[0]) {
		out[0] = c.Unbroadcast(dy[0], g.Shape(n.Inputs[0]))
	}
	if c.Needs(n.Inputs[1]) {
		d := dy[0]
		if n.Op == graph.OpSub {
			d = c.Neg(d)
		}
		out[1] = c.Unbroadcast(d, g.Shape(n.Inputs[1]))
	}
	return out, nil
}

func gradMul(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	a, b := n.Inputs[0], n.Inputs[1]
	out := make([]string, 2)
	if c.Needs(a) {
		out[0] = c.Unbroadcast(c.Mul(dy[0], b), c.Shape(a))
	}
	if c.Needs(b) {
		out[1] = c.Unbroadcast(c.Mul(dy[0], a), c.Shape(b))
	}
	return out, nil
}

func gradDiv(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	a, b := n.Inputs[0], n.Inputs[1]
	out := make([]string, 2)
	if c.Needs(a) {
		out[0] = c.Unbroadcast(c.Div(dy[0], b), c.Shape(a))
	}
	if c.Needs(b) {
		// d(a/b)/db = -y/b
		out[1] = c.Unbroadcast(c.Neg(c.Mul(dy[0], c.Div(n.Outputs[0], b))), c.Shape(b))
	}
	return out, nil
}

func gradPow(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	x, p, y := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	if c.DType(p) != graph.Float {
		p = c.Cast(p, graph.Float)
	}
	out := make([]string, 2)
	if c.Needs(x) {
		// p * x^(p-1), written with Pow again so x = 0 with p >= 1 stays finite.
		d := c.Mul(p, c.Pow(x, c.Sub(p, c.Scalar(1))))
		out[0] = c.Unbroadcast(c.Mul(dy[0], d), c.Shape(x))
	}
	if c.Needs(n.Inputs[1]) {
		d := c.Mul(y, c.Log(x))
		out[1] = c.Unbroadcast(c.Mul(dy[0], d), c.Shape(n.Inputs[1]))
	}
	return out, nil
}

func gradSum(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	out := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		if c.Needs(in) {
			out[i] = c.Unbroadcast(dy[0], c.Shape(in))
		}
	}
	return out, nil
}

// gradMaxMin sends the gradient to the inputs equal to the result (all of
// them on ties, as a subgradient).
func gradMaxMin(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	y := n.Outputs[0]
	out := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		if !c.Needs(in) {
			continue
		}
		mask := c.Cast(c.Equal(in, y), graph.Float)
		out[i] = c.Unbroadcast(c.Mul(dy[0], mask), c.Shape(in))
	}
	return out, nil
}

func gradWhere(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	cond, a, b := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	zero := c.Scalar(0)
	out := make([]string, 3)
	if c.Needs(a) {
		out[1] = c.Unbroadcast(c.Where(cond, dy[0], zero), c.Shape(a))
	}
	if c.Needs(b) {
		out[2] = c.Unbroadcast(c.Where(cond, zero, dy[0]), c.Shape(b))
	}
	return out, nil
}

func gradPassThrough(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	if n.In(1) != "" {
		return nil, fmt.Errorf("Dropout with a ratio input is only supported in inference form")
	}
	return []string{dy[0]}, nil
}

func gradCast(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	if c.DType(n.Inputs[0]) != graph.Float || c.DType(n.Outputs[0]) != graph.Float {
		return []string{""}, nil
	}
	return []string{dy[0]}, nil
}

func gradUnary(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	x, y, d := n.Inputs[0], n.Outputs[0], dy[0]
	g := c.Graph
	var dx string
	switch n.Op {
	case graph.OpIdentity:
		dx = d
	case graph.OpNeg:
		dx = c.Neg(d)
	case graph.OpRelu:
		dx = c.Keep(g.Greater(x, c.Scalar(0)), d)
	case graph.OpLeakyRelu:
		alpha := n.Float("alpha", 0.01)
		dx = c.Where(g.Greater(x, c.Scalar(0)), d, c.Mul(d, c.Scalar(alpha)))
	case graph.OpElu:
		alpha := n.Float("alpha", 1)
		// For x <= 0, y = alpha(e^x - 1), so dy/dx = y + alpha.
		dx = c.Where(g.Greater(x, c.Scalar(0)), d, c.Mul(d, c.Add(y, c.Scalar(alpha))))
	case graph.OpSigmoid:
		dx = c.Mul(d, c.Mul(y, c.Sub(c.Scalar(1), y)))
	case graph.OpTanh:
		dx = c.Mul(d, c.Sub(c.Scalar(1), c.Mul(y, y)))
	case graph.OpExp:
		dx = c.Mul(d, y)
	case graph.OpLog:
		dx = c.Div(d, x)
	case graph.OpSqrt:
		dx = c.Div(c.Mul(d, c.Scalar(0.5)), y)
	case graph.OpReciprocal:
		dx = c.Neg(c.Mul(d, c.Mul(y, y)))
	case graph.OpSoftplus:
		dx = c.Mul(d, g.Sigmoid(x))
	case graph.OpAbs:
		dx = c.Mul(d, g.Sign(x))
	case graph.OpClip:
		// Gradient passes where the input was inside [min, max].
		inside := ""
		if lo := n.In(1); lo != "" {
			inside = g.Op(graph.OpGreaterOrEqual, []string{x, lo}, nil)
		}
		if hi := n.In(2); hi != "" {
			le := g.Op(graph.OpLessOrEqual, []string{x, hi}, nil)
			if inside == "" {
				inside = le
			} else {
				inside = g.Op(graph.OpAnd, []string{inside, le}, nil)
			}
		}
		if inside == "" {
			dx = d
		} else {
			dx = c.Keep(inside, d)
		}
	default:
		return nil, fmt.Errorf("%w for %s", ErrNoRule, n.Op)
	}
	out := make([]string, len(n.Inputs))
	out[0] = dx
	return out, nil
}
