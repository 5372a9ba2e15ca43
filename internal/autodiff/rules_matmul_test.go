package autodiff_test

import (
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
)

func TestMatMulGradients(t *testing.T) {
	in := func(name string, s ...int64) gradcheck.In { return gradcheck.In{Name: name, Shape: graph.Shape(s)} }
	cases := []gradcheck.GradCase{
		{Name: "2Dx2D", Inputs: []gradcheck.In{in("a", 3, 4), in("b", 4, 5)}},
		{Name: "Batched3D", Inputs: []gradcheck.In{in("a", 2, 3, 4), in("b", 2, 4, 5)}},
		// A linear layer on a sequence: B is shared by the batch.
		{Name: "3Dx2D", Inputs: []gradcheck.In{in("a", 2, 3, 4), in("b", 4, 5)}},
		// The weight on the left: A is shared by the batch. Wide columns
		// take the batched product, narrow ones the transposed contraction.
		{Name: "2Dx4D", Inputs: []gradcheck.In{in("a", 3, 4), in("b", 2, 2, 4, 5)}},
		{Name: "2Dx3DNarrow", Inputs: []gradcheck.In{in("a", 4, 5), in("b", 3, 5, 2)}},
		{Name: "2Dx4DColumns", Inputs: []gradcheck.In{in("a", 4, 5), in("b", 2, 3, 5, 1)}},
		{Name: "BatchOfOnex3D", Inputs: []gradcheck.In{in("a", 1, 3, 4), in("b", 2, 4, 5)}},
		{Name: "BroadcastBothBatches", Inputs: []gradcheck.In{in("a", 2, 1, 3, 4), in("b", 1, 3, 4, 5)}},
		{Name: "BroadcastRankDiffers", Inputs: []gradcheck.In{in("a", 2, 3, 3, 4), in("b", 3, 4, 5)}},
		{Name: "1Dx2D", Inputs: []gradcheck.In{in("a", 4), in("b", 4, 5)}},
		{Name: "2Dx1D", Inputs: []gradcheck.In{in("a", 3, 4), in("b", 4)}},
		{Name: "1Dx1D", Inputs: []gradcheck.In{in("a", 4), in("b", 4)}},
		{Name: "1Dx3D", Inputs: []gradcheck.In{in("a", 4), in("b", 2, 4, 5)}},
		{Name: "3Dx1D", Inputs: []gradcheck.In{in("a", 2, 3, 4), in("b", 4)}},
		{Name: "OnlyB", Inputs: []gradcheck.In{{Name: "a", Shape: graph.Shape{2, 3, 4}, NoGrad: true}, in("b", 4, 5)}},
		{Name: "OnlyA", Inputs: []gradcheck.In{in("a", 3, 4), {Name: "b", Shape: graph.Shape{2, 4, 5}, NoGrad: true}}},
	}
	for _, tc := range cases {
		tc.Build = op(graph.OpMatMul, nil)
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}

func TestGemmGradients(t *testing.T) {
	in := func(name string, s ...int64) gradcheck.In { return gradcheck.In{Name: name, Shape: graph.Shape(s)} }
	cases := []struct {
		name   string
		inputs []gradcheck.In
		attrs  graph.Attrs
	}{
		{"NoC", []gradcheck.In{in("a", 3, 4), in("b", 4, 5)}, nil},
		{"BiasVector", []gradcheck.In{in("a", 3, 4), in("b", 4, 5), in("c", 5)}, nil},
		{"TransB", []gradcheck.In{in("a", 3, 4), in("b", 5, 4), in("c", 1, 5)}, graph.Attrs{"transB": int64(1)}},
		{"TransA", []gradcheck.In{in("a", 4, 3), in("b", 4, 5), in("c", 3, 1)}, graph.Attrs{"transA": int64(1)}},
		{"TransBoth", []gradcheck.In{in("a", 4, 3), in("b", 5, 4), in("c", 3, 5)}, graph.Attrs{"transA": int64(1), "transB": int64(1)}},
		{"AlphaBeta", []gradcheck.In{in("a", 3, 4), in("b", 5, 4), in("c", 3, 5)}, graph.Attrs{"transB": int64(1), "alpha": float32(0.5), "beta": float32(-2)}},
		{"AlphaTransA", []gradcheck.In{in("a", 4, 3), in("b", 4, 5), in("c", 1)}, graph.Attrs{"transA": int64(1), "alpha": float32(3)}},
		{"FixedC", []gradcheck.In{in("a", 3, 4), in("b", 4, 5), {Name: "c", Shape: graph.Shape{5}, NoGrad: true}}, graph.Attrs{"beta": float32(2)}},
	}
	for _, tc := range cases {
		gc := gradcheck.GradCase{Name: "Gemm" + tc.name, Inputs: tc.inputs, Build: op(graph.OpGemm, tc.attrs)}
		t.Run(tc.name, func(t *testing.T) { gradcheck.Check(t, gc) })
	}
}

func BenchmarkMatMul(b *testing.B) {
	cases := []struct {
		name string
		a, w graph.Shape
	}{
		// A linear layer on a token sequence (weight shared on the right).
		{"Linear", graph.Shape{8, 1024, 256}, graph.Shape{256, 256}},
		// A shared left factor against narrow and wide columns.
		{"SharedLeftNarrow", graph.Shape{256, 256}, graph.Shape{64, 256, 1}},
		{"SharedLeftWide", graph.Shape{64, 64}, graph.Shape{8, 64, 4096}},
	}
	for _, tc := range cases {
		shapes := []graph.Shape{tc.a, tc.w}
		b.Run(tc.name+"/Forward", func(b *testing.B) { benchStep(b, shapes, op(graph.OpMatMul, nil), false) })
		b.Run(tc.name+"/ForwardBackward", func(b *testing.B) { benchStep(b, shapes, op(graph.OpMatMul, nil), true) })
	}
}
