package autodiff_test

import (
	"errors"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
)

func op(op graph.OpType, attrs graph.Attrs) func(g *graph.Graph, in []string) string {
	return func(g *graph.Graph, in []string) string { return g.Op(op, in, attrs) }
}

func TestElementwiseGradients(t *testing.T) {
	s := graph.Shape{2, 3, 4}
	cases := []gradcheck.GradCase{
		{Name: "Add", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: s}}, Build: op(graph.OpAdd, nil)},
		{Name: "AddBroadcast", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: graph.Shape{3, 1}}}, Build: op(graph.OpAdd, nil)},
		{Name: "SubBroadcast", Inputs: []gradcheck.In{{Name: "a", Shape: graph.Shape{1, 4}}, {Name: "b", Shape: s}}, Build: op(graph.OpSub, nil)},
		{Name: "MulBroadcast", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: graph.Shape{2, 1, 4}}}, Build: op(graph.OpMul, nil)},
		{Name: "Div", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: graph.Shape{4}, Lo: 0.5, Hi: 2}}, Build: op(graph.OpDiv, nil)},
		{Name: "Pow", Inputs: []gradcheck.In{{Name: "a", Shape: s, Lo: 0.5, Hi: 2}, {Name: "b", Shape: graph.Shape{1}, Lo: 1.5, Hi: 2.5}}, Build: op(graph.OpPow, nil)},
		{Name: "Sum", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: graph.Shape{4}}, {Name: "c", Shape: s}}, Build: op(graph.OpSum, nil)},
		{Name: "Max", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: s}}, Build: op(graph.OpMax, nil)},
		{Name: "Min", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: s}}, Build: op(graph.OpMin, nil)},
		{Name: "Where", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: s}}, Build: func(g *graph.Graph, in []string) string {
			cond := g.Op(graph.OpGreater, []string{in[0], in[1]}, nil)
			return g.Op(graph.OpWhere, []string{cond, g.Op(graph.OpMul, []string{in[0], in[0]}, nil), in[1]}, nil)
		}},
		{Name: "Neg", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpNeg, nil)},
		{Name: "Relu", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpRelu, nil)},
		{Name: "LeakyRelu", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpLeakyRelu, graph.Attrs{"alpha": float32(0.2)})},
		{Name: "Elu", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpElu, nil)},
		{Name: "Sigmoid", Inputs: []gradcheck.In{{Name: "x", Shape: s, Lo: -3, Hi: 3}}, Build: op(graph.OpSigmoid, nil)},
		{Name: "Tanh", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpTanh, nil)},
		{Name: "Exp", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpExp, nil)},
		{Name: "Log", Inputs: []gradcheck.In{{Name: "x", Shape: s, Lo: 0.5, Hi: 3}}, Build: op(graph.OpLog, nil)},
		{Name: "Sqrt", Inputs: []gradcheck.In{{Name: "x", Shape: s, Lo: 0.5, Hi: 3}}, Build: op(graph.OpSqrt, nil)},
		{Name: "Reciprocal", Inputs: []gradcheck.In{{Name: "x", Shape: s, Lo: 0.5, Hi: 3}}, Build: op(graph.OpReciprocal, nil)},
		{Name: "Softplus", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpSoftplus, nil)},
		{Name: "Abs", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpAbs, nil)},
		{Name: "Identity", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpIdentity, nil)},
		{Name: "Clip", Inputs: []gradcheck.In{{Name: "x", Shape: s, Lo: -2, Hi: 2}}, Build: func(g *graph.Graph, in []string) string {
			return g.Op(graph.OpClip, []string{in[0], g.Scalar(-0.5), g.Scalar(0.7)}, nil)
		}},
		{Name: "ClipMaxOnly", Inputs: []gradcheck.In{{Name: "x", Shape: s, Lo: -2, Hi: 2}}, Build: func(g *graph.Graph, in []string) string {
			return g.Op(graph.OpClip, []string{in[0], "", g.Scalar(0.7)}, nil)
		}},
		{Name: "Cast", Inputs: []gradcheck.In{{Name: "x", Shape: s}}, Build: op(graph.OpCast, graph.Attrs{"to": int64(graph.Float)})},
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}

