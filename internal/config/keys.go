package config

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
)

// unknownKeys lists every key of settings (viper's lower-cased map) that no
// field of t takes, with its full path and the keys known beside it.
// mapstructure's own message names only the parent map, and an empty name
// for the top level, which does not tell a user which line to fix.
func unknownKeys(settings map[string]any, t reflect.Type, path string) []string {
	fields := map[string]reflect.Type{}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("mapstructure"), ",")[0]
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	known := make([]string, 0, len(fields))
	for k := range fields {
		known = append(known, k)
	}
	slices.Sort(known)
	var out []string
	for _, k := range keys(settings) {
		ft, ok := fields[k]
		full := k
		if path != "" {
			full = path + "." + k
		}
		if !ok {
			out = append(out, fmt.Sprintf("%s (known keys%s: %s)", full, where(path), strings.Join(known, ", ")))
			continue
		}
		if sub, isMap := settings[k].(map[string]any); isMap && ft.Kind() == reflect.Struct {
			out = append(out, unknownKeys(sub, ft, full)...)
		}
	}
	return out
}

func where(path string) string {
	if path == "" {
		return " at the top level"
	}
	return " under " + path
}
