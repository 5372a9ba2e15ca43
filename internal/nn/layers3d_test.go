package nn_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
)

// run1 runs g (input x fed with data) and returns output y.
func run1(t *testing.T, g *graph.Graph, x, y string, data []float32) []float32 {
	t.Helper()
	rt := gradcheck.Runtime(t)
	g.Output(y)
	mb, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(mb, []string{x}, []string{y}, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	in, err := ort.NewTensor(g.Shape(x), data)
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
	return slices.Clone(out.GetData())
}

func randomData(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	d := make([]float32, n)
	for i := range d {
		d[i] = float32(rng.NormFloat64())
	}
	return d
}

func near(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if math.Abs(float64(got[i]-want[i])) > tol*math.Max(1, math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %v, want %v", what, i, got[i], want[i])
		}
	}
}

// Conv3D (no bias, padding 1) against a direct 7-loop convolution in Go.
func TestConv3DValues(t *testing.T) {
	const n, ci, co, d, h, w = 2, 2, 3, 3, 4, 5
	g := graph.New("c3")
	x := g.Input("x", graph.Float, graph.Shape{n, ci, d, h, w})
	b := nn.New(g, false, 1)
	y := b.Conv3D(x, "c", co, 3, 1, 1, false)
	if s := g.Shape(y); !slices.Equal(s, graph.Shape{n, co, d, h, w}) {
		t.Fatalf("shape %v", s)
	}
	wt := constF32(t, g, "c.w")
	data := randomData(n*ci*d*h*w, 1)
	got := run1(t, g, x, y, data)
	want := make([]float32, n*co*d*h*w)
	at := func(v []float32, c, C, z, yy, xx int, bi int) float32 {
		if z < 0 || z >= d || yy < 0 || yy >= h || xx < 0 || xx >= w {
			return 0
		}
		return v[((((bi*C)+c)*d+z)*h+yy)*w+xx]
	}
	for bi := range n {
		for o := range co {
			for z := range d {
				for yy := range h {
					for xx := range w {
						s := 0.0
						for c := range ci {
							for a := range 3 {
								for p := range 3 {
									for q := range 3 {
										k := (((o*ci+c)*3+a)*3+p)*3 + q
										s += float64(wt[k]) * float64(at(data, c, ci, z+a-1, yy+p-1, xx+q-1, bi))
									}
								}
							}
						}
						want[((((bi*co)+o)*d+z)*h+yy)*w+xx] = float32(s)
					}
				}
			}
		}
	}
	near(t, "conv3d", got, want, 1e-4)
}

// MaxPool3D against a brute-force Go pool, for the rewritten forms (depth
// kernel 1; a kernel spanning the whole depth with depth stride 1, tiling
// the frames or not) and a plain 3-D pool.
func TestMaxPool3DValues(t *testing.T) {
	cases := []struct {
		name   string
		x      graph.Shape
		k, s   [3]int
		outDHW [3]int64
	}{
		{"Frames", graph.Shape{2, 3, 4, 6, 4}, [3]int{1, 2, 2}, [3]int{1, 2, 2}, [3]int64{4, 3, 2}},
		{"WholeDepth", graph.Shape{2, 2, 5, 4, 4}, [3]int{5, 2, 2}, [3]int{1, 2, 2}, [3]int64{1, 2, 2}},
		{"WholeDepthOverlapping", graph.Shape{1, 2, 3, 5, 5}, [3]int{3, 3, 3}, [3]int{1, 2, 2}, [3]int64{1, 2, 2}},
		{"Plain", graph.Shape{1, 2, 4, 4, 6}, [3]int{2, 2, 3}, [3]int{2, 2, 3}, [3]int64{2, 2, 2}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("p3")
			x := g.Input("x", graph.Float, tc.x)
			y := nn.New(g, false, 1).MaxPool3D(x, tc.k, tc.s)
			want := graph.Shape{tc.x[0], tc.x[1], tc.outDHW[0], tc.outDHW[1], tc.outDHW[2]}
			if s := g.Shape(y); !slices.Equal(s, want) {
				t.Fatalf("shape %v, want %v", s, want)
			}
			data := randomData(int(tc.x.Size()), 2)
			got := run1(t, g, x, y, data)
			D, H, W := int(tc.x[2]), int(tc.x[3]), int(tc.x[4])
			var ref []float32
			for nc := range int(tc.x[0] * tc.x[1]) {
				for z := range int(tc.outDHW[0]) {
					for yy := range int(tc.outDHW[1]) {
						for xx := range int(tc.outDHW[2]) {
							m := float32(math.Inf(-1))
							for a := range tc.k[0] {
								for p := range tc.k[1] {
									for q := range tc.k[2] {
										zi, yi, xi := z*tc.s[0]+a, yy*tc.s[1]+p, xx*tc.s[2]+q
										m = max(m, data[((nc*D+zi)*H+yi)*W+xi])
									}
								}
							}
							ref = append(ref, m)
						}
					}
				}
			}
			near(t, "maxpool", got, ref, 0)
		})
	}
}

