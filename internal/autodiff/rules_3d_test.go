package autodiff_test

import (
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
)

// TestVideoCubeGradients checks the ops of Jigsaw-VAD's network at the
// attributes it uses them with, on [N, C, T, H, W] cubes: the existing
// rules cover them, and these cases pin that down for 5-D inputs.
func TestVideoCubeGradients(t *testing.T) {
	pool := func(name string, x graph.Shape, k, s []int64) gradcheck.GradCase {
		return gradcheck.GradCase{
			Name:   "MaxPool3D" + name,
			Inputs: []gradcheck.In{{Name: "x", Shape: x, Data: spaced(x, uint64(len(name)))}},
			Build:  op(graph.OpMaxPool, graph.Attrs{"kernel_shape": k, "strides": s}),
		}
	}
	cases := []gradcheck.GradCase{
		// Stages one and two: every frame pooled on its own (tile path).
		pool("Frames", graph.Shape{2, 2, 3, 4, 6}, []int64{1, 2, 2}, []int64{1, 2, 2}),
		// Stage three: the whole depth at once with PyTorch's depth stride
		// 1 (Indices path), and the same window with stride = kernel (tile path).
		pool("DepthStride1", graph.Shape{2, 2, 3, 4, 4}, []int64{3, 2, 2}, []int64{1, 2, 2}),
		pool("DepthTile", graph.Shape{2, 2, 3, 4, 4}, []int64{3, 2, 2}, []int64{3, 2, 2}),
		{Name: "Conv3DNoBiasPad1", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 3, 6, 6}}, {Name: "w", Shape: graph.Shape{4, 3, 3, 3, 3}}},
			Build: op(graph.OpConv, graph.Attrs{"kernel_shape": []int64{3, 3, 3}, "pads": []int64{1, 1, 1, 1, 1, 1}, "strides": []int64{1, 1, 1}})},
		{Name: "InstanceNorm3DFixedAffine", Inputs: []gradcheck.In{
			{Name: "x", Shape: graph.Shape{2, 3, 3, 4, 4}, Lo: -2, Hi: 2},
			{Name: "scale", Shape: graph.Shape{3}, Data: []float32{1, 1, 1}, NoGrad: true},
			{Name: "b", Shape: graph.Shape{3}, Data: []float32{0, 0, 0}, NoGrad: true},
		}, Build: op(graph.OpInstanceNormalization, graph.Attrs{"epsilon": float32(1e-5)})},
		// PyTorch's Linear: W stored [out, in], bias [out].
		{Name: "LinearTransB", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{3, 8}}, {Name: "w", Shape: graph.Shape{5, 8}}, {Name: "b", Shape: graph.Shape{5}}},
			Build: op(graph.OpGemm, graph.Attrs{"transB": int64(1)})},
		// Dropout2d's fixed channel mask.
		{Name: "ChannelMask", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 4, 4}}, {Name: "m", Shape: graph.Shape{2, 3, 1, 1}, Data: []float32{0, 2, 2, 2, 0, 2}, NoGrad: true}},
			Build: op(graph.OpMul, nil)},
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}

// Stride-1 3-D convs with 1024 output positions or more take the row form
// of the weight gradient (weightGradRows3D); smaller ones im2col.
func TestConv3DRowsGradients(t *testing.T) {
	conv := func(name string, x, w graph.Shape, attrs graph.Attrs, bias bool) gradcheck.GradCase {
		ins := []gradcheck.In{{Name: "x", Shape: x}, {Name: "w", Shape: w}}
		if bias {
			ins = append(ins, gradcheck.In{Name: "b", Shape: graph.Shape{w[0]}})
		}
		return gradcheck.GradCase{Name: "Conv3DRows" + name, Inputs: ins, Build: op(graph.OpConv, attrs)}
	}
	cases := []gradcheck.GradCase{
		conv("Pad1", graph.Shape{2, 3, 4, 16, 16}, graph.Shape{4, 3, 3, 3, 3}, graph.Attrs{"pads": []int64{1, 1, 1, 1, 1, 1}}, false),
		conv("AtThresholdBias", graph.Shape{1, 2, 1, 32, 32}, graph.Shape{3, 2, 3, 3, 3}, graph.Attrs{"pads": []int64{1, 1, 1, 1, 1, 1}}, true),
		conv("AsymPadsRectKernel", graph.Shape{1, 2, 5, 12, 20}, graph.Shape{3, 2, 2, 3, 4}, graph.Attrs{"pads": []int64{0, 2, 1, 1, 0, 2}}, false),
		conv("Dilated", graph.Shape{1, 2, 6, 16, 14}, graph.Shape{2, 2, 3, 2, 3}, graph.Attrs{"pads": []int64{2, 1, 2, 2, 0, 2}, "dilations": []int64{2, 2, 2}}, false),
		conv("Groups", graph.Shape{2, 4, 4, 16, 16}, graph.Shape{6, 2, 3, 3, 3}, graph.Attrs{"pads": []int64{1, 1, 1, 1, 1, 1}, "group": int64(2)}, true),
		conv("NoPad", graph.Shape{1, 2, 6, 20, 20}, graph.Shape{2, 2, 3, 3, 3}, nil, false),
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}
