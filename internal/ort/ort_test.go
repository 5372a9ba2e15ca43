package ort_test

import (
	"os"
	"testing"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"
)

// openRuntime opens the cached library or skips when it is not installed.
func openRuntime(t *testing.T) *ort.Runtime {
	t.Helper()
	lib, err := ort.FindLibrary(os.Getenv("FMAM_ORT_LIB"))
	if err != nil {
		t.Skipf("ONNX Runtime not installed: %v", err)
	}
	rt, err := ort.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func TestRunAddMul(t *testing.T) {
	rt := openRuntime(t)
	g := graph.New("t")
	x := g.Input("x", graph.Float, graph.Shape{2, 3})
	y := g.Op("Mul", []string{g.Op("Add", []string{x, g.Scalar(1)}, nil), g.Scalar(2)}, nil)
	g.Output(y)
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(b, []string{"x"}, []string{y}, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	in, _ := ort.NewTensor([]int64{2, 3}, []float32{0, 1, 2, 3, 4, 5})
	out, _ := ort.ZerosTensor([]int64{2, 3})
	defer ort.DestroyAll(in, out)
	if err := s.Run([]*ort.Tensor{in}, []*ort.Tensor{out}); err != nil {
		t.Fatal(err)
	}
	for i, v := range out.GetData() {
		if want := float32(2 * (i + 1)); v != want {
			t.Errorf("out[%d] = %v, want %v", i, v, want)
		}
	}
	if err := s.Run([]*ort.Tensor{in}, []*ort.Tensor{in}); err == nil {
		t.Error("same tensor as input and output was accepted")
	}
}

func TestMissingLibrary(t *testing.T) {
	_, err := ort.FindLibrary("/nonexistent/libonnxruntime.so")
	if err == nil {
		t.Fatal("missing library accepted")
	}
}
