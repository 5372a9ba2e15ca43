package graph

import "testing"

func TestFootprintSumsShapes(t *testing.T) {
	g := New("f")
	x := g.Input("x", Float, Shape{2, 3, 4, 4})
	w := g.Init("w", Floats(Shape{5, 3, 1, 1}, make([]float32, 15)))
	y := g.Op(OpConv, []string{x, w}, nil)
	g.Output(y)
	f := g.Footprint()
	if f.Params != 15*4 {
		t.Errorf("params %d bytes, want 60", f.Params)
	}
	if want := int64(2*3*16+2*5*16) * 4; f.Activations != want {
		t.Errorf("activations %d bytes, want %d", f.Activations, want)
	}
	huge := New("huge")
	huge.Input("x", Float, Shape{1 << 40, 1 << 40})
	if f := huge.Footprint(); f.Activations != maxInt64 {
		t.Errorf("an overflowing shape gives %d, want the saturated maximum", f.Activations)
	}
}
