package autodiff_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

func TestMaxPoolGradients(t *testing.T) {
	cases := []struct {
		name  string
		x     graph.Shape
		attrs graph.Attrs
	}{
		{"2x2Stride2", graph.Shape{2, 3, 6, 6}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}},
		{"3x3Stride2Pad1Overlapping", graph.Shape{2, 2, 7, 7}, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "pads": []int64{1, 1, 1, 1}}},
		{"3x3Stride1Pad1", graph.Shape{1, 2, 5, 5}, graph.Attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}}},
		{"Asymmetric", graph.Shape{1, 2, 7, 6}, graph.Attrs{"kernel_shape": []int64{2, 3}, "strides": []int64{1, 2}, "pads": []int64{0, 1, 1, 0}}},
		{"Remainder", graph.Shape{1, 2, 7, 8}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 3}}},
		{"TileRemainder", graph.Shape{2, 2, 7, 9}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}},
		{"TileRect", graph.Shape{1, 3, 6, 6}, graph.Attrs{"kernel_shape": []int64{3, 2}, "strides": []int64{3, 2}}},
		{"1DTile", graph.Shape{2, 2, 10}, graph.Attrs{"kernel_shape": []int64{3}, "strides": []int64{3}}},
		{"CeilModeTile", graph.Shape{1, 2, 5, 5}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "ceil_mode": int64(1)}},
		{"CeilMode", graph.Shape{1, 2, 6, 6}, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "ceil_mode": int64(1)}},
		{"Dilation", graph.Shape{1, 2, 7, 7}, graph.Attrs{"kernel_shape": []int64{2, 2}, "dilations": []int64{2, 2}}},
		{"SameUpper", graph.Shape{1, 2, 7, 7}, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "auto_pad": "SAME_UPPER"}},
		{"1D", graph.Shape{2, 3, 9}, graph.Attrs{"kernel_shape": []int64{3}, "strides": []int64{2}}},
		{"1DPadOverlap", graph.Shape{2, 2, 8}, graph.Attrs{"kernel_shape": []int64{4}, "strides": []int64{1}, "pads": []int64{2, 1}}},
		{"3D", graph.Shape{1, 2, 4, 4, 4}, graph.Attrs{"kernel_shape": []int64{2, 2, 2}, "strides": []int64{2, 2, 2}}},
		{"StorageOrderIgnored", graph.Shape{1, 2, 5, 5}, graph.Attrs{"kernel_shape": []int64{2, 2}, "storage_order": int64(1)}},
	}
	for _, tc := range cases {
		gc := gradcheck.GradCase{
			Name:   "MaxPool" + tc.name,
			Inputs: []gradcheck.In{{Name: "x", Shape: tc.x, Data: spaced(tc.x, uint64(len(tc.name)))}},
			Build:  op(graph.OpMaxPool, tc.attrs),
		}
		t.Run(tc.name, func(t *testing.T) { gradcheck.Check(t, gc) })
	}
	// A node that already has its Indices output (read elsewhere too).
	x := graph.Shape{2, 2, 6, 5}
	gradcheck.Check(t, gradcheck.GradCase{
		Name:   "MaxPoolExistingIndices",
		Inputs: []gradcheck.In{{Name: "x", Shape: x, Data: spaced(x, 3)}},
		Build: func(g *graph.Graph, in []string) string {
			outs := g.OpN(graph.OpMaxPool, in, 2, graph.Attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}, "strides": []int64{2, 2}})
			// Use the indices (as floats) so they are a live output.
			fi := g.Op(graph.OpCast, []string{outs[1]}, graph.Attrs{"to": int64(graph.Float)})
			return g.Op(graph.OpAdd, []string{outs[0], g.Op(graph.OpMul, []string{fi, g.Scalar(0)}, nil)}, nil)
		},
	})
}