func TestConvGradients(t *testing.T) {
	cases := []gradcheck.GradCase{
		{Name: "Conv2D", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 6, 6}}, {Name: "w", Shape: graph.Shape{4, 3, 3, 3}}, {Name: "b", Shape: graph.Shape{4}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 1, 1, 1}})},
		{Name: "Conv2DStride2", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 7, 6}}, {Name: "w", Shape: graph.Shape{4, 3, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 0, 1, 1}, "strides": []int64{2, 2}})},
		{Name: "Conv2DDilation", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 2, 8, 8}}, {Name: "w", Shape: graph.Shape{3, 2, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{2, 2, 2, 2}, "dilations": []int64{2, 2}})},
		{Name: "Conv2DGroups", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 4, 5, 5}}, {Name: "w", Shape: graph.Shape{6, 2, 3, 3}}, {Name: "b", Shape: graph.Shape{6}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 1, 1, 1}, "group": int64(2)})},
		{Name: "Conv2DDepthwise", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 4, 6, 6}}, {Name: "w", Shape: graph.Shape{4, 1, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{0, 0, 1, 1}, "strides": []int64{2, 2}, "group": int64(4)})},
		{Name: "Conv2DDepthwiseStride1", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 8, 7, 7}}, {Name: "w", Shape: graph.Shape{8, 1, 3, 3}}, {Name: "b", Shape: graph.Shape{8}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 1, 1, 1}, "group": int64(8)})},
		{Name: "Conv2DGroupsAsymPads", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 4, 6, 5}}, {Name: "w", Shape: graph.Shape{4, 2, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{0, 1, 2, 1}, "group": int64(2)})},
		// Outputs of 32x32 positions or more take the row form of the
		// weight gradient (weightGradRows). Between it and the small-map
		// forms: plain unfold and a Conv with the flipped kernel.
		{Name: "Conv2DMidMap", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 12, 11}}, {Name: "w", Shape: graph.Shape{4, 3, 3, 3}}, {Name: "b", Shape: graph.Shape{4}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 1, 1, 1}})},
		{Name: "Conv2DBigKernelFlipBySlice", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 2, 12, 12}}, {Name: "w", Shape: graph.Shape{3, 2, 9, 9}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{4, 4, 4, 4}})},
		{Name: "Conv2DWide", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 2, 64, 64}}, {Name: "w", Shape: graph.Shape{3, 2, 3, 3}}, {Name: "b", Shape: graph.Shape{3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 1, 1, 1}})},
		{Name: "Conv2DWideGroupsDilated", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 4, 64, 65}}, {Name: "w", Shape: graph.Shape{4, 2, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{2, 1, 0, 2}, "dilations": []int64{2, 2}, "group": int64(2)})},
		{Name: "Conv2DRowsAtThreshold", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 32, 32}}, {Name: "w", Shape: graph.Shape{2, 3, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 1, 1, 1}})},
		{Name: "Conv2DRowsRectKernel", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 2, 33, 40}}, {Name: "w", Shape: graph.Shape{3, 2, 2, 5}}, {Name: "b", Shape: graph.Shape{3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{0, 2, 1, 3}, "dilations": []int64{1, 2}})},
		{Name: "Conv2DRowsColumnKernel", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 2, 36, 32}}, {Name: "w", Shape: graph.Shape{2, 2, 5, 1}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{0, 0, 0, 0}})},
		{Name: "Conv2DRowsAutoPadEvenKernel", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 2, 33, 32}}, {Name: "w", Shape: graph.Shape{2, 2, 4, 4}}},
			Build: op(graph.OpConv, graph.Attrs{"auto_pad": "SAME_UPPER"})},
		{Name: "Conv2DRows1x1", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 32, 32}}, {Name: "w", Shape: graph.Shape{4, 3, 1, 1}}, {Name: "b", Shape: graph.Shape{4}}},
			Build: op(graph.OpConv, nil)},
		{Name: "Conv1D", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 9}}, {Name: "w", Shape: graph.Shape{2, 3, 3}}, {Name: "b", Shape: graph.Shape{2}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 1}, "strides": []int64{2}})},
		{Name: "Conv3D", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 2, 4, 5, 5}}, {Name: "w", Shape: graph.Shape{3, 2, 3, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"pads": []int64{1, 1, 1, 1, 1, 1}})},
		{Name: "Conv1x1", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 5, 4, 4}}, {Name: "w", Shape: graph.Shape{3, 5, 1, 1}}},
			Build: op(graph.OpConv, nil)},
		{Name: "ConvAutoPad", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 2, 7, 7}}, {Name: "w", Shape: graph.Shape{2, 2, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"auto_pad": "SAME_UPPER", "strides": []int64{2, 2}})},
		{Name: "ConvTranspose", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 4, 4, 4}}, {Name: "w", Shape: graph.Shape{4, 3, 3, 3}}, {Name: "b", Shape: graph.Shape{3}}},
			Build: op(graph.OpConvTranspose, graph.Attrs{"pads": []int64{1, 1, 1, 1}, "strides": []int64{2, 2}, "output_padding": []int64{1, 1}})},
		{Name: "ConvTransposeGroups", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{1, 4, 3, 3}}, {Name: "w", Shape: graph.Shape{4, 2, 3, 3}}},
			Build: op(graph.OpConvTranspose, graph.Attrs{"strides": []int64{2, 2}, "group": int64(2)})},
		{Name: "ConvTransposeDilation1D", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 5}}, {Name: "w", Shape: graph.Shape{3, 2, 3}}},
			Build: op(graph.OpConvTranspose, graph.Attrs{"dilations": []int64{2}, "pads": []int64{1, 0}})},
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}