// The rewritten pool forms are differentiable like the op they replace.
func TestMaxPool3DGradients(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    graph.Shape
		k, s [3]int
	}{
		{"Frames", graph.Shape{2, 2, 3, 4, 4}, [3]int{1, 2, 2}, [3]int{1, 2, 2}},
		{"WholeDepth", graph.Shape{2, 2, 3, 4, 6}, [3]int{3, 2, 2}, [3]int{1, 2, 2}},
	} {
		n := int(tc.x.Size())
		data := make([]float32, n)
		for i, p := range rand.New(rand.NewPCG(5, 5)).Perm(n) {
			data[i] = 0.1*float32(p) - 0.05*float32(n) // distinct: no ties
		}
		gradcheck.Check(t, gradcheck.GradCase{Name: "MaxPool3D" + tc.name,
			Inputs: []gradcheck.In{{Name: "x", Shape: tc.x, Data: data}},
			Build: func(g *graph.Graph, in []string) string {
				return nn.New(g, true, 1).MaxPool3D(in[0], tc.k, tc.s)
			}})
	}
}

// InstanceNorm without affine parameters on a 5-D tensor: per (sample,
// channel) standardisation with the biased variance, nothing trainable.
func TestInstanceNormValues(t *testing.T) {
	const n, c, sp = 2, 3, 2 * 3 * 4
	g := graph.New("in")
	x := g.Input("x", graph.Float, graph.Shape{n, c, 2, 3, 4})
	b := nn.New(g, true, 1)
	y := b.InstanceNorm(x, "in", false)
	if tr := b.Registry().Trainable; len(tr) != 0 {
		t.Fatalf("non-affine instance norm has trainable %v", tr)
	}
	data := randomData(n*c*sp, 3)
	for i := range data {
		data[i] = data[i]*3 + 2
	}
	got := run1(t, g, x, y, data)
	want := make([]float32, len(data))
	for k := range n * c {
		seg := data[k*sp : (k+1)*sp]
		mean, ss := 0.0, 0.0
		for _, v := range seg {
			mean += float64(v)
		}
		mean /= sp
		for _, v := range seg {
			ss += (float64(v) - mean) * (float64(v) - mean)
		}
		inv := 1 / math.Sqrt(ss/sp+1e-5)
		for i, v := range seg {
			want[k*sp+i] = float32((float64(v) - mean) * inv)
		}
	}
	near(t, "instance norm", got, want, 1e-4)

	g2 := graph.New("in-affine")
	x2 := g2.Input("x", graph.Float, graph.Shape{1, 2, 4, 4})
	b2 := nn.New(g2, true, 1)
	b2.InstanceNorm(x2, "in", true)
	if tr := b2.Registry().Trainable; !slices.Equal(tr, []string{"in.scale", "in.bias"}) {
		t.Errorf("affine instance norm trains %v, want in.scale and in.bias", tr)
	}
}

