package method

import "github.com/fmam/fmam/internal/graph"

// mse is mean((a-b)^2) as a [1] tensor.
func mse(g *graph.Graph, a, b string) string {
	d := g.Op("Sub", []string{a, b}, nil)
	m := g.Op("ReduceMean", []string{g.Op("Mul", []string{d, d}, nil)}, graph.Attrs{"keepdims": int64(0)})
	return g.Op("Reshape", []string{m, g.Const1D(1)}, nil)
}
