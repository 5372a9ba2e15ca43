package autodiff_test

import (
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
)

func TestBatchNormGradients(t *testing.T) {
	bn := func(attrs graph.Attrs) func(g *graph.Graph, in []string) string {
		return func(g *graph.Graph, in []string) string {
			return g.Op(graph.OpBatchNormalization, in, attrs)
		}
	}
	params := func(ch int64, gradScale, gradBias bool) []gradcheck.In {
		s := graph.Shape{ch}
		return []gradcheck.In{
			{Name: "scale", Shape: s, Lo: 0.5, Hi: 2, NoGrad: !gradScale},
			{Name: "b", Shape: s, NoGrad: !gradBias},
			{Name: "mean", Shape: s, NoGrad: true},
			{Name: "var", Shape: s, Lo: 0.2, Hi: 2, NoGrad: true},
		}
	}
	cases := []struct {
		name  string
		x     graph.Shape
		attrs graph.Attrs
		scale bool
		bias  bool
		xGrad bool
	}{
		{"NCHW", graph.Shape{2, 3, 4, 5}, nil, true, true, true},
		{"NC", graph.Shape{4, 3}, nil, true, true, true},
		{"NCL", graph.Shape{2, 3, 6}, graph.Attrs{"epsilon": float32(0.1)}, true, true, true},
		{"NCDHW", graph.Shape{1, 2, 3, 2, 3}, nil, true, true, true},
		{"OnlyX", graph.Shape{2, 3, 4, 4}, nil, false, false, true},
		{"OnlyParams", graph.Shape{2, 3, 4, 4}, graph.Attrs{"training_mode": int64(0)}, true, true, false},
	}
	for _, tc := range cases {
		gc := gradcheck.GradCase{
			Name:   "BatchNorm" + tc.name,
			Inputs: append([]gradcheck.In{{Name: "x", Shape: tc.x, NoGrad: !tc.xGrad}}, params(tc.x[1], tc.scale, tc.bias)...),
			Build:  bn(tc.attrs),
		}
		t.Run(tc.name, func(t *testing.T) { gradcheck.Check(t, gc) })
	}
}

func TestInstanceNormGradients(t *testing.T) {
	cases := []struct {
		name  string
		x     graph.Shape
		attrs graph.Attrs
		noX   bool
	}{
		{"NCHW", graph.Shape{2, 3, 4, 5}, nil, false},
		{"NCL", graph.Shape{2, 3, 7}, graph.Attrs{"epsilon": float32(0.01)}, false},
		{"NCDHW", graph.Shape{2, 2, 2, 3, 3}, nil, false},
		{"OnlyParams", graph.Shape{3, 2, 4, 4}, nil, true},
	}
	for _, tc := range cases {
		s := graph.Shape{tc.x[1]}
		gc := gradcheck.GradCase{
			Name: "InstanceNorm" + tc.name,
			Inputs: []gradcheck.In{
				{Name: "x", Shape: tc.x, Lo: -2, Hi: 2, NoGrad: tc.noX},
				{Name: "scale", Shape: s, Lo: 0.5, Hi: 2},
				{Name: "b", Shape: s},
			},
			Build: op(graph.OpInstanceNormalization, tc.attrs),
		}
		t.Run(tc.name, func(t *testing.T) { gradcheck.Check(t, gc) })
	}
	// Only the input trainable: scale and bias fixed.
	gradcheck.Check(t, gradcheck.GradCase{
		Name: "InstanceNormOnlyX",
		Inputs: []gradcheck.In{
			{Name: "x", Shape: graph.Shape{2, 3, 5, 4}},
			{Name: "scale", Shape: graph.Shape{3}, Lo: -2, Hi: 2, NoGrad: true},
			{Name: "b", Shape: graph.Shape{3}, NoGrad: true},
		},
		Build: op(graph.OpInstanceNormalization, nil),
	})
}

func TestBatchNormRejects(t *testing.T) {
	cases := []struct {
		name  string
		wrt   []string
		attrs graph.Attrs
		want  string
	}{
		{"TrainableMean", []string{"x", "mean"}, nil, "running statistic"},
		{"TrainableVar", []string{"var"}, nil, "running statistic"},
		{"TrainingMode", []string{"x"}, graph.Attrs{"training_mode": int64(1)}, "training_mode=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("t")
			s := graph.Shape{3}
			in := []string{g.Input("x", graph.Float, graph.Shape{2, 3, 4, 4})}
			for _, p := range []string{"scale", "b", "mean", "var"} {
				in = append(in, g.Input(p, graph.Float, s))
			}
			y := g.Op(graph.OpBatchNormalization, in, tc.attrs)
			loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{y}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
			_, err := autodiff.Backward(g, loss, tc.wrt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}
