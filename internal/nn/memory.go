package nn

import (
	"fmt"
	"math"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
)

// Weights and margin of MNAD's memory losses (Park et al., CVPR 2020, and
// the defaults of its reference Train.py).
const (
	MemoryCompactWeight  = 0.1
	MemorySeparateWeight = 0.1
	// MemoryMargin is the triplet margin of the separateness loss.
	MemoryMargin = 1.0
	// tripletEps is torch.nn.functional.pairwise_distance's eps, added to
	// the difference before the norm.
	tripletEps = 1e-6
)

// Memory is what the memory module of MNAD's predictor built.
type Memory struct {
	// Out is the decoder input: the normalised queries and the items read
	// for them, concatenated on channels, [N, 2C, H, W].
	Out string
	// Query holds the L2-normalised per-pixel queries, [N, H, W, C], named
	// <scope>.query so an exported model's queries can be found again.
	Query string
	// Items is the memory, [M, C] with unit rows, the initializer
	// <scope>.items: a state of training graphs, a constant otherwise.
	Items string
	// Compactness and Separateness are MNAD's unweighted feature losses
	// ([1]); set only when training.
	Compactness, Separateness string
}

// Memory adds MNAD's memory module (the "spatial, sum only, weighted
// ranking, top-1" variant of the reference code) on a feature x
// [N, C, H, W] with m items of width C.
//
// Each pixel's feature, L2-normalised over C, is a query q. Reading
// weights the items by the softmax over items of q·Mᵀ; the weights are
// detached as in the reference, so the read half of the output passes no
// gradient back. In training the module also builds the compactness loss
// (mean squared difference between each query and its nearest item) and
// the separateness loss (triplet loss, margin 1, with the nearest item as
// positive and the second nearest as negative), both with the items held
// constant, and registers the items as a state whose next value is MNAD's
// update: every item adds its assigned queries (those whose nearest item
// it is), each weighted by its softmax-over-queries score divided by the
// item's largest such score, and the rows are normalised again. The
// initial items are MNAD's F.normalize(torch.rand(m, C)), drawn from the
// builder's seed.
func (b *Builder) Memory(x, name string, m int) *Memory {
	g := b.G
	xs := g.Shape(x)
	if len(xs) != 4 || m < 2 {
		g.Fail(fmt.Errorf("memory %s: needs a feature [N,C,H,W] and at least 2 items, got %v and %d", name, xs, m))
		return &Memory{Out: x}
	}
	s := b.Scope(name)
	items := s.constant("items", b.unitRows(m, xs[1]))
	mem, next := memoryGraph(g, x, items, s.Name("query"), b.Train, true)
	if next != "" {
		b.reg.states = append(b.reg.states, graph.State{Name: items, Next: next})
	}
	return mem
}

// memoryGraph builds the module on given items; with train it adds the
// losses and returns the items' next value. detach stops the gradient
// through the read weights as MNAD does (tests turn it off to check the
// rest of the read path).
func memoryGraph(g *graph.Graph, x, items, queryName string, train, detach bool) (*Memory, string) {
	out, query, score := memoryRead(g, x, items, queryName, detach)
	mem := &Memory{Out: out, Query: query, Items: items}
	if !train {
		return mem, ""
	}
	first := oneHotNearest(g, score)
	// Scores are cosines in [-1, 1]: pushing the nearest down by 4 makes
	// the second nearest the maximum.
	masked := g.Sub(score, g.Mul(first, g.Scalar(4)))
	second := oneHotNearest(g, masked)
	pos := g.MatMul(first, items)
	neg := g.MatMul(second, items)
	mem.Compactness = loss.MSE(g, query, pos)
	mem.Separateness = triplet(g, query, pos, neg)
	return mem, memoryUpdate(g, query, items, score, first)
}

// MemoryDistance is MNAD's per-frame feature distance at test time: the
// mean over pixels and channels of (query - nearest item)^2, one value per
// sample ([N]). query is a Memory's Query, items its Items.
func MemoryDistance(g *graph.Graph, query, items string) string {
	score := memoryScore(g, query, items)
	pos := g.MatMul(oneHotNearest(g, score), items)
	d := g.Sub(query, pos)
	return g.ReduceMean(g.Mul(d, d), []int64{1, 2, 3}, false)
}

// StopGradient returns x's values with no gradient path back to x, as
// PyTorch's detach: a round trip through float64, which is exact, and
// autodiff carries gradients through float32 tensors only.
func StopGradient(g *graph.Graph, x string) string {
	return g.Cast(g.Cast(x, graph.Double), graph.Float)
}

