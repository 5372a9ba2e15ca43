package jigsaw_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/baseline/jigsaw"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/train"
)

// infer runs the inference graph on n cubes and returns its four outputs.
func infer(t *testing.T, g *graph.Graph, cubes []float32, n int) [][]float32 {
	t.Helper()
	mb, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := gradcheck.Runtime(t).NewSession(mb, g.Inputs, g.Outputs, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	shape := g.Shape(jigsaw.InCubes).Clone()
	shape[0] = int64(n)
	in, err := ort.NewTensor(shape, cubes)
	if err != nil {
		t.Fatal(err)
	}
	var outs []*ort.Tensor
	for _, o := range g.Outputs {
		os := g.Shape(o).Clone()
		os[0] = int64(n)
		x := gradcheck.Zeros(t, os)
		outs = append(outs, x)
	}
	defer ort.DestroyAll(append(outs, in)...)
	if err := s.Run(context.Background(), []*ort.Tensor{in}, outs); err != nil {
		t.Fatal(err)
	}
	var res [][]float32
	for _, o := range outs {
		res = append(res, slices.Clone(o.GetData()))
	}
	return res
}

// softmaxRows returns row-wise softmax of k x k logits.
func softmaxRows(l []float32, k int) [][]float64 {
	p := make([][]float64, k)
	for i := range k {
		row := l[i*k : (i+1)*k]
		m := float64(slices.Max(row))
		sum := 0.0
		p[i] = make([]float64, k)
		for j, v := range row {
			p[i][j] = math.Exp(float64(v) - m)
			sum += p[i][j]
		}
		for j := range p[i] {
			p[i][j] /= sum
		}
	}
	return p
}

func randomCubes(cfg jigsaw.Config, n int, seed uint64) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 1))
	var out [][]float32
	for range n {
		c := make([]float32, 3*cfg.Frames*cfg.Size*cfg.Size)
		for i := range c {
			c[i] = rng.Float32()
		}
		out = append(out, c)
	}
	return out
}

