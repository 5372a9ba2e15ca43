// Package gradcheck compares the gradients autodiff builds with central
// finite differences, both run through ONNX Runtime. Tests of gradient
// rules and of anything trained (losses, layers) use it.
package gradcheck

import (
	"context"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/fmam/fmam/internal/autodiff"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"

	"github.com/fmam/fmam/internal/sharedtest"
)

var (
	rtOnce sync.Once
	rt     *ort.Runtime
	rtErr  error
)

// Runtime opens ONNX Runtime once per test binary, or skips the test
// when the library is not installed.
func Runtime(t testing.TB) *ort.Runtime {
	t.Helper()
	rtOnce.Do(func() {
		lib, err := ort.FindLibrary("", "")
		if err != nil {
			rtErr = err
			return
		}
		rt, rtErr = ort.Open(lib)
	})
	if rtErr != nil {
		sharedtest.Missing(t, sharedtest.ORT, "ONNX Runtime not available: %v", rtErr)
	}
	return rt
}

// In is one input of a gradient check.
type In struct {
	Name  string
	Shape graph.Shape
	// Data, when nil, is drawn uniform in [Lo, Hi) (default [-1, 1)).
	Data   []float32
	Lo, Hi float32
	// NoGrad marks inputs that are fed but not differentiated.
	NoGrad bool
}

// GradCase describes a gradient check: Build turns the inputs into one
// output tensor of any shape; the check differentiates a random linear
// functional of it.
type GradCase struct {
	Name   string
	Inputs []In
	Build  func(g *graph.Graph, in []string) string
	// Tol is the allowed relative error (default 2e-3).
	Tol float64
	// Eps is the finite-difference step (default 1e-2).
	Eps float64
}

// Check compares the gradients Backward builds with central finite
// differences along random directions, everything run through ONNX
// Runtime in float32. Each direction costs two extra runs, so the check
// stays cheap even for convolutions with thousands of weights.
func Check(t *testing.T, tc GradCase) {
	t.Helper()
	r := Runtime(t)
	rng := rand.New(rand.NewPCG(1, uint64(len(tc.Name))))
	tol, eps := tc.Tol, tc.Eps
	if tol == 0 {
		tol = 2e-3
	}
	if eps == 0 {
		eps = 1e-2
	}
	g := graph.New(tc.Name)
	var names, wrt []string
	data := make([][]float32, len(tc.Inputs))
	for i, in := range tc.Inputs {
		names = append(names, g.Input(in.Name, graph.Float, in.Shape))
		if !in.NoGrad {
			wrt = append(wrt, in.Name)
		}
		data[i] = in.Data
		if data[i] == nil {
			lo, hi := in.Lo, in.Hi
			if lo == 0 && hi == 0 {
				lo, hi = -1, 1
			}
			data[i] = make([]float32, in.Shape.Size())
			for j := range data[i] {
				data[i][j] = lo + (hi-lo)*rng.Float32()
			}
		}
	}
	y := tc.Build(g, names)
	if err := g.Err(); err != nil {
		t.Fatalf("%s: build: %v", tc.Name, err)
	}
	// A random functional sum(R*y), scaled so the loss is O(1).
	ys := g.Shape(y)
	R := make([]float32, ys.Size())
	for i := range R {
		R[i] = float32(rng.NormFloat64() / math.Sqrt(float64(len(R))))
	}
	yf := y
	if g.DType(y) != graph.Float {
		t.Fatalf("%s: output is %v", tc.Name, g.DType(y))
	}
	prod := g.Mul(yf, g.Init("R", graph.Floats(ys, R)))
	loss := g.Reshape(g.ReduceSum(prod, nil, false), graph.Shape{1})
	grads, err := autodiff.Backward(g, loss, wrt)
	if err != nil {
		t.Fatalf("%s: backward: %v", tc.Name, err)
	}
	outs := []string{loss}
	for _, w := range wrt {
		// Two gradients may be one tensor (Add passes dy to both sides);
		// an Identity gives each its own output.
		outs = append(outs, g.Identity(grads[w]))
	}
	g.Output(outs...)
	b, err := g.Bytes()
	if err != nil {
		t.Fatalf("%s: encode: %v", tc.Name, err)
	}
	s, err := r.NewSession(b, names, outs, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatalf("%s: session: %v", tc.Name, err)
	}
	defer s.Destroy()
	run := func(in [][]float32) (float64, [][]float32) {
		t.Helper()
		var its, ots []*ort.Tensor
		for i, d := range in {
			x, err := ort.NewTensor(tc.Inputs[i].Shape, d)
			if err != nil {
				t.Fatal(err)
			}
			its = append(its, x)
		}
		for _, o := range outs {
			x, err := ort.ZerosTensor(g.Shape(o))
			if err != nil {
				t.Fatal(err)
			}
			ots = append(ots, x)
		}
		defer ort.DestroyAll(append(its, ots...)...)
		if err := s.Run(context.Background(), its, ots); err != nil {
			t.Fatalf("%s: run: %v", tc.Name, err)
		}
		var gs [][]float32
		for _, o := range ots[1:] {
			gs = append(gs, append([]float32(nil), o.GetData()...))
		}
		return float64(ots[0].GetData()[0]), gs
	}
	_, an := run(data)
	for i, gr := range an {
		for _, v := range gr {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: gradient of %s is not finite", tc.Name, wrt[i])
			}
		}
	}
	// Directions: each trainable input alone, then all together.
	var groups [][]int
	for i := range wrt {
		groups = append(groups, []int{i})
	}
	if len(wrt) > 1 {
		all := make([]int, len(wrt))
		for i := range all {
			all[i] = i
		}
		groups = append(groups, all)
	}
	for _, grp := range groups {
		for rep := 0; rep < 2; rep++ {
			plus := make([][]float32, len(data))
			minus := make([][]float32, len(data))
			for i := range data {
				plus[i] = append([]float32(nil), data[i]...)
				minus[i] = append([]float32(nil), data[i]...)
			}
			dot := 0.0
			for _, wi := range grp {
				idx := indexOf(tc.Inputs, wrt[wi])
				for j := range data[idx] {
					v := rng.NormFloat64()
					plus[idx][j] += float32(eps * v)
					minus[idx][j] -= float32(eps * v)
					dot += v * float64(an[wi][j])
				}
			}
			lp, _ := run(plus)
			lm, _ := run(minus)
			fd := (lp - lm) / (2 * eps)
			scale := math.Max(1, math.Max(math.Abs(fd), math.Abs(dot)))
			if math.Abs(fd-dot) > tol*scale {
				t.Errorf("%s: d/d%v along a random direction: autodiff %.6g, finite differences %.6g", tc.Name, groupNames(wrt, grp), dot, fd)
			}
		}
	}
}

func indexOf(ins []In, name string) int {
	for i, in := range ins {
		if in.Name == name {
			return i
		}
	}
	return -1
}

func groupNames(wrt []string, grp []int) []string {
	var out []string
	for _, i := range grp {
		out = append(out, wrt[i])
	}
	return out
}

// Tensor wraps data in an ONNX Runtime tensor for a test, failing the test
// when that is refused; the caller destroys it.
func Tensor(t testing.TB, shape []int64, data []float32) *ort.Tensor {
	t.Helper()
	x, err := ort.NewTensor(shape, data)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// Zeros is Tensor for a zero tensor.
func Zeros(t testing.TB, shape []int64) *ort.Tensor {
	t.Helper()
	x, err := ort.ZerosTensor(shape)
	if err != nil {
		t.Fatal(err)
	}
	return x
}
