package baseline_test

import (
	"reflect"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/method"
)

// Without data.range a video run decodes to [-1, 1] and an image run to
// [0, 1], as before the key existed; the keys override both, and exported
// teachers record the result.
func TestDecodeDefaultsAndKeys(t *testing.T) {
	cases := []struct {
		yaml      string
		want      imageio.DecodeOptions
		wantRange string
	}{
		{"task: video\ndata: {size: 32, channels: 1}", imageio.DecodeOptions{C: 1, H: 32, W: 32, Range: imageio.RangeSigned}, "-1,1"},
		{"task: image\ndata: {kind: synth-mvtec, size: 64}\nmodel: {arch: draem}", imageio.DecodeOptions{C: 3, H: 64, W: 64, Range: imageio.RangeUnit}, "0,1"},
		{"task: video\ndata: {range: \"0,255\", filter: pil-bilinear}", imageio.DecodeOptions{C: 3, H: 64, W: 64, Range: imageio.RangeByte, Filter: imageio.PILBilinear}, "0,255"},
		{"task: image\ndata: {kind: synth-mvtec, range: \"-1,1\", mean: [0.1, 0.2, 0.3], std: [1, 2, 3]}\nmodel: {arch: draem}",
			imageio.DecodeOptions{C: 3, H: 64, W: 64, Range: imageio.RangeSigned, Mean: []float64{0.1, 0.2, 0.3}, Std: []float64{1, 2, 3}}, "-1,1"},
	}
	for _, c := range cases {
		cfg, err := config.Load("", []byte("name: x\n"+c.yaml+"\n"), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := baseline.Decode(cfg); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: decode %+v, want %+v", c.yaml, got, c.want)
		}
		meta := baseline.InputMeta(cfg)
		mean := "none"
		if c.want.Mean != nil {
			mean = "0.1,0.2,0.3"
		}
		if meta[method.MetaRange] != c.wantRange || meta[method.MetaMean] != mean || meta[method.MetaFilter] != c.want.Filter.String() {
			t.Errorf("%s: metadata %v", c.yaml, meta)
		}
	}
}
