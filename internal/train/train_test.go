package train_test

import (
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/train"
)

const (
	batch = 4
	size  = 8
)

// buildNet is a small conv-BN-ReLU denoiser; train selects the BN form.
func buildNet(train bool) (*graph.Graph, *nn.Builder, string, string, string) {
	g := graph.New("net")
	x := g.Input("x", graph.Float, graph.Shape{batch, 3, size, size})
	b := nn.New(g, train, 7)
	h := b.ConvBNRelu(x, "c1", 8)
	y := b.Conv2D(h, "c2", 3, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})
	return g, b, x, y, ""
}

func buildTrain(t *testing.T) *train.Step {
	g, b, x, y, _ := buildNet(true)
	target := g.Input("target", graph.Float, graph.Shape{batch, 3, size, size})
	d := g.Op(graph.OpSub, []string{y, target}, nil)
	loss := g.Op(graph.OpReshape, []string{g.Op(graph.OpReduceMean, []string{g.Op(graph.OpMul, []string{d, d}, nil)}, graph.Attrs{"keepdims": int64(0)}), g.Const1D(1)}, nil)
	st, err := train.Compile(train.Spec{Graph: g, Batch: []string{x, target}, Loss: loss, Trainable: b.Registry().Trainable, States: b.Registry().States(), Optim: optim.Config{Kind: "adam"}})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// source makes a fixed denoising task: target = smooth pattern, input =
// target + noise, drawn from a seeded stream whose position is the count.
type source struct {
	seed uint64
	n    uint64
	nan  int // when > 0, batch number nan holds a NaN
}

func (s *source) Next(ctx context.Context) ([][]float32, error) {
	s.n++
	rng := rand.New(rand.NewPCG(s.seed, s.n))
	x := make([]float32, batch*3*size*size)
	y := make([]float32, len(x))
	for i := range y {
		p := i % (size * size)
		y[i] = float32(math.Sin(float64(p%size)/2) * math.Cos(float64(p/size)/3))
		x[i] = y[i] + float32(0.3*rng.NormFloat64())
	}
	if s.nan > 0 && int(s.n) == s.nan {
		x[3] = float32(math.NaN())
	}
	return [][]float32{x, y}, nil
}

func (s *source) Position() ([]byte, error) { return binary.AppendUvarint(nil, s.n), nil }

func (s *source) Restore(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 {
		return errors.New("bad position")
	}
	s.n = n
	return nil
}

func TestLossFallsAndResumeIsExact(t *testing.T) {
	rt := gradcheck.Runtime(t)
	st := buildTrain(t)
	run := func(dir string, steps int, ctx context.Context) (*train.Summary, error) {
		r, err := train.NewRunner(rt, st, ort.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		return train.Loop(ctx, r, &source{seed: 3}, train.LoopConfig{Steps: steps, LR: 0.01, Schedule: optim.Schedule{Kind: "cosine"},
			CheckpointPath: filepath.Join(dir, "ck.bin"), CheckpointEvery: 5, Observers: []train.Observer{train.NewCSVLog(filepath.Join(dir, "log.csv"), nil)}, Fingerprint: "f"})
	}
	straight := t.TempDir()
	s1, err := run(straight, 60, context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !(s1.LastLoss < 0.5*s1.FirstLoss) {
		t.Fatalf("loss did not fall: first %v last %v", s1.FirstLoss, s1.LastLoss)
	}
	// The same run cut at step 23 by a cancelled context, then resumed:
	// cancelled while waiting for the next batch, and cancelled inside the
	// step's Run (the batch was already taken from the source).
	for _, inRun := range []bool{false, true} {
		split := t.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		r, err := train.NewRunner(rt, st, ort.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		src := &source{seed: 3}
		cancelAt := &cancelSource{Source: src, at: 23, cancel: cancel, inRun: inRun}
		_, err = train.Loop(ctx, r, cancelAt, train.LoopConfig{Steps: 60, LR: 0.01, Schedule: optim.Schedule{Kind: "cosine"},
			CheckpointPath: filepath.Join(split, "ck.bin"), CheckpointEvery: 5, Observers: []train.Observer{train.NewCSVLog(filepath.Join(split, "log.csv"), nil)}, Fingerprint: "f"})
		r.Close()
		if !errors.Is(err, train.ErrInterrupted) {
			t.Fatalf("inRun=%v: want ErrInterrupted, got %v", inRun, err)
		}
		s2, err := run(split, 60, context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !s2.Resumed || s2.StartStep != 23 {
			t.Fatalf("inRun=%v: resumed=%v from %d, want step 23", inRun, s2.Resumed, s2.StartStep)
		}
		for k, v := range s1.State {
			if !slices.Equal(v, s2.State[k]) {
				t.Fatalf("inRun=%v: state %s differs between straight and resumed runs", inRun, k)
			}
		}
		log, _ := os.ReadFile(filepath.Join(split, "log.csv"))
		if n := len(slices.DeleteFunc(splitLines(string(log)), func(s string) bool { return s == "" })); n != 61 {
			t.Errorf("inRun=%v: resumed log has %d lines, want header + 60", inRun, n)
		}
	}
}

// cancelSource cancels the run when asked for batch at+1: before handing
// it out, or (inRun) after, so the step's Run meets the cancelled context.
type cancelSource struct {
	train.Source
	at     uint64
	cancel func()
	inRun  bool
	n      uint64
}

func (c *cancelSource) Next(ctx context.Context) ([][]float32, error) {
	c.n++
	if c.n <= c.at {
		return c.Source.Next(ctx)
	}
	if !c.inRun {
		c.cancel()
		return nil, ctx.Err()
	}
	b, err := c.Source.Next(ctx)
	c.cancel()
	return b, err
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i, ch := range s {
		if ch == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func TestNaNStopsAndKeepsCheckpoint(t *testing.T) {
	rt := gradcheck.Runtime(t)
	st := buildTrain(t)
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck.bin")
	r, err := train.NewRunner(rt, st, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = train.Loop(context.Background(), r, &source{seed: 1, nan: 13}, train.LoopConfig{Steps: 30, LR: 0.01, CheckpointPath: ck, CheckpointEvery: 5, Fingerprint: "f"})
	if !errors.Is(err, train.ErrNonFinite) {
		t.Fatalf("want ErrNonFinite, got %v", err)
	}
	nanErr := err
	c, err := train.LoadCheckpoint(ck)
	if err != nil || c == nil {
		t.Fatalf("checkpoint unreadable after NaN: %v", err)
	}
	if c.Step != 10 {
		t.Errorf("checkpoint step %d, want the last good one at 10", c.Step)
	}
	if !strings.Contains(nanErr.Error(), "the last checkpoint ("+ck+") is intact") {
		t.Errorf("error %q does not point at the checkpoint", nanErr)
	}
	// Before the first checkpoint the message does not claim one (issue
	// 22: "is intact" in a folder the same command then removed).
	early := filepath.Join(dir, "none.bin")
	r2, err := train.NewRunner(rt, st, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	_, err = train.Loop(context.Background(), r2, &source{seed: 1, nan: 3}, train.LoopConfig{Steps: 30, LR: 0.01, CheckpointPath: early, CheckpointEvery: 5, Fingerprint: "f"})
	if !errors.Is(err, train.ErrNonFinite) || err == nil || strings.Contains(err.Error(), "intact") || !strings.Contains(err.Error(), "no checkpoint was written yet") {
		t.Errorf("NaN before the first checkpoint: %v", err)
	}
	for k, v := range c.Tensors {
		for _, f := range v {
			if math.IsNaN(float64(f)) {
				t.Fatalf("checkpoint tensor %s holds NaN", k)
			}
		}
	}
	// The runner kept the pre-NaN state too.
	for k, v := range runnerState(t, r) {
		for _, f := range v {
			if math.IsNaN(float64(f)) {
				t.Fatalf("runner state %s holds NaN", k)
			}
		}
	}
	// A corrupt checkpoint is a clear error, not a crash.
	os.WriteFile(ck, []byte("garbage"), 0o644)
	if _, err := train.LoadCheckpoint(ck); err == nil {
		t.Error("corrupt checkpoint accepted")
	}
}

func TestExportReloads(t *testing.T) {
	rt := gradcheck.Runtime(t)
	st := buildTrain(t)
	r, err := train.NewRunner(rt, st, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	sum, err := train.Loop(context.Background(), r, &source{seed: 2}, train.LoopConfig{Steps: 10, LR: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	g, _, x, y, _ := buildNet(false)
	g.Output(y)
	n, err := train.ApplyState(g, sum.State)
	if err != nil {
		t.Fatal(err)
	}
	if n != 8 { // 2 conv w+b, bn scale/bias/mean/var
		t.Fatalf("applied %d tensors, want 8", n)
	}
	path := filepath.Join(t.TempDir(), "net.onnx")
	if err := g.Save(path); err != nil {
		t.Fatal(err)
	}
	onnxChecker(t, path)
	g2, err := graph.LoadFile(path, graph.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := g.Bytes()
	b2, _ := g2.Bytes()
	outs := [2][]float32{}
	in := make([]float32, batch*3*size*size)
	for i := range in {
		in[i] = float32(i%7) / 7
	}
	for i, b := range [][]byte{b1, b2} {
		s, err := rt.NewSession(b, []string{x}, []string{y}, ort.Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		it := gradcheck.Tensor(t, graph.Shape{batch, 3, size, size}, in)
		ot := gradcheck.Zeros(t, graph.Shape{batch, 3, size, size})
		if err := s.Run(context.Background(), []*ort.Tensor{it}, []*ort.Tensor{ot}); err != nil {
			t.Fatal(err)
		}
		outs[i] = slices.Clone(ot.GetData())
		ort.DestroyAll(it, ot)
		s.Destroy()
	}
	if !slices.Equal(outs[0], outs[1]) {
		t.Fatal("reloaded model gives different outputs")
	}
}

// onnxChecker runs the reference onnx.checker (Debian's python3-onnx) on
// a model file, an independent check of what fmam writes; it skips that
// part when the module is not installed.
func onnxChecker(t *testing.T, path string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found; onnx.checker not run")
		return
	}
	for _, cand := range []string{"/usr/bin/python3", py} {
		if exec.Command(cand, "-c", "import onnx").Run() != nil {
			continue
		}
		out, err := exec.Command(cand, "-c", "import onnx,sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True)", path).CombinedOutput()
		if err != nil {
			t.Fatalf("onnx.checker rejects %s: %v\n%s", path, err, out)
		}
		return
	}
	t.Log("python3 onnx module not installed; onnx.checker not run")
}

// The parameters travel as one flat vector, but State and SetState speak
// one tensor per parameter: names, sizes and initial values are those of
// the network's initializers, and a checkpoint missing a parameter or
// holding one of the wrong size is refused with its name.
func TestParameterStateIsPerTensor(t *testing.T) {
	rt := gradcheck.Runtime(t)
	g, b, _, _, _ := buildNet(true)
	init := map[string][]float32{}
	for _, p := range b.Registry().Trainable {
		v, _ := g.Const(p)
		init[p] = slices.Clone(v.F32)
	}
	st := buildTrain(t)
	if !slices.Contains(st.States, train.ParamsInput) {
		t.Fatalf("states %v lack the flat parameter vector", st.States)
	}
	r, err := train.NewRunner(rt, st, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	state := runnerState(t, r)
	if _, ok := state[train.ParamsInput]; ok {
		t.Error("State exposes the flat vector instead of the parameters")
	}
	for p, want := range init {
		if got := state[p]; !slices.Equal(got, want) {
			t.Errorf("parameter %s: State gives %d values, want its %d initial values", p, len(got), len(want))
		}
	}
	// Round trip with a changed parameter.
	p := b.Registry().Trainable[0]
	state[p][0] += 1
	if err := r.SetState(state); err != nil {
		t.Fatal(err)
	}
	if got := runnerState(t, r)[p][0]; got != state[p][0] {
		t.Errorf("SetState did not reach the flat vector: %v, want %v", got, state[p][0])
	}
	short := maps.Clone(state)
	short[p] = short[p][:1]
	if err := r.SetState(short); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("short parameter accepted or unnamed: %v", err)
	}
	delete(short, p)
	if err := r.SetState(short); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("missing parameter accepted or unnamed: %v", err)
	}
}

// runnerState is r.State, failing t on an error.
func runnerState(t *testing.T, r *train.Runner) map[string][]float32 {
	t.Helper()
	s, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
