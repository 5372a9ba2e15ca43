package bench_test

import (
	"context"
	"testing"

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
