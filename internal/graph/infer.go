package graph

import (
	"fmt"
	"math"
	"slices"
)

// inferFunc computes the output types of a node from its input types.
type inferFunc func(g *Graph, n *Node) ([]Info, error)

var unaryOps = []OpType{
	OpRelu, OpLeakyRelu, OpSigmoid, OpTanh, OpExp, OpLog, OpSqrt, OpAbs, OpNeg,
	OpClip, OpIdentity, OpSoftmax, OpLogSoftmax, OpErf, OpReciprocal, OpFloor,
	OpCeil, OpRound, OpSign, OpElu, OpHardSigmoid, OpSoftplus, OpNot, OpIsNaN,
	OpIsInf, OpInstanceNormalization, OpLayerNormalization, OpDropout,
}

var broadcastOps = []OpType{
	OpAdd, OpSub, OpMul, OpDiv, OpPow, OpMax, OpMin, OpSum, OpMean, OpWhere,
	OpEqual, OpGreater, OpLess, OpGreaterOrEqual, OpLessOrEqual, OpAnd, OpOr, OpMod,
}

var boolOut = []OpType{OpEqual, OpGreater, OpLess, OpGreaterOrEqual, OpLessOrEqual, OpAnd, OpOr, OpNot, OpIsNaN, OpIsInf}

func (g *Graph) infer(n *Node) error {
	var f inferFunc
	switch {
	case n.Domain == Domain:
		f = inferComposite
	case n.Domain != "" && n.Domain != "ai.onnx":
		return fmt.Errorf("%w: domain %q", ErrUnsupported, n.Domain)
	case slices.Contains(unaryOps, n.Op):
		f = inferUnary
	case slices.Contains(broadcastOps, n.Op):
		f = inferBroadcast
	default:
		f = inferTable[n.Op]
	}
	if f == nil {
		return fmt.Errorf("%w %s: fmam has no shape rule for it", ErrUnsupported, n.Op)
	}
	infos, err := f(g, n)
	if err != nil {
		return err
	}
	for i, o := range n.Outputs {
		if o == "" || i >= len(infos) {
			continue
		}
		g.info[o] = infos[i]
	}
	if len(infos) < len(n.Outputs) {
		for _, o := range n.Outputs[len(infos):] {
			if o != "" {
				return fmt.Errorf("output %q is not supported", o)
			}
		}
	}
	return nil
}

var inferTable map[OpType]inferFunc

func init() {
	inferTable = map[OpType]inferFunc{
		OpCast:               inferCast,
		OpConv:               inferConv,
		OpConvTranspose:      inferConvTranspose,
		OpMaxPool:            inferPool,
		OpAveragePool:        inferPool,
		OpGlobalAveragePool:  inferGlobalPool,
		OpGlobalMaxPool:      inferGlobalPool,
		OpMatMul:             inferMatMul,
		OpGemm:               inferGemm,
		OpReduceMean:         inferReduce,
		OpReduceSum:          inferReduce,
		OpReduceMax:          inferReduce,
		OpReduceMin:          inferReduce,
		OpReduceProd:         inferReduce,
		OpReduceSumSquare:    inferReduce,
		OpReduceL2:           inferReduce,
		OpArgMax:             inferArg,
		OpArgMin:             inferArg,
		OpConcat:             inferConcat,
		OpSplit:              inferSplit,
		OpSlice:              inferSlice,
		OpGather:             inferGather,
		OpReshape:            inferReshape,
		OpFlatten:            inferFlatten,
		OpTranspose:          inferTranspose,
		OpSqueeze:            inferSqueeze,
		OpUnsqueeze:          inferUnsqueeze,
		OpPad:                inferPad,
		OpResize:             inferResize,
		OpExpand:             inferExpand,
		OpTile:               inferTile,
		OpBatchNormalization: inferBatchNorm,
		OpShape:              inferShapeOp,
		OpConstant:           inferConstant,
		OpConstantOfShape:    inferConstantOfShape,
		OpRange:              inferRange,
		OpDepthToSpace:       inferDepthToSpace,
		OpSpaceToDepth:       inferSpaceToDepth,
		OpReduceLogSumExp:    inferReduce,
		OpGatherElements:     inferGatherElements,
		OpScatterElements:    inferFirstInput,
		OpScatterND:          inferFirstInput,
	}
}

