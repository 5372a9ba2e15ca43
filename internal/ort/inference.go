package ort

import (
	"context"
	"errors"
	"fmt"
)

// Port is a model input or output with its static shape.
type Port struct {
	Name  string
	Shape []int64
}

// Inference is a session with its input and output tensors allocated once,
// for the loops that run one model over many batches (evaluation, bench):
// callers fill Input(i), call Run and read Output(i).
type Inference struct {
	sess    *Session
	in, out []*Tensor
}

// NewInference loads model and allocates a zero tensor for every port.
func (r *Runtime) NewInference(model []byte, inputs, outputs []Port, opt Options) (*Inference, error) {
	names := func(ps []Port) []string {
		out := make([]string, len(ps))
		for i, p := range ps {
			out[i] = p.Name
		}
		return out
	}
	sess, err := r.NewSession(model, names(inputs), names(outputs), opt)
	if err != nil {
		return nil, err
	}
	s := &Inference{sess: sess}
	alloc := func(ps []Port) ([]*Tensor, error) {
		var ts []*Tensor
		for _, p := range ps {
			t, err := ZerosTensor(p.Shape)
			if err != nil {
				return ts, fmt.Errorf("allocate %s: %w", p.Name, err)
			}
			ts = append(ts, t)
		}
		return ts, nil
	}
	if s.in, err = alloc(inputs); err == nil {
		s.out, err = alloc(outputs)
	}
	if err != nil {
		return nil, errors.Join(err, s.Close())
	}
	return s, nil
}

// Input is the data of input i, to be filled before Run.
func (s *Inference) Input(i int) []float32 { return s.in[i].GetData() }

// Output is the data of output i after Run.
func (s *Inference) Output(i int) []float32 { return s.out[i].GetData() }

// Device is where the session runs.
func (s *Inference) Device() Device { return s.sess.Device }

// Run runs the model on the current inputs; see Session.Run.
func (s *Inference) Run(ctx context.Context) error { return s.sess.Run(ctx, s.in, s.out) }

// Close frees the session and the tensors.
func (s *Inference) Close() error {
	return errors.Join(DestroyAll(append(s.in, s.out...)...), s.sess.Destroy())
}
