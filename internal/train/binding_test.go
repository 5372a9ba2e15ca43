package train_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/train"
)

// plainRun runs steps of st the way fmam did before IoBinding: onnxruntime_go
// tensors in Go memory, two state sets passed to Session.Run each step. It
// returns every step's loss and gradient norm and the final flat state.
func plainRun(t *testing.T, rt *ort.Runtime, st *train.Step, batches [][][]float32, lr float64) ([]float64, [][]float32) {
	t.Helper()
	sess, err := rt.NewSession(st.Model, st.Inputs, st.Outputs, ort.Options{Threads: 1, Training: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	var all []*ort.Tensor
	alloc := func(name string) *ort.Tensor {
		x, err := ort.ZerosTensor(st.Shapes[name])
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, x)
		return x
	}
	defer func() { ort.DestroyAll(all...) }()
	var in []*ort.Tensor
	for _, b := range st.Batch {
		in = append(in, alloc(b))
	}
	lrT := alloc(train.LRInput)
	in = append(in, lrT)
	var outs []*ort.Tensor
	for _, o := range st.Outputs[:2+len(st.Report)] {
		outs = append(outs, alloc(o))
	}
	var states [2][]*ort.Tensor
	for set := range 2 {
		for _, s := range st.States {
			states[set] = append(states[set], alloc(s))
		}
	}
	for i, s := range st.States {
		copy(states[0][i].GetData(), st.Init[s].F32)
	}
	var got []float64
	cur := 0
	for _, b := range batches {
		for i := range b {
			copy(in[i].GetData(), b[i])
		}
		lrT.GetData()[0] = float32(lr)
		ins := append(slices.Clone(in), states[cur]...)
		o := append(slices.Clone(outs), states[1-cur]...)
		if err := sess.Run(context.Background(), ins, o); err != nil {
			t.Fatal(err)
		}
		for _, x := range outs {
			got = append(got, float64(x.GetData()[0]))
		}
		cur = 1 - cur
	}
	var final [][]float32
	for _, x := range states[cur] {
		final = append(final, slices.Clone(x.GetData()))
	}
	return got, final
}

// TestBindingMatchesPlainRun: the Runner's IoBinding path gives the same
// bits as plain Session.Run, step for step, for losses, gradient norms and
// every state (parameters, Adam moments, BatchNorm statistics).
func TestBindingMatchesPlainRun(t *testing.T) {
	rt := gradcheck.Runtime(t)
	st := buildTrain(t)
	src := &source{seed: 5}
	var batches [][][]float32
	for range 6 {
		b, err := src.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
	}
	const lr = 1e-2
	want, wantState := plainRun(t, rt, st, batches, lr)

	r, err := train.NewRunner(rt, st, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got []float64
	for _, b := range batches {
		res, err := r.Run(context.Background(), b, lr)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res.Loss)
		got = append(got, res.Report...)
		got = append(got, res.GradNorm)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("losses and gradient norms differ:\nbinding %v\nplain   %v", got, want)
	}
	state, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range st.States {
		w := wantState[i]
		if s == train.ParamsInput {
			for _, p := range st.Params {
				if !sameBits(state[p.Name], w[p.Offset:p.Offset+p.Size]) {
					t.Errorf("parameter %s differs from the plain run", p.Name)
				}
			}
			continue
		}
		if !sameBits(state[s], w) {
			t.Errorf("state %s differs from the plain run", s)
		}
	}
	// A NaN batch keeps the last good state in device memory too.
	bad := [][]float32{slices.Clone(batches[0][0]), batches[0][1]}
	bad[0][0] = float32(math.NaN())
	if _, err := r.Run(context.Background(), bad, lr); err == nil {
		t.Fatal("NaN batch accepted")
	}
	after, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range state {
		if !sameBits(after[k], v) {
			t.Errorf("state %s changed by the rejected step", k)
		}
	}
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
