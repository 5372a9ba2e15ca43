// Package bench times training steps and inference batches of the
// built-in architectures on random data, for comparison with other
// frameworks (scripts/bench_torch.py builds the same networks in PyTorch).
package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"syscall"
	"time"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/train"
)

// Options select the network and the run.
type Options struct {
	Model string `json:"model"` // mnad | draem | jigsaw | pkgnet
	// K is PKG-Net's variant (1 or 2); 0 for the other networks.
	K       int     `json:"k,omitempty"`
	Width   float64 `json:"width"`
	Size    int     `json:"size"`
	Batch   int     `json:"batch"`
	Steps   int     `json:"steps"`
	Warmup  int     `json:"warmup"`
	Threads int     `json:"threads"`
	Device  string  `json:"device"`
	// Profile writes ONNX Runtime's per-node profile with this prefix.
	Profile string `json:"-"`
	// ConvFloor also times each convolution of the network alone.
	ConvFloor bool `json:"-"`
}

// Result is what fmam bench prints.
type Result struct {
	Options
	TrainStepMS  float64 `json:"train_step_ms"`
	InferBatchMS float64 `json:"infer_batch_ms"`
	// The fastest timed step and batch: on a shared machine whose speed
	// comes and goes in phases of seconds they compare two programs more
	// steadily than medians do.
	TrainStepMinMS  float64 `json:"train_step_min_ms"`
	InferBatchMinMS float64 `json:"infer_batch_min_ms"`
	Ratio           float64 `json:"train_infer_ratio"`
	Params          int64   `json:"params"`
	PeakRSSMB       float64 `json:"peak_rss_mb"`
	CompileMS       float64 `json:"compile_ms"`
	DeviceUsed      string  `json:"device_used"`
	// ThreadsUsed is the intra-op thread count the session ran with:
	// Threads, or ONNX Runtime's default (one per physical core) for 0.
	ThreadsUsed int `json:"threads_used"`
	// FirstLoss and FirstGradNorm are the first step's loss and gradient
	// norm. Weights and batch come from fixed seeds, so two devices
	// running the same options should agree on them up to rounding
	// (scripts/gpu-check.sh compares the CPU with CUDA).
	FirstLoss     float64 `json:"first_loss"`
	FirstGradNorm float64 `json:"first_grad_norm"`
	// ConvFloor is set when Options.ConvFloor asks for it.
	ConvFloor *ConvFloor `json:"conv_floor,omitempty"`
}

// Variants is implemented by networks that come in variants (PKG-Net's
// k): Variant returns variant k.
type Variants interface {
	Variant(k int) (method.Net, error)
}

// SizeRule is implemented by networks whose input side must be a coarser
// multiple than config.SizeMultiple (DRAEM pools 5 times); their
// CheckConfig applies the same rule to data.size.
type SizeRule interface {
	SizeMultiple() (multiple int, why string)
}

// CheckSize refuses a --size the network cannot pool down, by the rule a
// configuration's data.size is checked with: a multiple of
// config.SizeMultiple, or of the network's own SizeRule.
func CheckSize(b method.Net, size int) error {
	m, why := config.SizeMultiple, "the networks pool 4 times; data.size in a config is checked the same way"
	if r, ok := b.(SizeRule); ok {
		m, why = r.SizeMultiple()
	}
	if size < m || size%m != 0 {
		return fmt.Errorf("bench --size %d: %s takes a multiple of %d (%s); use --size %d or %d", size, b.Arch(), m, why, max(m, size/m*m), max(m, size/m*m)+m)
	}
	return nil
}

