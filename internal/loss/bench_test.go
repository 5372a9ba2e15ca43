package loss_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
	"github.com/fmam/fmam/internal/ort"
)

// benchLoss times one forward and backward pass of a loss at DRAEM's
// training size (batch 8, 256x256) on two ONNX Runtime threads.
func benchLoss(b *testing.B, s graph.Shape, build func(g *graph.Graph, x, y string) string) {
	r := gradcheck.Runtime(b)
	g := graph.New("bench")
	x := g.Input("x", graph.Float, s)
	y := g.Input("y", graph.Float, s)
	l := build(g, x, y)
	grads, err := autodiff.Backward(g, l, []string{x})
	if err != nil {
		b.Fatal(err)
	}
	dx := g.Op(graph.OpIdentity, []string{grads[x]}, nil)
	g.Output(l, dx)
	bs, err := g.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	sess, err := r.NewSession(bs, []string{x, y}, []string{l, dx}, ort.Options{Device: ort.CPU, Threads: 2})
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Destroy()
	rng := rand.New(rand.NewPCG(1, 1))
	xd, yd := uniform(rng, int(s.Size()), 0, 1), make([]float32, s.Size())
	for i := range yd {
		yd[i] = float32(rng.IntN(2))
	}
	xt, yt := gradcheck.Tensor(b, s, xd), gradcheck.Tensor(b, s, yd)
	lt, dt := gradcheck.Zeros(b, []int64{1}), gradcheck.Zeros(b, s)
	defer ort.DestroyAll(xt, yt, lt, dt)
	b.ResetTimer()
	for b.Loop() {
		if err := sess.Run(context.Background(), []*ort.Tensor{xt, yt}, []*ort.Tensor{lt, dt}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSSIMLoss(b *testing.B) {
	benchLoss(b, graph.Shape{8, 1, 256, 256}, func(g *graph.Graph, x, y string) string {
		return loss.SSIMLoss(g, x, y, loss.DRAEMSSIM())
	})
}

func BenchmarkFocal(b *testing.B) {
	benchLoss(b, graph.Shape{8, 2, 256, 256}, func(g *graph.Graph, x, y string) string {
		return loss.Focal(g, x, y, loss.DRAEMFocal())
	})
}

func BenchmarkMSE(b *testing.B) {
	benchLoss(b, graph.Shape{8, 3, 256, 256}, loss.MSE)
}
