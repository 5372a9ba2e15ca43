package jigsaw_test

import (
	"context"
	"math/rand/v2"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/fmam/fmam/internal/baseline/jigsaw"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/train"
)

// The official network on 3x7x64x64 cubes, batch 32, 2 threads: what
// scripts/bench_torch.py --model jigsaw --width 1 --batch 32 times in
// PyTorch.
const benchBatch = 32

func benchOptions() ort.Options {
	return ort.Options{Threads: 2, Profile: os.Getenv("FMAM_PROFILE")}
}

func reportRSS(b *testing.B) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.ReportMetric(float64(ru.Maxrss)/1024, "peak-rss-MB")
	}
}

// BenchmarkJigsawTrainStep times one Adam step (forward, gradients,
// update) of half temporal, half spatial puzzles.
func BenchmarkJigsawTrainStep(b *testing.B) {
	rt := gradcheck.Runtime(b)
	cfg := jigsaw.Official(7)
	t0 := time.Now()
	spec, err := jigsaw.TrainSpec(cfg, benchBatch, 1, nn.InitPyTorch)
	if err != nil {
		b.Fatal(err)
	}
	spec.Optim = optim.Config{Kind: "adam"}
	step, err := train.Compile(*spec)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(t0).Milliseconds()), "compile-ms")
	r, err := train.NewRunner(rt, step, benchOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var samples []jigsaw.Sample
	for i, c := range randomCubes(cfg, benchBatch, 1) {
		s, err := jigsaw.NewSample(c, cfg.Frames, cfg.Size, i%2 == 0, jigsaw.OfficialAugment, jigsaw.SampleRNG(1, 0, i))
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, s)
	}
	data, err := jigsaw.StackBatch(cfg, samples, jigsaw.DropoutMask(cfg, benchBatch, 1, 0))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.Run(context.Background(), data, 1e-4); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Run(context.Background(), data, 1e-4); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRSS(b)
}

// BenchmarkJigsawInference times one evaluation batch (logits and
// scores).
func BenchmarkJigsawInference(b *testing.B) {
	rt := gradcheck.Runtime(b)
	cfg := jigsaw.Official(7)
	g, err := jigsaw.Inference(cfg, benchBatch)
	if err != nil {
		b.Fatal(err)
	}
	mb, err := g.Bytes()
	if err != nil {
		b.Fatal(err)
	}
	s, err := rt.NewSession(mb, g.Inputs, g.Outputs, benchOptions())
	if err != nil {
		b.Fatal(err)
	}
	defer s.Destroy()
	rng := rand.New(rand.NewPCG(1, 1))
	data := make([]float32, g.Shape(jigsaw.InCubes).Size())
	for i := range data {
		data[i] = rng.Float32()
	}
	in, err := ort.NewTensor(g.Shape(jigsaw.InCubes), data)
	if err != nil {
		b.Fatal(err)
	}
	var outs []*ort.Tensor
	for _, o := range g.Outputs {
		x := gradcheck.Zeros(b, g.Shape(o))
		outs = append(outs, x)
	}
	defer ort.DestroyAll(append(outs, in)...)
	if err := s.Run(context.Background(), []*ort.Tensor{in}, outs); err != nil { // warm-up
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if err := s.Run(context.Background(), []*ort.Tensor{in}, outs); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	reportRSS(b)
}
