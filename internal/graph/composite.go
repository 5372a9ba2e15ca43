package graph

import (
	"fmt"
	"slices"
)

// Composite ops live in fmam's own domain. They exist only while a graph
// is built and differentiated: a composite has a closed-form gradient that
// is much smaller than the gradient of its expansion, and it is lowered to
// standard ONNX ops whenever the graph is written (Model, Bytes, Save).
const Domain = "fmam"

// BatchNormTrain is training-mode batch normalisation over all axes but 1:
// inputs (x, scale [C], bias [C]), outputs (y, mean, invstd, xc) with mean
// and invstd shaped [1, C, 1, ...] (the batch statistics, for the running
// averages and for the gradient) and xc = x - mean, which the gradient
// reuses instead of recomputing. Attribute: epsilon.
const BatchNormTrain OpType = "BatchNormTrain"

func inferComposite(g *Graph, n *Node) ([]Info, error) {
	switch n.Op {
	case BatchNormTrain:
		x, err := g.in(n, 0)
		if err != nil {
			return nil, err
		}
		if len(x.Shape) < 2 {
			return nil, fmt.Errorf("%s needs rank >= 2, got %v", n.Op, x.Shape)
		}
		if len(n.Outputs) != 4 {
			return nil, fmt.Errorf("%s has 4 outputs (y, mean, invstd, xc), got %d", n.Op, len(n.Outputs))
		}
		stat := StatShape(x.Shape)
		return []Info{{x.DType, slices.Clone(x.Shape)}, {x.DType, stat}, {x.DType, slices.Clone(stat)}, {x.DType, slices.Clone(x.Shape)}}, nil
	}
	return nil, fmt.Errorf("%w: %s.%s", ErrUnsupported, Domain, n.Op)
}

// StatShape is [1, C, 1, ...]: per-channel statistics that broadcast.
func StatShape(x Shape) Shape {
	s := make(Shape, len(x))
	for i := range s {
		s[i] = 1
	}
	s[1] = x[1]
	return s
}

// StatAxes are the axes batch statistics reduce: all but the channel axis.
func StatAxes(rank int) []int64 {
	axes := []int64{0}
	for i := 2; i < rank; i++ {
		axes = append(axes, int64(i))
	}
	return axes
}

func hasComposite(g *Graph) bool {
	for _, n := range g.Nodes {
		if n.Domain == Domain {
			return true
		}
	}
	return false
}

// lowered returns g with every composite node replaced by standard ops
// computing the same outputs (g itself when it has none).
func (g *Graph) lowered() (*Graph, error) {
	if !hasComposite(g) {
		return g, nil
	}
	src := g.Clone()
	out := src.Clone()
	out.Nodes = nil
	for _, n := range src.Nodes {
		if n.Domain != Domain {
			out.Nodes = append(out.Nodes, n)
			continue
		}
		for _, o := range n.Outputs {
			delete(out.producer, o)
		}
		switch n.Op {
		case BatchNormTrain:
			lowerBatchNormTrain(out, n)
		default:
			return nil, fmt.Errorf("graph %s: cannot lower %s.%s", g.Name, Domain, n.Op)
		}
	}
	return out, out.Err()
}

// lowerBatchNormTrain computes the batch statistics with reductions and
// writes y with ONNX's inference BatchNormalization on them, under the
// composite's output names. Four ops touch the whole tensor (mean,
// centring, square, sum); the fifth, the normalisation itself, is one
// fused pass. ReduceSumSquare would save the square, but ONNX Runtime's
// CPU kernel for it is slower than Mul and ReduceSum together (110 µs
// against 61 µs on 4x16x64x64).
func lowerBatchNormTrain(g *Graph, n *Node) {
	x, scale, bias := n.Inputs[0], n.Inputs[1], n.Inputs[2]
	y, mean, invstd, xc := n.Outputs[0], n.Outputs[1], n.Outputs[2], n.Outputs[3]
	xs := g.Shape(x)
	axes := StatAxes(len(xs))
	ch := Shape{xs[1]}
	cnt := xs.Size() / xs[1]
	eps := n.Float("epsilon", 1e-5)
	add := func(op OpType, ins []string, attrs Attrs, out string) {
		g.AddNode(&Node{Op: op, Name: out, Inputs: ins, Outputs: []string{out}, Attrs: attrs})
	}
	tmp := func(base string) string { return g.Fresh(y + "." + base) }
	add(OpReduceMean, []string{x}, Attrs{"axes": axes, "keepdims": int64(1)}, mean)
	add(OpSub, []string{x, mean}, nil, xc)
	sq := tmp("sq")
	add(OpMul, []string{xc, xc}, nil, sq)
	ss := tmp("sumsq")
	add(OpReduceSum, []string{sq, g.Const1D(axes...)}, Attrs{"keepdims": int64(1)}, ss)
	v := tmp("var")
	add(OpMul, []string{ss, g.Scalar(1 / float32(cnt))}, nil, v)
	ve := tmp("vareps")
	add(OpAdd, []string{v, g.Scalar(eps)}, nil, ve)
	sd := tmp("std")
	add(OpSqrt, []string{ve}, nil, sd)
	add(OpReciprocal, []string{sd}, nil, invstd)
	// y = xc / sqrt(var + eps) * scale + bias: inference BatchNorm of xc
	// with mean 0 and the batch variance.
	vc := tmp("varc")
	add(OpReshape, []string{v, g.Const1D(ch...)}, nil, vc)
	zero := tmp("zero")
	add(OpExpand, []string{g.Scalar(0), g.Const1D(ch...)}, nil, zero)
	g.AddNode(&Node{Op: OpBatchNormalization, Name: y, Inputs: []string{xc, scale, bias, zero, vc}, Outputs: []string{y}, Attrs: Attrs{"epsilon": eps}})
}

// Composite appends a node of fmam's own domain and returns its outputs.
func (g *Graph) Composite(op OpType, inputs []string, n int, attrs Attrs) []string {
	outs := make([]string, n)
	for i := range outs {
		outs[i] = g.Fresh(lowerOp(op))
	}
	g.AddNode(&Node{Op: op, Domain: Domain, Name: outs[0], Inputs: inputs, Outputs: outs, Attrs: attrs})
	return outs
}