// TestMaxPoolTiesGoToFirst checks the gradient against a brute-force Go
// max pool on an input full of ties (a ReLU output, mostly zeros): each
// window's gradient must go to the first maximum in scan order, as in
// ONNX Runtime and PyTorch, on both the tile and the indices path.
func TestMaxPoolTiesGoToFirst(t *testing.T) {
	r := gradcheck.Runtime(t)
	cases := []struct {
		name    string
		K, S, P int
	}{
		{"Overlapping", 3, 2, 1},
		{"Tiles", 2, 2, 0},
		{"TilesOf3", 3, 3, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const N, C, H, W = 2, 2, 7, 8
			K, S, P := tc.K, tc.S, tc.P
			xs := graph.Shape{N, C, H, W}
			rng := rand.New(rand.NewPCG(5, uint64(K)))
			x := make([]float32, xs.Size())
			for i := range x {
				if rng.IntN(3) == 0 {
					x[i] = float32(rng.IntN(3)) // ties among positive values too
				}
			}
			Ho, Wo := (H+2*P-K)/S+1, (W+2*P-K)/S+1
			rw := make([]float32, N*C*Ho*Wo)
			for i := range rw {
				rw[i] = float32(rng.NormFloat64())
			}
			want := make([]float32, len(x))
			for nc := range N * C {
				for oh := range Ho {
					for ow := range Wo {
						best, at := float32(math.Inf(-1)), -1
						for kh := range K {
							for kw := range K {
								h, w := oh*S-P+kh, ow*S-P+kw
								if h < 0 || w < 0 || h >= H || w >= W {
									continue
								}
								if v := x[(nc*H+h)*W+w]; v > best {
									best, at = v, (nc*H+h)*W+w
								}
							}
						}
						want[at] += rw[(nc*Ho+oh)*Wo+ow]
					}
				}
			}

			g := graph.New("ties")
			in := g.Input("x", graph.Float, xs)
			k, s, p := int64(K), int64(S), int64(P)
			y := g.Op(graph.OpMaxPool, []string{in}, graph.Attrs{"kernel_shape": []int64{k, k}, "strides": []int64{s, s}, "pads": []int64{p, p, p, p}})
			ys := g.Shape(y)
			if ys.Size() != int64(len(rw)) {
				t.Fatalf("pool output %v, brute force has %d values", ys, len(rw))
			}
			prod := g.Op(graph.OpMul, []string{y, g.Init("r", graph.Floats(ys, rw))}, nil)
			loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{prod}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
			grads, err := autodiff.Backward(g, loss, []string{in})
			if err != nil {
				t.Fatal(err)
			}
			got := runPoolGraph(t, r, g, map[string][]float32{in: x}, grads[in])
			for i := range want {
				if math.Abs(float64(got[i]-want[i])) > 1e-5 {
					t.Fatalf("dX[%d] = %g, want %g (x = %v)", i, got[i], want[i], x[i])
				}
			}
		})
	}
}

// runPoolGraph runs g on the given inputs and returns one output.
func runPoolGraph(t *testing.T, r *ort.Runtime, g *graph.Graph, feeds map[string][]float32, out string) []float32 {
	t.Helper()
	out = g.Op(graph.OpIdentity, []string{out}, nil)
	g.Output(out)
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	var ins []*ort.Tensor
	for _, name := range g.Inputs {
		x, err := ort.NewTensor(g.Shape(name), feeds[name])
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
		ins = append(ins, x)
	}
	o, err := ort.ZerosTensor(g.Shape(out))
	if err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyAll(append(ins, o)...)
	s, err := r.NewSession(b, names, []string{out}, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	if err := s.Run(context.Background(), ins, []*ort.Tensor{o}); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), o.GetData()...)
}

