package autodiff

import (
	"fmt"
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradMatMul, graph.OpMatMul)
	register(gradGemm, graph.OpGemm)
}

// swapLast transposes the last two axes of x.
func (c *Ctx) swapLast(x string) string {
	r := c.Rank(x)
	perm := make([]int64, r)
	for i := range perm {
		perm[i] = int64(i)
	}
	perm[r-2], perm[r-1] = perm[r-1], perm[r-2]
	return c.Transpose(x, perm...)
}

// gradMatMul differentiates numpy-style MatMul. 1-D operands are promoted
// to matrices ([K] -> [1,K] on the left, [K,1] on the right) so every case
// is the batched matrix rule dA = dY B^T, dB = A^T dY, summed over the batch
// axes the operand was broadcast along.
func gradMatMul(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	a, b := n.Inputs[0], n.Inputs[1]
	as, bs := g.Shape(a), g.Shape(b)
	if len(as) == 0 || len(bs) == 0 {
		return nil, fmt.Errorf("MatMul of a scalar (%v, %v) is not defined", as, bs)
	}
	a2, b2 := as.Clone(), bs.Clone()
	if len(as) == 1 {
		a2 = graph.Shape{1, as[0]}
	}
	if len(bs) == 1 {
		b2 = graph.Shape{bs[0], 1}
	}
	aBatch, bBatch := a2[:len(a2)-2], b2[:len(b2)-2]
	batch, err := graph.BroadcastShapes(aBatch, bBatch)
	if err != nil {
		return nil, err
	}
	m, k, nn := a2[len(a2)-2], a2[len(a2)-1], b2[len(b2)-1]
	y2 := append(batch.Clone(), m, nn)
	d := c.Reshape(dy[0], y2)
	P := batch.Size()
	out := make([]string, 2)
	if c.Needs(a) {
		B := c.Reshape(b, b2)
		var da string
		if P > 1 && aBatch.Size() == 1 && bBatch.Size() == P && m*k > (m+k)*nn {
			// A is shared by the whole batch (W @ X) and is big next to
			// the per-item columns: contract batch and columns in one
			// MatMul, dA[m,k] = sum_{p,j} dY[p,m,j] B[p,k,j], at the cost
			// of transposing dY and B, rather than write P products of A's
			// size and sum them (measured 1.7-50x faster in that regime, and
			// slower outside it).
			dT := c.Reshape(c.Transpose(c.Reshape(d, graph.Shape{P, m, nn}), 1, 0, 2), graph.Shape{m, P * nn})
			bT := c.Reshape(c.Transpose(c.Reshape(B, graph.Shape{P, k, nn}), 1, 0, 2), graph.Shape{k, P * nn})
			da = c.MatMul(dT, c.swapLast(bT))
		} else {
			da = c.Unbroadcast(c.MatMul(d, c.swapLast(B)), a2)
		}
		out[0] = c.Reshape(da, as)
	}
	if c.Needs(b) {
		A := c.Reshape(a, a2)
		var db string
		if P > 1 && bBatch.Size() == 1 && aBatch.Size() == P {
			// B is shared by the batch (a linear layer on [N, T, K]): fold
			// the batch into the rows, dB = A'^T dY' with A' [P*M, K].
			af := c.Reshape(A, graph.Shape{P * m, k})
			df := c.Reshape(d, graph.Shape{P * m, nn})
			db = c.MatMul(c.swapLast(af), df)
		} else {
			db = c.Unbroadcast(c.MatMul(c.swapLast(A), d), b2)
		}
		out[1] = c.Reshape(db, bs)
	}
	return out, nil
}

// gradGemm differentiates Y = alpha op(A) op(B) + beta C with Gemm nodes
// again, choosing the transposition flags so no explicit Transpose is
// needed.
func gradGemm(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	a, b := n.Inputs[0], n.Inputs[1]
	transA, transB := n.Int("transA", 0), n.Int("transB", 0)
	for _, f := range []int64{transA, transB} {
		if f != 0 && f != 1 {
			return nil, fmt.Errorf("transA/transB must be 0 or 1, got %d and %d", transA, transB)
		}
	}
	alpha, beta := n.Float("alpha", 1), n.Float("beta", 1)
	d := dy[0]
	gemm := func(x, y string, ta, tb int64) string {
		attrs := graph.Attrs{"transA": ta, "transB": tb}
		if alpha != 1 {
			attrs["alpha"] = alpha
		}
		return g.Op(graph.OpGemm, []string{x, y}, attrs)
	}
	out := make([]string, len(n.Inputs))
	if c.Needs(a) {
		if transA == 0 {
			// dA = alpha dY op(B)^T
			out[0] = gemm(d, b, 0, 1-transB)
		} else {
			// dA = alpha op(B) dY^T
			out[0] = gemm(b, d, transB, 1)
		}
	}
	if c.Needs(b) {
		if transB == 0 {
			// dB = alpha op(A)^T dY
			out[1] = gemm(a, d, 1-transA, 0)
		} else {
			// dB = alpha dY^T op(A)
			out[1] = gemm(d, a, 1, transA)
		}
	}
	if cn := n.In(2); c.Needs(cn) {
		dc := d
		if beta != 1 {
			dc = c.Mul(d, c.Scalar(beta))
		}
		cs := g.Shape(cn)
		if len(cs) > 2 || slices.ContainsFunc(cs, func(v int64) bool { return v < 1 }) {
			return nil, fmt.Errorf("C of shape %v does not broadcast to %v", cs, g.Shape(d))
		}
		out[2] = c.Unbroadcast(dc, cs)
	}
	return out, nil
}
