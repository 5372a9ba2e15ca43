package autodiff

import (
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

// Small builders the rules share. Shapes are static, so every reshape and
// broadcast reduction is resolved here, in Go, at build time.

// Op appends a single-output node.
func (c *Ctx) Op(op string, attrs graph.Attrs, ins ...string) string {
	return c.G.Op(op, ins, attrs)
}

// Mul, Add, Sub and Div apply the ONNX broadcasting op.
func (c *Ctx) Mul(a, b string) string { return c.G.Op("Mul", []string{a, b}, nil) }
func (c *Ctx) Add(a, b string) string { return c.G.Op("Add", []string{a, b}, nil) }
func (c *Ctx) Sub(a, b string) string { return c.G.Op("Sub", []string{a, b}, nil) }
func (c *Ctx) Div(a, b string) string { return c.G.Op("Div", []string{a, b}, nil) }
func (c *Ctx) Neg(a string) string    { return c.G.Op("Neg", []string{a}, nil) }

// Scalar is a [1]-shaped float constant.
func (c *Ctx) Scalar(f float32) string { return c.G.Scalar(f) }

// Zeros is a float constant of zeros.
func (c *Ctx) Zeros(shape graph.Shape) string {
	return c.Fill(shape, 0)
}

// Fill is a float constant of one value, stored as a broadcast of [1] so
// big zero tensors do not bloat the model file.
func (c *Ctx) Fill(shape graph.Shape, v float32) string {
	return c.G.Op("Expand", []string{c.Scalar(v), c.G.Const1D(shape...)}, nil)
}

// Reshape reshapes x to a static shape (a no-op when it already has it).
func (c *Ctx) Reshape(x string, shape graph.Shape) string {
	if slices.Equal(c.G.Shape(x), shape) {
		return x
	}
	return c.G.Op("Reshape", []string{x, c.G.Const1D(shape...)}, nil)
}

// Transpose permutes axes.
func (c *Ctx) Transpose(x string, perm ...int64) string {
	return c.G.Op("Transpose", []string{x}, graph.Attrs{"perm": perm})
}

// ReduceSum sums over axes, keeping them when keep is set.
func (c *Ctx) ReduceSum(x string, axes []int64, keep bool) string {
	k := int64(0)
	if keep {
		k = 1
	}
	return c.G.Op("ReduceSum", []string{x, c.G.Const1D(axes...)}, graph.Attrs{"keepdims": k})
}

// ExpandTo broadcasts x to shape.
func (c *Ctx) ExpandTo(x string, shape graph.Shape) string {
	if slices.Equal(c.G.Shape(x), shape) {
		return x
	}
	return c.G.Op("Expand", []string{x, c.G.Const1D(shape...)}, nil)
}

// Unbroadcast sums a gradient of a broadcast result back to the shape of
// the operand that was broadcast.
func (c *Ctx) Unbroadcast(dy string, shape graph.Shape) string {
	ys := c.G.Shape(dy)
	if slices.Equal(ys, shape) {
		return dy
	}
	off := len(ys) - len(shape)
	var axes []int64
	for i := range ys {
		if i < off || shape[i-off] == 1 && ys[i] != 1 {
			axes = append(axes, int64(i))
		}
	}
	s := dy
	if len(axes) > 0 {
		s = c.ReduceSum(dy, axes, true)
	}
	return c.Reshape(s, shape)
}

// Cast converts to a data type.
func (c *Ctx) Cast(x string, to graph.DType) string {
	return c.G.Op("Cast", []string{x}, graph.Attrs{"to": int64(to)})
}

// Where selects a where cond holds, else b.
func (c *Ctx) Where(cond, a, b string) string {
	return c.G.Op("Where", []string{cond, a, b}, nil)
}

// Keep is a where cond holds, else zero: Where(cond, a, 0) as a product
// with the condition cast to 0/1, exact but for the sign of a zero. ONNX
// Runtime's Where runs on one thread: on a 4x16x256x256 tensor Greater +
// Where takes 7.3 ms, Greater + Cast + Mul 4.7 ms.
func (c *Ctx) Keep(cond, a string) string {
	return c.Mul(a, c.Cast(cond, graph.Float))
}
