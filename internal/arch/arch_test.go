package arch_test

import (
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/arch"
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

func TestMNADShapesAndTaps(t *testing.T) {
	g := graph.New("mnad")
	x := g.Input("frames", graph.Float, graph.Shape{2, 12, 64, 64})
	b := nn.New(g, true, 1)
	seen := map[string]graph.Shape{}
	y := arch.MNAD(b, x, arch.MNADConfig{Width: 0.25, Frames: 4, Channels: 3}, func(name, f string) string {
		seen[name] = g.Shape(f)
		return f
	})
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if s := g.Shape(y); !slices.Equal(s, graph.Shape{2, 3, 64, 64}) {
		t.Fatalf("prediction shape %v", s)
	}
	want := map[string]graph.Shape{"encoder": {2, 64, 16, 16}, "bottleneck": {2, 128, 8, 8}, "decoder": {2, 64, 16, 16}}
	for k, v := range want {
		if !slices.Equal(seen[k], v) {
			t.Errorf("tap %s shape %v, want %v", k, seen[k], v)
		}
	}
	// Same count as scripts/bench_torch.py's PyTorch build of this network.
	t.Logf("MNAD width 0.25 params: %d", params(g, b.Registry().Trainable))
}

func TestDRAEMShapes(t *testing.T) {
	g := graph.New("draem")
	x := g.Input("image", graph.Float, graph.Shape{1, 3, 64, 64})
	b := nn.New(g, false, 1)
	seen := map[string]graph.Shape{}
	rec, logits := arch.DRAEM(b, x, arch.DRAEMConfig{Width: 0.125}, func(name, f string) string {
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
