package method

import (
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
)

func mse(g *graph.Graph, a, b string) string { return loss.MSE(g, a, b) }
