package bench_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline/draem"
	"github.com/fmam/fmam/internal/baseline/jigsaw"
	"github.com/fmam/fmam/internal/baseline/mnad"
	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/bench"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/gradcheck"
)

// The conv floor visits every convolution of the network once: MNAD's
// predictor has 17 Convs and 3 ConvTransposes (8 in the encoder, 2 in the
// middle block, 3 upsamplings, 4 in the two decoder blocks, 3 in the
// output head), whatever the width.
func TestConvFloorCountsEveryConv(t *testing.T) {
	rt := gradcheck.Runtime(t)
	res, err := bench.Run(context.Background(), rt, mnad.New(), bench.Options{
		Model: "mnad", Width: 0.05, Size: 16, Batch: 2, Steps: 1, Warmup: 0, Threads: 1, Device: "cpu", ConvFloor: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	cf := res.ConvFloor
	if cf == nil {
		t.Fatal("no conv floor in the result")
	}
	if cf.Convs != 20 {
		t.Errorf("timed %d convs, want 20", cf.Convs)
	}
	if cf.ForwardMS <= 0 || cf.StepMS <= 0 {
		t.Errorf("forward %.3f ms, with gradients %.3f ms: want both timed", cf.ForwardMS, cf.StepMS)
	}
}

// fmam bench --model jigsaw times the official network on 7-frame RGB
// cubes: at width 1/8 and 16x16 it has PyTorch's 14,390 parameters of the
// 3-frame net (scripts/bench_torch.py's Jigsaw(0.125, 3, 16)) plus the
// 40 more temporal classes of 7 frames, 40 x (64 + 1).
func TestJigsawBench(t *testing.T) {
	rt := gradcheck.Runtime(t)
	res, err := bench.Run(context.Background(), rt, jigsaw.New(), bench.Options{
		Model: "jigsaw", Width: 0.125, Size: 16, Batch: 2, Steps: 1, Warmup: 0, Threads: 1, Device: "cpu",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Params != 14390+40*65 {
		t.Errorf("%d parameters, want %d", res.Params, 14390+40*65)
	}
	if res.TrainStepMS <= 0 || res.InferBatchMS <= 0 {
		t.Errorf("train %.3f ms, inference %.3f ms: want both timed", res.TrainStepMS, res.InferBatchMS)
	}
}

// Sizes a network cannot pool down are refused before anything is built,
// by the rule configurations are checked with (issue 22: these panicked
// with an index out of range).
func TestRunRefusesSizesTheNetworkCannotPool(t *testing.T) {
	for _, c := range []struct {
		model string
		size  int
		want  string
	}{
		{"mnad", 17, "multiple of 16"},
		{"mnad", 100, "use --size 96 or 112"},
		{"draem", 48, "multiple of 64"},
		{"jigsaw", 24, "multiple of 16"},
		{"pkgnet", 40, "multiple of 16"},
	} {
		b, err := registry.LookupArch(c.model)
		if err != nil {
			t.Fatal(err)
		}
		// No runtime: the size is refused before one is needed.
		_, err = bench.Run(context.Background(), nil, b, bench.Options{
			Model: c.model, Width: 0.05, Size: c.size, Batch: 1, Steps: 1, Threads: 1, Device: "cpu",
		})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), fmt.Sprintf("--size %d", c.size)) {
			t.Errorf("%s --size %d: error %v, want one naming --size %d and %q", c.model, c.size, err, c.size, c.want)
		}
	}
}

// bench and a configuration agree on DRAEM's sizes.
func TestDRAEMSizeRuleMatchesCheckConfig(t *testing.T) {
	b := draem.New()
	for _, size := range []int{48, 64, 96, 128} {
		cfg := &config.Config{Data: config.Data{Size: size, Channels: 3}}
		cfgErr := b.CheckConfig(cfg)
		benchErr := bench.CheckSize(b, size)
		if (cfgErr == nil) != (benchErr == nil) {
			t.Errorf("size %d: CheckConfig says %v, bench says %v", size, cfgErr, benchErr)
		}
	}
}
