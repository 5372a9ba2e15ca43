package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/configs"
	"github.com/fmam/fmam/internal/config"
)

func TestEmbeddedConfigsLoad(t *testing.T) {
	for _, name := range configs.Names() {
		b, err := configs.Get(name)
		if err != nil {
			t.Fatal(err)
		}
		c, err := config.Load("", b, "", nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for p := range c.Presets {
			pc, err := config.Load("", b, p, nil)
			if err != nil {
				t.Errorf("%s preset %s: %v", name, p, err)
				continue
			}
			if !strings.HasSuffix(pc.Name, "-"+p) {
				t.Errorf("%s preset %s: name %q does not say the preset", name, p, pc.Name)
			}
		}
	}
}

func TestPresetAndOverrides(t *testing.T) {
	b, _ := configs.Get("ped2")
	c, err := config.Load("", b, "cpu-small", map[string]any{"device": "cpu", "threads": 2})
	if err != nil {
		t.Fatal(err)
	}
	if c.Data.Size != 64 || c.Model.Width != 0.125 || c.Data.Kind != "ped2" || c.Device != "cpu" || c.Threads != 2 {
		t.Errorf("preset/overrides not applied: %+v", c)
	}
	t.Setenv("FMAM_TRAIN_LR", "0.5")
	c, err = config.Load("", b, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.LR != 0.5 {
		t.Errorf("FMAM_TRAIN_LR not applied: lr %v", c.Train.LR)
	}
	// The resolved YAML reloads to the same configuration.
	y, err := c.YAML()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, y, 0o644)
	c2, err := config.Load(p, nil, "", nil)
	if err != nil {
		t.Fatalf("resolved config does not reload: %v", err)
	}
	y2, _ := c2.YAML()
	if string(y) != string(y2) {
		t.Error("resolved config changes on reload")
	}
}

func TestBadConfigs(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"name: x\nmodle: {width: 1}\n", "unknown key modle (known keys at the top level: data,"},
		{"name: x\ntrain: {lrr: 1}\n", "unknown key train.lrr (known keys under train: batch,"},
		{"name: x\nmodel: {attention: {kind: sca, reductoin: 4}}\n", "unknown key model.attention.reductoin (known keys under model.attention: kernel, kind, reduction)"},
		{"name: x\nmodel: {colour: red}\ntrain: {optim: {beta3: 1}}\n", "unknown key model.colour (known keys under model: arch,"},
		{"name: x\nmodel: {colour: red}\ntrain: {optim: {beta3: 1}}\n", "; unknown key train.optim.beta3"},
		{"name: x\neval: {lambda: 1.5}\n", "eval.lambda"},
		{"name: x\neval: {lambda: -0.1}\n", "eval.lambda"},
		{"name: x\ndata: {size: 50}\n", "data.size"},
		{"name: x\nmodel: {attention: {kind: xa}}\n", "attention"},
		{"name: x\ndevice: tpu\n", "device"},
		{"name: x\neval: {grid: \"0:1:abc\"}\n", "eval.grid"},
		{"name: x\neval: {grid: \"0:2:0.5\"}\n", "eval.grid"},
		{"name: x\ndata: {kind: ped2}\n", "data.root"},
		{"name: [\n", "yaml"},
	}
	for _, c := range cases {
		_, err := config.Load("", []byte(c.yaml), "", nil)
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
			t.Errorf("%q: error %v, want one mentioning %q", c.yaml, err, c.want)
		}
	}
	b, _ := configs.Get("demo")
	if _, err := config.Load("", b, "no-such-preset", nil); err == nil || !strings.Contains(err.Error(), "no-such-preset") {
		t.Errorf("unknown preset: %v", err)
	}
	if _, err := config.Load("/no/such/file.yaml", nil, "", nil); err == nil || !strings.Contains(err.Error(), "/no/such/file.yaml") {
		t.Errorf("missing file: %v", err)
	}
}
