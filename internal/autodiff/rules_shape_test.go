package autodiff_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

// spaced returns 0.1*k for k in 0..size-1 in a seeded random order: every
// pair differs by far more than a finite-difference step moves them, so no
// max or min changes its winner during a check.
func spaced(shape graph.Shape, seed uint64) []float32 {
	n := int(shape.Size())
	rng := rand.New(rand.NewPCG(seed, 11))
	out := make([]float32, n)
	for i, p := range rng.Perm(n) {
		out[i] = 0.1*float32(p) - 0.05*float32(n)
	}
	return out
}

func input(name string, shape ...int64) gradcheck.In {
	return gradcheck.In{Name: name, Shape: graph.Shape(shape)}
}

func i64s(v ...int64) *graph.Value { return graph.Ints(v...) }

// opWith builds op(inputs..., consts...) with the int64 constants
// appended as inputs ("" where v is nil, for omitted optional inputs).
func opWith(opName graph.OpType, attrs graph.Attrs, consts ...*graph.Value) func(g *graph.Graph, in []string) string {
	return func(g *graph.Graph, in []string) string {
		ins := append([]string(nil), in...)
		for _, v := range consts {
			if v == nil {
				ins = append(ins, "")
				continue
			}
			ins = append(ins, g.Init("k", v))
		}
		return g.Op(opName, ins, attrs)
	}
}

func checkAll(t *testing.T, cases []gradcheck.GradCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}

func TestConcatSplitGradients(t *testing.T) {
	checkAll(t, []gradcheck.GradCase{
		{Name: "ConcatAxis1", Inputs: []gradcheck.In{input("a", 2, 1, 3), input("b", 2, 4, 3), input("c", 2, 2, 3)}, Build: op(graph.OpConcat, graph.Attrs{"axis": int64(1)})},
		{Name: "ConcatNegAxis", Inputs: []gradcheck.In{input("a", 2, 3), input("b", 2, 2)}, Build: op(graph.OpConcat, graph.Attrs{"axis": int64(-1)})},
		{Name: "ConcatOneTrainable", Inputs: []gradcheck.In{input("a", 2, 3), {Name: "b", Shape: graph.Shape{4, 3}, NoGrad: true}}, Build: op(graph.OpConcat, graph.Attrs{"axis": int64(0)})},
		{Name: "ConcatSameTensorTwice", Inputs: []gradcheck.In{input("a", 2, 3)}, Build: func(g *graph.Graph, in []string) string {
			return g.Op(graph.OpConcat, []string{in[0], g.Op(graph.OpMul, []string{in[0], in[0]}, nil), in[0]}, graph.Attrs{"axis": int64(1)})
		}},
		{Name: "SplitEven", Inputs: []gradcheck.In{input("x", 2, 6)}, Build: func(g *graph.Graph, in []string) string {
			p := g.OpN(graph.OpSplit, in, 3, graph.Attrs{"axis": int64(1)})
			// The middle part is unused: its gradient must be zeros.
			return g.Op(graph.OpConcat, []string{g.Op(graph.OpMul, []string{p[2], p[0]}, nil), p[0]}, graph.Attrs{"axis": int64(0)})
		}},
		{Name: "SplitInput", Inputs: []gradcheck.In{input("x", 6, 2, 3)}, Build: func(g *graph.Graph, in []string) string {
			p := g.OpN(graph.OpSplit, []string{in[0], g.Const1D(1, 3, 2)}, 3, graph.Attrs{"axis": int64(-3)})
			return g.Op(graph.OpConcat, []string{p[1], g.Op(graph.OpExp, []string{p[2]}, nil)}, graph.Attrs{"axis": int64(0)})
		}},
		{Name: "SplitLastOnly", Inputs: []gradcheck.In{input("x", 2, 5)}, Build: func(g *graph.Graph, in []string) string {
			p := g.OpN(graph.OpSplit, []string{in[0], g.Const1D(4, 1)}, 2, graph.Attrs{"axis": int64(1)})
			return p[1]
		}},
		{Name: "SplitAttributeOpset11", Inputs: []gradcheck.In{input("x", 5, 2)}, Build: func(g *graph.Graph, in []string) string {
			// Before opset 13 the sizes were an attribute.
			g.Opset = 11
			p := g.OpN(graph.OpSplit, in, 2, graph.Attrs{"axis": int64(0), "split": []int64{2, 3}})
			return g.Op(graph.OpConcat, []string{p[1], p[0]}, graph.Attrs{"axis": int64(0)})
		}},
	})
}