// The train step's loss terms are main.py's: PyTorch's mean cross-entropy
// over the rows of the temporal samples (logits viewed [-1, T]) and of the
// spatial samples ([-1, 9]), recomputed here in Go from the inference
// graph's logits with the same parameters; the inference scores are the
// minimum diagonal softmax probabilities of those logits. Then a few Adam
// steps on the batch bring the loss down.
func TestTrainStep(t *testing.T) {
	rt := gradcheck.Runtime(t)
	cfg := jigsaw.Config{Frames: 3, Size: 16, Width: 0.25, Dropout: 0.3}
	const batch = 4
	spec, err := jigsaw.TrainSpec(cfg, batch, 5, nn.InitPyTorch)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{jigsaw.InCubes, jigsaw.InTemporalTarget, jigsaw.InSpatialTarget, jigsaw.InDropoutMask}; !slices.Equal(spec.Batch, want) {
		t.Fatalf("batch inputs %v, want %v", spec.Batch, want)
	}
	spec.Optim = optim.Config{Kind: "adam"}
	step, err := train.Compile(*spec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := train.NewRunner(rt, step, ort.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	// Cubes 16x16 take a grid of 4-pixel tiles after a 2-pixel border.
	aug := jigsaw.OfficialAugment
	aug.Layout = jigsaw.Layout{Border: 2, Tile: 4}
	var samples []jigsaw.Sample
	for i, c := range randomCubes(cfg, batch, 1) {
		s, err := jigsaw.NewSample(c, cfg.Frames, cfg.Size, i%2 == 0, aug, jigsaw.SampleRNG(1, 0, i))
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, s)
	}
	ones := make([]float32, batch*cfg.Channels())
	for i := range ones {
		ones[i] = 1
	}
	data, err := jigsaw.StackBatch(cfg, samples, ones)
	if err != nil {
		t.Fatal(err)
	}

	inf, err := jigsaw.Inference(cfg, batch)
	if err != nil {
		t.Fatal(err)
	}
	state, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := train.ApplyState(inf, state); err != nil || n != len(spec.Trainable) {
		t.Fatalf("applied %d of %d parameters: %v", n, len(spec.Trainable), err)
	}
	out := infer(t, inf, data[0], batch)
	T := cfg.Frames
	var lt, ls float64
	var nt, ns int
	for i, s := range samples {
		tp := softmaxRows(out[0][i*T*T:(i+1)*T*T], T)
		sp := softmaxRows(out[1][i*81:(i+1)*81], 9)
		if s.Temporal {
			for row, label := range s.TemporalPerm {
				lt -= math.Log(tp[row][label])
				nt++
			}
		} else {
			for row, label := range s.SpatialPerm {
				ls -= math.Log(sp[row][label])
				ns++
			}
		}
		minDiag := func(p [][]float64) float64 {
			m := 1.0
			for k := range p {
				m = min(m, p[k][k])
			}
			return m
		}
		if got, want := float64(out[2][i]), minDiag(tp); math.Abs(got-want) > 1e-6 {
			t.Errorf("sample %d temporal score %v, want %v", i, got, want)
		}
		if got, want := float64(out[3][i]), minDiag(sp); math.Abs(got-want) > 1e-6 {
			t.Errorf("sample %d spatial score %v, want %v", i, got, want)
		}
	}
	lt, ls = lt/float64(nt), ls/float64(ns)
	res, err := r.Run(context.Background(), data, 1e-3)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(res.Report[0]-lt) > 1e-4 || math.Abs(res.Report[1]-ls) > 1e-4 || math.Abs(res.Loss-(lt+ls)) > 2e-4 {
		t.Fatalf("loss %v (temporal %v, spatial %v), want %v (%v, %v)", res.Loss, res.Report[0], res.Report[1], lt+ls, lt, ls)
	}

	// The inference graph runs at another batch size too (dynamic batch
	// axis), with the same per-cube results.
	per := 3 * T * cfg.Size * cfg.Size
	part := infer(t, inf, data[0][per:], batch-1)
	for k := range 4 {
		n := len(out[k]) / batch
		for i := range part[k] {
			if math.Abs(float64(part[k][i]-out[k][n+i])) > 1e-5 {
				t.Fatalf("output %d at batch 3 differs: %v vs %v", k, part[k][i], out[k][n+i])
			}
		}
	}

	first := res.Loss
	for s := 1; s <= 25; s++ {
		data[3] = jigsaw.DropoutMask(cfg, batch, 1, s)
		if res, err = r.Run(context.Background(), data, 1e-3); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("loss %.4f -> %.4f after 25 steps", first, res.Loss)
	if res.Loss > 0.6*first {
		t.Errorf("loss %v after 25 steps, from %v: it should fall on one repeated batch", res.Loss, first)
	}
}

// A batch without spatial samples has a zero spatial term (PyTorch's mean
// over no rows would be NaN).
func TestTrainStepOneBranch(t *testing.T) {
	rt := gradcheck.Runtime(t)
	const batch = 2
	spec, err := jigsaw.TrainSpec(tiny, batch, 5, nn.InitPyTorch)
	if err != nil {
		t.Fatal(err)
	}
	step, err := train.Compile(*spec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := train.NewRunner(rt, step, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	aug := jigsaw.OfficialAugment
	aug.Layout = jigsaw.Layout{Border: 2, Tile: 4}
	var samples []jigsaw.Sample
	for i, c := range randomCubes(tiny, batch, 2) {
		s, err := jigsaw.NewSample(c, tiny.Frames, tiny.Size, true, aug, jigsaw.SampleRNG(1, 0, i))
		if err != nil {
			t.Fatal(err)
		}
		samples = append(samples, s)
	}
	data, err := jigsaw.StackBatch(tiny, samples, jigsaw.DropoutMask(tiny, batch, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(context.Background(), data, 1e-4)
	if err != nil {
		t.Fatal(err)
	}
	if res.Report[1] != 0 || !(res.Report[0] > 0) {
		t.Errorf("terms %v; want a positive temporal term and a zero spatial one", res.Report)
	}
}
