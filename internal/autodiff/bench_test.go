package autodiff_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

// BenchmarkConvGrad times one 3x3 conv forward and its input and weight
// gradients on the layer shapes of DRAEM at width 0.125 (64x64 input,
// batch 4), on 2 threads: the shapes that decide which gradient forms
// rules_conv.go picks. Report ms/op per sub-benchmark; compare "grad"
// with "fwd" of the same shape.
func BenchmarkConvGrad(b *testing.B) {
	rt := gradcheck.Runtime(b)
	for _, l := range []struct{ c, hw int64 }{{8, 64}, {16, 64}, {16, 32}, {32, 32}, {64, 16}, {128, 8}, {128, 4}, {64, 2}} {
		for _, grad := range []bool{false, true} {
			name := fmt.Sprintf("c%d_%dx%d/fwd", l.c, l.hw, l.hw)
			if grad {
				name = fmt.Sprintf("c%d_%dx%d/grad", l.c, l.hw, l.hw)
			}
			b.Run(name, func(b *testing.B) {
				xs, ws := graph.Shape{4, l.c, l.hw, l.hw}, graph.Shape{l.c, l.c, 3, 3}
				g := graph.New("conv")
				x := g.Input("x", graph.Float, xs)
				w := g.Input("w", graph.Float, ws)
				r := g.Input("r", graph.Float, xs)
				y := g.Op(graph.OpConv, []string{x, w}, graph.Attrs{"kernel_shape": []int64{3, 3}, "pads": []int64{1, 1, 1, 1}})
				outs := []string{y}
				if grad {
					// A random linear functional, so dY is a dense tensor.
					loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{g.Op(graph.OpMul, []string{y, r}, nil)}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
					grads, err := autodiff.Backward(g, loss, []string{x, w})
					if err != nil {
						b.Fatal(err)
					}
					outs = []string{grads[x], grads[w]}
				}
				g.Output(outs...)
				mb, err := g.Bytes()
				if err != nil {
					b.Fatal(err)
				}
				s, err := rt.NewSession(mb, []string{x, w, r}, outs, ort.Options{Threads: 2, Training: true, Profile: os.Getenv("FMAM_PROFILE")})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Destroy()
				rng := rand.New(rand.NewPCG(1, 2))
				mk := func(sh graph.Shape) *ort.Tensor {
					d := make([]float32, sh.Size())
					for i := range d {
						d[i] = rng.Float32() - 0.5
					}
					t, err := ort.NewTensor(sh, d)
					if err != nil {
						b.Fatal(err)
					}
					return t
				}
				ins := []*ort.Tensor{mk(xs), mk(ws), mk(xs)}
				var ots []*ort.Tensor
				for _, o := range outs {
					ots = append(ots, mk(g.Shape(o)))
				}
				defer ort.DestroyAll(append(ins, ots...)...)
				b.ResetTimer()
				for range b.N {
					if err := s.Run(context.Background(), ins, ots); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkMaxPoolGrad times the gradient of a 2x2 max pool (the square-
// tile form) on DRAEM's largest pooled tensor, 4x16x64x64, on 2 threads.
func BenchmarkMaxPoolGrad(b *testing.B) {
	rt := gradcheck.Runtime(b)
	xs := graph.Shape{4, 16, 64, 64}
	g := graph.New("pool")
	x := g.Input("x", graph.Float, xs)
	r := g.Input("r", graph.Float, graph.Shape{4, 16, 32, 32})
	y := g.Op(graph.OpMaxPool, []string{x}, graph.Attrs{"kernel_shape": []int64{2, 2}, "strides": []int64{2, 2}})
	loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{g.Op(graph.OpMul, []string{y, r}, nil)}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
	grads, err := autodiff.Backward(g, loss, []string{x})
	if err != nil {
		b.Fatal(err)
	}
	g.Output(grads[x])
	mb, err := g.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	s, err := rt.NewSession(mb, []string{x, r}, []string{grads[x]}, ort.Options{Threads: 2, Training: true})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Destroy()
	rng := rand.New(rand.NewPCG(3, 4))
	xd, rd := make([]float32, xs.Size()), make([]float32, xs.Size()/4)
	for i := range xd {
		xd[i] = max(0, rng.Float32()-0.3) // ReLU output: ties at zero
	}
	for i := range rd {
		rd[i] = rng.Float32()
	}
	xt := gradcheck.Tensor(b, xs, xd)
	rt2 := gradcheck.Tensor(b, graph.Shape{4, 16, 32, 32}, rd)
	ot := gradcheck.Zeros(b, xs)
	defer ort.DestroyAll(xt, rt2, ot)
	b.ResetTimer()
	for range b.N {
		if err := s.Run(context.Background(), []*ort.Tensor{xt, rt2}, []*ort.Tensor{ot}); err != nil {
			b.Fatal(err)
		}
	}
}