func TestSliceGradients(t *testing.T) {
	big := int64(math.MaxInt64)
	s := graph.Shape{4, 7, 6}
	x := []gradcheck.In{{Name: "x", Shape: s}}
	cases := []struct {
		name                      string
		starts, ends, axes, steps *graph.Value
	}{
		{"AllAxesNoAxesInput", i64s(1, 2, 0), i64s(3, 5, 6), nil, nil},
		{"NegativeStartsEnds", i64s(-3, -5), i64s(-1, big), i64s(1, 2), nil},
		{"NegativeAxes", i64s(1), i64s(4), i64s(-1), nil},
		{"Step2", i64s(0), i64s(7), i64s(1), i64s(2)},
		{"Step3Offset", i64s(1, 0), i64s(big, 4), i64s(1, 0), i64s(3, 2)},
		{"ReverseAll", i64s(-1), i64s(-big), i64s(2), i64s(-1)},
		{"NegativeStep2", i64s(5, 3), i64s(0, -big), i64s(1, 0), i64s(-2, -1)},
		{"NegativeStep3Partial", i64s(4), i64s(-6), i64s(2), i64s(-3)},
		{"MixedSteps", i64s(1, 6, 0), i64s(4, 1, 6), i64s(0, 1, 2), i64s(1, -2, 4)},
	}
	var gcs []gradcheck.GradCase
	for _, tc := range cases {
		gcs = append(gcs, gradcheck.GradCase{Name: "Slice" + tc.name, Inputs: x, Build: opWith(graph.OpSlice, nil, tc.starts, tc.ends, tc.axes, tc.steps)})
	}
	checkAll(t, gcs)
}

func TestGatherGradients(t *testing.T) {
	scalar := &graph.Value{DType: graph.Int64, Shape: graph.Shape{}, I64: []int64{-2}}
	idx2D := &graph.Value{DType: graph.Int64, Shape: graph.Shape{2, 3}, I64: []int64{0, 4, -1, 2, 0, 0}}
	idx32 := &graph.Value{DType: graph.Int32, Shape: graph.Shape{3}, I64: []int64{2, -3, 2}}
	checkAll(t, []gradcheck.GradCase{
		{Name: "GatherConst1DAxis0", Inputs: []gradcheck.In{input("x", 5, 3)}, Build: opWith(graph.OpGather, nil, i64s(4, 0, 2))},
		{Name: "GatherConst2DAxis1Repeats", Inputs: []gradcheck.In{input("x", 2, 5, 3)}, Build: opWith(graph.OpGather, graph.Attrs{"axis": int64(1)}, idx2D)},
		{Name: "GatherScalarNegAxis", Inputs: []gradcheck.In{input("x", 2, 3, 4)}, Build: opWith(graph.OpGather, graph.Attrs{"axis": int64(-1)}, scalar)},
		{Name: "GatherInt32", Inputs: []gradcheck.In{input("x", 3, 2)}, Build: opWith(graph.OpGather, nil, idx32)},
		{Name: "GatherComputedIndices", Inputs: []gradcheck.In{
			input("x", 3, 4, 2),
			// Indices computed in the graph, with repeats and negatives.
			{Name: "i", Shape: graph.Shape{2, 3}, Data: []float32{3, -1, 0, 1, 3, 3}, NoGrad: true},
		}, Build: func(g *graph.Graph, in []string) string {
			idx := g.Op(graph.OpCast, []string{in[1]}, graph.Attrs{"to": int64(graph.Int64)})
			return g.Op(graph.OpGather, []string{in[0], idx}, graph.Attrs{"axis": int64(1)})
		}},
		{Name: "GatherComputedScalarAxis2", Inputs: []gradcheck.In{
			input("x", 2, 3, 4),
			{Name: "i", Shape: graph.Shape{1}, Data: []float32{-3}, NoGrad: true},
		}, Build: func(g *graph.Graph, in []string) string {
			idx := g.Op(graph.OpCast, []string{in[1]}, graph.Attrs{"to": int64(graph.Int64)})
			idx = g.Op(graph.OpSqueeze, []string{idx, g.Const1D(0)}, nil)
			return g.Op(graph.OpGather, []string{in[0], idx}, graph.Attrs{"axis": int64(2)})
		}},
	})
}

