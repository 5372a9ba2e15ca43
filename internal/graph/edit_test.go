package graph_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/graph"
)

// small is x [2, 3] -> Mul(x, w) -> Relu, with w an initializer.
func small(t *testing.T) (g *graph.Graph, x, w, y string) {
	t.Helper()
	g = graph.New("e")
	x = g.Input("x", graph.Float, graph.Shape{2, 3})
	w = g.Init("w", graph.Floats(graph.Shape{3}, []float32{1, 2, 3}))
	y = g.Relu(g.Mul(x, w))
	g.Output(y)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	return g, x, w, y
}

// The edit methods keep inputs, initializers, types and producers
// consistent, and refuse edits that would break the graph, naming the
// tensor.
func TestEdits(t *testing.T) {
	cases := []struct {
		name    string
		edit    func(g *graph.Graph, x, w, y string) error
		wantErr string
		check   func(t *testing.T, g *graph.Graph, x, w, y string)
	}{
		{"init to input", func(g *graph.Graph, x, w, y string) error {
			v, err := g.InitToInput(w)
			if err == nil && !slices.Equal(v.F32, []float32{1, 2, 3}) {
				t.Errorf("value %v", v.F32)
			}
			return err
		}, "", func(t *testing.T, g *graph.Graph, x, w, y string) {
			if _, ok := g.Const(w); ok || !slices.Equal(g.Inputs, []string{x, w}) || !slices.Equal(g.Shape(w), graph.Shape{3}) {
				t.Errorf("inputs %v, const %v, shape %v", g.Inputs, g.InitNames(), g.Shape(w))
			}
		}},
		{"init to input, not an initializer", func(g *graph.Graph, x, w, y string) error {
			_, err := g.InitToInput(x)
			return err
		}, `"x" is not an initializer`, nil},
		{"compute an input", func(g *graph.Graph, x, w, y string) error {
			flat := g.Input("flat", graph.Float, graph.Shape{6})
			g.ComputeInput(&graph.Node{Op: graph.OpReshape, Name: x, Inputs: []string{flat, g.Const1D(2, 3)}, Outputs: []string{x}})
			return g.Err()
		}, "", func(t *testing.T, g *graph.Graph, x, w, y string) {
			if !slices.Equal(g.Inputs, []string{"flat"}) || g.Producer(x) == nil || g.Producer(x).Op != graph.OpReshape {
				t.Errorf("inputs %v, producer of x %v", g.Inputs, g.Producer(x))
			}
			if err := g.SortNodes(); err != nil {
				t.Error(err)
			}
			if _, err := g.Bytes(); err != nil {
				t.Error(err)
			}
		}},
		{"compute an input of another shape", func(g *graph.Graph, x, w, y string) error {
			flat := g.Input("flat", graph.Float, graph.Shape{6})
			g.ComputeInput(&graph.Node{Op: graph.OpReshape, Name: x, Inputs: []string{flat, g.Const1D(3, 2)}, Outputs: []string{x}})
			return g.Err()
		}, `computes input "x" as float32 [3 2]; it was float32 [2 3]`, nil},
		{"compute a non-input", func(g *graph.Graph, x, w, y string) error {
			g.ComputeInput(&graph.Node{Op: graph.OpIdentity, Name: "z", Inputs: []string{x}, Outputs: []string{"z"}})
			return g.Err()
		}, `"z" is not an input to compute`, nil},
		{"remove a read input", func(g *graph.Graph, x, w, y string) error { return g.RemoveInput(x) }, `still reads it`, nil},
		{"remove an unread input", func(g *graph.Graph, x, w, y string) error {
			g.Input("spare", graph.Float, graph.Shape{1})
			return g.RemoveInput("spare")
		}, "", func(t *testing.T, g *graph.Graph, x, w, y string) {
			if g.Has("spare") || !slices.Equal(g.Inputs, []string{x}) {
				t.Errorf("spare still there: inputs %v", g.Inputs)
			}
		}},
		{"reorder inputs", func(g *graph.Graph, x, w, y string) error {
			g.Input("b", graph.Float, graph.Shape{1})
			return g.SetInputs("b", x)
		}, "", func(t *testing.T, g *graph.Graph, x, w, y string) {
			if !slices.Equal(g.Inputs, []string{"b", x}) {
				t.Errorf("inputs %v", g.Inputs)
			}
		}},
		{"reorder inputs with a stranger", func(g *graph.Graph, x, w, y string) error { return g.SetInputs(w) }, `"w" is not an input`, nil},
		{"set outputs", func(g *graph.Graph, x, w, y string) error {
			g.SetOutputs(x, y, x)
			return g.Err()
		}, "", func(t *testing.T, g *graph.Graph, x, w, y string) {
			if !slices.Equal(g.Outputs, []string{x, y}) {
				t.Errorf("outputs %v", g.Outputs)
			}
		}},
		{"set a missing output", func(g *graph.Graph, x, w, y string) error {
			g.SetOutputs("nope")
			return g.Err()
		}, `output "nope" is not a tensor`, nil},
		{"add a node output", func(g *graph.Graph, x, w, y string) error {
			g.SetNodeOutput(g.Producer(y), 1, "extra", graph.Info{DType: graph.Int64, Shape: graph.Shape{2, 3}})
			return g.Err()
		}, "", func(t *testing.T, g *graph.Graph, x, w, y string) {
			if p := g.Producer("extra"); p != g.Producer(y) || g.DType("extra") != graph.Int64 || !slices.Equal(p.Outputs, []string{y, "extra"}) {
				t.Errorf("extra: producer %v, dtype %v", p, g.DType("extra"))
			}
		}},
		{"add a node output over a tensor", func(g *graph.Graph, x, w, y string) error {
			g.SetNodeOutput(g.Producer(y), 1, x, graph.Info{DType: graph.Float, Shape: graph.Shape{2, 3}})
			return g.Err()
		}, `new output "x" is empty or already a tensor`, nil},
		{"add a node output in a used slot", func(g *graph.Graph, x, w, y string) error {
			g.SetNodeOutput(g.Producer(y), 0, "z", graph.Info{DType: graph.Float, Shape: graph.Shape{2, 3}})
			return g.Err()
		}, `no free output slot 0`, nil},
		{"metadata", func(g *graph.Graph, x, w, y string) error {
			g.SetMeta("b", "2")
			g.SetMeta("a", "1")
			g.SetMeta("c", "3")
			g.DeleteMeta("c")
			return nil
		}, "", func(t *testing.T, g *graph.Graph, x, w, y string) {
			if !slices.Equal(g.MetaKeys(), []string{"a", "b"}) || g.Meta("b") != "2" || g.Meta("c") != "" {
				t.Errorf("meta keys %v", g.MetaKeys())
			}
			m, err := g.Model()
			if err != nil || len(m.MetadataProps) != 2 || m.MetadataProps[0].GetKey() != "a" {
				t.Errorf("metadata written as %v (%v)", m.GetMetadataProps(), err)
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, x, w, y := small(t)
			err := tc.edit(g, x, w, y)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, g, x, w, y)
		})
	}
}

// The read accessors list names sorted, whatever the insertion order.
func TestNameLists(t *testing.T) {
	g := graph.New("n")
	x := g.Input("x", graph.Float, graph.Shape{2})
	b := g.Init("b", graph.Floats(graph.Shape{2}, []float32{1, 2}))
	a := g.Init("a", graph.Floats(graph.Shape{2}, []float32{3, 4}))
	y := g.Add(g.Mul(x, b), a)
	if got := g.InitNames(); !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("init names %v", got)
	}
	if got := g.TensorNames(); !slices.Equal(got, []string{"a", "add", "b", "mul", "x"}) || y != "add" {
		t.Errorf("tensor names %v (y = %q)", got, y)
	}
	if g.Producer(x) != nil || g.Producer(a) != nil || g.Producer(y).Op != graph.OpAdd {
		t.Error("producers of input, initializer and node output wrong")
	}
}