func TestUnsupportedOpNamed(t *testing.T) {
	g := graph.New("t")
	x := g.Input("x", graph.Float, graph.Shape{2, 3})
	y := g.Op(graph.OpErf, []string{x}, nil)
	loss := g.Op(graph.OpReduceSum, []string{y}, graph.Attrs{"keepdims": int64(1)})
	loss = g.Op(graph.OpReshape, []string{loss, g.Const1D(1)}, nil)
	_, err := autodiff.Backward(g, loss, []string{x})
	if !errors.Is(err, autodiff.ErrNoRule) {
		t.Fatalf("want ErrNoRule, got %v", err)
	}
	t.Log(err)
}

func TestNoPathGivesZeros(t *testing.T) {
	g := graph.New("t")
	x := g.Input("x", graph.Float, graph.Shape{2, 3})
	w := g.Input("w", graph.Float, graph.Shape{3})
	loss := g.Op(graph.OpReduceSum, []string{x}, graph.Attrs{"keepdims": int64(0)})
	loss = g.Op(graph.OpReshape, []string{loss, g.Const1D(1)}, nil)
	grads, err := autodiff.Backward(g, loss, []string{w})
	if err != nil {
		t.Fatal(err)
	}
	if s := g.Shape(grads[w]); len(s) != 1 || s[0] != 3 {
		t.Fatalf("zero gradient has shape %v", s)
	}
}

func TestBatchNormTrainGradients(t *testing.T) {
	bn := func(g *graph.Graph, in []string) string {
		return g.Composite(graph.BatchNormTrain, in, 4, graph.Attrs{"epsilon": float32(1e-5)})[0]
	}
	for _, tc := range []gradcheck.GradCase{
		{Name: "BatchNormTrain4D", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{3, 4, 5, 5}}, {Name: "s", Shape: graph.Shape{4}, Lo: 0.5, Hi: 1.5}, {Name: "b", Shape: graph.Shape{4}}}, Build: bn},
		{Name: "BatchNormTrain2D", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{6, 3}}, {Name: "s", Shape: graph.Shape{3}, Lo: 0.5, Hi: 1.5}, {Name: "b", Shape: graph.Shape{3}}}, Build: bn},
		{Name: "BatchNormTrainInputOnly", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 4}}, {Name: "s", Shape: graph.Shape{3}, NoGrad: true, Lo: 0.5, Hi: 1.5}, {Name: "b", Shape: graph.Shape{3}, NoGrad: true}}, Build: bn},
		// The conv bias before a training-mode BatchNorm gets an exact
		// zero; finite differences must agree, for every input.
		{Name: "ConvBiasIntoBatchNorm", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 6, 6}}, {Name: "w", Shape: graph.Shape{4, 3, 3, 3}}, {Name: "cb", Shape: graph.Shape{4}},
			{Name: "s", Shape: graph.Shape{4}, Lo: 0.5, Hi: 1.5}, {Name: "b", Shape: graph.Shape{4}}},
			Build: func(g *graph.Graph, in []string) string {
				y := g.Op(graph.OpConv, in[:3], graph.Attrs{"pads": []int64{1, 1, 1, 1}})
				return g.Composite(graph.BatchNormTrain, []string{y, in[3], in[4]}, 4, graph.Attrs{"epsilon": float32(1e-5)})[0]
			}},
		{Name: "ConvTransposeBiasIntoBatchNorm", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 4, 4}}, {Name: "w", Shape: graph.Shape{3, 2, 3, 3}}, {Name: "cb", Shape: graph.Shape{2}},
			{Name: "s", Shape: graph.Shape{2}, Lo: 0.5, Hi: 1.5}, {Name: "b", Shape: graph.Shape{2}}},
			Build: func(g *graph.Graph, in []string) string {
				y := g.Op(graph.OpConvTranspose, in[:3], graph.Attrs{"pads": []int64{1, 1, 1, 1}, "strides": []int64{2, 2}, "output_padding": []int64{1, 1}})
				return g.Composite(graph.BatchNormTrain, []string{y, in[3], in[4]}, 4, graph.Attrs{"epsilon": float32(1e-5)})[0]
			}},
	} {
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}

// The shortcut for a conv bias that feeds a BatchNorm must not fire when
// the conv output is used elsewhere too.
func TestConvBiasGradientNotSkippedWithOtherUses(t *testing.T) {
	gradcheck.Check(t, gradcheck.GradCase{Name: "ConvBiasIntoBatchNormAndOut",
		Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 5, 5}}, {Name: "w", Shape: graph.Shape{4, 3, 3, 3}}, {Name: "cb", Shape: graph.Shape{4}},
			{Name: "s", Shape: graph.Shape{4}, Lo: 0.5, Hi: 1.5}, {Name: "b", Shape: graph.Shape{4}}},
		Build: func(g *graph.Graph, in []string) string {
			y := g.Op(graph.OpConv, in[:3], graph.Attrs{"pads": []int64{1, 1, 1, 1}})
			bn := g.Composite(graph.BatchNormTrain, []string{y, in[3], in[4]}, 4, graph.Attrs{"epsilon": float32(1e-5)})[0]
			return g.Op(graph.OpAdd, []string{bn, y}, nil)
		}})
}
