package autodiff_test

import (
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
)

func TestSoftmaxGradients(t *testing.T) {
	s := graph.Shape{2, 3, 4}
	cases := []struct {
		name  string
		shape graph.Shape
		attrs graph.Attrs
	}{
		{"DefaultAxis", s, nil},
		{"Axis0", s, graph.Attrs{"axis": int64(0)}},
		{"Axis1", s, graph.Attrs{"axis": int64(1)}},
		{"NegativeAxis", s, graph.Attrs{"axis": int64(-2)}},
		{"Vector", graph.Shape{5}, nil},
		{"SingletonAxis", graph.Shape{3, 1}, graph.Attrs{"axis": int64(1)}},
	}
	for _, o := range []graph.OpType{graph.OpSoftmax, graph.OpLogSoftmax} {
		for _, tc := range cases {
			gc := gradcheck.GradCase{
				Name: string(o) + tc.name,
				// Wide logits so the probabilities are far from uniform.
				Inputs: []gradcheck.In{{Name: "x", Shape: tc.shape, Lo: -3, Hi: 3}},
				Build:  op(o, tc.attrs),
			}
			t.Run(gc.Name, func(t *testing.T) { gradcheck.Check(t, gc) })
		}
	}
	// Softmax feeding a loss that uses it twice, to check accumulated dY.
	gradcheck.Check(t, gradcheck.GradCase{
		Name:   "SoftmaxSquared",
		Inputs: []gradcheck.In{{Name: "x", Shape: s, Lo: -2, Hi: 2}},
		Build: func(g *graph.Graph, in []string) string {
			p := g.Op(graph.OpSoftmax, in, graph.Attrs{"axis": int64(1)})
			return g.Op(graph.OpMul, []string{p, p}, nil)
		},
	})
}

func TestSoftmaxOldOpsetRejected(t *testing.T) {
	g := graph.New("t")
	g.Opset = 11
	x := g.Input("x", graph.Float, graph.Shape{2, 3})
	y := g.Op(graph.OpSoftmax, []string{x}, nil)
	loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{y}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
	_, err := autodiff.Backward(g, loss, []string{x})
	if err == nil || !strings.Contains(err.Error(), "opset 11") {
		t.Fatalf("want an error naming opset 11, got %v", err)
	}
}
