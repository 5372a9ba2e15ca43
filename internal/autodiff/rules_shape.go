package autodiff

import (
	"fmt"
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradConcat, graph.OpConcat)
	register(gradSplit, graph.OpSplit)
	register(gradSlice, graph.OpSlice)
	register(gradGather, graph.OpGather)
	register(gradTranspose, graph.OpTranspose)
	register(gradPad, graph.OpPad)
	register(gradExpand, graph.OpExpand)
	register(gradTile, graph.OpTile)
}

// Every rule here is a data movement whose adjoint is another data
// movement, so they are written with Slice, Pad, Reshape and Concat and
// resolved in Go against the static shapes; only Gather needs a scatter.

// axisOf normalises a node's axis attribute against a rank.
func axisOf(n *graph.Node, def int64, rank int) (int, error) {
	a := n.Int("axis", def)
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", n.Int("axis", def), rank)
	}
	return int(a), nil
}

// sliceAlong takes x[start:end:step] on one axis.
func (c *Ctx) sliceAlong(x string, axis int, start, end, step int64) string {
	return c.Slice(x, []int64{start}, []int64{end}, []int64{int64(axis)}, []int64{step})
}

// reverseAlong flips x on one axis.
func (c *Ctx) reverseAlong(x string, axis int) string {
	d := c.Shape(x)[axis]
	// An end of -d-1 resolves to "before index 0" for a negative step.
	return c.sliceAlong(x, axis, d-1, -d-1, -1)
}

// padAlong zero-pads (or, for negative amounts, crops) x with per-axis
// begin and end amounts; all-zero amounts return x itself.
func (c *Ctx) padAlong(x string, begin, end []int64) string {
	if !slices.ContainsFunc(begin, nonZero) && !slices.ContainsFunc(end, nonZero) {
		return x
	}
	// Crop with Slice and pad with Pad, so no Pad ever sees a negative
	// amount (valid ONNX, but not every kernel handles it).
	g := c.Graph
	xs := g.Shape(x)
	r := len(xs)
	var starts, ends, axes []int64
	for i := range r {
		s, e := max(-begin[i], 0), xs[i]-max(-end[i], 0)
		if s != 0 || e != xs[i] {
			starts, ends, axes = append(starts, s), append(ends, e), append(axes, int64(i))
		}
	}
	if axes != nil {
		x = g.Slice(x, starts, ends, axes, nil)
	}
	pads := make([]int64, 2*r)
	need := false
	for i := range r {
		pads[i], pads[r+i] = max(begin[i], 0), max(end[i], 0)
		need = need || pads[i] != 0 || pads[r+i] != 0
	}
	if need {
		x = g.Op(graph.OpPad, []string{x, g.Const1D(pads...)}, graph.Attrs{"mode": "constant"})
	}
	return x
}

func nonZero(v int64) bool { return v != 0 }

// gradConcat hands each input its stretch of dY.
func gradConcat(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	r := g.Rank(n.Inputs[0])
	ax, err := axisOf(n, 0, r)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(n.Inputs))
	sizes := make([]int64, len(n.Inputs))
	needed := 0
	for i, in := range n.Inputs {
		sizes[i] = g.Shape(in)[ax]
		if c.Needs(in) {
			needed++
		}
	}
	if len(n.Inputs) == 1 {
		out[0] = dy[0]
		return out, nil
	}
	if needed > 1 && !slices.Contains(sizes, 0) {
		attrs := graph.Attrs{"axis": int64(ax)}
		ins := []string{dy[0]}
		if g.Opset < 13 {
			// Before opset 13 the sizes were an attribute.
			attrs["split"] = sizes
		} else {
			ins = append(ins, g.Const1D(sizes...))
		}
		parts := g.OpN(graph.OpSplit, ins, len(sizes), attrs)
		for i, in := range n.Inputs {
			if c.Needs(in) {
				out[i] = parts[i]
			}
		}
		return out, nil
	}
	off := int64(0)
	for i, in := range n.Inputs {
		if c.Needs(in) {
			out[i] = c.sliceAlong(dy[0], ax, off, off+sizes[i], 1)
		}
		off += sizes[i]
	}
	return out, nil
}

// gradSplit concatenates the output gradients back, with zeros for the
// outputs nothing downstream differentiated.
func gradSplit(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x := n.Inputs[0]
	xs := g.Shape(x)
	ax, err := axisOf(n, 0, len(xs))
	if err != nil {
		return nil, err
	}
	sizes, err := g.SplitSizes(n, xs[ax])
	if err != nil {
		return nil, err
	}
	if len(sizes) != len(dy) {
		return nil, fmt.Errorf("%d split sizes for %d outputs", len(sizes), len(dy))
	}
	parts := make([]string, 0, len(dy))
	for i, d := range dy {
		if sizes[i] == 0 {
			continue
		}
		if d == "" {
			s := xs.Clone()
			s[ax] = sizes[i]
			d = c.Zeros(s)
		}
		parts = append(parts, d)
	}
	out := make([]string, len(n.Inputs))
	if len(parts) == 0 {
		out[0] = c.Zeros(xs)
	} else {
		out[0] = c.Concat(int64(ax), parts...)
	}
	return out, nil
}