func TestAveragePoolGradients(t *testing.T) {
	cases := []struct {
		name  string
		x     graph.Shape
		attrs graph.Attrs
	}{
		{"2x2Stride2Tiles", graph.Shape{2, 3, 6, 6}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}},
		{"3x3Pad1ExcludePad", graph.Shape{1, 2, 5, 5}, graph.Attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}}},
		{"3x3Pad1IncludePad", graph.Shape{1, 2, 5, 5}, graph.Attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}, "count_include_pad": int64(1)}},
		{"Stride2Pad1Overlap", graph.Shape{2, 2, 7, 7}, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "pads": []int64{1, 1, 1, 1}}},
		{"CeilExcludePad", graph.Shape{1, 2, 6, 6}, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "ceil_mode": int64(1)}},
		{"CeilIncludePad", graph.Shape{1, 2, 6, 7}, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "pads": []int64{1, 1, 1, 1}, "ceil_mode": int64(1), "count_include_pad": int64(1)}},
		{"AsymmetricIncludePad", graph.Shape{1, 2, 7, 6}, graph.Attrs{"kernel_shape": []int64{3, 2}, "strides": []int64{2, 1}, "pads": []int64{1, 0, 0, 1}, "count_include_pad": int64(1)}},
		{"AsymmetricExcludePad", graph.Shape{1, 2, 7, 6}, graph.Attrs{"kernel_shape": []int64{3, 2}, "strides": []int64{2, 1}, "pads": []int64{1, 0, 0, 1}}},
		{"Remainder", graph.Shape{2, 2, 7, 9}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 3}}},
		{"TileRemainder", graph.Shape{2, 2, 7, 9}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}},
		{"CeilModeTile", graph.Shape{1, 2, 5, 5}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}, "ceil_mode": int64(1)}},
		{"SameUpper", graph.Shape{1, 2, 7, 7}, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "auto_pad": "SAME_UPPER"}},
		{"1D", graph.Shape{2, 3, 10}, graph.Attrs{"kernel_shape": []int64{3}, "strides": []int64{2}}},
		{"1DPadIncludePad", graph.Shape{2, 2, 8}, graph.Attrs{"kernel_shape": []int64{4}, "pads": []int64{2, 1}, "count_include_pad": int64(1)}},
		{"3DTiles", graph.Shape{1, 2, 4, 4, 4}, graph.Attrs{"kernel_shape": []int64{2, 2, 2}, "strides": []int64{2, 2, 2}}},
		{"3DPad", graph.Shape{1, 1, 4, 5, 4}, graph.Attrs{"kernel_shape": []int64{3, 3, 3}, "strides": []int64{1, 2, 2}, "pads": []int64{1, 1, 0, 1, 0, 1}}},
	}
	for _, tc := range cases {
		gc := gradcheck.GradCase{
			Name:   "AveragePool" + tc.name,
			Inputs: []gradcheck.In{{Name: "x", Shape: tc.x}},
			Build:  op(graph.OpAveragePool, tc.attrs),
		}
		t.Run(tc.name, func(t *testing.T) { gradcheck.Check(t, gc) })
	}
}

func TestGlobalPoolGradients(t *testing.T) {
	cases := []struct {
		op graph.OpType
		x  graph.Shape
	}{
		{graph.OpGlobalAveragePool, graph.Shape{2, 3, 4, 5}},
		{graph.OpGlobalAveragePool, graph.Shape{2, 3, 7}},
		{graph.OpGlobalMaxPool, graph.Shape{2, 3, 4, 5}},
		{graph.OpGlobalMaxPool, graph.Shape{1, 2, 3, 2, 4}},
	}
	for _, tc := range cases {
		gc := gradcheck.GradCase{
			Name:   string(tc.op) + tc.x.String(),
			Inputs: []gradcheck.In{{Name: "x", Shape: tc.x, Data: spaced(tc.x, uint64(len(tc.x)))}},
			Build:  op(tc.op, nil),
		}
		t.Run(gc.Name, func(t *testing.T) { gradcheck.Check(t, gc) })
	}
}

