package graph_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

// run feeds x ([2, 3, 4], values i/10 - 1) to a graph built by build and
// returns the output's shape and values.
func runOp(t *testing.T, build func(g *graph.Graph, x string) string) (graph.Shape, []float32) {
	t.Helper()
	rt := gradcheck.Runtime(t)
	g := graph.New("op")
	xs := graph.Shape{2, 3, 4}
	x := g.Input("x", graph.Float, xs)
	y := build(g, x)
	if y == x {
		y = g.Identity(x)
	}
	g.Output(y)
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(b, []string{x}, []string{y}, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	in, err := ort.NewTensor(xs, xData())
	if err != nil {
		t.Fatal(err)
	}
	out, err := ort.ZerosTensor(g.Shape(y))
	if err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyAll(in, out)
	if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{out}); err != nil {
		t.Fatal(err)
	}
	return g.Shape(y), slices.Clone(out.GetData())
}

func xData() []float32 {
	d := make([]float32, 24)
	for i := range d {
		d[i] = float32(i)/10 - 1
	}
	return d
}

// at is x[i, j, k] of xData.
func at(i, j, k int) float64 { return float64(float32(i*12+j*4+k)/10 - 1) }

// The typed builders compute what their ONNX op computes; the expected
// values are written out from the definitions, index by index.
func TestOpsValues(t *testing.T) {
	each := func(f func(i, j, k int) float64) []float64 {
		var out []float64
		for i := range 2 {
			for j := range 3 {
				for k := range 4 {
					out = append(out, f(i, j, k))
				}
			}
		}
		return out
	}
	cases := []struct {
		name  string
		build func(g *graph.Graph, x string) string
		shape graph.Shape
		want  []float64
	}{
		{"sub broadcast", func(g *graph.Graph, x string) string {
			return g.Sub(x, g.Init("v", graph.Floats(graph.Shape{4}, []float32{1, 2, 3, 4})))
		}, graph.Shape{2, 3, 4}, each(func(i, j, k int) float64 { return at(i, j, k) - float64(k+1) })},
		{"div pow", func(g *graph.Graph, x string) string {
			return g.Div(g.Pow(x, g.Scalar(2)), g.Scalar(4))
		}, graph.Shape{2, 3, 4}, each(func(i, j, k int) float64 { return at(i, j, k) * at(i, j, k) / 4 })},
		{"keep", func(g *graph.Graph, x string) string {
			return g.Keep(g.Greater(x, g.Scalar(0)), g.Neg(x))
		}, graph.Shape{2, 3, 4}, each(func(i, j, k int) float64 { return -math.Max(at(i, j, k), 0) })},
		{"where", func(g *graph.Graph, x string) string {
			return g.Where(g.Greater(x, g.Scalar(0)), x, g.Fill(graph.Shape{2, 3, 4}, 7))
		}, graph.Shape{2, 3, 4}, each(func(i, j, k int) float64 {
			if at(i, j, k) > 0 {
				return at(i, j, k)
			}
			return 7
		})},
		{"reduce sum all", func(g *graph.Graph, x string) string { return g.ReduceSum(x, nil, true) },
			graph.Shape{1, 1, 1}, []float64{sum(each(at))}},
		{"reduce mean axis 1", func(g *graph.Graph, x string) string { return g.ReduceMean(x, []int64{1}, false) },
			graph.Shape{2, 4}, func() []float64 {
				var out []float64
				for i := range 2 {
					for k := range 4 {
						out = append(out, (at(i, 0, k)+at(i, 1, k)+at(i, 2, k))/3)
					}
				}
				return out
			}()},
		{"unbroadcast to [3, 1]", func(g *graph.Graph, x string) string { return g.Unbroadcast(x, graph.Shape{3, 1}) },
			graph.Shape{3, 1}, func() []float64 {
				out := make([]float64, 3)
				for i := range 2 {
					for j := range 3 {
						for k := range 4 {
							out[j] += at(i, j, k)
						}
					}
				}
				return out
			}()},
		{"slice with step", func(g *graph.Graph, x string) string {
			return g.Slice(x, []int64{3}, []int64{math.MinInt64}, []int64{2}, []int64{-2})
		}, graph.Shape{2, 3, 2}, func() []float64 {
			var out []float64
			for i := range 2 {
				for j := range 3 {
					out = append(out, at(i, j, 3), at(i, j, 1))
				}
			}
			return out
		}()},
		{"split and concat swap halves", func(g *graph.Graph, x string) string {
			p := g.Split(x, 2, 1, 3)
			return g.Concat(2, p[1], p[0])
		}, graph.Shape{2, 3, 4}, each(func(i, j, k int) float64 { return at(i, j, (k+1)%4) })},
		{"transpose reshape", func(g *graph.Graph, x string) string {
			return g.Reshape(g.Transpose(x, 0, 2, 1), graph.Shape{2, 12})
		}, graph.Shape{2, 12}, func() []float64 {
			var out []float64
			for i := range 2 {
				for k := range 4 {
					for j := range 3 {
						out = append(out, at(i, j, k))
					}
				}
			}
			return out
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			shape, got := runOp(t, tc.build)
			if !slices.Equal(shape, tc.shape) || len(got) != len(tc.want) {
				t.Fatalf("shape %v with %d values, want %v with %d", shape, len(got), tc.shape, len(tc.want))
			}
			for i := range got {
				if math.Abs(float64(got[i])-tc.want[i]) > 1e-5 {
					t.Fatalf("value %d = %v, want %v (all: %v)", i, got[i], tc.want[i], got)
				}
			}
		})
	}
}

