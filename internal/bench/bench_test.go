package bench_test

import (
	"context"
	"testing"

	"github.com/fmam/fmam/internal/baseline/jigsaw"
	"github.com/fmam/fmam/internal/baseline/mnad"
	"github.com/fmam/fmam/internal/bench"
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
