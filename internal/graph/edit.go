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
	for k := range g.Inits {
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
		n := g.Producer[t]
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