func TestMovementGradients(t *testing.T) {
	pads := func(mode string, p ...int64) func(g *graph.Graph, in []string) string {
		return func(g *graph.Graph, in []string) string {
			return g.Op(graph.OpPad, []string{in[0], g.Const1D(p...)}, graph.Attrs{"mode": mode})
		}
	}
	checkAll(t, []gradcheck.GradCase{
		{Name: "Transpose", Inputs: []gradcheck.In{input("x", 2, 3, 4)}, Build: op(graph.OpTranspose, graph.Attrs{"perm": []int64{1, 2, 0}})},
		{Name: "TransposeDefault", Inputs: []gradcheck.In{input("x", 2, 3, 4)}, Build: op(graph.OpTranspose, nil)},
		{Name: "PadConstant", Inputs: []gradcheck.In{input("x", 2, 3, 4)}, Build: pads("constant", 0, 1, 2, 0, 2, 1)},
		{Name: "PadNegative", Inputs: []gradcheck.In{input("x", 2, 5, 6)}, Build: pads("constant", 0, -1, 2, 1, -2, -3)},
		{Name: "PadValueTrained", Inputs: []gradcheck.In{input("x", 2, 4), input("v", 1)}, Build: func(g *graph.Graph, in []string) string {
			return g.Op(graph.OpPad, []string{in[0], g.Const1D(1, -1, 0, 2), in[1]}, graph.Attrs{"mode": "constant"})
		}},
		{Name: "PadReflect", Inputs: []gradcheck.In{input("x", 1, 2, 4, 5)}, Build: pads("reflect", 0, 0, 3, 1, 0, 0, 2, 4)},
		{Name: "PadReflect1D", Inputs: []gradcheck.In{input("x", 3)}, Build: pads("reflect", 2, 1)},
		{Name: "PadEdge", Inputs: []gradcheck.In{input("x", 1, 2, 3, 4)}, Build: pads("edge", 0, 1, 2, 0, 0, 0, 1, 3)},
		{Name: "PadEdgeSingleton", Inputs: []gradcheck.In{input("x", 2, 1)}, Build: pads("edge", 0, 2, 0, 1)},
		{Name: "ExpandRank", Inputs: []gradcheck.In{input("x", 3, 1)}, Build: opWith(graph.OpExpand, nil, i64s(2, 3, 4))},
		{Name: "ExpandSameRank", Inputs: []gradcheck.In{input("x", 1, 4)}, Build: opWith(graph.OpExpand, nil, i64s(3, 1))},
		{Name: "Tile", Inputs: []gradcheck.In{input("x", 2, 3)}, Build: opWith(graph.OpTile, nil, i64s(2, 3))},
		{Name: "TileSomeAxes", Inputs: []gradcheck.In{input("x", 2, 1, 3)}, Build: opWith(graph.OpTile, nil, i64s(1, 4, 2))},
	})
}

