package train

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

// Runner runs a compiled step. States live in two buffer sets: a step
// reads set cur and writes set 1-cur, then they swap. ONNX Runtime gives
// wrong results when one tensor is both input and output of a Run, and
// the spare set doubles as the last good state when a step goes bad.
type Runner struct {
	step   *Step
	sess   *ort.Session
	batch  []*ort.Tensor
	lr     *ort.Tensor
	outs   []*ort.Tensor // loss, report..., grad norm
	states [2][]*ort.Tensor
	cur    int
}

// Result is what one step reports.
type Result struct {
	Loss     float64
	Report   []float64
	GradNorm float64
}

// NewRunner creates the session and allocates all tensors once.
func NewRunner(rt *ort.Runtime, st *Step, opt ort.Options) (*Runner, error) {
	opt.Training = true
	sess, err := rt.NewSession(st.Model, st.Inputs, st.Outputs, opt)
	if err != nil {
		return nil, err
	}
	r := &Runner{step: st, sess: sess}
	alloc := func(name string) (*ort.Tensor, error) { return ort.ZerosTensor(st.Shapes[name]) }
	for _, b := range st.Batch {
		t, err := alloc(b)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.batch = append(r.batch, t)
	}
	if r.lr, err = alloc(LRInput); err != nil {
		r.Close()
		return nil, err
	}
	nOut := 2 + len(st.Report)
	for _, o := range st.Outputs[:nOut] {
		t, err := alloc(o)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.outs = append(r.outs, t)
	}
	for set := range 2 {
		for _, s := range st.States {
			t, err := alloc(s)
			if err != nil {
				r.Close()
				return nil, err
			}
			r.states[set] = append(r.states[set], t)
		}
	}
	for i, s := range st.States {
		copy(r.states[0][i].GetData(), st.Init[s].F32)
	}
	return r, nil
}

// Close frees the session and tensors.
func (r *Runner) Close() error {
	var ts []*ort.Tensor
	ts = append(ts, r.batch...)
	ts = append(ts, r.lr)
	ts = append(ts, r.outs...)
	ts = append(ts, r.states[0]...)
	ts = append(ts, r.states[1]...)
	err := ort.DestroyAll(ts...)
	if e := r.sess.Destroy(); e != nil && err == nil {
		err = e
	}
	return err
}

// Device is where the session runs.
func (r *Runner) Device() ort.Device { return r.sess.Device }

// BatchSizes returns the element count of each batch input.
func (r *Runner) BatchSizes() []int {
	out := make([]int, len(r.batch))
	for i, b := range r.step.Batch {
		out[i] = int(r.step.Shapes[b].Size())
	}
	return out
}

// ErrNonFinite marks a step whose loss or gradients were NaN or Inf.
var ErrNonFinite = fmt.Errorf("non-finite loss")

// Run performs one step. On a non-finite loss or gradient norm the new
// state is discarded and the previous one kept, and ErrNonFinite returned.
// A step cancelled through ctx also keeps the previous state and returns
// ctx's error.
func (r *Runner) Run(ctx context.Context, batch [][]float32, lr float64) (Result, error) {
	if len(batch) != len(r.batch) {
		return Result{}, fmt.Errorf("step: %d batch tensors, want %d", len(batch), len(r.batch))
	}
	for i, b := range batch {
		dst := r.batch[i].GetData()
		if len(b) != len(dst) {
			return Result{}, fmt.Errorf("step: batch input %q has %d values, want %d", r.step.Batch[i], len(b), len(dst))
		}
		copy(dst, b)
	}
	r.lr.GetData()[0] = float32(lr)
	ins := append(slices.Clone(r.batch), r.lr)
	ins = append(ins, r.states[r.cur]...)
	outs := append(slices.Clone(r.outs), r.states[1-r.cur]...)
	if err := r.sess.Run(ctx, ins, outs); err != nil {
		return Result{}, err
	}
	res := Result{Loss: float64(r.outs[0].GetData()[0]), GradNorm: float64(r.outs[len(r.outs)-1].GetData()[0])}
	for _, t := range r.outs[1 : len(r.outs)-1] {
		res.Report = append(res.Report, float64(t.GetData()[0]))
	}
	if bad(res.Loss) || bad(res.GradNorm) {
		return res, fmt.Errorf("%w: loss %v, gradient norm %v; the state before this step is kept", ErrNonFinite, res.Loss, res.GradNorm)
	}
	r.cur = 1 - r.cur
	return res, nil
}

func bad(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

// State copies the current state tensors out, the flat parameter vector
// as one tensor per parameter (what checkpoints and inference graphs use).
func (r *Runner) State() map[string][]float32 {
	out := map[string][]float32{}
	for i, s := range r.step.States {
		data := r.states[r.cur][i].GetData()
		if s == ParamsInput {
			for _, p := range r.step.Params {
				out[p.Name] = slices.Clone(data[p.Offset : p.Offset+p.Size])
			}
			continue
		}
		out[s] = slices.Clone(data)
	}
	return out
}

// SetState loads state values (from a checkpoint), parameters one tensor
// each. Every state must be present with the right size.
func (r *Runner) SetState(vals map[string][]float32) error {
	load := func(name string, dst []float32) error {
		v, ok := vals[name]
		if !ok {
			return fmt.Errorf("checkpoint has no tensor %q; was it written for another configuration?", name)
		}
		if len(v) != len(dst) {
			return fmt.Errorf("checkpoint tensor %q has %d values, the model needs %d", name, len(v), len(dst))
		}
		copy(dst, v)
		return nil
	}
	for i, s := range r.step.States {
		dst := r.states[r.cur][i].GetData()
		if s == ParamsInput {
			for _, p := range r.step.Params {
				if err := load(p.Name, dst[p.Offset:p.Offset+p.Size]); err != nil {
					return err
				}
			}
			continue
		}
		if err := load(s, dst); err != nil {
			return err
		}
	}
	return nil
}

// ApplyState copies trained values into the initializers of an
// inference graph that shares parameter names; it returns how many it set.
func ApplyState(g *graph.Graph, state map[string][]float32) (int, error) {
	n := 0
	for name, v := range state {
		old, ok := g.Const(name)
		if !ok {
			continue
		}
		if err := g.SetInit(name, graph.Floats(old.Shape, slices.Clone(v))); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
