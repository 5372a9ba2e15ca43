package arch_test

import (
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
)

// A 4-D feature is tapped as it is, a 5-D one with its frames folded into
// the channels and the hook's result shaped back; either way the hook sees
// the tensor named TapName(name).
func TestTapAt(t *testing.T) {
	cases := []struct {
		name      string
		in, atTap graph.Shape
	}{
		{"image", graph.Shape{2, 8, 4, 4}, graph.Shape{2, 8, 4, 4}},
		{"video", graph.Shape{2, 8, 3, 4, 4}, graph.Shape{2, 24, 4, 4}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("tap")
			x := g.Input("x", graph.Float, tc.in)
			b := nn.New(g, false, 1)
			var seen string
			out := arch.TapAt(b, "enc", x, func(name, f string) string {
				if name != "enc" {
					t.Errorf("hook called for %q, want enc", name)
				}
				seen = f
				return b.Relu(f)
			})
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			if seen != arch.TapName("enc") {
				t.Errorf("hook saw %q, want %q", seen, arch.TapName("enc"))
			}
			if s := g.Shape(seen); !slices.Equal(s, tc.atTap) {
				t.Errorf("tapped feature %v, want %v", s, tc.atTap)
			}
			if s := g.Shape(out); !slices.Equal(s, tc.in) {
				t.Errorf("continued with %v, want the input's %v", s, tc.in)
			}
		})
	}
	g := graph.New("tap")
	x := g.Input("x", graph.Float, graph.Shape{1, 2, 3, 3})
	if got := arch.TapAt(nn.New(g, false, 1), "enc", x, nil); got != arch.TapName("enc") {
		t.Errorf("without a hook the network continues with %q, want %q", got, arch.TapName("enc"))
	}
}