// memoryRead normalises x into queries (named queryName) and reads the
// items for them; it returns the decoder input, the queries and their
// item scores q·Mᵀ [N, H, W, M].
func memoryRead(g *graph.Graph, x, items, queryName string, detach bool) (out, query, score string) {
	q := g.Transpose(l2Normalize(g, x, 1), 0, 2, 3, 1)
	g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: queryName, Inputs: []string{q}, Outputs: []string{queryName}})
	score = memoryScore(g, queryName, items)
	w := g.Softmax(score, -1)
	if detach {
		w = StopGradient(g, w)
	}
	read := g.MatMul(w, items)
	cat := g.Concat(3, queryName, read)
	return g.Transpose(cat, 0, 3, 1, 2), queryName, score
}

// memoryScore is q·Mᵀ for queries [N, H, W, C] and items [M, C].
func memoryScore(g *graph.Graph, query, items string) string {
	return g.MatMul(query, g.Transpose(items, 1, 0))
}

// oneHotNearest marks each query's best-scoring item (the first on ties)
// with 1 in a float [..., M] tensor. It passes through integers, so it
// carries no gradient.
func oneHotNearest(g *graph.Graph, score string) string {
	ss := g.Shape(score)
	m := ss[len(ss)-1]
	idx := g.Op(graph.OpArgMax, []string{score}, graph.Attrs{"axis": int64(len(ss) - 1), "keepdims": int64(1)})
	ids := make([]int64, m)
	for i := range ids {
		ids[i] = int64(i)
	}
	return g.Cast(g.Equal(idx, g.Const1D(ids...)), graph.Float)
}

// triplet is torch.nn.TripletMarginLoss(margin=1): the mean over queries
// of max(d(q, pos) - d(q, neg) + margin, 0), d(a, b) = ||a - b + eps||.
func triplet(g *graph.Graph, q, pos, neg string) string {
	axis := []int64{int64(g.Rank(q) - 1)}
	dist := func(other string) string {
		d := g.Add(g.Sub(q, other), g.Scalar(tripletEps))
		return g.Sqrt(g.ReduceSumSquare(d, axis, false))
	}
	h := g.Add(g.Sub(dist(pos), dist(neg)), g.Scalar(MemoryMargin))
	return loss.Mean(g, g.Relu(h))
}

// memoryUpdate is MNAD's training update of the items (no gradient: it is
// not on any loss path). The softmax over queries runs over the whole
// batch, as MNAD's over all b*h*w queries.
func memoryUpdate(g *graph.Graph, query, items, score, nearest string) string {
	m := g.Shape(items)[0]
	c := g.Shape(items)[1]
	flat := g.Reshape(score, graph.Shape{-1, m})
	sq := g.Softmax(flat, 0)
	top := g.ReduceMax(sq, []int64{0}, true)
	assigned := g.Reshape(nearest, graph.Shape{-1, m})
	w := g.Div(g.Mul(assigned, sq), top)
	qf := g.Reshape(query, graph.Shape{-1, c})
	upd := g.MatMul(g.Transpose(w, 1, 0), qf)
	return l2Normalize(g, g.Add(items, upd), 1)
}

// l2Normalize is F.normalize(x, dim=axis), x / max(||x||, 1e-12), written
// as x / sqrt(max(sum x^2, 1e-24)) so an all-zero slice keeps a finite
// gradient.
func l2Normalize(g *graph.Graph, x string, axis int64) string {
	ss := g.ReduceSumSquare(x, []int64{axis}, true)
	n := g.Sqrt(g.Max(ss, g.Scalar(1e-24)))
	return g.Div(x, n)
}

// unitRows draws m rows of width c uniform in [0, 1) and normalises each
// to unit length (MNAD's initial memory).
func (b *Builder) unitRows(m int, c int64) *graph.Value {
	d := make([]float32, int64(m)*c)
	row := make([]float64, c)
	for i := 0; i < m; i++ {
		ss := 0.0
		for j := range row {
			row[j] = b.rng.Float64()
			ss += row[j] * row[j]
		}
		n := math.Max(math.Sqrt(ss), 1e-12)
		for j, v := range row {
			d[int64(i)*c+int64(j)] = float32(v / n)
		}
	}
	return graph.Floats(graph.Shape{int64(m), c}, d)
}
