package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// runOnlyKeys are settings that do not change what a run trains or
// scores the way its tables say: where and how fast it runs, what it
// logs, how it draws its pictures (report.formats), and the evaluation
// settings (eval --lambda and a new eval.sigma write new tables, not new
// weights).
var runOnlyKeys = []string{"device", "threads", "log_level", "ort_lib", "runs_dir", "eval", "report"}

// builtKeys are keys under runOnlyKeys that the exported models are built
// with (their batch size is fixed), so a change is a different run.
var builtKeys = []string{"eval.batch"}

// Diff lists every training setting that differs between old and new as
// "key: old -> new", sorted by key; nil when they train the same run.
func Diff(old, new *Config) ([]string, error) {
	a, err := flatten(old)
	if err != nil {
		return nil, err
	}
	b, err := flatten(new)
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		top := strings.SplitN(k, ".", 2)[0]
		if slices.Contains(runOnlyKeys, top) && !slices.Contains(builtKeys, k) {
			continue
		}
		va, oka := a[k]
		vb, okb := b[k]
		if oka && okb && reflect.DeepEqual(va, vb) {
			continue
		}
		out = append(out, fmt.Sprintf("%s: %s -> %s", k, show(va, oka), show(vb, okb)))
	}
	return out, nil
}

// show writes a value as flow YAML on one line: [a, b], {k: v}.
func show(v any, ok bool) string {
	if !ok {
		return "(unset)"
	}
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = show(e, true)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		var parts []string
		for k, e := range x {
			parts = append(parts, k+": "+show(e, true))
		}
		slices.Sort(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		s = `""`
	}
	return s
}

// flatten maps the resolved configuration's YAML keys (dotted) to their
// values; lists stay whole.
func flatten(c *Config) (map[string]any, error) {
	y, err := c.YAML()
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(y, &m); err != nil {
		return nil, err
	}
	out := map[string]any{}
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
				continue
			}
			out[prefix+k] = v
		}
	}
	walk("", m)
	return out, nil
}
