package ort_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"

	"github.com/fmam/fmam/internal/sharedtest"
)

// openRuntime opens the cached library or skips when it is not installed.
func openRuntime(t *testing.T) *ort.Runtime {
	t.Helper()
	lib, err := ort.FindLibrary("", "")
	if err != nil {
		sharedtest.Missing(t, sharedtest.ORT, "ONNX Runtime not installed: %v", err)
	}
	rt, err := ort.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// addMulGraph is (x + 1) * 2 on a 2x3 input x, and its output's name.
func addMulGraph(t *testing.T) ([]byte, string) {
	t.Helper()
	g := graph.New("t")
	x := g.Input("x", graph.Float, graph.Shape{2, 3})
	y := g.Op(graph.OpMul, []string{g.Op(graph.OpAdd, []string{x, g.Scalar(1)}, nil), g.Scalar(2)}, nil)
	g.Output(y)
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b, y
}

func TestRunAddMul(t *testing.T) {
	rt := openRuntime(t)
	b, y := addMulGraph(t)
	s, err := rt.NewSession(b, []string{"x"}, []string{y}, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	in, err := ort.NewTensor([]int64{2, 3}, []float32{0, 1, 2, 3, 4, 5})
	if err != nil {
		t.Fatal(err)
	}
	out, err := ort.ZerosTensor([]int64{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyAll(in, out)
	if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{out}); err != nil {
		t.Fatal(err)
	}
	for i, v := range out.GetData() {
		if want := float32(2 * (i + 1)); v != want {
			t.Errorf("out[%d] = %v, want %v", i, v, want)
		}
	}
	if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{in}); err == nil {
		t.Error("same tensor as input and output was accepted")
	}
}

func TestMissingLibrary(t *testing.T) {
	_, err := ort.FindLibrary("/nonexistent/libonnxruntime.so", "")
	if err == nil {
		t.Fatal("missing library accepted")
	}
}

// FindLibrary's order: --ort-lib, FMAM_ORT_LIB, the config's ort_lib, the
// cache; an empty value is skipped, a named missing file is an error.
func TestFindLibraryOrder(t *testing.T) {
	dir := t.TempDir()
	flag, env, cfg := filepath.Join(dir, "flag.so"), filepath.Join(dir, "env.so"), filepath.Join(dir, "cfg.so")
	for _, p := range []string{flag, env, cfg} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv(ort.LibraryEnv, env)
	for _, c := range []struct{ flag, config, want string }{
		{flag, cfg, flag},
		{"", cfg, env},
	} {
		if got, err := ort.FindLibrary(c.flag, c.config); err != nil || got != c.want {
			t.Errorf("FindLibrary(%q, %q) = %q, %v; want %q", c.flag, c.config, got, err, c.want)
		}
	}
	t.Setenv(ort.LibraryEnv, "")
	if got, err := ort.FindLibrary("", cfg); err != nil || got != cfg {
		t.Errorf("config only: %q, %v; want %q", got, err, cfg)
	}
	t.Setenv("FMAM_CACHE", dir)
	if _, err := ort.FindLibrary("", ""); err == nil || !strings.Contains(err.Error(), dir) {
		t.Errorf("nothing named and no cache: %v, want an error naming %s", err, dir)
	}
	// A missing library names where it came from and the way out (issue
	// 22: FMAM_ORT_LIB=/nonexistent gave no hint).
	t.Setenv(ort.LibraryEnv, "/nonexistent")
	_, err := ort.FindLibrary("", cfg)
	for _, want := range []string{"/nonexistent (from FMAM_ORT_LIB)", "unset FMAM_ORT_LIB", "make setup", "scripts/setup-ort.sh"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("FMAM_ORT_LIB=/nonexistent: error %v lacks %q", err, want)
		}
	}
}

// slowModel is a chain of MatMuls, y = x^(depth+1); it returns the model
// and the output's name.
func slowModel(t *testing.T, n int64, depth int) ([]byte, string) {
	t.Helper()
	g := graph.New("slow")
	x := g.Input("x", graph.Float, graph.Shape{n, n})
	y := x
	for range depth {
		y = g.Op(graph.OpMatMul, []string{y, x}, nil)
	}
	g.Output(y)
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	return b, y
}

func TestInferenceRunsAndCancels(t *testing.T) {
	rt := openRuntime(t)
	const n = 256
	model, out := slowModel(t, n, 200)
	inf, err := rt.NewInference(model, []ort.Port{{Name: "x", Shape: []int64{n, n}}},
		[]ort.Port{{Name: out, Shape: []int64{n, n}}}, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer inf.Close()
	// x = I: every power is I, so the result is known exactly.
	for i := 0; i < n; i++ {
		inf.Input(0)[i*n+i] = 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	t0 := time.Now()
	err = inf.Run(ctx)
	cancelled := time.Since(t0)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled run returned %v, want context.Canceled", err)
	}
	// The same session runs again to the end once the flag is cleared, and
	// takes longer than the cancelled run did.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	t0 = time.Now()
	if err := inf.Run(ctx2); err != nil {
		t.Fatalf("run after a cancelled one: %v", err)
	}
	full := time.Since(t0)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			want := float32(0)
			if i == j {
				want = 1
			}
			if got := inf.Output(0)[i*n+j]; got != want {
				t.Fatalf("I^201[%d,%d] = %v, want %v", i, j, got, want)
			}
		}
	}
	if cancelled >= full {
		t.Errorf("the cancelled run took %v, the full one %v: ONNX Runtime was not told to stop", cancelled, full)
	}
}