// gradSlice puts dY back where the slice read it. A step s > 1 is undone
// by interleaving s-1 zeros after every element (Reshape to [.., k, 1, ..],
// Pad to [.., k, s, ..], Reshape to [.., k*s, ..]); a negative step by
// reversing dY first; the offset and the rest by one zero Pad (or crop of
// trailing interleaved zeros).
func gradSlice(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x := n.Inputs[0]
	xs := g.Shape(x)
	sp, err := g.ResolveSlice(n, xs)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(n.Inputs))
	if slices.Contains(sp.Count, 0) {
		out[0] = c.Zeros(xs)
		return out, nil
	}
	d := dy[0]
	r := len(xs)
	start := slices.Clone(sp.Start)
	step := slices.Clone(sp.Step)
	for i := range r {
		if step[i] < 0 {
			d = c.reverseAlong(d, i)
			// The reversed gradient starts at the lowest index read.
			start[i] += (sp.Count[i] - 1) * step[i]
			step[i] = -step[i]
		}
	}
	if slices.ContainsFunc(step, func(s int64) bool { return s > 1 }) {
		var split, pads []int64
		spread := make(graph.Shape, r)
		for i := range r {
			spread[i] = sp.Count[i] * step[i]
			split = append(split, sp.Count[i])
			if step[i] > 1 {
				split = append(split, 1)
			}
		}
		pads = make([]int64, 2*len(split))
		j := 0
		for i := range r {
			j++
			if step[i] > 1 {
				pads[len(split)+j] = step[i] - 1
				j++
			}
		}
		d = c.Reshape(d, split)
		d = g.Op(graph.OpPad, []string{d, g.Const1D(pads...)}, graph.Attrs{"mode": "constant"})
		d = c.Reshape(d, spread)
	}
	ds := g.Shape(d)
	begin, end := make([]int64, r), make([]int64, r)
	for i := range r {
		begin[i] = start[i]
		end[i] = xs[i] - start[i] - ds[i]
	}
	out[0] = c.padAlong(d, begin, end)
	return out, nil
}

// gradGather scatter-adds dY into zeros at the gathered positions, so
// repeated indices accumulate. Constant indices are normalised in Go;
// computed ones get their negative entries wrapped with ops.
func gradGather(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x, idx := n.Inputs[0], n.Inputs[1]
	xs := g.Shape(x)
	ax, err := axisOf(n, 0, len(xs))
	if err != nil {
		return nil, err
	}
	dim := xs[ax]
	k := g.Shape(idx).Size()
	pre, post := xs[:ax].Size(), xs[ax+1:].Size()
	flatIdx := graph.Shape{1, k, 1}
	var ind string
	if v, ok := g.Const(idx); ok {
		norm := make([]int64, len(v.I64))
		for i, j := range v.I64 {
			if j < -dim || j >= dim {
				return nil, fmt.Errorf("index %d out of range for axis %d of size %d", j, ax, dim)
			}
			if j < 0 {
				j += dim
			}
			norm[i] = j
		}
		ind = g.Init("gather_grad_idx", &graph.Value{DType: graph.Int64, Shape: flatIdx, I64: norm})
	} else {
		ind = c.Reshape(idx, flatIdx)
		if g.DType(ind) != graph.Int64 {
			ind = c.Cast(ind, graph.Int64)
		}
		zero, size := g.Init("ci", graph.Ints(0)), g.Init("ci", graph.Ints(dim))
		neg := g.Op(graph.OpLess, []string{ind, zero}, nil)
		ind = c.Where(neg, g.Add(ind, size), ind)
	}
	upd := graph.Shape{pre, k, post}
	ind = g.Op(graph.OpExpand, []string{ind, g.Const1D(upd...)}, nil)
	into := graph.Shape{pre, dim, post}
	scat := g.Op(graph.OpScatterElements, []string{c.Zeros(into), ind, c.Reshape(dy[0], upd)},
		graph.Attrs{"axis": int64(1), "reduction": "add"})
	out := make([]string, len(n.Inputs))
	out[0] = c.Reshape(scat, xs)
	return out, nil
}

func gradTranspose(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	p := graph.Perm(n, c.Rank(n.Inputs[0]))
	inv := make([]int64, len(p))
	for i, a := range p {
		inv[a] = int64(i)
	}
	out := make([]string, len(n.Inputs))
	out[0] = c.Transpose(dy[0], inv...)
	return out, nil
}