// Linear is x W^T + b with W [out, in] as PyTorch stores it, initialised
// within PyTorch's bound 1/sqrt(in).
func TestLinearValues(t *testing.T) {
	const n, in, out = 3, 16, 5
	g := graph.New("fc")
	x := g.Input("x", graph.Float, graph.Shape{n, in})
	b := nn.New(g, true, 7)
	y := b.Scope("head").Linear(x, "fc", out, true)
	if tr := b.Registry().Trainable; !slices.Equal(tr, []string{"head.fc.w", "head.fc.b"}) {
		t.Fatalf("trainable %v", tr)
	}
	w, _ := g.Const("head.fc.w")
	bias, _ := g.Const("head.fc.b")
	if !slices.Equal(w.Shape, graph.Shape{out, in}) || !slices.Equal(bias.Shape, graph.Shape{out}) {
		t.Fatalf("shapes %v %v", w.Shape, bias.Shape)
	}
	bound := 1 / math.Sqrt(in)
	for _, v := range append(slices.Clone(w.F32), bias.F32...) {
		if math.Abs(float64(v)) > bound {
			t.Fatalf("init value %v outside PyTorch's bound %v", v, bound)
		}
	}
	data := randomData(n*in, 4)
	got := run1(t, g, x, y, data)
	want := make([]float32, n*out)
	for i := range n {
		for o := range out {
			s := float64(bias.F32[o])
			for k := range in {
				s += float64(data[i*in+k]) * float64(w.F32[o*in+k])
			}
			want[i*out+o] = float32(s)
		}
	}
	near(t, "linear", got, want, 1e-5)
}

// Dropout2d multiplies by the fed channel mask in training and is the
// identity in inference; Dropout2dMask keeps each channel with
// probability 1-p at value 1/(1-p).
func TestDropout2d(t *testing.T) {
	rt := gradcheck.Runtime(t)
	g := graph.New("drop")
	x := g.Input("x", graph.Float, graph.Shape{2, 3, 2, 2})
	y := nn.New(g, true, 1).Dropout2d(x, "mask")
	if s := g.Shape("mask"); !slices.Equal(s, graph.Shape{2, 3, 1, 1}) {
		t.Fatalf("mask input shape %v", s)
	}
	g.Output(y)
	mb, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(mb, []string{x, "mask"}, []string{y}, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	data := randomData(24, 5)
	mask := []float32{0, 2, 2, 2, 0, 0}
	xt := gradcheck.Tensor(t, graph.Shape{2, 3, 2, 2}, data)
	mt := gradcheck.Tensor(t, graph.Shape{2, 3, 1, 1}, mask)
	ot := gradcheck.Zeros(t, graph.Shape{2, 3, 2, 2})
	defer ort.DestroyAll(xt, mt, ot)
	if err := s.Run(context.Background(), []*ort.Tensor{xt, mt}, []*ort.Tensor{ot}); err != nil {
		t.Fatal(err)
	}
	want := make([]float32, 24)
	for i := range want {
		want[i] = data[i] * mask[i/4]
	}
	near(t, "dropout", ot.GetData(), want, 0)

	gi := graph.New("drop-eval")
	xi := gi.Input("x", graph.Float, graph.Shape{2, 3, 2, 2})
	if yi := nn.New(gi, false, 1).Dropout2d(xi, "mask"); yi != xi || gi.Has("mask") {
		t.Errorf("inference dropout: output %q (input %q), mask declared %v", yi, xi, gi.Has("mask"))
	}

	const p = 0.3
	m := nn.Dropout2dMask(rand.New(rand.NewPCG(1, 1)), 200, 50, p)
	kept := 0
	for _, v := range m {
		switch v {
		case 0:
		case float32(1 / (1 - p)):
			kept++
		default:
			t.Fatalf("mask value %v", v)
		}
	}
	// 10000 Bernoulli(0.7) draws: the standard deviation of the kept
	// fraction is 0.0046; 5 of them is 0.023.
	if f := float64(kept) / float64(len(m)); math.Abs(f-(1-p)) > 0.023 {
		t.Errorf("kept fraction %v, want about %v", f, 1-p)
	}
}

func constF32(t *testing.T, g *graph.Graph, name string) []float32 {
	t.Helper()
	v, ok := g.Const(name)
	if !ok {
		t.Fatalf("no initializer %s", name)
	}
	return v.F32
}