func TestReshapeGradients(t *testing.T) {
	x := []gradcheck.In{input("x", 2, 3, 4)}
	checkAll(t, []gradcheck.GradCase{
		{Name: "Reshape", Inputs: x, Build: opWith(graph.OpReshape, nil, i64s(4, -1))},
		{Name: "ReshapeCopyDim", Inputs: x, Build: opWith(graph.OpReshape, nil, i64s(0, 12))},
		{Name: "Flatten", Inputs: x, Build: op(graph.OpFlatten, graph.Attrs{"axis": int64(2)})},
		{Name: "FlattenDefault", Inputs: x, Build: op(graph.OpFlatten, nil)},
		{Name: "Squeeze", Inputs: []gradcheck.In{input("x", 2, 1, 3, 1)}, Build: opWith(graph.OpSqueeze, nil, i64s(-1))},
		{Name: "SqueezeAll", Inputs: []gradcheck.In{input("x", 2, 1, 3, 1)}, Build: op(graph.OpSqueeze, nil)},
		{Name: "Unsqueeze", Inputs: x, Build: opWith(graph.OpUnsqueeze, nil, i64s(0, -1))},
	})
}

func TestReduceGradients(t *testing.T) {
	s := graph.Shape{2, 3, 4}
	x := []gradcheck.In{{Name: "x", Shape: s, Data: spaced(s, 5)}}
	axesIn := func(opName graph.OpType, attrs graph.Attrs, axes ...int64) func(g *graph.Graph, in []string) string {
		return func(g *graph.Graph, in []string) string {
			return g.Op(opName, []string{in[0], g.Const1D(axes...)}, attrs)
		}
	}
	keep0 := graph.Attrs{"keepdims": int64(0)}
	checkAll(t, []gradcheck.GradCase{
		{Name: "ReduceSumAxis1", Inputs: x, Build: axesIn(graph.OpReduceSum, nil, 1)},
		{Name: "ReduceSumNegAxesDrop", Inputs: x, Build: axesIn(graph.OpReduceSum, keep0, -1, 0)},
		{Name: "ReduceSumAll", Inputs: x, Build: op(graph.OpReduceSum, keep0)},
		{Name: "ReduceSumNoopEmptyAxes", Inputs: x, Build: op(graph.OpReduceSum, graph.Attrs{"noop_with_empty_axes": int64(1)})},
		{Name: "ReduceMeanAxes", Inputs: x, Build: op(graph.OpReduceMean, graph.Attrs{"axes": []int64{0, 2}, "keepdims": int64(0)})},
		{Name: "ReduceMeanAll", Inputs: x, Build: op(graph.OpReduceMean, nil)},
		{Name: "ReduceMaxAxis1", Inputs: x, Build: op(graph.OpReduceMax, graph.Attrs{"axes": []int64{1}})},
		{Name: "ReduceMaxAllDrop", Inputs: x, Build: op(graph.OpReduceMax, keep0)},
		{Name: "ReduceMinNegAxis", Inputs: x, Build: op(graph.OpReduceMin, graph.Attrs{"axes": []int64{-1}, "keepdims": int64(0)})},
		{Name: "ReduceSumSquare", Inputs: x, Build: op(graph.OpReduceSumSquare, graph.Attrs{"axes": []int64{-2}})},
		{Name: "ReduceSumSquareAll", Inputs: x, Build: op(graph.OpReduceSumSquare, keep0)},
	})
}

// fetch runs g (whose inputs are all float) and returns one tensor.
func fetch(t *testing.T, g *graph.Graph, feeds map[string][]float32, out string) []float32 {
	t.Helper()
	r := gradcheck.Runtime(t)
	out = g.Op(graph.OpIdentity, []string{out}, nil)
	g.Output(out)
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var ins []*ort.Tensor
	for _, name := range g.Inputs {
		x, err := ort.NewTensor(g.Shape(name), feeds[name])
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, x)
	}
	res, err := ort.ZerosTensor(g.Shape(out))
	if err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyAll(append(ins, res)...)
	s, err := r.NewSession(b, g.Inputs, []string{out}, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	if err := s.Run(context.Background(), ins, []*ort.Tensor{res}); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), res.GetData()...)
}

