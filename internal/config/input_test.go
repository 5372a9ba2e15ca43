package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fmam/fmam/configs"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/imageio"
)

// The input-format keys decode to the options the data loaders take, the
// baseline's range standing in for an empty data.range; bad values are
// refused with the key named.
func TestInputKeys(t *testing.T) {
	cases := []struct {
		yaml string
		want imageio.DecodeOptions
		err  string
	}{
		{"data: {size: 32}", imageio.DecodeOptions{C: 3, H: 32, W: 32, Range: imageio.RangeSigned, Filter: imageio.Bilinear}, ""},
		{"data: {size: 32, channels: 1, range: \"0,255\", filter: pil-bilinear}", imageio.DecodeOptions{C: 1, H: 32, W: 32, Range: imageio.RangeByte, Filter: imageio.PILBilinear}, ""},
		{"data: {range: \"[0, 1]\", mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225]}",
			imageio.DecodeOptions{C: 3, H: 64, W: 64, Range: imageio.RangeUnit, Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}, ""},
		{"data: {mean: [0.5], std: [0.5]}", imageio.DecodeOptions{C: 3, H: 64, W: 64, Range: imageio.RangeSigned, Mean: []float64{0.5}, Std: []float64{0.5}}, ""},
		{"data: {range: \"0,2\"}", imageio.DecodeOptions{}, "data.range"},
		{"data: {filter: lanczos}", imageio.DecodeOptions{}, "data.filter"},
		{"data: {mean: [0.5, 0.5]}", imageio.DecodeOptions{}, "data.mean [0.5 0.5] and data.std [] go together"},
		{"data: {channels: 1, mean: [0.5, 0.5, 0.5], std: [1, 1, 1]}", imageio.DecodeOptions{}, "mean has 3 values but the input has 1 channels"},
		{"data: {mean: [0], std: [0]}", imageio.DecodeOptions{}, "std [0]: every value must be finite and positive"},
	}
	for _, c := range cases {
		cfg, err := config.Load("", []byte("name: x\n"+c.yaml+"\n"), "", nil)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one containing %q", c.yaml, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.yaml, err)
			continue
		}
		got, err := cfg.Data.Decode(imageio.RangeSigned)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Decode %+v, %v; want %+v", c.yaml, got, err, c.want)
		}
	}
	t.Setenv("FMAM_DATA_MEAN", "0.25,0.5,0.75")
	t.Setenv("FMAM_DATA_STD", "2")
	cfg, err := config.Load("", []byte("name: x\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg.Data.Mean, []float64{0.25, 0.5, 0.75}) || !reflect.DeepEqual(cfg.Data.Std, []float64{2}) {
		t.Errorf("FMAM_DATA_MEAN/STD gave mean %v std %v", cfg.Data.Mean, cfg.Data.Std)
	}
}

// config.yaml of a run that trains its teacher holds every key, exactly as
// before unused keys were left out; one that imports its teacher leaves out
// the teacher's training settings and reloads to the same file; one that
// names both teacher sources is refused.
func TestYAMLLeavesOutUnusedTeacherKeys(t *testing.T) {
	for _, name := range configs.Names() {
		b, _ := configs.Get(name)
		c, err := config.Load("", b, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		y, err := c.YAML()
		if err != nil {
			t.Fatal(err)
		}
		full, _ := c.FullYAML()
		imported := c.Model.Teacher != ""
		if !imported && string(y) != string(full) {
			t.Errorf("%s: YAML differs from the full rendering:\n%s\n---\n%s", name, y, full)
		}
		for _, key := range []string{"    width:", "    teacher_steps:", "    mimic:"} {
			if got := strings.Contains(string(y), "\n"+key); got == imported {
				t.Errorf("%s (imported teacher %v): config.yaml has %q: %v", name, imported, key, got)
			}
		}
		p := filepath.Join(t.TempDir(), "config.yaml")
		if err := os.WriteFile(p, y, 0o644); err != nil {
			t.Fatal(err)
		}
		c2, err := config.Load(p, nil, "", nil)
		if err != nil {
			t.Fatalf("%s: config.yaml does not reload: %v", name, err)
		}
		if y2, _ := c2.YAML(); string(y2) != string(y) {
			t.Errorf("%s: config.yaml changes on reload", name)
		}
	}
	_, err := config.Load("", []byte("name: x\nmodel: {teacher: t.onnx, teacher_run: runs/a}\n"), "", nil)
	if err == nil || !strings.Contains(err.Error(), "t.onnx and model.teacher_run ") || !strings.Contains(err.Error(), "keep one") {
		t.Errorf("both teacher sources: %v", err)
	}
}

// The keys an imported or borrowed teacher makes unused.
func TestUnusedKeys(t *testing.T) {
	for _, c := range []struct {
		yaml, key string
		want      bool
	}{
		{"name: x\n", "model.width", false},
		{"name: x\nmodel: {teacher: t.onnx}\n", "model.width", true},
		{"name: x\nmodel: {teacher: t.onnx}\n", "model.mimic.layer", true},
		{"name: x\nmodel: {teacher: t.onnx}\n", "model.mimicry", false},
		{"name: x\nmodel: {teacher_run: runs/a}\n", "model.width", false},
		{"name: x\nmodel: {teacher_run: runs/a}\n", "train.teacher_steps", true},
	} {
		cfg, err := config.Load("", []byte(c.yaml), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Unused(c.key); got != c.want {
			t.Errorf("%q: Unused(%s) = %v, want %v", c.yaml, c.key, got, c.want)
		}
	}
}