func (g *Graph) in(n *Node, i int) (Info, error) {
	name := n.In(i)
	if name == "" {
		return Info{}, fmt.Errorf("input %d is missing", i)
	}
	info, ok := g.info[name]
	if !ok {
		return Info{}, fmt.Errorf("input %q has no type", name)
	}
	return info, nil
}

func inferUnary(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	out := Info{x.DType, slices.Clone(x.Shape)}
	if slices.Contains(boolOut, n.Op) {
		out.DType = Bool
	}
	if n.Op == OpDropout {
		return []Info{out, {Bool, slices.Clone(x.Shape)}}, nil
	}
	return []Info{out}, nil
}

// BroadcastShapes applies numpy broadcasting.
func BroadcastShapes(shapes ...Shape) (Shape, error) {
	r := 0
	for _, s := range shapes {
		r = max(r, len(s))
	}
	out := make(Shape, r)
	for i := range out {
		out[i] = 1
	}
	for _, s := range shapes {
		off := r - len(s)
		for i, d := range s {
			switch {
			case d == out[off+i] || d == 1:
			case out[off+i] == 1:
				out[off+i] = d
			default:
				return nil, fmt.Errorf("shapes %v do not broadcast", shapes)
			}
		}
	}
	return out, nil
}

func inferBroadcast(g *Graph, n *Node) ([]Info, error) {
	var shapes []Shape
	dt := DType(0)
	for i := range n.Inputs {
		x, err := g.in(n, i)
		if err != nil {
			return nil, err
		}
		shapes = append(shapes, x.Shape)
		if n.Op == OpWhere && i == 0 {
			continue
		}
		if dt == 0 {
			dt = x.DType
		}
	}
	s, err := BroadcastShapes(shapes...)
	if err != nil {
		return nil, err
	}
	if slices.Contains(boolOut, n.Op) {
		dt = Bool
	}
	return []Info{{dt, s}}, nil
}

func inferCast(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	return []Info{{DType(n.Int("to", int64(Float))), slices.Clone(x.Shape)}}, nil
}

// ConvGeom is the resolved geometry of a Conv/ConvTranspose/pool node.
type ConvGeom struct {
	Kernel, Strides, Dilations []int64
	Pads                       []int64 // begin..., end...
	OutputPadding              []int64
	Group                      int64
}

// Geom resolves a node's kernel attributes (auto_pad included) against the
// spatial input shape.
func Geom(n *Node, spatial Shape, kernel []int64) (ConvGeom, error) {
	k := len(spatial)
	c := ConvGeom{Kernel: kernel, Group: n.Int("group", 1)}
	if c.Kernel == nil {
		c.Kernel = n.IntsAttr("kernel_shape")
	}
	if len(c.Kernel) != k {
		return c, fmt.Errorf("kernel_shape %v does not match %d spatial dims", c.Kernel, k)
	}
	c.Strides = orOnes(n.IntsAttr("strides"), k)
	c.Dilations = orOnes(n.IntsAttr("dilations"), k)
	c.OutputPadding = n.IntsAttr("output_padding")
	if c.OutputPadding == nil {
		c.OutputPadding = make([]int64, k)
	}
	c.Pads = n.IntsAttr("pads")
	if c.Pads == nil {
		c.Pads = make([]int64, 2*k)
	}
	switch ap := n.String("auto_pad", "NOTSET"); ap {
	case "NOTSET", "VALID":
		if ap == "VALID" {
			c.Pads = make([]int64, 2*k)
		}
	case "SAME_UPPER", "SAME_LOWER":
		if n.Op == OpConvTranspose {
			return c, fmt.Errorf("auto_pad %s on ConvTranspose is not supported; export with explicit pads", ap)
		}
		c.Pads = make([]int64, 2*k)
		for i := range k {
			out := (spatial[i] + c.Strides[i] - 1) / c.Strides[i]
			ek := (c.Kernel[i]-1)*c.Dilations[i] + 1
			total := max(0, (out-1)*c.Strides[i]+ek-spatial[i])
			lo := total / 2
			if ap == "SAME_LOWER" {
				lo = total - total/2
			}
			c.Pads[i], c.Pads[i+k] = lo, total-lo
		}
	default:
		return c, fmt.Errorf("auto_pad %q is not supported", ap)
	}
	if len(c.Pads) != 2*k || len(c.Strides) != k || len(c.Dilations) != k {
		return c, fmt.Errorf("attribute lengths do not match %d spatial dims", k)
	}
	return c, nil
}

