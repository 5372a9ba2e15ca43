package jigsaw

import (
	"fmt"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/train"
)

// Names of the train step's target inputs and of the inference graph's
// outputs.
const (
	// InTemporalTarget is [N, T, T]: row i of sample n one-hot at the
	// original frame index that position i holds (Sample.TemporalPerm[i]),
	// for temporal samples; all zeros for spatial samples, which the
	// temporal loss leaves out.
	InTemporalTarget = "temporal_target"
	// InSpatialTarget is [N, 9, 9]: row j one-hot at the position tile j
	// was moved to (Sample.SpatialPerm[j]) for spatial samples, zeros for
	// temporal ones.
	InSpatialTarget = "spatial_target"

	OutTemporalLogits = "temporal_logits" // [N, T*T]
	OutSpatialLogits  = "spatial_logits"  // [N, 81]
	// OutTemporalScore and OutSpatialScore are the per-object scores of
	// the official evaluation, [N]: the minimum over positions of the
	// softmax probability that the position is in its original place
	// (1 for a perfectly solved unpermuted cube; low = anomalous).
	OutTemporalScore = "temporal_score"
	OutSpatialScore  = "spatial_score"
)

// TrainTerms names the logged loss terms, in train.Spec.Report order.
var TrainTerms = []string{"l_temporal", "l_spatial"}

// TrainSpec builds the train step of the official main.py for batches of
// batch cubes: L = CE_temporal + CE_spatial, each PyTorch's mean
// cross-entropy over the rows of the samples of its branch (temporal
// logits viewed as [-1, T], spatial as [-1, 9]). A batch without samples
// of one branch gives that term 0 where PyTorch's mean over no rows is NaN.
// The batch inputs, in order, are InCubes [N, 3, T, S, S], InTemporalTarget,
// InSpatialTarget and InDropoutMask [N, Channels(), 1, 1] (StackBatch
// fills them). The caller sets Optim (the official code: Adam, lr 1e-4).
func TrainSpec(cfg Config, batch int, seed uint64, init nn.Init) (*train.Spec, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	if batch < 1 {
		return nil, fmt.Errorf("jigsaw: batch %d; it must be at least 1", batch)
	}
	g := graph.New("jigsaw-train")
	n, t, s := int64(batch), int64(cfg.Frames), int64(cfg.Size)
	cubes := g.Input(InCubes, graph.Float, graph.Shape{n, 3, t, s, s})
	tt := g.Input(InTemporalTarget, graph.Float, graph.Shape{n, t, t})
	st := g.Input(InSpatialTarget, graph.Float, graph.Shape{n, Tiles, Tiles})
	b := nn.New(g, true, seed)
	b.Init = init
	tl, sl := Build(b, cubes, cfg, nil)
	lt := branchLoss(g, tl, tt, t)
	ls := branchLoss(g, sl, st, Tiles)
	total := g.Op(graph.OpAdd, []string{lt, ls}, nil)
	if err := g.Err(); err != nil {
		return nil, fmt.Errorf("jigsaw train step: %w", err)
	}
	return &train.Spec{Graph: g, Batch: []string{cubes, tt, st, InDropoutMask}, Loss: total, Report: []string{lt, ls},
		Trainable: b.Registry().Trainable, States: b.Registry().States()}, nil
}

// branchLoss is the mean cross-entropy over the rows whose target is not
// all zeros: logits [N, k*k] viewed as [N, k rows, k classes], target
// [N, k, k]. loss.CrossEntropy (classes on axis 1) averages over all N*k
// rows, the zero rows adding nothing, so it is rescaled by N*k over the
// number of one-hot rows (at least 1).
func branchLoss(g *graph.Graph, logits, target string, k int64) string {
	n := g.Shape(logits)[0]
	rows := g.Op(graph.OpReshape, []string{logits, g.Const1D(n, k, k)}, nil)
	perm := graph.Attrs{"perm": []int64{0, 2, 1}}
	ce := loss.CrossEntropy(g, g.Op(graph.OpTranspose, []string{rows}, perm), g.Op(graph.OpTranspose, []string{target}, perm))
	count := g.Op(graph.OpMax, []string{loss.Sum(g, target), g.Scalar(1)}, nil)
	scale := g.Op(graph.OpDiv, []string{g.Scalar(float32(n * k)), count}, nil)
	return g.Op(graph.OpMul, []string{ce, scale}, nil)
}

// Inference builds the network in evaluation mode (Dropout2d off) with
// per-object scores, for trained values the caller applies with
// train.ApplyState. Input InCubes; outputs OutTemporalLogits,
// OutSpatialLogits, OutTemporalScore, OutSpatialScore. The batch axis is
// written as dynamic, so batch only sizes the graph as built.
func Inference(cfg Config, batch int) (*graph.Graph, error) {
	if err := cfg.Check(); err != nil {
		return nil, err
	}
	g := graph.New("jigsaw")
	cubes := g.Input(InCubes, graph.Float, graph.Shape{int64(batch), 3, int64(cfg.Frames), int64(cfg.Size), int64(cfg.Size)})
	b := nn.New(g, false, 0)
	tl, sl := Build(b, cubes, cfg, nil)
	outs := []string{
		identity(g, tl, OutTemporalLogits),
		identity(g, sl, OutSpatialLogits),
		identity(g, diagMin(g, tl, int64(cfg.Frames)), OutTemporalScore),
		identity(g, diagMin(g, sl, Tiles), OutSpatialScore),
	}
	g.Output(outs...)
	g.DynamicBatch = true
	g.SetMeta("fmam.arch", "jigsaw")
	g.SetMeta("fmam.frames", fmt.Sprint(cfg.Frames))
	return g, g.Err()
}

func identity(g *graph.Graph, x, name string) string {
	g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: name, Inputs: []string{x}, Outputs: []string{name}})
	return name
}

// diagMin is the official score of one branch: logits [N, k*k] viewed as
// [N, k, k], softmax over the last axis, the diagonal (row i's probability
// of class i), its minimum over rows: [N].
func diagMin(g *graph.Graph, logits string, k int64) string {
	rows := g.Op(graph.OpReshape, []string{logits, g.Const1D(0, k, k)}, nil)
	p := g.Op(graph.OpSoftmax, []string{rows}, graph.Attrs{"axis": int64(-1)})
	eye := make([]float32, k*k)
	for i := range k {
		eye[i*k+i] = 1
	}
	diag := g.Op(graph.OpReduceSum, []string{g.Op(graph.OpMul, []string{p, g.Init("eye", graph.Floats(graph.Shape{k, k}, eye))}, nil), g.Const1D(2)}, graph.Attrs{"keepdims": int64(0)})
	return g.Op(graph.OpReduceMin, []string{diag}, graph.Attrs{"axes": []int64{1}, "keepdims": int64(0)})
}
