package mnad_test

import (
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/baseline/mnad"
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
	y := mnad.Build(b, x, mnad.Config{Width: 0.25, Frames: 4, Channels: 3}, func(name, f string) string {
		seen[name] = g.Shape(f)
		return f
	}).Prediction
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

// With memory the bottleneck tap is still the encoder output, the decoder
// reads query and item (twice the channels), and the items are the one
// state besides the BatchNorm statistics.
func TestMNADMemory(t *testing.T) {
	for _, train := range []bool{true, false} {
		g := graph.New("mnad")
		x := g.Input("frames", graph.Float, graph.Shape{2, 4, 32, 32})
		b := nn.New(g, train, 1)
		var bott graph.Shape
		out := mnad.Build(b, x, mnad.Config{Width: 0.0625, Frames: 4, Channels: 1, MemoryItems: mnad.MemoryItems}, func(name, f string) string {
			if name == "bottleneck" {
				bott = g.Shape(f)
			}
			return f
		})
		if err := g.Err(); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(bott, graph.Shape{2, 32, 4, 4}) {
			t.Errorf("bottleneck tap %v, want [2 32 4 4]", bott)
		}
		if out.Memory == nil || out.Memory.Query != mnad.MemoryQuery || out.Memory.Items != mnad.MemoryTensor {
			t.Fatalf("memory %+v, want query %s and items %s", out.Memory, mnad.MemoryQuery, mnad.MemoryTensor)
		}
		if s := g.Shape(mnad.MemoryTensor); !slices.Equal(s, graph.Shape{mnad.MemoryItems, 32}) {
			t.Errorf("items %v, want [10 32]", s)
		}
		if s := g.Shape("dec1.c1.conv.w"); !slices.Equal(s, graph.Shape{32, 64, 3, 3}) {
			t.Errorf("first decoder conv weight %v, want [32 64 3 3] (query and item)", s)
		}
		var mem int
		for _, st := range b.Registry().States() {
			if st.Name == mnad.MemoryTensor {
				mem++
			}
		}
		if want := map[bool]int{true: 1, false: 0}[train]; mem != want || (train && out.Memory.Compactness == "") {
			t.Errorf("train=%v: memory states %d, want %d; losses %q %q", train, mem, want, out.Memory.Compactness, out.Memory.Separateness)
		}
		if s := g.Shape(out.Prediction); !slices.Equal(s, graph.Shape{2, 1, 32, 32}) {
			t.Errorf("prediction %v", s)
		}
	}
}