// gradOf returns d(sum(w * build(x)))/dx computed by the graph.
func gradOf(t *testing.T, xs graph.Shape, x, w []float32, build func(g *graph.Graph, x string) string) []float32 {
	t.Helper()
	g := graph.New("grad")
	xi := g.Input("x", graph.Float, xs)
	y := build(g, xi)
	prod := g.Op(graph.OpMul, []string{y, g.Init("w", graph.Floats(g.Shape(y), w))}, nil)
	loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{prod}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
	grads, err := autodiff.Backward(g, loss, []string{xi})
	if err != nil {
		t.Fatal(err)
	}
	return fetch(t, g, map[string][]float32{xi: x}, grads[xi])
}

func assertNear(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("%s: [%d] = %g, want %g (all: %v)", what, i, got[i], want[i], got)
		}
	}
}

// Exact gradients worked out by hand: repeated gather indices add up,
// a reflect border folds back mirrored, ties of a max share the gradient.
func TestShapeGradientValues(t *testing.T) {
	t.Run("GatherRepeats", func(t *testing.T) {
		got := gradOf(t, graph.Shape{4}, []float32{0, 0, 0, 0}, []float32{1, 2, 4, 8, 16}, func(g *graph.Graph, x string) string {
			return g.Op(graph.OpGather, []string{x, g.Init("i", i64s(1, -1, 1, 0, 1))}, nil)
		})
		assertNear(t, "dx", got, []float32{8, 1 + 4 + 16, 0, 2})
	})
	t.Run("PadReflect", func(t *testing.T) {
		// y = [x2 x1 x0 x1 x2 x3 x2]: pads (2, 1).
		got := gradOf(t, graph.Shape{4}, make([]float32, 4), []float32{1, 2, 4, 8, 16, 32, 64}, func(g *graph.Graph, x string) string {
			return g.Op(graph.OpPad, []string{x, g.Const1D(2, 1)}, graph.Attrs{"mode": "reflect"})
		})
		assertNear(t, "dx", got, []float32{4, 2 + 8, 1 + 16 + 64, 32})
	})
	t.Run("PadEdge", func(t *testing.T) {
		got := gradOf(t, graph.Shape{3}, make([]float32, 3), []float32{1, 2, 4, 8, 16, 32}, func(g *graph.Graph, x string) string {
			return g.Op(graph.OpPad, []string{x, g.Const1D(2, 1)}, graph.Attrs{"mode": "edge"})
		})
		assertNear(t, "dx", got, []float32{1 + 2 + 4, 8, 16 + 32})
	})
	t.Run("SliceNegativeStep", func(t *testing.T) {
		// x[5:0:-2] reads x5, x3, x1.
		got := gradOf(t, graph.Shape{7}, make([]float32, 7), []float32{1, 2, 4}, func(g *graph.Graph, x string) string {
			return g.Op(graph.OpSlice, []string{x, g.Const1D(5), g.Const1D(0), g.Const1D(0), g.Const1D(-2)}, nil)
		})
		assertNear(t, "dx", got, []float32{0, 4, 0, 2, 0, 1, 0})
	})
	t.Run("ReduceMaxTies", func(t *testing.T) {
		got := gradOf(t, graph.Shape{2, 3}, []float32{1, 3, 3, 5, 2, 5}, []float32{6, 10}, func(g *graph.Graph, x string) string {
			return g.Op(graph.OpReduceMax, []string{x}, graph.Attrs{"axes": []int64{1}, "keepdims": int64(0)})
		})
		assertNear(t, "dx", got, []float32{0, 3, 3, 5, 0, 5})
	})
}

func TestPadUnsupportedModes(t *testing.T) {
	cases := []struct {
		name, mode string
		pads       []int64
		want       string
	}{
		{"Wrap", "wrap", []int64{1, 1}, `"wrap"`},
		{"ReflectNegative", "reflect", []int64{-1, 1}, "negative pads"},
		{"ReflectTooWide", "reflect", []int64{3, 0}, "fewer than 3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("t")
			x := g.Input("x", graph.Float, graph.Shape{3})
			y := g.Op(graph.OpPad, []string{x, g.Const1D(tc.pads...)}, graph.Attrs{"mode": tc.mode})
			loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{y}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
			_, err := autodiff.Backward(g, loss, []string{x})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %s, got %v", tc.want, err)
			}
		})
	}
}
