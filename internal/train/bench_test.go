package train_test

import (
	"context"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/train"
)

// convStack is the engine's reference workload: 3->32->32 3x3 convs with
// ReLU at 64x64, batch 8, and an MSE loss against a 32-channel target.
func convStack() (*graph.Graph, *nn.Builder, string, string) {
	g := graph.New("stack")
	x := g.Input("x", graph.Float, graph.Shape{8, 3, 64, 64})
	b := nn.New(g, true, 1)
	h := b.Relu(b.Conv2D(x, "c1", 32, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true}))
	y := b.Conv2D(h, "c2", 32, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})
	return g, b, x, y
}

// BenchmarkConvStack reports forward ms, train-step ms (forward, gradients
// and Adam) and their ratio, on 2 threads.
func BenchmarkConvStack(b *testing.B) {
	rt := gradcheck.Runtime(b)
	opt := ort.Options{Threads: 2, Profile: os.Getenv("FMAM_PROFILE")}
	rng := rand.New(rand.NewPCG(1, 1))
	in := make([]float32, 8*3*64*64)
	tg := make([]float32, 8*32*64*64)
	for i := range in {
		in[i] = rng.Float32()
	}
	for i := range tg {
		tg[i] = rng.Float32()
	}
	// Forward only.
	g, _, x, y := convStack()
	g.Output(y)
	mb, err := g.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	sess, err := rt.NewSession(mb, []string{x}, []string{y}, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Destroy()
	it := gradcheck.Tensor(b, graph.Shape{8, 3, 64, 64}, in)
	ot := gradcheck.Zeros(b, graph.Shape{8, 32, 64, 64})
	defer ort.DestroyAll(it, ot)
	// Train step.
	tgr, bb, tx, ty := convStack()
	target := tgr.Input("target", graph.Float, graph.Shape{8, 32, 64, 64})
	d := tgr.Op(graph.OpSub, []string{ty, target}, nil)
	loss := tgr.Op(graph.OpReshape, []string{tgr.Op(graph.OpReduceMean, []string{tgr.Op(graph.OpMul, []string{d, d}, nil)}, graph.Attrs{"keepdims": int64(0)}), tgr.Const1D(1)}, nil)
	st, err := train.Compile(train.Spec{Graph: tgr, Batch: []string{tx, target}, Loss: loss, Trainable: bb.Registry().Trainable, Optim: optim.Config{Kind: "adam"}})
	if err != nil {
		b.Fatal(err)
	}
	r, err := train.NewRunner(rt, st, opt)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	batch := [][]float32{in, tg}
	for range 3 { // warm up both
		sess.Run(context.Background(), []*ort.Tensor{it}, []*ort.Tensor{ot})
		r.Run(context.Background(), batch, 1e-3)
	}
	var fwd, step float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := nowMS()
		if err := sess.Run(context.Background(), []*ort.Tensor{it}, []*ort.Tensor{ot}); err != nil {
			b.Fatal(err)
		}
		t1 := nowMS()
		if _, err := r.Run(context.Background(), batch, 1e-3); err != nil {
			b.Fatal(err)
		}
		fwd += t1 - t0
		step += nowMS() - t1
	}
	b.ReportMetric(fwd/float64(b.N), "fwd-ms")
	b.ReportMetric(step/float64(b.N), "step-ms")
	b.ReportMetric(step/fwd, "step/fwd")
}

func nowMS() float64 { return float64(time.Now().UnixNano()) / 1e6 }
