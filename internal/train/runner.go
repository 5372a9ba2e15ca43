package train

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

// Runner runs a compiled step through IoBinding. States live in two
// buffer sets in device memory: a step reads set cur and writes set 1-cur,
// then they swap. Each direction is one binding made once, so a step moves
// only the batch and the learning rate in and the losses out; the state
// is copied back only when State is called (checkpoints, exports). ONNX
// Runtime gives wrong results when one tensor is both input and output of
// a Run, and the spare set doubles as the last good state when a step
// goes bad.
type Runner struct {
	step   *Step
	sess   *ort.Bound
	batch  []*ort.Value // host memory
	lr     *ort.Value
	outs   []*ort.Value // loss, report..., grad norm, in host memory
	states [2][]*ort.Value
	bind   [2]*ort.Binding // bind[k] reads states[k] and writes states[1-k]
	cur    int
}

// Result is what one step reports.
type Result struct {
	Loss     float64
	Report   []float64
	GradNorm float64
}

// NewRunner creates the session and allocates and binds all tensors once.
func NewRunner(rt *ort.Runtime, st *Step, opt ort.Options) (*Runner, error) {
	opt.Training = true
	sess, err := rt.NewBound(st.Model, st.Inputs, st.Outputs, opt)
	if err != nil {
		return nil, err
	}
	r := &Runner{step: st, sess: sess}
	if err := r.init(); err != nil {
		return nil, errors.Join(err, r.Close())
	}
	return r, nil
}

func (r *Runner) init() error {
	st := r.step
	host := func(name string) (*ort.Value, error) { return r.sess.NewHostValue(st.Shapes[name]) }
	for _, b := range st.Batch {
		t, err := host(b)
		if err != nil {
			return err
		}
		r.batch = append(r.batch, t)
	}
	var err error
	if r.lr, err = host(LRInput); err != nil {
		return err
	}
	for _, o := range st.Outputs[:2+len(st.Report)] {
		t, err := host(o)
		if err != nil {
			return err
		}
		r.outs = append(r.outs, t)
	}
	for set := range 2 {
		for _, s := range st.States {
			t, err := r.sess.NewDeviceValue(st.Shapes[s])
			if err != nil {
				return fmt.Errorf("allocate state %s: %w", s, err)
			}
			r.states[set] = append(r.states[set], t)
		}
	}
	for set := range 2 {
		ins := append(slices.Clone(r.batch), r.lr)
		ins = append(ins, r.states[set]...)
		outs := append(slices.Clone(r.outs), r.states[1-set]...)
		if r.bind[set], err = r.sess.Bind(ins, outs); err != nil {
			return err
		}
	}
	for i, s := range st.States {
		if err := r.sess.CopyIn(r.states[0][i], st.Init[s].F32); err != nil {
			return fmt.Errorf("initial state %s: %w", s, err)
		}
	}
	return nil
}

// Close frees the session and every tensor it made.
func (r *Runner) Close() error { return r.sess.Close() }

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
		dst := r.batch[i].Host()
		if len(b) != len(dst) {
			return Result{}, fmt.Errorf("step: batch input %q has %d values, want %d", r.step.Batch[i], len(b), len(dst))
		}
		copy(dst, b)
	}
	r.lr.Host()[0] = float32(lr)
	if err := r.sess.Run(ctx, r.bind[r.cur]); err != nil {
		return Result{}, err
	}
	res := Result{Loss: float64(r.outs[0].Host()[0]), GradNorm: float64(r.outs[len(r.outs)-1].Host()[0])}
	for _, t := range r.outs[1 : len(r.outs)-1] {
		res.Report = append(res.Report, float64(t.Host()[0]))
	}
	if bad(res.Loss) || bad(res.GradNorm) {
		return res, fmt.Errorf("%w: loss %v, gradient norm %v; the state before this step is kept", ErrNonFinite, res.Loss, res.GradNorm)
	}
	r.cur = 1 - r.cur
	return res, nil
}

func bad(f float64) bool { return math.IsNaN(f) || math.IsInf(f, 0) }

// State copies the current state out of device memory, the flat parameter
// vector as one tensor per parameter (what checkpoints and inference
// graphs use).
func (r *Runner) State() (map[string][]float32, error) {
	out := map[string][]float32{}
	for i, s := range r.step.States {
		data := make([]float32, r.states[r.cur][i].Len())
		if err := r.sess.CopyOut(r.states[r.cur][i], data); err != nil {
			return nil, fmt.Errorf("read state %s: %w", s, err)
		}
		if s == ParamsInput {
			for _, p := range r.step.Params {
				out[p.Name] = data[p.Offset : p.Offset+p.Size : p.Offset+p.Size]
			}
			continue
		}
		out[s] = data
	}
	return out, nil
}

// SetState loads state values (from a checkpoint), parameters one tensor
// each. Every state must be present with the right size; on an error the
// state is unchanged.
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
	next := make([][]float32, len(r.step.States))
	for i, s := range r.step.States {
		dst := make([]float32, r.states[r.cur][i].Len())
		if s == ParamsInput {
			for _, p := range r.step.Params {
				if err := load(p.Name, dst[p.Offset:p.Offset+p.Size]); err != nil {
					return err
				}
			}
		} else if err := load(s, dst); err != nil {
			return err
		}
		next[i] = dst
	}
	for i, s := range r.step.States {
		if err := r.sess.CopyIn(r.states[r.cur][i], next[i]); err != nil {
			return fmt.Errorf("load state %s: %w", s, err)
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
