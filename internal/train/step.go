// Package train compiles train-step graphs (forward, gradients, optimizer
// update in one ONNX model), runs them step by step in ONNX Runtime with
// state kept in two ping-pong buffer sets, and drives the loop: progress,
// NaN guard, atomic checkpoints, resume, and inference export.
package train

import (
	"fmt"
	"slices"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/optim"
)

// Spec describes a training problem as a forward graph.
type Spec struct {
	// Graph holds the forward pass and the loss; trainable parameters and
	// states are initializers holding their initial values. Compile
	// changes it in place.
	Graph *graph.Graph
	// Batch are the graph inputs fed with data each step.
	Batch []string
	Loss  string
	// Report are extra one-element tensors logged each step (loss terms).
	Report    []string
	Trainable []string
	// States are carried between steps; each Name is an initializer of
	// Graph holding the initial value (Init is not read).
	States []graph.State
	Optim  optim.Config
}

// Step is a compiled train step.
type Step struct {
	Model []byte
	Graph *graph.Graph
	// Inputs: Batch..., "lr", States...; Outputs: loss, Report...,
	// grad_norm, next States... (same order as States).
	Inputs, Outputs []string
	Batch           []string
	Report          []string
	States          []string
	// Init holds the initial value of every state; the parameters' are in
	// the ParamsInput vector.
	Init   map[string]*graph.Value
	Shapes map[string]graph.Shape
	// Params is the layout of the trainable parameters inside the state
	// ParamsInput, in order.
	Params []Slot
}

// Slot is one parameter's place in the flat parameter vector.
type Slot struct {
	Name         string
	Offset, Size int64
}

// ParamsInput is the state holding all trainable parameters, flattened
// and concatenated in name order.
const ParamsInput = "params.flat"

// LRInput is the name of the learning-rate input.
const LRInput = "lr"

// Compile builds the train-step model.
func Compile(spec Spec) (*Step, error) {
	g := spec.Graph
	if err := g.Err(); err != nil {
		return nil, err
	}
	if len(spec.Trainable) == 0 {
		return nil, fmt.Errorf("compile %s: nothing to train", g.Name)
	}
	st := &Step{Graph: g, Init: map[string]*graph.Value{}, Shapes: map[string]graph.Shape{}, Batch: spec.Batch, Report: spec.Report}
	// Parameters and states become inputs: they change every step.
	toInput := func(name string) error {
		v, err := g.InitToInput(name)
		if err != nil {
			return fmt.Errorf("compile: %w", err)
		}
		st.Init[name] = v
		return nil
	}
	for _, p := range spec.Trainable {
		if err := toInput(p); err != nil {
			return nil, err
		}
	}
	for _, s := range spec.States {
		if err := toInput(s.Name); err != nil {
			return nil, err
		}
	}
	grads, err := autodiff.Backward(g, spec.Loss, spec.Trainable)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", g.Name, err)
	}
	// The parameters travel between steps as one flat vector, which is
	// what the optimizer updates: a Split at the start of the step hands
	// every layer its tensor, and the updated vector is the state's next
	// value as it is. Per-tensor inputs and outputs would cost a
	// concatenation, a Split and two Reshapes per tensor every step.
	params := slices.Sorted(slices.Values(spec.Trainable))
	flat, err := st.packParams(g, params)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", g.Name, err)
	}
	lr := g.Input(LRInput, graph.Float, graph.Shape{1})
	gnames := make([]string, len(params))
	for i, p := range params {
		gnames[i] = grads[p]
	}
	upd, err := optim.ApplyFlat(g, flat, gnames, lr, spec.Optim)
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", g.Name, err)
	}
	if err := g.SortNodes(); err != nil {
		return nil, fmt.Errorf("compile %s: %w", g.Name, err)
	}
	pairs := append([]graph.State{{Name: flat, Next: upd.Next}}, spec.States...)
	for _, s := range upd.States {
		pairs = append(pairs, s)
		st.Init[s.Name] = s.Init
	}
	st.Inputs = append(slices.Clone(spec.Batch), lr)
	used := map[string]bool{}
	for _, in := range g.Inputs {
		used[in] = true
	}
	// Every output needs a tensor of its own (a loss term may be the loss).
	unique := func(t string) string {
		if used[t] {
			t = g.Identity(t)
		}
		used[t] = true
		return t
	}
	st.Outputs = []string{unique(spec.Loss)}
	for _, r := range spec.Report {
		st.Outputs = append(st.Outputs, unique(r))
	}
	st.Outputs = append(st.Outputs, unique(upd.GradNorm))
	for _, p := range pairs {
		st.Inputs = append(st.Inputs, p.Name)
		st.States = append(st.States, p.Name)
		if p.Next == "" {
			return nil, fmt.Errorf("compile %s: state %q has no next value", g.Name, p.Name)
		}
		// A state that does not change must still be written to the other buffer.
		st.Outputs = append(st.Outputs, unique(p.Next))
	}
	// Inputs the graph declares but the step does not feed are an error.
	for _, in := range g.Inputs {
		if !slices.Contains(st.Inputs, in) {
			return nil, fmt.Errorf("compile %s: graph input %q is neither data nor state", g.Name, in)
		}
	}
	if err := g.SetInputs(st.Inputs...); err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	g.SetOutputs(st.Outputs...)
	for _, n := range append(slices.Clone(st.Inputs), st.Outputs...) {
		st.Shapes[n] = g.Shape(n)
	}
	b, err := g.Bytes()
	if err != nil {
		return nil, fmt.Errorf("compile %s: %w", g.Name, err)
	}
	st.Model = b
	return st, nil
}

// ParamCount is the number of trainable values.
func (st *Step) ParamCount() int64 {
	n := int64(0)
	for _, p := range st.Params {
		n += p.Size
	}
	return n
}

// packParams replaces the parameter inputs of g by slices of one flat
// input, ParamsInput, and records the layout and its initial value.
func (st *Step) packParams(g *graph.Graph, params []string) (string, error) {
	var sizes []int64
	var init []float32
	off := int64(0)
	for _, p := range params {
		v := st.Init[p]
		if v.DType != graph.Float {
			return "", fmt.Errorf("parameter %q is %v; only float32 parameters can be trained", p, v.DType)
		}
		n := v.Shape.Size()
		st.Params = append(st.Params, Slot{Name: p, Offset: off, Size: n})
		sizes = append(sizes, n)
		init = append(init, v.F32...)
		off += n
		delete(st.Init, p)
	}
	flat := g.Input(ParamsInput, graph.Float, graph.Shape{off})
	st.Init[flat] = graph.Floats(graph.Shape{off}, init)
	parts := g.Split(flat, 0, sizes...)
	for i, p := range params {
		g.ComputeInput(&graph.Node{Op: graph.OpReshape, Name: p, Inputs: []string{parts[i], g.Const1D(g.Shape(p)...)}, Outputs: []string{p}})
	}
	return flat, g.Err()
}
