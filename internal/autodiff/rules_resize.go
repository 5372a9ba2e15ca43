package autodiff

import (
	"fmt"
	"math"
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

func init() {
	register(gradResize, graph.OpResize)
}

// gradResize differentiates Resize in nearest or linear mode over the last
// two axes. Such a resize is linear and separable, Y = A_h X A_w^T, with
// interpolation matrices that depend only on the shapes and attributes;
// they are computed here, in Go, the way ONNX Runtime computes its
// sampling positions and weights, and the gradient is two MatMuls,
// dX = A_h^T dY A_w.
func gradResize(c *Ctx, n *graph.Node, dy []string) ([]string, error) {
	g := c.Graph
	x := n.Inputs[0]
	xs, ys := g.Shape(x), g.Shape(n.Outputs[0])
	out := make([]string, len(n.Inputs))
	if !c.Needs(x) {
		return out, nil
	}
	for i := 1; i < len(n.Inputs); i++ {
		if c.Needs(n.Inputs[i]) {
			return nil, fmt.Errorf("input %q (roi, scales or sizes) depends on a trainable tensor; only the data input can be differentiated", n.Inputs[i])
		}
	}
	mats, err := resizeMatrices(g, n)
	if err != nil {
		return nil, err
	}
	r := len(xs)
	if r == 0 {
		return nil, fmt.Errorf("input %q is a scalar; Resize needs at least one axis", x)
	}
	for i := range r - 2 {
		if !isIdentity(mats[i], xs[i], ys[i]) {
			return nil, fmt.Errorf("resizes axis %d (%d -> %d); only the last two axes (height and width) may be resized", i, xs[i], ys[i])
		}
	}
	d := dy[0]
	// Batch axes are unchanged, so d has the shape [..., Ho, Wo] and so on.
	var aw, ahT string // A_w as [Wo, Wi] and A_h^T as [Hi, Ho]; "" for identity
	if a := r - 1; !isIdentity(mats[a], xs[a], ys[a]) {
		aw = g.Init("resize_aw", graph.Floats(graph.Shape{ys[a], xs[a]}, mats[a]))
	}
	if a := r - 2; a >= 0 && !isIdentity(mats[a], xs[a], ys[a]) {
		ahT = g.Init("resize_ahT", graph.Floats(graph.Shape{xs[a], ys[a]}, transposeMat(mats[a], ys[a], xs[a])))
	}
	applyW := func(v string) string { return g.MatMul(v, aw) }
	applyH := func(v string) string { return g.MatMul(ahT, v) }
	switch {
	case aw == "" && ahT == "":
		out[0] = d
	case ahT == "":
		out[0] = applyW(d)
	case aw == "":
		out[0] = applyH(d)
	default:
		// Order the two products for fewer multiply-adds.
		ho, wo, hi, wi := ys[r-2], ys[r-1], xs[r-2], xs[r-1]
		if ho*wo*wi+hi*ho*wi <= hi*ho*wo+hi*wo*wi {
			out[0] = applyH(applyW(d))
		} else {
			out[0] = applyW(applyH(d))
		}
	}
	return out, nil
}

// resizeSpec holds the Resize attributes that shape the interpolation.
type resizeSpec struct {
	linear    bool
	transform string // coordinate_transformation_mode
	nearest   string // nearest_mode
}

func resizeSpecOf(n *graph.Node) (resizeSpec, error) {
	s := resizeSpec{
		transform: n.String("coordinate_transformation_mode", "half_pixel"),
		nearest:   n.String("nearest_mode", "round_prefer_floor"),
	}
	switch m := n.String("mode", "nearest"); m {
	case "nearest":
	case "linear":
		s.linear = true
	default:
		return s, fmt.Errorf("mode %q is not supported; use nearest or linear", m)
	}
	switch s.transform {
	case "half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn":
	default:
		return s, fmt.Errorf("coordinate_transformation_mode %q is not supported; use half_pixel, pytorch_half_pixel, align_corners, asymmetric or tf_half_pixel_for_nn", s.transform)
	}
	if !s.linear {
		switch s.nearest {
		case "round_prefer_floor", "round_prefer_ceil", "floor", "ceil":
		default:
			return s, fmt.Errorf("nearest_mode %q is not supported", s.nearest)
		}
	}
	if n.Int("antialias", 0) != 0 {
		return s, fmt.Errorf("antialias=1 is not supported")
	}
	if n.IntsAttr("axes") != nil {
		return s, fmt.Errorf("the axes attribute is not supported; give scales or sizes for every axis")
	}
	if p := n.String("keep_aspect_ratio_policy", "stretch"); p != "stretch" {
		return s, fmt.Errorf("keep_aspect_ratio_policy %q is not supported", p)
	}
	return s, nil
}

// resizeMatrices returns the [out, in] row-major interpolation matrix of
// every axis of a Resize node.
func resizeMatrices(g *graph.Graph, n *graph.Node) ([][]float32, error) {
	spec, err := resizeSpecOf(n)
	if err != nil {
		return nil, err
	}
	xs, ys := g.Shape(n.Inputs[0]), g.Shape(n.Outputs[0])
	scales, err := resizeScales(g, n, xs, ys)
	if err != nil {
		return nil, err
	}
	if slices.Equal(xs, ys) {
		// ONNX Runtime copies the input when the shape does not change,
		// whatever the scales say.
		for i := range scales {
			scales[i] = 1
		}
	}
	mats := make([][]float32, len(xs))
	for i := range xs {
		mats[i] = spec.matrix(xs[i], ys[i], scales[i])
	}
	return mats, nil
}

// resizeScales returns the per-axis scale ONNX Runtime works with: the
// scales input as given, or output/input size (in float32) when sizes are
// given.
func resizeScales(g *graph.Graph, n *graph.Node, xs, ys graph.Shape) ([]float32, error) {
	scales := make([]float32, len(xs))
	if s := n.In(3); s != "" {
		for i := range xs {
			scales[i] = float32(ys[i]) / float32(xs[i])
		}
		return scales, nil
	}
	v, ok := g.Const(n.In(2))
	if !ok || len(v.F32) != len(xs) {
		return nil, fmt.Errorf("scales input %q must be a float constant with %d values", n.In(2), len(xs))
	}
	copy(scales, v.F32)
	return scales, nil
}

// original maps an output coordinate to the input, in float32 exactly as
// ONNX Runtime does.
func (s resizeSpec) original(x float32, scale float32, outLen, inLen int64) float32 {
	lr, lo := float32(outLen), float32(inLen)
	switch s.transform {
	case "asymmetric":
		return x / scale
	case "pytorch_half_pixel":
		if lr > 1 {
			return float32(float32(x+0.5)/scale) - 0.5
		}
		return 0
	case "tf_half_pixel_for_nn":
		return float32(x+0.5) / scale
	case "align_corners":
		if lr == 1 {
			return 0
		}
		return float32(x*(lo-1)) / (lr - 1)
	}
	return float32(float32(x+0.5)/scale) - 0.5 // half_pixel
}

// resizeTieEps is how close to a half an input coordinate must be for
// ONNX Runtime 1.29 to treat it as a tie in the round_prefer_* modes, so
// that float32 error in the coordinate cannot flip the preferred side.
// Measured: 9.5e-7 from the half is a tie, 1.19e-6 is not.
const resizeTieEps = 1e-6

// nearestIndex rounds an input coordinate by nearest_mode.
func (s resizeSpec) nearestIndex(x float32) int64 {
	fl := float32(math.Floor(float64(x)))
	tie := math.Abs(float64(x-fl)-0.5) <= resizeTieEps
	switch s.nearest {
	case "floor":
		return int64(fl)
	case "ceil":
		return int64(math.Ceil(float64(x)))
	case "round_prefer_ceil":
		if tie {
			return int64(fl) + 1
		}
	default: // round_prefer_floor
		if tie {
			return int64(fl)
		}
	}
	return int64(math.Round(float64(x)))
}

// matrix is the [out, in] interpolation matrix of one axis, row-major.
func (s resizeSpec) matrix(in, out int64, scale float32) []float32 {
	m := make([]float32, out*in)
	for o := range out {
		row := m[o*in : (o+1)*in]
		if scale == 1 {
			// ONNX Runtime skips the coordinate transform at scale 1.
			row[min(o, in-1)] = 1
			continue
		}
		x := s.original(float32(o), scale, out, in)
		if !s.linear {
			row[min(max(s.nearestIndex(x), 0), in-1)] = 1
			continue
		}
		x = max(0, min(x, float32(in-1)))
		i1 := min(int64(x), in-1)
		i2 := min(i1+1, in-1)
		if i1 == i2 {
			row[i1] = 1
			continue
		}
		// Each neighbour is weighted by the distance to the other one.
		row[i1] += float32(math.Abs(float64(x - float32(i2))))
		row[i2] += float32(math.Abs(float64(x - float32(i1))))
	}
	return m
}

func isIdentity(m []float32, in, out int64) bool {
	if in != out {
		return false
	}
	for i := range out {
		for j := range in {
			want := float32(0)
			if i == j {
				want = 1
			}
			if m[i*in+j] != want {
				return false
			}
		}
	}
	return true
}

// transposeMat transposes a rows x cols row-major matrix.
func transposeMat(m []float32, rows, cols int64) []float32 {
	t := make([]float32, len(m))
	for i := range rows {
		for j := range cols {
			t[j*rows+i] = m[i*cols+j]
		}
	}
	return t
}
