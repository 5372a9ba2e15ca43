package autodiff_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
)

// resizeBuild builds a Resize from constant scales or sizes (exactly one non-nil).
func resizeBuild(attrs graph.Attrs, scales []float32, sizes []int64) func(g *graph.Graph, in []string) string {
	return func(g *graph.Graph, in []string) string {
		if sizes != nil {
			return g.Op(graph.OpResize, []string{in[0], "", "", g.Const1D(sizes...)}, attrs)
		}
		s := g.Init("scales", graph.Floats(graph.Shape{int64(len(scales))}, scales))
		return g.Op(graph.OpResize, []string{in[0], "", s}, attrs)
	}
}

func TestResizeGradients(t *testing.T) {
	lin := func(ctm string) graph.Attrs {
		return graph.Attrs{"mode": "linear", "coordinate_transformation_mode": ctm}
	}
	nn := func(ctm, nearest string) graph.Attrs {
		return graph.Attrs{"mode": "nearest", "coordinate_transformation_mode": ctm, "nearest_mode": nearest}
	}
	cases := []struct {
		name   string
		x      graph.Shape
		attrs  graph.Attrs
		scales []float32
		sizes  []int64
	}{
		// What nn.Builder's upsampling emits.
		{"LinearAlignCorners2x", graph.Shape{2, 3, 4, 5}, lin("align_corners"), []float32{1, 1, 2, 2}, nil},
		{"LinearHalfPixelDown", graph.Shape{1, 2, 9, 8}, lin("half_pixel"), nil, []int64{1, 2, 4, 3}},
		{"LinearPytorchHalfPixel", graph.Shape{1, 2, 5, 4}, lin("pytorch_half_pixel"), nil, []int64{1, 2, 8, 1}},
		{"LinearAsymmetric", graph.Shape{2, 1, 3, 4}, lin("asymmetric"), []float32{1, 1, 2.5, 1.5}, nil},
		{"LinearOnlyWidth", graph.Shape{1, 3, 4, 5}, lin("align_corners"), nil, []int64{1, 3, 4, 9}},
		{"LinearOnlyHeight", graph.Shape{1, 3, 4, 5}, lin("half_pixel"), nil, []int64{1, 3, 7, 5}},
		{"LinearRank3", graph.Shape{2, 4, 5}, lin("half_pixel"), nil, []int64{2, 7, 3}},
		{"LinearRank2", graph.Shape{4, 5}, lin("align_corners"), nil, []int64{6, 8}},
		{"NearestAsymmetricFloor", graph.Shape{2, 3, 4, 5}, nn("asymmetric", "floor"), []float32{1, 1, 2, 2}, nil},
		{"NearestHalfPixelDown", graph.Shape{1, 2, 9, 7}, nn("half_pixel", "round_prefer_floor"), nil, []int64{1, 2, 4, 3}},
		{"NearestAlignCornersCeil", graph.Shape{1, 2, 4, 5}, nn("align_corners", "round_prefer_ceil"), nil, []int64{1, 2, 7, 9}},
		{"NearestPytorchCeil", graph.Shape{1, 2, 5, 3}, nn("pytorch_half_pixel", "ceil"), nil, []int64{1, 2, 8, 7}},
		{"NearestDefaults", graph.Shape{1, 1, 7, 10}, nil, nil, []int64{1, 1, 16, 12}},
		{"SameShapeScales", graph.Shape{1, 2, 3, 3}, lin("half_pixel"), []float32{1, 1, 1.3, 1.3}, nil},
	}
	for _, tc := range cases {
		gc := gradcheck.GradCase{
			Name:   "Resize" + tc.name,
			Inputs: []gradcheck.In{{Name: "x", Shape: tc.x}},
			Build:  resizeBuild(tc.attrs, tc.scales, tc.sizes),
		}
		t.Run(tc.name, func(t *testing.T) { gradcheck.Check(t, gc) })
	}
}

func TestResizeRejects(t *testing.T) {
	cases := []struct {
		name   string
		attrs  graph.Attrs
		scales []float32
		sizes  []int64
		want   string
	}{
		{"ChannelAxis", graph.Attrs{"mode": "nearest"}, []float32{1, 2, 1, 1}, nil, "axis 1"},
		{"BatchAxis", graph.Attrs{"mode": "linear"}, nil, []int64{4, 3, 4, 4}, "axis 0"},
		{"Cubic", graph.Attrs{"mode": "cubic"}, []float32{1, 1, 2, 2}, nil, `mode "cubic"`},
		{"CropAndResize", graph.Attrs{"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}, []float32{1, 1, 2, 2}, nil, "tf_crop_and_resize"},
		{"Antialias", graph.Attrs{"mode": "linear", "antialias": int64(1)}, []float32{1, 1, 0.5, 0.5}, nil, "antialias"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("t")
			x := g.Input("x", graph.Float, graph.Shape{2, 3, 4, 4})
			y := resizeBuild(tc.attrs, tc.scales, tc.sizes)(g, []string{x})
			loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{y}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
			_, err := autodiff.Backward(g, loss, []string{x})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

func BenchmarkResize(b *testing.B) {
	// nn.Builder's 2x bilinear upsampling, at a student's and at a
	// ResNet-stage size.
	build := func(g *graph.Graph, in []string) string {
		return resizeBuild(graph.Attrs{"mode": "linear", "coordinate_transformation_mode": "align_corners"}, []float32{1, 1, 2, 2}, nil)(g, in)
	}
	for _, xs := range []graph.Shape{{4, 16, 32, 32}, {8, 64, 56, 56}} {
		name := fmt.Sprint([]int64(xs))
		b.Run(name+"/Forward", func(b *testing.B) { benchStep(b, []graph.Shape{xs}, build, false) })
		b.Run(name+"/ForwardBackward", func(b *testing.B) { benchStep(b, []graph.Shape{xs}, build, true) })
	}
}