func TestPoolRejects(t *testing.T) {
	cases := []struct {
		name  string
		build func(g *graph.Graph, x string) string
		want  string
	}{
		{"AveragePoolDilations", func(g *graph.Graph, x string) string {
			return g.Op(graph.OpAveragePool, []string{x}, graph.Attrs{"kernel_shape": []int64{2, 2}, "dilations": []int64{2, 2}})
		}, "dilations"},
		{"MaxPoolColumnMajorIndices", func(g *graph.Graph, x string) string {
			outs := g.OpN(graph.OpMaxPool, []string{x}, 2, graph.Attrs{"kernel_shape": []int64{2, 2}, "storage_order": int64(1)})
			return outs[0]
		}, "storage_order=1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("t")
			x := g.Input("x", graph.Float, graph.Shape{1, 2, 6, 6})
			y := tc.build(g, x)
			loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{y}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
			_, err := autodiff.Backward(g, loss, []string{x})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// benchStep times one run of build's output (Forward) or of a loss on
// it together with the gradients of every input (ForwardBackward): the
// cost one op adds to a training step. One ORT thread, so figures compare
// across machines with different core counts.
func benchStep(b *testing.B, shapes []graph.Shape, build func(g *graph.Graph, in []string) string, withGrad bool) {
	lib, err := ort.FindLibrary("", "")
	if err != nil {
		b.Skip(err)
	}
	r, err := ort.Open(lib)
	if err != nil {
		b.Skip(err)
	}
	defer r.Close()
	g := graph.New("bench")
	var names []string
	for i, s := range shapes {
		names = append(names, g.Input(fmt.Sprintf("x%d", i), graph.Float, s))
	}
	y := build(g, names)
	outs := []string{y}
	if withGrad {
		loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{g.Op(graph.OpMul, []string{y, y}, nil)}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
		grads, err := autodiff.Backward(g, loss, names)
		if err != nil {
			b.Fatal(err)
		}
		outs = []string{loss}
		for _, n := range names {
			outs = append(outs, g.Op(graph.OpIdentity, []string{grads[n]}, nil))
		}
	}
	g.Output(outs...)
	bs, err := g.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	s, err := r.NewSession(bs, names, outs, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Destroy()
	var ins, ots []*ort.Tensor
	for i, sh := range shapes {
		t, err := ort.NewTensor(sh, spaced(sh, uint64(i)))
		if err != nil {
			b.Fatal(err)
		}
		ins = append(ins, t)
	}
	for _, o := range outs {
		t, err := ort.ZerosTensor(g.Shape(o))
		if err != nil {
			b.Fatal(err)
		}
		ots = append(ots, t)
	}
	defer ort.DestroyAll(append(ots, ins...)...)
	for b.Loop() {
		if err := s.Run(context.Background(), ins, ots); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPool(b *testing.B) {
	cases := []struct {
		name  string
		op    graph.OpType
		attrs graph.Attrs
	}{
		{"MaxPool3x3s2", graph.OpMaxPool, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "pads": []int64{1, 1, 1, 1}}},
		{"MaxPool2x2s2", graph.OpMaxPool, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}},
		{"AvgPool3x3s2", graph.OpAveragePool, graph.Attrs{"kernel_shape": []int64{3, 3}, "strides": []int64{2, 2}, "pads": []int64{1, 1, 1, 1}}},
		{"AvgPool3x3s1", graph.OpAveragePool, graph.Attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}, "count_include_pad": int64(1)}},
		{"AvgPool2x2s2", graph.OpAveragePool, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}}},
		// The cost of the loss and of writing the input gradient alone.
		{"ReluBaseline", graph.OpRelu, nil},
	}
	for _, tc := range cases {
		for _, xs := range []graph.Shape{{4, 16, 64, 64}, {8, 64, 56, 56}} {
			build := op(tc.op, tc.attrs)
			name := fmt.Sprintf("%s/%v", tc.name, []int64(xs))
			b.Run(name+"/Forward", func(b *testing.B) { benchStep(b, []graph.Shape{xs}, build, false) })
			b.Run(name+"/ForwardBackward", func(b *testing.B) { benchStep(b, []graph.Shape{xs}, build, true) })
		}
	}
}