// gradPad undoes a Pad. Constant mode crops dY (and zero-fills what a
// negative pad cropped); the constant value, when trained, collects the
// gradient of every padded cell. Reflect and edge padding are separable
// per axis, so each padded axis folds its border gradient back onto the
// input cells it copied: mirrored for reflect, summed onto the first and
// last cell for edge.
func gradPad(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x := n.Inputs[0]
	xs := g.Shape(x)
	r := len(xs)
	pads, err := g.PadsOf(n)
	if err != nil {
		return nil, err
	}
	if len(pads) != 2*r {
		return nil, fmt.Errorf("pads %v for rank %d", pads, r)
	}
	out := make([]string, len(n.Inputs))
	mode := n.String("mode", "constant")
	switch mode {
	case "constant":
		begin, end := make([]int64, r), make([]int64, r)
		for i := range r {
			begin[i], end[i] = -pads[i], -pads[r+i]
		}
		// Crop first: the cropped block is what the constant did not fill.
		crop := make([]int64, r)
		cropEnd := make([]int64, r)
		for i := range r {
			crop[i], cropEnd[i] = min(begin[i], 0), min(end[i], 0)
		}
		inner := c.padAlong(dy[0], crop, cropEnd)
		if c.Needs(x) {
			for i := range r {
				crop[i], cropEnd[i] = max(begin[i], 0), max(end[i], 0)
			}
			out[0] = c.padAlong(inner, crop, cropEnd)
		}
		if cv := n.In(2); c.Needs(cv) {
			// The sums over every axis take an empty axes input.
			all := []int64{}
			total := c.ReduceSum(dy[0], all, false)
			var s string
			if g.Shape(inner).Size() > 0 {
				s = c.Sub(total, c.ReduceSum(inner, all, false))
			} else {
				s = total
			}
			out[2] = c.Reshape(s, g.Shape(cv))
		}
		return out, nil
	case "reflect", "edge":
	default:
		return nil, fmt.Errorf("Pad mode %q has no gradient rule (constant, reflect and edge do)", mode)
	}
	if !c.Needs(x) {
		return out, nil
	}
	d := dy[0]
	for i := range r {
		b, e, dim := pads[i], pads[r+i], xs[i]
		if b < 0 || e < 0 {
			return nil, fmt.Errorf("negative pads %v with mode %s are not supported", pads, mode)
		}
		if b == 0 && e == 0 {
			continue
		}
		if mode == "reflect" && (b >= dim || e >= dim) {
			return nil, fmt.Errorf("reflect pads %v need fewer than %d cells on axis %d", pads, dim, i)
		}
		parts := []string{c.sliceAlong(d, i, b, b+dim, 1)}
		at := func(v string, before int64) string {
			bg, en := make([]int64, r), make([]int64, r)
			bg[i] = before
			en[i] = dim - before - g.Shape(v)[i]
			return c.padAlong(v, bg, en)
		}
		if mode == "reflect" {
			// Left border cell j (< b) copied x[b-j]; reversed, the border
			// lines up with x[1..b]. The right border mirrors x[dim-1-e..dim-2].
			if b > 0 {
				parts = append(parts, at(c.sliceAlong(d, i, b-1, -g.Shape(d)[i]-1, -1), 1))
			}
			if e > 0 {
				parts = append(parts, at(c.sliceAlong(d, i, b+dim+e-1, b+dim-1, -1), dim-1-e))
			}
		} else {
			if b > 0 {
				parts = append(parts, at(c.ReduceSum(c.sliceAlong(d, i, 0, b, 1), []int64{int64(i)}, true), 0))
			}
			if e > 0 {
				parts = append(parts, at(c.ReduceSum(c.sliceAlong(d, i, b+dim, b+dim+e, 1), []int64{int64(i)}, true), dim-1))
			}
		}
		d = c.sum(parts)
	}
	out[0] = d
	return out, nil
}

// gradExpand sums dY over the broadcast axes.
func gradExpand(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	out := make([]string, len(n.Inputs))
	out[0] = c.Unbroadcast(dy[0], c.Shape(n.Inputs[0]))
	return out, nil
}

// gradTile sums the repeats: dY [r0*d0, r1*d1, ..] viewed as
// [r0, d0, r1, d1, ..] and reduced over the repeat axes.
func gradTile(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	xs := g.Shape(n.Inputs[0])
	v, ok := g.Const(n.In(1))
	if !ok || len(v.I64) != len(xs) {
		return nil, fmt.Errorf("repeats input %q must be a constant of length %d", n.In(1), len(xs))
	}
	var view graph.Shape
	var axes []int64
	for i, reps := range v.I64 {
		if reps != 1 {
			axes = append(axes, int64(len(view)))
			view = append(view, reps)
		}
		view = append(view, xs[i])
	}
	out := make([]string, len(n.Inputs))
	if axes == nil {
		out[0] = dy[0]
		return out, nil
	}
	if slices.Contains(v.I64, 0) {
		out[0] = c.Zeros(xs)
		return out, nil
	}
	out[0] = c.Reshape(c.ReduceSum(c.Reshape(dy[0], view), axes, false), xs)
	return out, nil
}
