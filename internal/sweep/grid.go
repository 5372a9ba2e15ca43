// Package sweep runs a grid of fmam runs: a sweep file's axes (any config
// keys, seeds, presets, several configs) expanded deterministically into
// units, each an ordinary run folder under one sweep folder with a stable
// id and a readable name; units that train the same teacher share one
// teacher run, trained once. It shards the units over processes (--shard,
// Slurm job arrays, Kubernetes Indexed Jobs), writes the job files, reports
// each unit's state from the folders and their locks, and gathers the
// units' evaluations into one table over the grid.
package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/baseline"
)

// The axis keys that are not config keys: the config file and its preset.
const (
	KeyConfig = "config"
	KeyPreset = "preset"
	// KeySeed is the config key a seed axis sets; gather averages over it.
	KeySeed = "seed"
)

// File is a sweep file:
//
//	name: ped2-attention          # the sweep folder's name (default: the file's)
//	configs: [configs/ped2.yaml]  # default: --config (or the embedded demo)
//	presets: [cpu-small]          # default: --preset
//	grid:                         # axes, in this order; any config key
//	  model.attention.kind: [sca, ca, none]
//	  seed: [0, 1, 2]
//	slurm: {cpus: 4, gpus: 1, mem: 16G, time: "04:00:00", partition: gpu, parallel: 8}
type File struct {
	Name    string    `yaml:"name"`
	Configs []string  `yaml:"configs"`
	Presets []string  `yaml:"presets"`
	Grid    yaml.Node `yaml:"grid"`
	Slurm   Resources `yaml:"slurm"`
}

// Axis is one grid key and its values, each as YAML flow text ("0.1",
// "sca", "[encoder, bottleneck]") so that the plan stays exact through
// JSON.
type Axis struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// Plan is a sweep: what the sweep folder's sweep.json records, from which
// every process (every shard, every array task) derives the same units.
type Plan struct {
	Name string `json:"name"`
	Dir  string `json:"dir"`
	// Axes are the grid's, with a config and a preset axis first when
	// there are several of either.
	Axes []Axis `json:"axes"`
	// Overrides are settings every unit gets (the root flags given).
	Overrides map[string]string `json:"overrides,omitempty"`
	Slurm     Resources         `json:"slurm"`
}

// ReadFile reads a sweep file into a plan for the sweep folder dir
// (default: runsDir/sweeps/<name>). configs and preset are the command's
// --config ("" for the embedded demo) and --preset, used when the file
// names none.
func ReadFile(path, dir, runsDir, config, preset string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sweep file: %w", err)
	}
	var f File
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("sweep file %s: %w (known keys: name, configs, presets, grid, slurm)", path, err)
	}
	if f.Name == "" {
		f.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	p := &Plan{Name: f.Name, Slurm: f.Slurm}
	configs := f.Configs
	if len(configs) == 0 {
		configs = []string{config}
	}
	for i, c := range configs {
		if c == "" {
			continue
		}
		if configs[i], err = filepath.Abs(c); err != nil {
			return nil, err
		}
		if _, err := os.Stat(configs[i]); err != nil {
			return nil, fmt.Errorf("sweep file %s: configs: %w", path, err)
		}
	}
	presets := f.Presets
	if len(presets) == 0 {
		presets = []string{preset}
	}
	p.Axes = append(p.Axes, Axis{Key: KeyConfig, Values: configs}, Axis{Key: KeyPreset, Values: presets})
	axes, err := gridAxes(&f.Grid)
	if err != nil {
		return nil, fmt.Errorf("sweep file %s: %w", path, err)
	}
	p.Axes = append(p.Axes, axes...)
	if dir == "" {
		dir = filepath.Join(runsDir, "sweeps", f.Name)
	}
	if p.Dir, err = filepath.Abs(dir); err != nil {
		return nil, err
	}
	return p, p.check()
}

// gridAxes reads the grid mapping in its order.
func gridAxes(n *yaml.Node) ([]Axis, error) {
	if n.Kind == 0 {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("grid: want a mapping of config keys to lists of values")
	}
	var out []Axis
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i].Value, n.Content[i+1]
		if v.Kind != yaml.SequenceNode || len(v.Content) == 0 {
			return nil, fmt.Errorf("grid: %s: want a non-empty list of values", k)
		}
		a := Axis{Key: k}
		for _, e := range v.Content {
			b, err := yaml.Marshal(flow(e))
			if err != nil {
				return nil, fmt.Errorf("grid: %s: %w", k, err)
			}
			a.Values = append(a.Values, strings.TrimSpace(string(b)))
		}
		out = append(out, a)
	}
	return out, nil
}