func orOnes(v []int64, k int) []int64 {
	if v != nil {
		return v
	}
	out := make([]int64, k)
	for i := range out {
		out[i] = 1
	}
	return out
}

// ConvOut is the output length of one convolution axis.
func (c ConvGeom) ConvOut(i int, in int64, ceil bool) int64 {
	ek := (c.Kernel[i]-1)*c.Dilations[i] + 1
	num := in + c.Pads[i] + c.Pads[i+len(c.Kernel)] - ek
	if ceil {
		return (num+c.Strides[i]-1)/c.Strides[i] + 1
	}
	return num/c.Strides[i] + 1
}

// TransposeOut is the output length of one ConvTranspose axis.
func (c ConvGeom) TransposeOut(i int, in int64) int64 {
	k := len(c.Kernel)
	return c.Strides[i]*(in-1) + c.OutputPadding[i] + (c.Kernel[i]-1)*c.Dilations[i] + 1 - c.Pads[i] - c.Pads[i+k]
}

func inferConv(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	w, err := g.in(n, 1)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
		return nil, fmt.Errorf("input %v and weight %v ranks do not fit", x.Shape, w.Shape)
	}
	geo, err := Geom(n, x.Shape[2:], w.Shape[2:])
	if err != nil {
		return nil, err
	}
	if x.Shape[1] != w.Shape[1]*geo.Group {
		return nil, fmt.Errorf("input has %d channels, weight %v with group %d expects %d", x.Shape[1], w.Shape, geo.Group, w.Shape[1]*geo.Group)
	}
	out := Shape{x.Shape[0], w.Shape[0]}
	for i, d := range x.Shape[2:] {
		o := geo.ConvOut(i, d, false)
		if o <= 0 {
			return nil, fmt.Errorf("spatial size %d gives empty output", d)
		}
		out = append(out, o)
	}
	return []Info{{x.DType, out}}, nil
}

func inferConvTranspose(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	w, err := g.in(n, 1)
	if err != nil {
		return nil, err
	}
	if len(x.Shape) < 3 || len(w.Shape) != len(x.Shape) {
		return nil, fmt.Errorf("input %v and weight %v ranks do not fit", x.Shape, w.Shape)
	}
	if n.IntsAttr("output_shape") != nil {
		return nil, fmt.Errorf("output_shape attribute is not supported; export with pads and output_padding")
	}
	geo, err := Geom(n, x.Shape[2:], w.Shape[2:])
	if err != nil {
		return nil, err
	}
	if x.Shape[1] != w.Shape[0] {
		return nil, fmt.Errorf("input has %d channels, weight %v expects %d", x.Shape[1], w.Shape, w.Shape[0])
	}
	out := Shape{x.Shape[0], w.Shape[1] * geo.Group}
	for i, d := range x.Shape[2:] {
		out = append(out, geo.TransposeOut(i, d))
	}
	return []Info{{x.DType, out}}, nil
}

