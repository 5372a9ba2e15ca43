package graph

// ByteSize is the size of one element of the type in bytes.
func (d DType) ByteSize() int64 {
	switch d {
	case Uint8, Int8, Bool:
		return 1
	case Int64, Double:
		return 8
	default:
		return 4
	}
}

// Footprint is a graph's memory at the level of shapes: what its
// initializers hold and what every node output would take if all were
// alive at once. It allocates nothing, so it is cheap for any shape.
type Footprint struct {
	// Params is the bytes of the initializers (weights and constants).
	Params int64
	// Activations is the bytes of every node output together, inputs
	// included: an upper bound on what a forward pass keeps at once,
	// and what a train step keeps for its backward pass.
	Activations int64
}

// Footprint sums the graph's tensors by shape. Sizes saturate at
// MaxInt64 instead of overflowing for absurd shapes.
func (g *Graph) Footprint() Footprint {
	var f Footprint
	for name := range g.inits {
		f.Params = addSat(f.Params, tensorBytes(g.info[name]))
	}
	for _, name := range g.Inputs {
		if _, isInit := g.inits[name]; !isInit {
			f.Activations = addSat(f.Activations, tensorBytes(g.info[name]))
		}
	}
	for _, n := range g.Nodes {
		for _, out := range n.Outputs {
			f.Activations = addSat(f.Activations, tensorBytes(g.info[out]))
		}
	}
	return f
}

const maxInt64 = int64(^uint64(0) >> 1)

func tensorBytes(i Info) int64 {
	n := i.DType.ByteSize()
	for _, d := range i.Shape {
		if d <= 0 {
			continue // a symbolic dimension: count it as 1
		}
		if n > maxInt64/d {
			return maxInt64
		}
		n *= d
	}
	return n
}

func addSat(a, b int64) int64 {
	if a > maxInt64-b {
		return maxInt64
	}
	return a + b
}