// flow sets a value's node (and its children) to flow style, so that a
// list value is one line of text.
func flow(n *yaml.Node) *yaml.Node {
	c := *n
	c.Style |= yaml.FlowStyle
	c.HeadComment, c.LineComment, c.FootComment = "", "", ""
	for i, e := range c.Content {
		c.Content[i] = flow(e)
	}
	return &c
}

// check refuses what a sweep cannot run.
func (p *Plan) check() error {
	if p.Name == "" || strings.ContainsAny(p.Name, `/\`) {
		return fmt.Errorf("sweep name %q must be non-empty and contain no slashes", p.Name)
	}
	var seen []string
	for _, a := range p.Axes {
		if slices.Contains(seen, a.Key) {
			return fmt.Errorf("grid: %s is given twice", a.Key)
		}
		seen = append(seen, a.Key)
		switch a.Key {
		case "train.seeds":
			return fmt.Errorf("grid: train.seeds: give seeds as an axis, seed: [0, 1, 2]; each seed is then a unit of its own, and gather averages over them")
		case "model.teacher_run", "name", "runs_dir":
			return fmt.Errorf("grid: %s is set by the sweep for each unit", a.Key)
		}
		for i, v := range a.Values {
			if slices.Index(a.Values, v) != i {
				return fmt.Errorf("grid: %s: value %s is given twice", a.Key, v)
			}
		}
	}
	return nil
}

// Setting is one axis value of a unit.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"` // YAML flow text
}

// Unit is one run of the grid.
type Unit struct {
	// Index is the unit's place in the expansion (the array task id).
	Index int
	// ID is stable: a hash of the unit's settings, the same however the
	// grid around it grows.
	ID string
	// Name is the folder name: the settings of the axes with several
	// values, e.g. "kind-ca_seed-1".
	Name string
	// Config ("" for the embedded demo) and Preset are the unit's.
	Config, Preset string
	// Settings are the unit's config keys from the grid, in axis order.
	Settings []Setting
	Dir      string
	// Teacher is the shared teacher run whose teacher the unit's student
	// mimics (model.teacher_run), nil when the unit trains its own or
	// imports one.
	Teacher *Teacher
}

// Teacher is a teacher run shared by the units that train the same
// teacher: the units' configuration without the student's keys, with
// train.student_steps 0.
type Teacher struct {
	Name, Dir      string
	Config, Preset string
	Settings       []Setting
}

// studentKeys shape only the student (and the scores), not the teacher:
// units that differ only in them share a teacher. The teacher's keys are
// the rest, as CheckTeacherRun compares them and more (train.lr,
// train.batch and seed shape the teacher too).
var studentKeys = []string{"model.taps", "model.attention", "model.student_init", "model.w_fea", "train.student_steps", "train.control", "eval"}

// StudentOnly reports whether a config key shapes only the student.
func StudentOnly(key string) bool {
	return slices.ContainsFunc(studentKeys, func(k string) bool { return key == k || strings.HasPrefix(key, k+".") })
}

// Units expands the grid, the last axis fastest. shareTeacher is false
// when the units' configs import their teacher (model.teacher) or name a
// teacher run already: they then train none.
func (p *Plan) Units(shareTeacher bool) []Unit {
	n := 1
	for _, a := range p.Axes {
		n *= len(a.Values)
	}
	short := shortKeys(p.Axes)
	var out []Unit
	controlled := map[string]bool{}
	for i := range n {
		u := Unit{Index: i}
		var parts, tparts []string
		var tset []Setting
		rest := i
		idx := make([]int, len(p.Axes))
		for j := len(p.Axes) - 1; j >= 0; j-- {
			idx[j] = rest % len(p.Axes[j].Values)
			rest /= len(p.Axes[j].Values)
		}
		var canon []string
		for j, a := range p.Axes {
			v := a.Values[idx[j]]
			canon = append(canon, a.Key+"="+v)
			label := ""
			if len(a.Values) > 1 {
				label = short[j] + "-" + valueName(a.Key, v)
			}
			switch a.Key {
			case KeyConfig:
				u.Config = v
			case KeyPreset:
				u.Preset = v
			default:
				u.Settings = append(u.Settings, Setting{a.Key, v})
				if !StudentOnly(a.Key) {
					tset = append(tset, Setting{a.Key, v})
				}
			}
			if label != "" {
				parts = append(parts, label)
				if !StudentOnly(a.Key) {
					tparts = append(tparts, label)
				}
			}
		}
		sum := sha256.Sum256([]byte(strings.Join(canon, "\n")))
		u.ID = hex.EncodeToString(sum[:4])
		u.Name = strings.Join(parts, "_")
		if u.Name == "" {
			u.Name = "unit"
		}
		u.Dir = filepath.Join(p.Dir, "units", u.Name)
		if shareTeacher {
			name := strings.Join(tparts, "_")
			if name == "" {
				name = "teacher"
			}
			u.Teacher = &Teacher{Name: name, Dir: filepath.Join(p.Dir, "teachers", name), Config: u.Config, Preset: u.Preset, Settings: tset}
			// The control (the student network on L_o alone) depends on
			// the teacher and on the keys below, not on the attention or
			// w_fea the units vary: one unit of each such group trains
			// it and shows its rows; the others switch it off.
			group := name
			for _, s := range u.Settings {
				if slices.Contains(controlKeys, s.Key) {
					group += "\x00" + s.Key + "=" + s.Value
				}
			}
			if controlled[group] && !slices.ContainsFunc(u.Settings, func(s Setting) bool { return s.Key == "train.control" }) {
				u.Settings = append(u.Settings, Setting{"train.control", "false"})
			}
			controlled[group] = true
		}
		out = append(out, u)
	}
	return out
}

// controlKeys shape the control besides its teacher: units sharing a
// teacher and these values share one control.
var controlKeys = []string{"model.taps", "model.student_init", "train.student_steps", "train.control"}

// shortKeys are the axis labels of folder names: a key's last part
// ("kind" for model.attention.kind) when no other axis ends the same, else
// the key with dots as dashes.
func shortKeys(axes []Axis) []string {
	last := func(k string) string { return k[strings.LastIndex(k, ".")+1:] }
	var out []string
	for _, a := range axes {
		s := last(a.Key)
		for _, b := range axes {
			if b.Key != a.Key && last(b.Key) == s {
				s = strings.ReplaceAll(a.Key, ".", "-")
				break
			}
		}
		out = append(out, s)
	}
	return out
}

// valueName is a value as a folder name part: a config file's base name,
// lists joined by "+", anything else made safe.
func valueName(key, v string) string {
	if key == KeyConfig {
		if v == "" {
			return "demo"
		}
		return strings.TrimSuffix(filepath.Base(v), filepath.Ext(v))
	}
	if v == "" || v == `""` {
		return "none"
	}
	v = strings.Trim(v, "[]{}")
	v = strings.ReplaceAll(v, ", ", "+")
	v = strings.ReplaceAll(v, ",", "+")
	return baseline.SafeName(v)
}

// Values decodes a unit's settings into config overrides (dotted key to
// value) for config.Load.
func Values(set []Setting) (map[string]any, error) {
	out := map[string]any{}
	for _, s := range set {
		var v any
		if err := yaml.Unmarshal([]byte(s.Value), &v); err != nil {
			return nil, fmt.Errorf("grid: %s: %s: %w", s.Key, s.Value, err)
		}
		out[s.Key] = v
	}
	return out, nil
}

// PlanFile is where the sweep folder records its plan.
func PlanFile(dir string) string { return filepath.Join(dir, "sweep.json") }

// Write records the plan in its sweep folder; a folder that holds another
// plan is refused, naming what differs, as run folders refuse another
// configuration.
func (p *Plan) Write() error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if old, err := os.ReadFile(PlanFile(p.Dir)); err == nil {
		if string(old) == string(b) {
			return nil
		}
		return fmt.Errorf("sweep folder %s holds another sweep (%s differs from this grid); use another --dir, or delete the folder", p.Dir, PlanFile(p.Dir))
	}
	return atomicfile.Write(PlanFile(p.Dir), b)
}

// Load reads the plan a sweep folder records.
func Load(dir string) (*Plan, error) {
	b, err := os.ReadFile(PlanFile(dir))
	if err != nil {
		return nil, fmt.Errorf("sweep folder %s: %w; start it with 'fmam sweep plan --grid FILE --dir %s' or 'fmam sweep --grid FILE'", dir, err, dir)
	}
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("sweep folder %s: %w", PlanFile(dir), err)
	}
	return &p, p.check()
}
