package graph

import (
	"fmt"
	"slices"
)

// SortNodes reorders nodes topologically, keeping the current order where
// it is already valid. Rewiring a tensor's consumers to a value computed
// later (an attention-refined feature, say) needs it.
func (g *Graph) SortNodes() error {
	avail := map[string]bool{}
	for _, in := range g.Inputs {
		avail[in] = true
	}
	for k := range g.inits {
		avail[k] = true
	}
	nodes, err := sortNodes(g.Nodes, avail)
	if err != nil {
		return fmt.Errorf("graph %s: %w", g.Name, err)
	}
	g.Nodes = nodes
	return nil
}

// sortNodes orders nodes so that each comes after the producers of its
// inputs; avail holds the tensors defined before any node (inputs and
// initializers). It is stable for nodes that are already in order.
func sortNodes(nodes []*Node, avail map[string]bool) ([]*Node, error) {
	avail[""] = true
	pending := slices.Clone(nodes)
	out := make([]*Node, 0, len(pending))
	for len(pending) > 0 {
		var rest []*Node
		for _, n := range pending {
			ready := true
			for _, in := range n.Inputs {
				if !avail[in] {
					ready = false
					break
				}
			}
			if !ready {
				rest = append(rest, n)
				continue
			}
			out = append(out, n)
			for _, o := range n.Outputs {
				avail[o] = true
			}
		}
		if len(rest) == len(pending) {
			n := rest[0]
			for _, in := range n.Inputs {
				if !avail[in] {
					return nil, fmt.Errorf("%s reads %q, which nothing produces (or the graph has a cycle)", n.Describe(), in)
				}
			}
		}
		pending = rest
	}
	return out, nil
}

// ReplaceUses makes every node except those in skip read repl where it
// read old, and returns how many inputs it changed.
func (g *Graph) ReplaceUses(old, repl string, skip map[*Node]bool) int {
	n := 0
	for _, node := range g.Nodes {
		if skip[node] {
			continue
		}
		for i, in := range node.Inputs {
			if in == old {
				node.Inputs[i] = repl
				n++
			}
		}
	}
	for i, o := range g.Outputs {
		if o == old {
			g.Outputs[i] = repl
		}
	}
	return n
}

// Ancestors returns the set of tensors the named tensor depends on,
// itself included.
func (g *Graph) Ancestors(name string) map[string]bool {
	seen := map[string]bool{name: true}
	stack := []string{name}
	for len(stack) > 0 {
		t := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		n := g.producer[t]
		if n == nil {
			continue
		}
		for _, in := range n.Inputs {
			if in != "" && !seen[in] {
				seen[in] = true
				stack = append(stack, in)
			}
		}
	}
	return seen
}

// InitToInput turns an initializer into a graph input of the same type,
// appended to Inputs, and returns its value: a train step feeds
// parameters and states, starting from that value, instead of baking
// them in.
func (g *Graph) InitToInput(name string) (*Value, error) {
	v, ok := g.inits[name]
	if !ok {
		return nil, fmt.Errorf("graph %s: %q is not an initializer", g.Name, name)
	}
	delete(g.inits, name)
	g.Inputs = append(g.Inputs, name)
	return v, nil
}

// RemoveInput drops a graph input that nothing reads any more (after
// ReplaceUses moved its readers elsewhere); the tensor is gone with it.
func (g *Graph) RemoveInput(name string) error {
	if !slices.Contains(g.Inputs, name) {
		return fmt.Errorf("graph %s: %q is not an input", g.Name, name)
	}
	for _, n := range g.Nodes {
		if slices.Contains(n.Inputs, name) {
			return fmt.Errorf("graph %s: cannot remove input %q: %s still reads it", g.Name, name, n.Describe())
		}
	}
	if slices.Contains(g.Outputs, name) {
		return fmt.Errorf("graph %s: cannot remove input %q: it is a graph output", g.Name, name)
	}
	g.Inputs = slices.DeleteFunc(g.Inputs, func(in string) bool { return in == name })
	delete(g.info, name)
	return nil
}

// ComputeInput appends n like AddNode, where n writes tensors that are
// graph inputs now: they stop being inputs and n computes them, with the
// types they had. A train step uses it to hand every parameter its slice
// of one flat parameter input.
func (g *Graph) ComputeInput(n *Node) {
	if g.err != nil {
		return
	}
	want := make([]Info, len(n.Outputs))
	for i, o := range n.Outputs {
		if !slices.Contains(g.Inputs, o) {
			g.Fail(fmt.Errorf("graph %s: %s: %q is not an input to compute", g.Name, n.Describe(), o))
			return
		}
		want[i] = g.info[o]
	}
	g.Inputs = slices.DeleteFunc(g.Inputs, func(in string) bool { return slices.Contains(n.Outputs, in) })
	g.AddNode(n)
	for i, o := range n.Outputs {
		if got := g.info[o]; g.err == nil && (got.DType != want[i].DType || !slices.Equal(got.Shape, want[i].Shape)) {
			g.Fail(fmt.Errorf("graph %s: %s computes input %q as %v %v; it was %v %v", g.Name, n.Describe(), o, got.DType, got.Shape, want[i].DType, want[i].Shape))
		}
	}
}

// SetInputs reorders the graph inputs; names must be the current inputs,
// each once.
func (g *Graph) SetInputs(names ...string) error {
	if len(names) != len(g.Inputs) {
		return fmt.Errorf("graph %s: %d inputs given for the %d inputs %v", g.Name, len(names), len(g.Inputs), g.Inputs)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] || !slices.Contains(g.Inputs, n) {
			return fmt.Errorf("graph %s: %q is not an input or is given twice (inputs %v)", g.Name, n, g.Inputs)
		}
		seen[n] = true
	}
	g.Inputs = slices.Clone(names)
	return nil
}

// SetOutputs replaces the graph outputs by names, checked as Output
// checks them.
func (g *Graph) SetOutputs(names ...string) {
	g.Outputs = nil
	g.Output(names...)
}

// SetNodeOutput makes node n of the graph write a new tensor name, of
// type t, as its output i: appended when i is len(n.Outputs), or in an
// omitted optional output's empty slot. A gradient rule switches on an
// output that the forward pass did not ask for this way (MaxPool's
// Indices).
func (g *Graph) SetNodeOutput(n *Node, i int, name string, t Info) {
	switch {
	case g.err != nil:
		return
	case !slices.Contains(g.Nodes, n):
		g.Fail(fmt.Errorf("graph %s: %s is not a node of the graph", g.Name, n.Describe()))
		return
	case name == "" || g.Has(name):
		g.Fail(fmt.Errorf("graph %s: %s: new output %q is empty or already a tensor", g.Name, n.Describe(), name))
		return
	case i == len(n.Outputs):
		n.Outputs = append(n.Outputs, name)
	case i >= 0 && i < len(n.Outputs) && n.Outputs[i] == "":
		n.Outputs[i] = name
	default:
		g.Fail(fmt.Errorf("graph %s: %s has no free output slot %d (outputs %v)", g.Name, n.Describe(), i, n.Outputs))
		return
	}
	g.names[name]++
	g.info[name] = Info{t.DType, t.Shape.Clone()}
	g.producer[name] = n
}