// Run builds the network's train step (its bench loss, Adam) and its
// inference graph, and returns median times. Any baseline's network will
// do: baseline.Baseline embeds method.Net.
func Run(ctx context.Context, rt *ort.Runtime, b method.Net, o Options) (*Result, error) {
	if o.Steps < 1 || o.Batch < 1 || o.Size < 16 || o.Width <= 0 {
		return nil, fmt.Errorf("bench: steps, batch >= 1, size >= 16 and width > 0 are required")
	}
	if err := CheckSize(b, o.Size); err != nil {
		return nil, err
	}
	dev, err := ort.ParseDevice(o.Device)
	if err != nil {
		return nil, err
	}
	if o.K != 0 {
		v, ok := b.(Variants)
		if !ok {
			return nil, fmt.Errorf("bench: --k %d: %s has no variants (--k is PKG-Net's)", o.K, b.Arch())
		}
		if b, err = v.Variant(o.K); err != nil {
			return nil, err
		}
	}
	spec := method.Spec{Net: b, Width: o.Width, Init: nn.InitPyTorch, Seed: 1, Batch: o.Batch, Size: o.Size}
	spec.Frames, spec.Channels = b.BenchShape()
	// The checks a configuration gets: without them a size the network
	// cannot pool fails deep in graph building.
	if err := b.Check(spec); err != nil {
		return nil, fmt.Errorf("bench --model %s --size %d: %w", b.Arch(), o.Size, err)
	}
	t0 := time.Now()
	built, err := method.BenchTrain(spec)
	if err != nil {
		return nil, err
	}
	built.Spec.Optim = optim.Config{Kind: "adam"}
	// Compile rewrites the graph in place; the conv floor needs the
	// forward pass as built.
	fwd := built.Spec.Graph.Clone()
	step, err := train.Compile(*built.Spec)
	if err != nil {
		return nil, err
	}
	res := &Result{Options: o, CompileMS: float64(time.Since(t0).Microseconds()) / 1000, Params: step.ParamCount()}
	opt := ort.Options{Device: dev, Threads: o.Threads, Profile: o.Profile}
	r, err := train.NewRunner(rt, step, opt)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	res.DeviceUsed = string(r.Device())
	rng := rand.New(rand.NewPCG(1, 2))
	var batch [][]float32
	for i, n := range r.BatchSizes() {
		d := make([]float32, n)
		for j := range d {
			if i > 0 {
				d[j] = float32(rng.IntN(2)) // targets: masks, labels
			} else {
				d[j] = rng.Float32()*2 - 1
			}
		}
		batch = append(batch, d)
	}
	first := true
	times, err := timeRuns(ctx, o.Warmup, o.Steps, func() error {
		st, err := r.Run(ctx, batch, 1e-4)
		if first {
			res.FirstLoss, res.FirstGradNorm, first = st.Loss, st.GradNorm, false
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	res.TrainStepMS, res.TrainStepMinMS = median(times), slices.Min(times)

	inf, err := method.TeacherInference(spec, o.Batch)
	if err != nil {
		return nil, err
	}
	model, err := inf.Bytes()
	if err != nil {
		return nil, err
	}
	ports := func(names []string) []ort.Port {
		var ps []ort.Port
		for _, n := range names {
			ps = append(ps, ort.Port{Name: n, Shape: inf.Shape(n)})
		}
		return ps
	}
	sess, err := rt.NewInference(model, ports(inf.Inputs), ports(inf.Outputs), opt)
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	copy(sess.Input(0), batch[0])
	times, err = timeRuns(ctx, o.Warmup, o.Steps, func() error { return sess.Run(ctx) })
	if err != nil {
		return nil, err
	}
	res.InferBatchMS, res.InferBatchMinMS = median(times), slices.Min(times)
	res.Ratio = res.TrainStepMS / res.InferBatchMS
	if o.ConvFloor {
		if res.ConvFloor, err = convFloor(ctx, rt, fwd, opt, o.Warmup, o.Steps); err != nil {
			return nil, err
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		res.PeakRSSMB = float64(ru.Maxrss) / 1024 // Linux reports KiB
	}
	res.ThreadsUsed = o.Threads
	if res.ThreadsUsed <= 0 {
		res.ThreadsUsed = ort.DefaultThreads()
	}
	res.round()
	return res, nil
}

// round keeps what a timer on a shared machine can tell apart: times to
// the microsecond, ratios to four digits, memory to 0.1 MB (JSON then
// reads 337.984, not 337.98400000000004).
func (r *Result) round() {
	// Dividing by the inverse of the unit gives the double nearest the
	// decimal, which multiplying by the unit need not.
	at := func(v, unit float64) float64 { k := math.Round(1 / unit); return math.Round(v*k) / k }
	r.TrainStepMS, r.InferBatchMS = at(r.TrainStepMS, 1e-3), at(r.InferBatchMS, 1e-3)
	r.TrainStepMinMS, r.InferBatchMinMS = at(r.TrainStepMinMS, 1e-3), at(r.InferBatchMinMS, 1e-3)
	r.CompileMS, r.Ratio, r.PeakRSSMB = at(r.CompileMS, 1e-3), at(r.Ratio, 1e-4), at(r.PeakRSSMB, 0.1)
	if cf := r.ConvFloor; cf != nil {
		cf.ForwardMS, cf.StepMS = at(cf.ForwardMS, 1e-3), at(cf.StepMS, 1e-3)
	}
}

// timeRuns calls run warmup+steps times and returns the durations of the
// last steps calls, in ms. It stops between calls when ctx is done.
func timeRuns(ctx context.Context, warmup, steps int, run func() error) ([]float64, error) {
	times := make([]float64, 0, steps)
	for i := 0; i < warmup+steps; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		t := time.Now()
		if err := run(); err != nil {
			return nil, err
		}
		if i >= warmup {
			times = append(times, ms(time.Since(t)))
		}
	}
	return times, nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
