package registry_test

import (
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/config"
)

// Lookup pairs model.arch with its baseline and refuses tasks, data kinds
// and settings that baseline cannot run.
func TestLookup(t *testing.T) {
	cases := []struct{ yaml, arch, want string }{
		{"name: x\n", "mnad", ""},
		{"name: x\ntask: image\ndata: {kind: synth-mvtec}\nmodel: {arch: draem}\n", "draem", ""},
		{"name: x\ntask: video\ndata: {kind: mvtec, root: r}\n", "", "not a video data set"},
		{"name: x\ndata: {kind: mvtec, root: r}\n", "", "not a video data set but an image one: set task: image (task is video; video is the default) and model.arch to draem or reconstruction"},
		{"name: x\ntask: image\ndata: {kind: synth-mvtec}\n", "", "model.arch mnad is a video baseline but task is image: for image data set model.arch to draem or reconstruction; for video data set task: video"},
		{"name: x\ntask: image\ndata: {kind: synth-mvtec, size: 96}\nmodel: {arch: draem, teacher: t.onnx}\n", "draem", ""},
		{"name: x\nmodel: {arch: resnet}\n", "", `model.arch "resnet": use one of mnad, draem`},
		// reconstruction has a baseline for each task: the config's is picked.
		{"name: x\ndata: {kind: synth-video}\nmodel: {arch: reconstruction, teacher: t.onnx, recon_mode: predictor}\n", "reconstruction", ""},
		{"name: x\ntask: image\ndata: {kind: synth-mvtec}\nmodel: {arch: reconstruction, teacher: t.onnx}\n", "reconstruction", ""},
		{"name: x\ndata: {kind: synth-video}\nmodel: {arch: reconstruction, teacher: missing.onnx}\n", "reconstruction", ""},
		{"name: x\ntask: image\ndata: {kind: synth-mvtec, size: 96}\nmodel: {arch: draem}\n", "", "multiple of 64"},
	}
	for _, c := range cases {
		cfg, err := config.Load("", []byte(c.yaml), "", nil)
		if err != nil {
			t.Fatalf("%q: %v", c.yaml, err)
		}
		b, err := registry.Lookup(cfg)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%q: %v", c.yaml, err)
		case c.want == "" && (b.Arch() != c.arch || b.Task().Kind() != cfg.Task):
			t.Errorf("%q: baseline %s of task %s, want %s of %s", c.yaml, b.Arch(), b.Task().Kind(), c.arch, cfg.Task)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%q: error %v, want one containing %q", c.yaml, err, c.want)
		}
	}
}
