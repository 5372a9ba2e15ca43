package pkgnet

import (
	"fmt"
	"slices"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
)

// LossWeights weights the training loss's terms.
type LossWeights struct {
	// Gen weights the MSE of the prediction, Grad its gradient loss, Fea
	// the feature loss.
	Gen, Grad, Fea float64
	// Alpha is the gradient loss's exponent.
	Alpha float64
}

// OfficialLoss is the official loss_para (gen 0.8, grad 0.1, fea 0.2) and
// Gradient_Loss's alpha 3.
func OfficialLoss() LossWeights { return LossWeights{Gen: 0.8, Grad: 0.1, Fea: 0.2, Alpha: 3} }

// LossTerms names the terms Loss reports, in its order; the feature loss
// against the backbone is l_prior, apart from the method's l_fea.
var LossTerms = []string{"l_gen", "l_grad", "l_prior"}

// Loss builds the official training loss: Gen MSE(prediction, target) +
// Grad Gradient(prediction, target; Alpha) + Fea feature loss, where the
// feature loss is the mean over blocks (0.5/0.5 for k = 2) of each
// block's CosineDistance between the student feature and the teacher's.
// teacher holds one feature per block, in Outputs.Features order and of
// the same shapes (a backbone of other channel counts goes through an
// adapter first). It returns the [1] total and the terms of LossTerms.
func Loss(g *graph.Graph, w LossWeights, out Outputs, target string, teacher []string) (total string, terms []string) {
	if g.Err() != nil {
		return "", nil
	}
	if len(teacher) != len(out.Features) || len(teacher) == 0 {
		g.Fail(fmt.Errorf("pkgnet loss: %d teacher features for %d distilled blocks", len(teacher), len(out.Features)))
		return "", nil
	}
	gen := loss.MSE(g, out.Prediction, target)
	grad := loss.Gradient(g, out.Prediction, target, w.Alpha)
	var blocks []string
	for i, t := range teacher {
		blocks = append(blocks, loss.CosineDistance(g, out.Features[i], t))
	}
	fea := blocks[0]
	if len(blocks) > 1 {
		fea = g.Mul(g.Sum(blocks...), g.Scalar(float32(1/float64(len(blocks)))))
	}
	if g.Err() != nil {
		return "", nil
	}
	weighted := func(x string, v float64) string { return g.Mul(x, g.Scalar(float32(v))) }
	total = g.Sum(weighted(gen, w.Gen), weighted(grad, w.Grad), weighted(fea, w.Fea))
	return total, []string{gen, grad, fea}
}

// ObjectScores builds the official per-object scores, each of shape [N]:
// the prediction's MSE over channels and pixels, and per block the mean
// over positions of 1 - cos over channels between the student's and the
// teacher's features. These are the raw components the scoring chain
// z-scores (Stats) and weighs (Hybrid).
func ObjectScores(g *graph.Graph, out Outputs, target string, teacher []string) (gen string, fea []string) {
	if g.Err() != nil {
		return "", nil
	}
	if len(teacher) != len(out.Features) {
		g.Fail(fmt.Errorf("pkgnet scores: %d teacher features for %d distilled blocks", len(teacher), len(out.Features)))
		return "", nil
	}
	rest := func(x string) []int64 {
		var axes []int64
		for i := 1; i < g.Rank(x); i++ {
			axes = append(axes, int64(i))
		}
		return axes
	}
	if sp, st := g.Shape(out.Prediction), g.Shape(target); len(sp) != 4 || !slices.Equal(sp, st) {
		g.Fail(fmt.Errorf("pkgnet scores: prediction %q %v and target %q %v must both be [N, C, H, W] of one shape", out.Prediction, sp, target, st))
		return "", nil
	}
	d := g.Sub(out.Prediction, target)
	gen = g.ReduceMean(g.Mul(d, d), rest(d), false)
	for i, t := range teacher {
		m := loss.CosineDistanceMap(g, out.Features[i], t)
		if m == "" {
			return "", nil
		}
		fea = append(fea, g.ReduceMean(m, rest(m), false))
	}
	return gen, fea
}