// Device auto warns once per process when it falls back to the CPU, over
// several runtimes and sessions; device cpu never warns. The test must be
// the package's first to open an auto session with a logger.
func TestCUDAFallbackWarnsOnce(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	g := graph.New("t")
	x := g.Input("x", graph.Float, graph.Shape{1})
	g.Output(g.Op(graph.OpNeg, []string{x}, nil))
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	open := func(rt *ort.Runtime, d ort.Device) ort.Device {
		s, err := rt.NewSession(b, []string{"x"}, g.Outputs, ort.Options{Device: d, Threads: 1, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Destroy()
		return s.Device
	}
	rt1 := openRuntime(t)
	for range 2 {
		open(rt1, ort.CPU)
	}
	if buf.Len() != 0 {
		t.Fatalf("device cpu logged:\n%s", buf.String())
	}
	rt2 := openRuntime(t)
	fell := false
	for _, rt := range []*ort.Runtime{rt1, rt2, rt1} {
		fell = open(rt, ort.Auto) == ort.CPU || fell
	}
	// Without a CUDA provider installed the fallback is said at info
	// level; with one that fails, as a warning. Either way once.
	n := strings.Count(buf.String(), "CUDA is not usable") + strings.Count(buf.String(), "no CUDA provider installed")
	if want := map[bool]int{true: 1, false: 0}[fell]; n != want {
		t.Errorf("%d fallback messages over three auto sessions (fell back: %v), want %d:\n%s", n, fell, want, buf.String())
	}
	if _, err := os.Stat(rt1.CUDAProviderPath()); err != nil && strings.Contains(buf.String(), "level=WARN") {
		t.Errorf("no CUDA provider is installed, yet the fallback is a warning:\n%s", buf.String())
	}
}

// TestBoundRun: an IoBinding session computes what a plain one does,
// values round-trip through CopyIn and CopyOut, and one value cannot be
// both an input and an output.
func TestBoundRun(t *testing.T) {
	rt := openRuntime(t)
	b, y := addMulGraph(t)
	s, err := rt.NewBound(b, []string{"x"}, []string{y}, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	in, err := s.NewDeviceValue([]int64{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.NewHostValue([]int64{2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CopyIn(in, []float32{0, 1, 2, 3, 4, 5}); err != nil {
		t.Fatal(err)
	}
	if err := s.CopyIn(in, []float32{1}); err == nil {
		t.Error("CopyIn of the wrong length accepted")
	}
	if _, err := s.Bind([]*ort.Value{in}, []*ort.Value{in}); err == nil {
		t.Error("a value bound as input and output accepted")
	}
	bi, err := s.Bind([]*ort.Value{in}, []*ort.Value{out})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(context.Background(), bi); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, 6)
	if err := s.CopyOut(out, got); err != nil {
		t.Fatal(err)
	}
	for i, v := range got {
		if want := float32(2 * (i + 1)); v != want {
			t.Fatalf("out[%d] = %v, want %v", i, v, want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Run(ctx, bi); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v", err)
	}
}