func inferPool(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	geo, err := Geom(n, x.Shape[2:], nil)
	if err != nil {
		return nil, err
	}
	out := Shape{x.Shape[0], x.Shape[1]}
	ceil := n.Int("ceil_mode", 0) == 1
	for i, d := range x.Shape[2:] {
		out = append(out, geo.ConvOut(i, d, ceil))
	}
	infos := []Info{{x.DType, out}}
	if n.Op == OpMaxPool && len(n.Outputs) > 1 {
		infos = append(infos, Info{Int64, slices.Clone(out)})
	}
	return infos, nil
}

func inferGlobalPool(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	out := slices.Clone(x.Shape)
	for i := 2; i < len(out); i++ {
		out[i] = 1
	}
	return []Info{{x.DType, out}}, nil
}

func inferMatMul(g *Graph, n *Node) ([]Info, error) {
	a, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	b, err := g.in(n, 1)
	if err != nil {
		return nil, err
	}
	as, bs := slices.Clone(a.Shape), slices.Clone(b.Shape)
	if len(as) == 1 {
		as = Shape{1, as[0]}
	}
	if len(bs) == 1 {
		bs = Shape{bs[0], 1}
	}
	if as[len(as)-1] != bs[len(bs)-2] {
		return nil, fmt.Errorf("MatMul of %v and %v: inner dimensions differ", a.Shape, b.Shape)
	}
	batch, err := BroadcastShapes(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, err
	}
	out := append(batch, as[len(as)-2], bs[len(bs)-1])
	if len(a.Shape) == 1 {
		out = slices.Delete(out, len(out)-2, len(out)-1)
	}
	if len(b.Shape) == 1 {
		out = out[:len(out)-1]
	}
	return []Info{{a.DType, out}}, nil
}

func inferGemm(g *Graph, n *Node) ([]Info, error) {
	a, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	b, err := g.in(n, 1)
	if err != nil {
		return nil, err
	}
	if len(a.Shape) != 2 || len(b.Shape) != 2 {
		return nil, fmt.Errorf("Gemm needs 2-D inputs, got %v and %v", a.Shape, b.Shape)
	}
	m, k := a.Shape[0], a.Shape[1]
	if n.Int("transA", 0) == 1 {
		m, k = k, m
	}
	k2, nn := b.Shape[0], b.Shape[1]
	if n.Int("transB", 0) == 1 {
		k2, nn = nn, k2
	}
	if k != k2 {
		return nil, fmt.Errorf("Gemm of %v and %v: inner dimensions differ", a.Shape, b.Shape)
	}
	return []Info{{a.DType, Shape{m, nn}}}, nil
}

// normAxis maps a possibly negative axis into [0, rank).
func normAxis(a int64, rank int) (int, error) {
	if a < 0 {
		a += int64(rank)
	}
	if a < 0 || a >= int64(rank) {
		return 0, fmt.Errorf("axis %d out of range for rank %d", a, rank)
	}
	return int(a), nil
}

