package bench

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

// ConvFloor is the time the network's convolutions take on their own, each
// in a session of its own: the part of a train step that only faster conv
// kernels can shrink. Comparing it with the whole step tells how much the
// rest of the engine (normalisation, activations, pooling, optimizer,
// per-node overhead) costs.
type ConvFloor struct {
	Convs int `json:"convs"`
	// ForwardMS sums the forward passes; StepMS the forward passes plus
	// the gradients a train step needs (weights always, inputs unless they
	// are the network's data). Both include a Mul and a ReduceSum per conv
	// that make the scalar loss, well under 0.1 ms each at these sizes.
	ForwardMS float64 `json:"forward_ms"`
	StepMS    float64 `json:"step_ms"`
}

// convFloor times every Conv and ConvTranspose of the forward graph g
// alone, as the median of steps runs after warmup runs.
func convFloor(ctx context.Context, rt *ort.Runtime, g *graph.Graph, opt ort.Options, warmup, steps int) (*ConvFloor, error) {
	data := map[string]bool{}
	for _, in := range g.Inputs {
		data[in] = true
	}
	res := &ConvFloor{}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range g.Nodes {
		if n.Domain != "" || (n.Op != graph.OpConv && n.Op != graph.OpConvTranspose) {
			continue
		}
		for _, grad := range []bool{false, true} {
			t, err := timeConv(ctx, rt, g, n, grad, !data[n.Inputs[0]], opt, warmup, steps, rng)
			if err != nil {
				return nil, fmt.Errorf("conv floor: %s %s: %w", n.Op, n.Name, err)
			}
			if grad {
				res.StepMS += t
			} else {
				res.ForwardMS += t
			}
		}
		res.Convs++
	}
	return res, nil
}

func timeConv(ctx context.Context, rt *ort.Runtime, src *graph.Graph, n *graph.Node, grad, needX bool, opt ort.Options, warmup, steps int, rng *rand.Rand) (float64, error) {
	g := graph.New("conv")
	var ins []string
	for i, name := range n.Inputs {
		if name == "" {
			break
		}
		ins = append(ins, g.Input(fmt.Sprintf("in%d", i), graph.Float, src.Shape(name)))
	}
	y := g.Op(n.Op, ins, maps.Clone(n.Attrs))
	r := g.Input("r", graph.Float, g.Shape(y))
	loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceSum, []string{g.Op(graph.OpMul, []string{y, r}, nil)}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
	outs := []string{loss}
	if grad {
		wrt := []string{ins[1]}
		if needX {
			wrt = append(wrt, ins[0])
		}
		grads, err := autodiff.Backward(g, loss, wrt)
		if err != nil {
			return 0, err
		}
		outs = outs[:0]
		for _, v := range wrt {
			outs = append(outs, grads[v])
		}
	}
	g.Output(outs...)
	b, err := g.Bytes()
	if err != nil {
		return 0, err
	}
	sess, err := rt.NewSession(b, append(slices.Clone(ins), r), outs, ort.Options{Device: opt.Device, Threads: opt.Threads, Training: true})
	if err != nil {
		return 0, err
	}
	defer sess.Destroy()
	var feeds, fetches []*ort.Tensor
	defer func() { ort.DestroyAll(append(feeds, fetches...)...) }()
	for _, name := range append(slices.Clone(ins), r) {
		d := make([]float32, g.Shape(name).Size())
		for i := range d {
			d[i] = rng.Float32() - 0.5
		}
		t, err := ort.NewTensor(g.Shape(name), d)
		if err != nil {
			return 0, err
		}
		feeds = append(feeds, t)
	}
	for _, name := range outs {
		t, err := ort.ZerosTensor(g.Shape(name))
		if err != nil {
			return 0, err
		}
		fetches = append(fetches, t)
	}
	times, err := timeRuns(ctx, warmup, steps, func() error { return sess.Run(ctx, feeds, fetches) })
	if err != nil {
		return 0, err
	}
	return median(times), nil
}
