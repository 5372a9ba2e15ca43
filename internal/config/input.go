package config

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fmam/fmam/internal/imageio"
)

// Decode is the data decoding the configuration asks for: data.channels,
// data.size, data.range (def, the baseline's own range, when empty),
// data.mean and data.std, and data.filter (bilinear when empty). The keys
// are checked by Validate, so the error is for configurations built by
// hand.
func (d Data) Decode(def imageio.Range) (imageio.DecodeOptions, error) {
	o := imageio.DecodeOptions{C: d.Channels, H: d.Size, W: d.Size, Range: def, Filter: imageio.Bilinear}
	if d.Range != "" {
		r, err := imageio.ParseRange(d.Range)
		if err != nil {
			return o, fmt.Errorf("data.range: %w", err)
		}
		o.Range = r
	}
	if d.Filter != "" {
		f, err := imageio.ParseFilter(d.Filter)
		if err != nil {
			return o, fmt.Errorf("data.filter: %w", err)
		}
		o.Filter = f
	}
	// An empty list from the defaults means no normalisation.
	if len(d.Mean) > 0 || len(d.Std) > 0 {
		o.Mean, o.Std = d.Mean, d.Std
	}
	if err := o.Input().Validate(); err != nil {
		return o, fmt.Errorf("data.channels, data.range, data.mean, data.std: %w", err)
	}
	return o, nil
}

// validateInput checks the input-format keys, each error naming its key.
func (d Data) validateInput() []error {
	var errs []error
	if d.Range != "" {
		if _, err := imageio.ParseRange(d.Range); err != nil {
			errs = append(errs, fmt.Errorf("data.range: %w", err))
		}
	}
	if d.Filter != "" {
		if _, err := imageio.ParseFilter(d.Filter); err != nil {
			errs = append(errs, fmt.Errorf("data.filter: %w", err))
		}
	}
	if d.Channels != 1 && d.Channels != 3 {
		return errs // reported with data.channels
	}
	if len(d.Mean) > 0 || len(d.Std) > 0 {
		in := imageio.Input{C: d.Channels, Range: imageio.RangeUnit, Mean: d.Mean, Std: d.Std}
		if len(d.Mean) == 0 || len(d.Std) == 0 {
			errs = append(errs, fmt.Errorf("data.mean %v and data.std %v go together: give both (one value, or one per channel) or neither", d.Mean, d.Std))
		} else if err := in.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("data.mean, data.std: %w", err))
		}
	}
	return errs
}

// floatListHook lets a list of numbers be written as one string, as
// FMAM_DATA_MEAN=0.485,0.456,0.406 sets it.
func floatListHook(from, to reflect.Type, v any) (any, error) {
	if from.Kind() != reflect.String || to != reflect.TypeOf([]float64(nil)) {
		return v, nil
	}
	return imageio.ParseFloats("list", v.(string))
}

// unusedKeys are the keys config.yaml leaves out because they shape only
// a teacher this run does not train: none when fmam trains the teacher;
// its training settings when the teacher is another run's; those and its
// architecture's width when it is an imported ONNX file, whose student is
// cloned from it.
func (c *Config) unusedKeys() []string {
	switch {
	case c.Model.Teacher != "":
		return []string{"model.width", "model.mimic", "train.teacher_steps"}
	case c.Model.TeacherRun != "":
		return []string{"model.mimic", "train.teacher_steps"}
	}
	return nil
}

// Unused reports whether key (dotted, e.g. "model.mimic.layer") is one
// config.yaml leaves out because it shapes only a teacher this run does
// not train.
func (c *Config) Unused(key string) bool {
	for _, k := range c.unusedKeys() {
		if key == k || strings.HasPrefix(key, k+".") {
			return true
		}
	}
	return false
}

// dropKey removes the entry at path from a YAML document.
func dropKey(n *yaml.Node, path []string) {
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode || len(path) == 0 {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != path[0] {
			continue
		}
		if len(path) == 1 {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
		dropKey(n.Content[i+1], path[1:])
		return
	}
}
