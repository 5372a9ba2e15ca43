package draem_test

import (
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/baseline/draem"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
)

func params(g *graph.Graph, names []string) int64 {
	n := int64(0)
	for _, p := range names {
		n += g.Shape(p).Size()
	}
	return n
}

func TestDRAEMShapes(t *testing.T) {
	g := graph.New("draem")
	x := g.Input("image", graph.Float, graph.Shape{1, 3, 64, 64})
	b := nn.New(g, false, 1)
	seen := map[string]graph.Shape{}
	rec, logits := draem.Build(b, x, draem.Config{Width: 0.125}, func(name, f string) string {
		seen[name] = g.Shape(f)
		return f
	})
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(g.Shape(rec), graph.Shape{1, 3, 64, 64}) || !slices.Equal(g.Shape(logits), graph.Shape{1, 2, 64, 64}) {
		t.Fatalf("shapes %v %v", g.Shape(rec), g.Shape(logits))
	}
	if !slices.Equal(seen["bottleneck"], graph.Shape{1, 128, 4, 4}) {
		t.Errorf("bottleneck %v", seen["bottleneck"])
	}
	t.Logf("DRAEM width 0.125 params: %d", params(g, b.Registry().Trainable))
}
