// Package autodiff appends reverse-mode gradient nodes to a graph.
//
// Release builds of ONNX Runtime have no gradient ops, so every rule here
// writes its gradient with ordinary inference ops, and the result is one
// graph that ONNX Runtime runs like any model. A conv's input gradient,
// for instance, is a Conv with the flipped kernel (stride 1 on larger
// maps) or a ConvTranspose; its weight gradient is a MatMul of dY with
// the input's kernel windows, gathered by a Conv with one-hot kernels
// (per kernel row and column for stride-1 2-D convs on large maps, per
// kernel tap otherwise). rules_conv.go says which form is used when, and
// why.
//
// Rules are looked up by op type in a fixed table; an op on the path from
// the trainable tensors to the loss without a rule is an error naming it.
// They write their nodes with graph's typed builders, which Ctx carries.
package autodiff

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

// ErrNoRule is returned when the loss depends on the trainable tensors
// through an op that has no gradient rule.
var ErrNoRule = errors.New("no gradient rule")

// Rule computes input gradients of one node. dy holds the gradient of each
// output ("" where none flows); the result has one entry per input, "" where
// the input gets no gradient. Rules may skip inputs for which c.Needs is
// false.
type Rule func(c *Ctx, n *graph.Node, dy []string) ([]string, error)

// Ctx gives rules the graph, with its typed op builders, and the set of
// tensors that need gradients.
type Ctx struct {
	*graph.Graph
	need map[string]bool
	// consumers of each tensor in the forward graph, before any gradient
	// node was added.
	consumers map[string][]*graph.Node
}

// Needs reports whether a tensor depends on a trainable tensor, i.e.
// whether computing its gradient is of any use.
func (c *Ctx) Needs(name string) bool { return name != "" && c.need[name] }

// Supported lists the op types with gradient rules.
func Supported() []graph.OpType {
	return slices.Sorted(maps.Keys(rules))
}

// HasRule reports whether an op type can be differentiated.
func HasRule(op graph.OpType) bool { _, ok := rules[op]; return ok }

// rules maps op types to gradient rules. It is filled once by the rule
// files' init functions and only read afterwards.
var rules = map[graph.OpType]Rule{}

func register(r Rule, ops ...graph.OpType) {
	for _, op := range ops {
		rules[op] = r
	}
}

// Backward appends the gradient of loss (a one-element tensor) with
// respect to each tensor in wrt and returns their names. Tensors in wrt
// that the loss does not depend on get a zero gradient.
func Backward(g *graph.Graph, loss string, wrt []string) (map[string]string, error) {
	if err := g.Err(); err != nil {
		return nil, err
	}
	if !g.Has(loss) {
		return nil, fmt.Errorf("backward: loss %q is not in the graph", loss)
	}
	if g.Shape(loss).Size() != 1 {
		return nil, fmt.Errorf("backward: loss %q has shape %v; it must have one element", loss, g.Shape(loss))
	}
	c := &Ctx{Graph: g, need: map[string]bool{}, consumers: g.Consumers()}
	for _, w := range wrt {
		if !g.Has(w) {
			return nil, fmt.Errorf("backward: trainable tensor %q is not in the graph", w)
		}
		c.need[w] = true
	}
	nodes := slices.Clone(g.Nodes)
	for _, n := range nodes {
		for _, in := range n.Inputs {
			if c.need[in] {
				for _, o := range n.Outputs {
					// Integer and boolean results (masks, indices) carry no gradient.
					if o != "" && g.DType(o) == graph.Float {
						c.need[o] = true
					}
				}
				break
			}
		}
	}
	// Keep only nodes between the trainable tensors and the loss.
	toLoss := map[string]bool{loss: true}
	var path []*graph.Node
	for i := len(nodes) - 1; i >= 0; i-- {
		n := nodes[i]
		hit := false
		for _, o := range n.Outputs {
			if toLoss[o] && c.need[o] {
				hit = true
				break
			}
		}
		if !hit {
			continue
		}
		path = append(path, n)
		for _, in := range n.Inputs {
			toLoss[in] = true
		}
	}
	if !c.need[loss] {
		grads := map[string]string{}
		for _, w := range wrt {
			grads[w] = c.Zeros(g.Shape(w))
		}
		return grads, g.Err()
	}
	for _, n := range path {
		if _, ok := rules[n.Op]; !ok || (n.Domain != "" && n.Domain != "ai.onnx" && n.Domain != graph.Domain) {
			return nil, fmt.Errorf("backward: %w for %s: fmam cannot train through %s (supported: %v)", ErrNoRule, n.Describe(), n.Op, Supported())
		}
	}

	parts := map[string][]string{}
	seed := g.Init("grad_seed", graph.Floats(g.Shape(loss), []float32{1}))
	parts[loss] = []string{seed}
	for _, n := range path {
		dy := make([]string, len(n.Outputs))
		any := false
		for i, o := range n.Outputs {
			dy[i] = c.sum(parts[o])
			any = any || dy[i] != ""
		}
		if !any {
			continue
		}
		dx, err := rules[n.Op](c, n, dy)
		if err != nil {
			return nil, fmt.Errorf("backward: %s: %w", n.Describe(), err)
		}
		if err := g.Err(); err != nil {
			return nil, fmt.Errorf("backward: %s: %w", n.Describe(), err)
		}
		for i, in := range n.Inputs {
			if i >= len(dx) || dx[i] == "" || !c.need[in] {
				continue
			}
			if !slices.Equal(g.Shape(dx[i]), g.Shape(in)) {
				return nil, fmt.Errorf("backward: %s: gradient of input %q has shape %v, want %v", n.Describe(), in, g.Shape(dx[i]), g.Shape(in))
			}
			parts[in] = append(parts[in], dx[i])
		}
	}
	grads := map[string]string{}
	for _, w := range wrt {
		if s := c.sum(parts[w]); s != "" {
			grads[w] = s
		} else {
			grads[w] = c.Zeros(g.Shape(w))
		}
	}
	return grads, g.Err()
}

func (c *Ctx) sum(parts []string) string {
	if len(parts) == 0 {
		return ""
	}
	return c.Sum(parts...)
}
