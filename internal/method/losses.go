package method

import (
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
	"github.com/fmam/fmam/internal/nn"
)

func mse(g *graph.Graph, a, b string) string { return loss.MSE(g, a, b) }

// draemLoss is DRAEM's L_o: L2 and SSIM loss between the reconstruction
// and the clean image, and the focal loss (gamma 2) of the mask logits.
func draemLoss(g *graph.Graph, outs, targets []string) (string, []string, []string) {
	l2 := loss.MSE(g, outs[0], targets[0])
	ss := loss.SSIMLoss(g, outs[0], targets[0], loss.DRAEMSSIM())
	fo := loss.Focal(g, outs[1], loss.BinaryOneHot(g, targets[1]), loss.DRAEMFocal())
	total := g.Op("Sum", []string{l2, ss, fo}, nil)
	return total, []string{l2, ss, fo}, []string{"l2", "ssim", "focal"}
}

// memoryLoss adds MNAD's memory losses to the prediction loss l:
// l + 0.1 * compactness + 0.1 * separateness (its Train.py weights).
func memoryLoss(g *graph.Graph, l string, mem *nn.Memory) (string, []string, []string) {
	wc := g.Op("Mul", []string{mem.Compactness, g.Scalar(nn.MemoryCompactWeight)}, nil)
	ws := g.Op("Mul", []string{mem.Separateness, g.Scalar(nn.MemorySeparateWeight)}, nil)
	total := g.Op("Sum", []string{l, wc, ws}, nil)
	return total, []string{l, mem.Compactness, mem.Separateness}, []string{"l_o", "l_compact", "l_separate"}
}

func crossEntropy(g *graph.Graph, logits, onehot string) string {
	return loss.CrossEntropy(g, logits, onehot)
}