func sum(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x
	}
	return s
}

// Builders resolve the no-op cases at build time and append nothing; the
// others append exactly one node of their op (constants aside).
func TestOpsNodes(t *testing.T) {
	cases := []struct {
		name   string
		build  func(g *graph.Graph, x string) []string
		ops    []graph.OpType // ops of the nodes appended, in order
		inputs []int          // their input counts
		same   bool           // the result is x itself
	}{
		{"reshape to own shape", func(g *graph.Graph, x string) []string { return []string{g.Reshape(x, graph.Shape{2, 3})} }, nil, nil, true},
		{"reshape with -1", func(g *graph.Graph, x string) []string { return []string{g.Reshape(x, graph.Shape{-1, 3})} }, []graph.OpType{graph.OpReshape}, []int{2}, false},
		{"expand to own shape", func(g *graph.Graph, x string) []string { return []string{g.ExpandTo(x, graph.Shape{2, 3})} }, nil, nil, true},
		{"concat of one", func(g *graph.Graph, x string) []string { return []string{g.Concat(0, x)} }, nil, nil, true},
		{"sum of one", func(g *graph.Graph, x string) []string { return []string{g.Sum(x)} }, nil, nil, true},
		{"split in one", func(g *graph.Graph, x string) []string { return g.Split(x, 1, 3) }, nil, nil, true},
		{"sum of three", func(g *graph.Graph, x string) []string { return []string{g.Sum(x, x, x)} }, []graph.OpType{graph.OpSum}, []int{3}, false},
		{"reduce sum, nil axes", func(g *graph.Graph, x string) []string { return []string{g.ReduceSum(x, nil, false)} }, []graph.OpType{graph.OpReduceSum}, []int{1}, false},
		{"reduce sum, empty axes", func(g *graph.Graph, x string) []string { return []string{g.ReduceSum(x, []int64{}, false)} }, []graph.OpType{graph.OpReduceSum}, []int{2}, false},
		{"fill", func(g *graph.Graph, x string) []string { return []string{g.Fill(graph.Shape{5}, 2)} }, []graph.OpType{graph.OpExpand}, []int{2}, false},
		{"keep", func(g *graph.Graph, x string) []string { return []string{g.Keep(g.Greater(x, g.Scalar(0)), x)} }, []graph.OpType{graph.OpGreater, graph.OpCast, graph.OpMul}, []int{2, 1, 2}, false},
		{"unbroadcast", func(g *graph.Graph, x string) []string { return []string{g.Unbroadcast(x, graph.Shape{3})} }, []graph.OpType{graph.OpReduceSum, graph.OpReshape}, []int{2, 2}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("n")
			x := g.Input("x", graph.Float, graph.Shape{2, 3})
			outs := tc.build(g, x)
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			if tc.same != (len(outs) == 1 && outs[0] == x) {
				t.Errorf("result %v, x itself: %v", outs, tc.same)
			}
			var ops []graph.OpType
			var ins []int
			for _, n := range g.Nodes {
				ops, ins = append(ops, n.Op), append(ins, len(n.Inputs))
			}
			if !slices.Equal(ops, tc.ops) || !slices.Equal(ins, tc.inputs) {
				t.Errorf("nodes %v with %v inputs, want %v with %v", ops, ins, tc.ops, tc.inputs)
			}
		})
	}
}
