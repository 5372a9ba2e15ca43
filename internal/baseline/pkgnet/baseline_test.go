package pkgnet_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline/pkgnet"
	"github.com/fmam/fmam/internal/bench"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/sharedtest"
)

// `fmam bench --model pkgnet --width 1` reports the official PyTorch
// parameter counts of both variants: the student U-Net alone.
func TestBenchParamsOfficial(t *testing.T) {
	rt := gradcheck.Runtime(t)
	for k, want := range map[int]int64{1: 11665923, 2: 7978627} {
		res, err := bench.Run(context.Background(), rt, pkgnet.New(), bench.Options{
			Model: "pkgnet", K: k, Width: 1, Size: 32, Batch: 1, Steps: 1, Warmup: 0, Threads: 2, Device: "cpu",
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.Params != want {
			t.Errorf("k %d: %d parameters, want %d", k, res.Params, want)
		}
	}
	if _, err := bench.Run(context.Background(), rt, pkgnet.New(), bench.Options{Model: "pkgnet", K: 3, Width: 1, Size: 32, Batch: 1, Steps: 1}); err == nil {
		t.Error("bench --k 3 was accepted")
	}
}

// CheckConfig (and the config's own validation) name the key to fix.
func TestCheckConfigNamesKeys(t *testing.T) {
	bb := sharedtest.Path(t, "models", "mobilenet_v2_imagenet.onnx")
	base := func(model, data string) string {
		return `
name: x
data: {kind: ped2, root: /nowhere, size: 32, frames: 5, channels: 3` + data + `,
  objects: {train_boxes: a.npy, test_boxes: b.npy}}
model: {arch: pkgnet, pkgnet: {backbone: ` + bb + `, layers: [feat_s16, feat_s8]` + model + `}}
`
	}
	for _, tc := range []struct{ name, yaml, want string }{
		{"k 3", base(", k: 3", ""), "model.pkgnet.k 3"},
		{"frames", strings.Replace(base("", ""), "frames: 5", "frames: 7", 1), "data.frames 7"},
		{"channels", strings.Replace(base("", ""), "channels: 3", "channels: 1", 1), "data.channels 1"},
		{"missing backbone", strings.Replace(base("", ""), bb, filepath.Join(t.TempDir(), "none.onnx"), 1), "model.pkgnet.backbone"},
		{"unknown layer", strings.Replace(base("", ""), "feat_s8]", "nope]", 1), "feat_s8"},
		{"layers for k", base(", k: 1", ""), "model.pkgnet.layers"},
		{"no boxes", strings.Replace(base("", ""), "train_boxes: a.npy, ", "", 1), "data.objects.train_boxes"},
		{"foreground", strings.Replace(base("", ""), "train_boxes: a.npy, test_boxes: b.npy", "detector: foreground", 1), "data.objects.detector foreground"},
		{"stats", base(", stats: {mean: [1], std: [1]}", ""), "model.pkgnet.stats"},
	} {
		cfg, err := config.Load("", []byte(tc.yaml), "", nil)
		if err == nil {
			err = pkgnet.New().CheckConfig(cfg)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.want)
		}
	}
	cfg, err := config.Load("", []byte(base("", "")), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := pkgnet.New().CheckConfig(cfg); err != nil {
		t.Errorf("the valid config was refused: %v", err)
	}
}
