package nn

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

// unitItems are m random unit rows of width c.
func unitItems(m, c int, seed uint64) []float32 {
	b := New(graph.New("items"), false, seed)
	return b.unitRows(m, int64(c)).F32
}

// The read path (normalisation, scores, softmax over items, weighted sum,
// concatenation) and the two losses have the gradients finite differences
// give with respect to the feature the queries come from.
func TestMemoryGradients(t *testing.T) {
	const m, c = 4, 5
	xShape := graph.Shape{2, c, 2, 3}
	items := unitItems(m, c, 3)
	cases := []struct {
		name  string
		out   func(mem *Memory) string
		train bool
	}{
		{"read, not detached", func(mem *Memory) string { return mem.Out }, false},
		{"compactness", func(mem *Memory) string { return mem.Compactness }, true},
		{"separateness", func(mem *Memory) string { return mem.Separateness }, true},
	}
	for _, tc := range cases {
		gradcheck.Check(t, gradcheck.GradCase{Name: tc.name, Eps: 1e-3,
			Inputs: []gradcheck.In{{Name: "x", Shape: xShape}, {Name: "items", Shape: graph.Shape{m, c}, Data: items, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string {
				mem, _ := memoryGraph(g, in[0], in[1], "memory.query", tc.train, false)
				return tc.out(mem)
			}})
	}
}

// MNAD detaches the read weights: the read half of the module's output
// sends no gradient to the feature, though its value depends on it.
func TestMemoryReadDetached(t *testing.T) {
	rt := gradcheck.Runtime(t)
	const m, c = 4, 3
	g := graph.New("detach")
	x := g.Input("x", graph.Float, graph.Shape{1, c, 2, 2})
	b := New(g, false, 5)
	mem := b.Memory(x, "memory", m)
	read := g.Op(graph.OpSlice, []string{mem.Out, g.Const1D(c), g.Const1D(2 * c), g.Const1D(1)}, nil)
	l := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{read}, graph.Attrs{"keepdims": int64(1)}), g.Const1D(1)}, nil)
	grads, err := autodiff.Backward(g, l, []string{x})
	if err != nil {
		t.Fatal(err)
	}
	dx := g.Op(graph.OpIdentity, []string{grads[x]}, nil)
	g.Output(l, dx)
	mb, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(mb, []string{x}, []string{l, dx}, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	run := func(data []float32) (float32, []float32) {
		in := gradcheck.Tensor(t, graph.Shape{1, c, 2, 2}, data)
		lo := gradcheck.Zeros(t, graph.Shape{1})
		do := gradcheck.Zeros(t, graph.Shape{1, c, 2, 2})
		defer ort.DestroyAll(in, lo, do)
		if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{lo, do}); err != nil {
			t.Fatal(err)
		}
		return lo.GetData()[0], append([]float32(nil), do.GetData()...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, c*4)
	for i := range data {
		data[i] = rng.Float32()*2 - 1
	}
	l0, d0 := run(data)
	for i, v := range d0 {
		if v != 0 {
			t.Fatalf("gradient %d of the read half is %v, want 0 (detached)", i, v)
		}
	}
	data[0] += 0.5
	l1, _ := run(data)
	if math.Abs(float64(l1-l0)) < 1e-4 {
		t.Fatalf("read half did not change with the feature (%v, %v); the test proves nothing", l0, l1)
	}
}
