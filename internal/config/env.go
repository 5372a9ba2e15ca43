package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/go-viper/mapstructure/v2"
)

// The FMAM_* variables of config keys are as strict as the YAML: a
// variable that names a section (FMAM_TRAIN_...) but no key is an error
// with the nearest key, an empty value is an error (it would otherwise
// read as 0) except for keys that name a file or folder (clearable), and an error about a value names the variable or flag it
// came from rather than the config file. Variables that are not keys
// (FMAM_CACHE, FMAM_REQUIRE, FMAM_PIL_REF, FMAM_PROFILE) name no section
// and are left alone.

// setting is one key set by an FMAM_* variable or a flag (override).
type setting struct {
	key   string
	value any
	// from names the source in errors: FMAM_TRAIN_LR=abc, --threads=-1.
	from string
}

// envVar is the variable that sets key: FMAM_ and the key upper-cased,
// dots as underscores.
func envVar(key string) string {
	return "FMAM_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// flagSetting names an override by its flag, the last part of its key
// (train.teacher_steps: --teacher-steps), as cmd/fmam spells them.
func flagSetting(key string, value any) setting {
	k := strings.ToLower(key)
	name := k[strings.LastIndex(k, ".")+1:]
	return setting{key: k, value: value, from: fmt.Sprintf("--%s=%v", strings.ReplaceAll(name, "_", "-"), value)}
}

// envSettings reads the FMAM_* variables of the keys of t (and extra, the
// keys viper holds), reporting every unknown or empty one at once.
func envSettings(t reflect.Type, extra []string) ([]setting, error) {
	byVar := map[string]string{}
	for _, k := range append(leafKeys(t, ""), extra...) {
		if !strings.HasPrefix(k, "presets.") {
			byVar[envVar(k)] = k
		}
	}
	var sections []string
	for i := range t.NumField() {
		if f := t.Field(i); f.IsExported() && f.Type.Kind() == reflect.Struct {
			sections = append(sections, envVar(tagName(f))+"_")
		}
	}
	env := os.Environ()
	slices.Sort(env)
	var out []setting
	var errs []error
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		key, ok := byVar[name]
		switch {
		case !ok && slices.ContainsFunc(sections, func(s string) bool { return strings.HasPrefix(name, s) }):
			near := nearest(name, byVar)
			errs = append(errs, fmt.Errorf("%s names no config key; did you mean %s (%s)? Fix the name or unset it", name, near, byVar[near]))
		case !ok:
		case val == "" && !clearable(key):
			errs = append(errs, fmt.Errorf("%s is set but empty: give %s a value or unset it", name, key))
		default:
			out = append(out, setting{key: key, value: val, from: name + "=" + val})
		}
	}
	return out, errors.Join(errs...)
}

// clearable reports whether an empty FMAM_* value is meaningful for key:
// keys that name a file, folder or detector, where empty means "none" (a
// detector in place of a config's box files, no imported teacher). Every
// other key, numbers above all, refuses an empty value.
func clearable(key string) bool {
	switch key[strings.LastIndex(key, ".")+1:] {
	case "root", "labels", "textures", "train_boxes", "test_boxes", "detector", "cache", "teacher", "teacher_run", "backbone", "ort_lib":
		return true
	}
	return false
}

// leafKeys lists the keys of t's fields, as unknownKeys names them.
func leafKeys(t reflect.Type, path string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		k := tagName(f)
		if path != "" {
			k = path + "." + k
		}
		if f.Type.Kind() == reflect.Struct {
			out = append(out, leafKeys(f.Type, k)...)
		} else {
			out = append(out, k)
		}
	}
	return out
}

func tagName(f reflect.StructField) string {
	if name := strings.Split(f.Tag.Get("mapstructure"), ",")[0]; name != "" {
		return name
	}
	return strings.ToLower(f.Name)
}

// nearest is the variable of byVar closest to name in edit distance.
func nearest(name string, byVar map[string]string) string {
	vars := make([]string, 0, len(byVar))
	for v := range byVar {
		vars = append(vars, v)
	}
	slices.Sort(vars)
	best, bestD := "", -1
	for _, v := range vars {
		if d := editDistance(name, v); bestD < 0 || d < bestD {
			best, bestD = v, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// checkSettings decodes each setting alone, so that a value of the wrong
// type is blamed on its variable or flag.
func checkSettings(set []setting) error {
	var errs []error
	for _, s := range set {
		parts := strings.Split(s.key, ".")
		m := map[string]any{parts[len(parts)-1]: s.value}
		for i := len(parts) - 2; i >= 0; i-- {
			m = map[string]any{parts[i]: m}
		}
		var c Config
		dec, err := newDecoder(&c, false)
		if err != nil {
			return err
		}
		if err := dec.Decode(m); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", s.from, s.key, unwrapDecode(err)))
		}
	}
	return errors.Join(errs...)
}

// unwrapDecode drops mapstructure's "decoding failed" preamble.
func unwrapDecode(err error) error {
	var de *mapstructure.DecodeError
	if errors.As(err, &de) {
		return de.Unwrap()
	}
	return err
}

// newDecoder decodes viper's settings into out; comma lists so that
// FMAM_TRAIN_SEEDS=0,1,2 and FMAM_DATA_CATEGORIES=a,b read as lists (float
// lists first: FMAM_DATA_MEAN=0.5,0.5,0.5).
func newDecoder(out *Config, errorUnused bool) (*mapstructure.Decoder, error) {
	return mapstructure.NewDecoder(&mapstructure.DecoderConfig{ErrorUnused: errorUnused, WeaklyTypedInput: true, Result: out, TagName: "mapstructure",
		DecodeHook: mapstructure.ComposeDecodeHookFunc(floatListHook, mapstructure.StringToWeakSliceHookFunc(","))})
}

// blame prefixes each of err's joined errors with the variable or flag
// whose key it names (or a parent of that key, model.attention for
// model.attention.kind), and the rest with the config file.
func blame(err error, set []setting, src string) error {
	list := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	}
	var own, rest []error
	for _, e := range list {
		if s, ok := culprit(e.Error(), set); ok {
			own = append(own, fmt.Errorf("%s: %w", s.from, e))
		} else {
			rest = append(rest, e)
		}
	}
	if len(own) == 0 {
		return fmt.Errorf("config %s: %w", src, err)
	}
	if len(rest) > 0 {
		own = append(own, fmt.Errorf("config %s: %w", src, errors.Join(rest...)))
	}
	return errors.Join(own...)
}

// culprit is the last setting (flags win over variables) whose key, or a
// parent below the top level, msg names as a word.
func culprit(msg string, set []setting) (setting, bool) {
	for i := len(set) - 1; i >= 0; i-- {
		parts := strings.Split(set[i].key, ".")
		for n := len(parts); n >= 1 && (n >= 2 || len(parts) == 1); n-- {
			if namesWord(msg, strings.Join(parts[:n], ".")) {
				return set[i], true
			}
		}
	}
	return setting{}, false
}

func namesWord(msg, key string) bool {
	word := func(b byte) bool {
		return b == '_' || b == '.' || b == '-' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9'
	}
	for i := 0; ; {
		j := strings.Index(msg[i:], key)
		if j < 0 {
			return false
		}
		j += i
		end := j + len(key)
		if (j == 0 || !word(msg[j-1])) && (end == len(msg) || !word(msg[end])) {
			return true
		}
		i = j + 1
	}
}