// ReduceAxes returns the normalised reduction axes of a Reduce* node (from
// the attribute or, for ReduceSum in opset 13+, the constant second input).
func (g *Graph) ReduceAxes(n *Node, rank int) ([]int, error) {
	var axes []int64
	if n.In(1) != "" {
		v, ok := g.Const(n.In(1))
		if !ok {
			return nil, fmt.Errorf("axes input %q must be a constant", n.In(1))
		}
		axes = v.I64
	} else {
		axes = n.IntsAttr("axes")
	}
	if len(axes) == 0 {
		if n.Int("noop_with_empty_axes", 0) == 1 {
			return []int{}, nil
		}
		out := make([]int, rank)
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	for _, a := range axes {
		ax, err := normAxis(a, rank)
		if err != nil {
			return nil, err
		}
		out = append(out, ax)
	}
	slices.Sort(out)
	return out, nil
}

func inferReduce(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	axes, err := g.ReduceAxes(n, len(x.Shape))
	if err != nil {
		return nil, err
	}
	keep := n.Int("keepdims", 1) == 1
	var out Shape
	for i, d := range x.Shape {
		if slices.Contains(axes, i) {
			if keep {
				out = append(out, 1)
			}
			continue
		}
		out = append(out, d)
	}
	if out == nil {
		out = Shape{}
	}
	return []Info{{x.DType, out}}, nil
}

func inferArg(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	ax, err := normAxis(n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(x.Shape)
	if n.Int("keepdims", 1) == 1 {
		out[ax] = 1
	} else {
		out = slices.Delete(out, ax, ax+1)
	}
	return []Info{{Int64, out}}, nil
}

func inferConcat(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	ax, err := normAxis(n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(x.Shape)
	for i := 1; i < len(n.Inputs); i++ {
		y, err := g.in(n, i)
		if err != nil {
			return nil, err
		}
		if len(y.Shape) != len(out) {
			return nil, fmt.Errorf("inputs of rank %d and %d", len(out), len(y.Shape))
		}
		for j := range out {
			if j != ax && out[j] != y.Shape[j] {
				return nil, fmt.Errorf("input %q shape %v does not fit %v on axis %d", n.Inputs[i], y.Shape, x.Shape, ax)
			}
		}
		out[ax] += y.Shape[ax]
	}
	return []Info{{x.DType, out}}, nil
}

// SplitSizes returns the sizes of a Split node's outputs.
func (g *Graph) SplitSizes(n *Node, dim int64) ([]int64, error) {
	if n.In(1) != "" {
		v, ok := g.Const(n.In(1))
		if !ok {
			return nil, fmt.Errorf("split input %q must be a constant", n.In(1))
		}
		return v.I64, nil
	}
	if s := n.IntsAttr("split"); s != nil {
		return s, nil
	}
	k := int64(len(n.Outputs))
	if dim%k != 0 {
		return nil, fmt.Errorf("dimension %d does not split evenly in %d", dim, k)
	}
	out := make([]int64, k)
	for i := range out {
		out[i] = dim / k
	}
	return out, nil
}

func inferSplit(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	ax, err := normAxis(n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	sizes, err := g.SplitSizes(n, x.Shape[ax])
	if err != nil {
		return nil, err
	}
	var infos []Info
	total := int64(0)
	for _, s := range sizes {
		sh := slices.Clone(x.Shape)
		sh[ax] = s
		total += s
		infos = append(infos, Info{x.DType, sh})
	}
	if total != x.Shape[ax] {
		return nil, fmt.Errorf("split sizes %v do not add up to %d", sizes, x.Shape[ax])
	}
	return infos, nil
}

// SliceSpec is a Slice node resolved against its input shape: for every axis
// the start, the step, and the number of elements taken.
type SliceSpec struct {
	Start, Step, Count []int64
}

// ResolveSlice resolves a Slice node's constant inputs.
func (g *Graph) ResolveSlice(n *Node, shape Shape) (SliceSpec, error) {
	get := func(i int) ([]int64, error) {
		if n.In(i) == "" {
			return nil, nil
		}
		v, ok := g.Const(n.In(i))
		if !ok {
			return nil, fmt.Errorf("slice input %q must be a constant", n.In(i))
		}
		return v.I64, nil
	}
	starts, err := get(1)
	if err != nil {
		return SliceSpec{}, err
	}
	ends, err := get(2)
	if err != nil {
		return SliceSpec{}, err
	}
	axes, err := get(3)
	if err != nil {
		return SliceSpec{}, err
	}
	steps, err := get(4)
	if err != nil {
		return SliceSpec{}, err
	}
	r := len(shape)
	sp := SliceSpec{Start: make([]int64, r), Step: make([]int64, r), Count: slices.Clone(shape)}
	for i := range r {
		sp.Step[i] = 1
	}
	if axes == nil {
		for i := range starts {
			axes = append(axes, int64(i))
		}
	}
	for i, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return sp, err
		}
		step := int64(1)
		if steps != nil {
			step = steps[i]
		}
		if step == 0 {
			return sp, fmt.Errorf("slice step 0")
		}
		d := shape[ax]
		s, e := starts[i], ends[i]
		if s < 0 {
			s += d
		}
		if e < 0 {
			e += d
		}
		if step > 0 {
			s = min(max(s, 0), d)
			e = min(max(e, 0), d)
		} else {
			s = min(max(s, -1), d-1)
			e = min(max(e, -1), d-1)
		}
		cnt := int64(0)
		if step > 0 && e > s {
			cnt = (e - s + step - 1) / step
		} else if step < 0 && s > e {
			cnt = (s - e - step - 1) / -step
		}
		sp.Start[ax], sp.Step[ax], sp.Count[ax] = s, step, cnt
	}
	return sp, nil
}

func inferSlice(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	sp, err := g.ResolveSlice(n, x.Shape)
	if err != nil {
		return nil, err
	}
	return []Info{{x.DType, sp.Count}}, nil
}

func inferGather(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	idx, err := g.in(n, 1)
	if err != nil {
		return nil, err
	}
	ax, err := normAxis(n.Int("axis", 0), len(x.Shape))
	if err != nil {
		return nil, err
	}
	out := slices.Clone(x.Shape[:ax])
	out = append(out, idx.Shape...)
	out = append(out, x.Shape[ax+1:]...)
	return []Info{{x.DType, out}}, nil
}

func inferGatherElements(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	idx, err := g.in(n, 1)
	if err != nil {
		return nil, err
	}
	return []Info{{x.DType, slices.Clone(idx.Shape)}}, nil
}

func inferReshape(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	v, ok := g.Const(n.In(1))
	if !ok {
		return nil, fmt.Errorf("shape input %q must be a constant", n.In(1))
	}
	out := make(Shape, len(v.I64))
	neg := -1
	known := int64(1)
	for i, d := range v.I64 {
		switch {
		case d == 0 && n.Int("allowzero", 0) == 0:
			if i >= len(x.Shape) {
				return nil, fmt.Errorf("shape %v copies dim %d of %v", v.I64, i, x.Shape)
			}
			out[i] = x.Shape[i]
		case d == -1:
			if neg >= 0 {
				return nil, fmt.Errorf("shape %v has two -1", v.I64)
			}
			neg = i
			continue
		default:
			out[i] = d
		}
		known *= out[i]
	}
	if neg >= 0 {
		if known == 0 || x.Shape.Size()%known != 0 {
			return nil, fmt.Errorf("cannot reshape %v to %v", x.Shape, v.I64)
		}
		out[neg] = x.Shape.Size() / known
	}
	if out.Size() != x.Shape.Size() {
		return nil, fmt.Errorf("cannot reshape %v to %v", x.Shape, v.I64)
	}
	return []Info{{x.DType, out}}, nil
}

func inferFlatten(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	a := n.Int("axis", 1)
	if a < 0 {
		a += int64(len(x.Shape))
	}
	return []Info{{x.DType, Shape{x.Shape[:a].Size(), x.Shape[a:].Size()}}}, nil
}

// Perm returns a Transpose node's permutation (reversed axes by default).
func Perm(n *Node, rank int) []int64 {
	if p := n.IntsAttr("perm"); p != nil {
		return p
	}
	p := make([]int64, rank)
	for i := range p {
		p[i] = int64(rank - 1 - i)
	}
	return p
}

func inferTranspose(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	p := Perm(n, len(x.Shape))
	if len(p) != len(x.Shape) {
		return nil, fmt.Errorf("perm %v for rank %d", p, len(x.Shape))
	}
	out := make(Shape, len(p))
	for i, a := range p {
		out[i] = x.Shape[a]
	}
	return []Info{{x.DType, out}}, nil
}

// AxesOf returns the axes of Squeeze/Unsqueeze from attribute or input.
func (g *Graph) AxesOf(n *Node) ([]int64, bool) {
	if n.In(1) != "" {
		v, ok := g.Const(n.In(1))
		if !ok {
			return nil, false
		}
		return v.I64, true
	}
	a := n.IntsAttr("axes")
	return a, true
}

func inferSqueeze(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	axes, ok := g.AxesOf(n)
	if !ok {
		return nil, fmt.Errorf("axes must be a constant")
	}
	drop := map[int]bool{}
	if len(axes) == 0 {
		for i, d := range x.Shape {
			if d == 1 {
				drop[i] = true
			}
		}
	}
	for _, a := range axes {
		ax, err := normAxis(a, len(x.Shape))
		if err != nil {
			return nil, err
		}
		if x.Shape[ax] != 1 {
			return nil, fmt.Errorf("cannot squeeze axis %d of %v", ax, x.Shape)
		}
		drop[ax] = true
	}
	out := Shape{}
	for i, d := range x.Shape {
		if !drop[i] {
			out = append(out, d)
		}
	}
	return []Info{{x.DType, out}}, nil
}

func inferUnsqueeze(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	axes, ok := g.AxesOf(n)
	if !ok {
		return nil, fmt.Errorf("axes must be a constant")
	}
	r := len(x.Shape) + len(axes)
	ins := map[int]bool{}
	for _, a := range axes {
		ax, err := normAxis(a, r)
		if err != nil {
			return nil, err
		}
		ins[ax] = true
	}
	out := make(Shape, 0, r)
	j := 0
	for i := range r {
		if ins[i] {
			out = append(out, 1)
		} else {
			out = append(out, x.Shape[j])
			j++
		}
	}
	return []Info{{x.DType, out}}, nil
}

// PadsOf returns a Pad node's pads (begin..., end...) from input or attribute.
func (g *Graph) PadsOf(n *Node) ([]int64, error) {
	if n.In(3) != "" {
		return nil, fmt.Errorf("Pad with an axes input is not supported")
	}
	if n.In(1) != "" {
		v, ok := g.Const(n.In(1))
		if !ok {
			return nil, fmt.Errorf("pads input %q must be a constant", n.In(1))
		}
		return v.I64, nil
	}
	return n.IntsAttr("pads"), nil
}

func inferPad(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	pads, err := g.PadsOf(n)
	if err != nil {
		return nil, err
	}
	r := len(x.Shape)
	if len(pads) != 2*r {
		return nil, fmt.Errorf("pads %v for rank %d", pads, r)
	}
	out := slices.Clone(x.Shape)
	for i := range out {
		out[i] += pads[i] + pads[i+r]
	}
	return []Info{{x.DType, out}}, nil
}

// ResizeScales returns the per-axis output sizes of a Resize node.
func (g *Graph) ResizeSizes(n *Node, shape Shape) (Shape, error) {
	if s := n.In(3); s != "" {
		v, ok := g.Const(s)
		if !ok {
			return nil, fmt.Errorf("sizes input %q must be a constant", s)
		}
		if len(v.I64) != len(shape) {
			return nil, fmt.Errorf("sizes %v for rank %d", v.I64, len(shape))
		}
		return Shape(slices.Clone(v.I64)), nil
	}
	s := n.In(2)
	v, ok := g.Const(s)
	if !ok {
		return nil, fmt.Errorf("scales input %q must be a constant", s)
	}
	if len(v.F32) != len(shape) {
		return nil, fmt.Errorf("scales %v for rank %d", v.F32, len(shape))
	}
	out := make(Shape, len(shape))
	for i, d := range shape {
		// float32 arithmetic, as ONNX Runtime computes it (5/6 of 6 is 4 in
		// float64 but 5 in float32).
		out[i] = int64(float32(d) * v.F32[i])
	}
	return out, nil
}

func inferResize(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	out, err := g.ResizeSizes(n, x.Shape)
	if err != nil {
		return nil, err
	}
	return []Info{{x.DType, out}}, nil
}

func inferExpand(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	v, ok := g.Const(n.In(1))
	if !ok {
		return nil, fmt.Errorf("shape input %q must be a constant", n.In(1))
	}
	out, err := BroadcastShapes(x.Shape, Shape(v.I64))
	if err != nil {
		return nil, err
	}
	return []Info{{x.DType, out}}, nil
}

func inferTile(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	v, ok := g.Const(n.In(1))
	if !ok || len(v.I64) != len(x.Shape) {
		return nil, fmt.Errorf("repeats input %q must be a constant of length %d", n.In(1), len(x.Shape))
	}
	out := slices.Clone(x.Shape)
	for i := range out {
		out[i] *= v.I64[i]
	}
	return []Info{{x.DType, out}}, nil
}

func inferBatchNorm(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	infos := []Info{{x.DType, slices.Clone(x.Shape)}}
	for i := 1; i < len(n.Outputs); i++ {
		infos = append(infos, Info{x.DType, Shape{x.Shape[1]}})
	}
	return infos, nil
}

func inferShapeOp(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	return []Info{{Int64, Shape{int64(len(x.Shape))}}}, nil
}

func inferConstant(g *Graph, n *Node) ([]Info, error) {
	v, err := ConstantValue(n)
	if err != nil {
		return nil, err
	}
	return []Info{{v.DType, slices.Clone(v.Shape)}}, nil
}

// ConstantValue returns the tensor a Constant node produces.
func ConstantValue(n *Node) (*Value, error) {
	switch {
	case n.Attrs["value"] != nil:
		v, ok := n.Attrs["value"].(*Value)
		if !ok {
			return nil, fmt.Errorf("Constant value attribute has type %T", n.Attrs["value"])
		}
		return v, nil
	case n.Attrs["value_float"] != nil:
		return Floats(Shape{}, []float32{n.Float("value_float", 0)}), nil
	case n.Attrs["value_floats"] != nil:
		f, _ := n.Attrs["value_floats"].([]float32)
		return Floats(Shape{int64(len(f))}, f), nil
	case n.Attrs["value_int"] != nil:
		return &Value{DType: Int64, Shape: Shape{}, I64: []int64{n.Int("value_int", 0)}}, nil
	case n.Attrs["value_ints"] != nil:
		return Ints(n.IntsAttr("value_ints")...), nil
	}
	return nil, fmt.Errorf("Constant without a supported value attribute")
}

func inferConstantOfShape(g *Graph, n *Node) ([]Info, error) {
	v, ok := g.Const(n.In(0))
	if !ok {
		return nil, fmt.Errorf("shape input must be a constant")
	}
	dt := Float
	if val, ok := n.Attrs["value"].(*Value); ok {
		dt = val.DType
	}
	return []Info{{dt, Shape(slices.Clone(v.I64))}}, nil
}

func inferRange(g *Graph, n *Node) ([]Info, error) {
	vals := make([]float64, 3)
	dt := DType(0)
	for i := range 3 {
		v, ok := g.Const(n.In(i))
		if !ok || v.Len() != 1 {
			return nil, fmt.Errorf("Range inputs must be scalar constants")
		}
		vals[i] = v.Float64s()[0]
		dt = v.DType
	}
	cnt := int64(max(0, math.Ceil((vals[1]-vals[0])/vals[2])))
	return []Info{{dt, Shape{cnt}}}, nil
}

func inferDepthToSpace(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	b := n.Int("blocksize", 1)
	s := x.Shape
	return []Info{{x.DType, Shape{s[0], s[1] / (b * b), s[2] * b, s[3] * b}}}, nil
}

func inferSpaceToDepth(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	b := n.Int("blocksize", 1)
	s := x.Shape
	return []Info{{x.DType, Shape{s[0], s[1] * b * b, s[2] / b, s[3] / b}}}, nil
}

// inferFirstInput gives the output the type of input 0 (scatters).
func inferFirstInput(g *Graph, n *Node) ([]Info, error) {
	x, err := g.in(n, 0)
	if err != nil {
		return nil, err
	}
	return []Info{{x.DType, slices.Clone(x.Shape)}}, nil
}
