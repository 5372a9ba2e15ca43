// Package config holds fmam's typed experiment configuration: defaults,
// YAML files read through viper, FMAM_* environment variables, named
// presets (cpu-small), and validation with errors that say what to fix.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/viper"
	"go.yaml.in/yaml/v3"

	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/score"
)

// Config is one experiment.
type Config struct {
	Name     string `mapstructure:"name" yaml:"name"`
	Task     Task   `mapstructure:"task" yaml:"task"`
	Seed     uint64 `mapstructure:"seed" yaml:"seed"`
	Device   string `mapstructure:"device" yaml:"device"`
	Threads  int    `mapstructure:"threads" yaml:"threads"`
	OrtLib   string `mapstructure:"ort_lib" yaml:"ort_lib"`
	LogLevel string `mapstructure:"log_level" yaml:"log_level"`
	RunsDir  string `mapstructure:"runs_dir" yaml:"runs_dir"`

	Data  Data  `mapstructure:"data" yaml:"data"`
	Model Model `mapstructure:"model" yaml:"model"`
	Train Train `mapstructure:"train" yaml:"train"`
	Eval  Eval  `mapstructure:"eval" yaml:"eval"`
	// Report shapes the pictures: formats beside PNG (svg, pdf).
	Report Report `mapstructure:"report" yaml:"report"`

	// Presets are named overrides merged on top with --preset.
	Presets map[string]any `mapstructure:"presets" yaml:"presets,omitempty"`

	// paths is how each path key was written and where it was resolved
	// against, for error messages; warnings are notes on the resolution.
	paths    map[string]writtenPath
	warnings []string
	preset   string
}

// Report is how pictures are written.
type Report struct {
	// Formats are the files each figure is written as: png (always),
	// svg and pdf (vector, for papers).
	Formats []string `mapstructure:"formats" yaml:"formats"`
}

// Task is the kind of data a run works on; each baseline solves one.
type Task string

// The tasks. These are the only places the task names are spelt: code
// elsewhere compares with the constants.
const (
	TaskVideo Task = "video" // video data sets, frame-level scores
	TaskImage Task = "image" // image categories, image and pixel scores
)

// Data says where the data is and how it is shaped for the network.
type Data struct {
	// Kind: ped2, ped1, avenue, shanghaitech, frames (generic frames layout
	// with a MNAD-style labels .npy), synth-video (generated on the fly
	// into the run folder), mvtec, folder, synth-mvtec.
	Kind       string   `mapstructure:"kind" yaml:"kind"`
	Root       string   `mapstructure:"root" yaml:"root"`
	Labels     string   `mapstructure:"labels" yaml:"labels"`
	Categories []string `mapstructure:"categories" yaml:"categories"`
	Textures   string   `mapstructure:"textures" yaml:"textures"`
	Size       int      `mapstructure:"size" yaml:"size"`
	Frames     int      `mapstructure:"frames" yaml:"frames"`
	Channels   int      `mapstructure:"channels" yaml:"channels"`
	// FrameStep is the temporal stride between clip frames.
	FrameStep int `mapstructure:"frame_step" yaml:"frame_step"`
	// TestStride scores every k-th test frame (1 = all).
	TestStride int `mapstructure:"test_stride" yaml:"test_stride"`
	Workers    int `mapstructure:"workers" yaml:"workers"`
	// Strict makes the data check before training (package datacheck)
	// decode every file in full, not only the test split's and small
	// ones, and holds every image of an image data set to Size x Size
	// instead of resizing it.
	Strict bool `mapstructure:"strict" yaml:"strict"`
	// Objects is the object pipeline of object-centric baselines.
	Objects Objects `mapstructure:"objects" yaml:"objects,omitempty"`
	// Seed seeds generated data sets (synth-*); 0 uses the run's seed. A
	// multi-seed run sets it to its top-level seed in every seed folder,
	// so that all seeds train and test on the same data. Left out of
	// config.yaml when 0, so older run folders still match.
	Seed uint64 `mapstructure:"seed" yaml:"seed,omitempty"`
	// Range, Mean, Std and Filter are the network's input format (see
	// Data.Decode): the values 8-bit 0 and 255 map to ("-1,1", "0,1",
	// "0,255"; empty for the baseline's own), a per-channel normalisation
	// after the range (torchvision's Normalize), and the resize filter
	// (bilinear, or pil-bilinear for PIL's). Left out of config.yaml when
	// unset, so run folders written before the keys existed still match.
	Range  string    `mapstructure:"range" yaml:"range,omitempty"`
	Mean   []float64 `mapstructure:"mean" yaml:"mean,omitempty"`
	Std    []float64 `mapstructure:"std" yaml:"std,omitempty"`
	Filter string    `mapstructure:"filter" yaml:"filter,omitempty"`
	// ValFraction holds that fraction of the training normals out of
	// training (whole videos for video data sets): their scores give the
	// label-free threshold and the normalisation `fmam predict` uses. 0
	// trains on every normal, as runs made before the key did; it is left
	// out of config.yaml then, so those run folders still match.
	ValFraction float64 `mapstructure:"val_fraction" yaml:"val_fraction,omitempty"`
}

// Model is the baseline, the teacher source and the method's settings.
type Model struct {
	Arch  string  `mapstructure:"arch" yaml:"arch"` // mnad | draem
	Width float64 `mapstructure:"width" yaml:"width"`
	// Teacher is an ONNX file of a trained teacher; empty means fmam
	// trains one (stage teacher).
	Teacher string `mapstructure:"teacher" yaml:"teacher"`
	// TeacherRun is the folder of another run whose trained teacher this
	// run's students mimic, used in place (see CheckTeacherRun).
	TeacherRun  string             `mapstructure:"teacher_run" yaml:"teacher_run,omitempty"`
	Taps        []string           `mapstructure:"taps" yaml:"taps"`
	Attention   nn.AttentionConfig `mapstructure:"attention" yaml:"attention"`
	StudentInit string             `mapstructure:"student_init" yaml:"student_init"` // random | teacher
	WFea        float64            `mapstructure:"w_fea" yaml:"w_fea"`
	Init        string             `mapstructure:"init" yaml:"init"`
	Mimic       Mimic              `mapstructure:"mimic" yaml:"mimic"`
	// Memory switches on MNAD's memory module (video runs with the
	// built-in MNAD only) in teacher and student. Left out of config.yaml
	// when false, so run folders written before the key existed still
	// match their configuration.
	Memory bool `mapstructure:"memory" yaml:"memory,omitempty"`
	// ReconLoss is L_o of model.arch reconstruction: mse (also when
	// empty), l1, or ssim (DRAEM's L2 + SSIM). Left out of config.yaml
	// when empty, so older run folders still match.
	ReconLoss string `mapstructure:"recon_loss" yaml:"recon_loss,omitempty"`
	// ReconMode is what model.arch reconstruction's imported network does
	// on a video task: autoencoder (its output is its input clip),
	// predictor (its output is the clip's next frame), or auto (also when
	// empty: told from the teacher's shapes). Image tasks reconstruct.
	// Left out of config.yaml when empty, so older run folders still match.
	ReconMode string `mapstructure:"recon_mode" yaml:"recon_mode,omitempty"`
	// PKGNet are PKG-Net's settings; config.yaml records them for
	// model.arch pkgnet only.
	PKGNet PKGNet `mapstructure:"pkgnet" yaml:"pkgnet"`
}

// Mimic is the teacher pre-training option: the teacher's bottleneck
// mimics a layer of a frozen ImageNet backbone.
type Mimic struct {
	Backbone string  `mapstructure:"backbone" yaml:"backbone"`
	Layer    string  `mapstructure:"layer" yaml:"layer"`
	Weight   float64 `mapstructure:"weight" yaml:"weight"`
}

// Train sets the optimisation of both stages.
type Train struct {
	Batch           int            `mapstructure:"batch" yaml:"batch"`
	TeacherSteps    int            `mapstructure:"teacher_steps" yaml:"teacher_steps"`
	StudentSteps    int            `mapstructure:"student_steps" yaml:"student_steps"`
	LR              float64        `mapstructure:"lr" yaml:"lr"`
	Optim           optim.Config   `mapstructure:"optim" yaml:"optim"`
	Schedule        optim.Schedule `mapstructure:"schedule" yaml:"schedule"`
	CheckpointEvery int            `mapstructure:"checkpoint_every" yaml:"checkpoint_every"`
	// Seeds, when set, run every stage once per seed in seed-<k>/
	// sub-folders of the run folder (see Config.ForSeed); empty runs the
	// top-level seed in the run folder itself. Left out of config.yaml
	// when empty, so single-seed run folders are unchanged.
	Seeds []uint64 `mapstructure:"seeds" yaml:"seeds,omitempty"`
	// Control trains the control beside every student: the same network,
	// steps and seed on L_o alone (w_fea 0, no attention), shown in the
	// student's tables.
	Control bool `mapstructure:"control" yaml:"control"`
}

// Eval sets scoring.
type Eval struct {
	Lambda float64 `mapstructure:"lambda" yaml:"lambda"`
	Grid   string  `mapstructure:"grid" yaml:"grid"`
	Sigma  float64 `mapstructure:"sigma" yaml:"sigma"`
	Batch  int     `mapstructure:"batch" yaml:"batch"`
	// Pictures caps score curves or map panels written per run.
	Pictures int `mapstructure:"pictures" yaml:"pictures"`
	// Quantile is the quantile of the normal reference scores (held-out
	// with data.val_fraction, else training normals) taken as the
	// label-free threshold.
	Quantile float64 `mapstructure:"quantile" yaml:"quantile"`
}

// DefaultQuantile is eval.quantile's default: the label-free threshold is
// the 99th percentile of the normal reference scores.
const DefaultQuantile = 0.99

// SizeMultiple is what data.size must be a multiple of: the built-in
// networks pool 4 times. Networks that pool more say so in their
// CheckConfig (and to fmam bench).
const SizeMultiple = 16

// Defaults are used for every key a file does not set.
func Defaults() map[string]any {
	return map[string]any{
		"name": "experiment", "task": string(TaskVideo), "seed": 1, "device": "auto", "threads": 0,
		"ort_lib": "", "log_level": "info", "runs_dir": "runs",
		"data": map[string]any{"kind": "synth-video", "root": "", "labels": "", "categories": []string{}, "textures": "",
			"size": 64, "frames": 4, "channels": 3, "frame_step": 1, "test_stride": 1, "workers": 2, "strict": false, "seed": 0,
			"range": "", "mean": []float64{}, "std": []float64{}, "filter": "", "val_fraction": 0.0},
		"model": map[string]any{"arch": "mnad", "width": 0.125, "teacher": "", "teacher_run": "", "taps": []string{"bottleneck"},
			"attention":    map[string]any{"kind": "sca", "reduction": 8, "kernel": 0},
			"student_init": "random", "w_fea": 1.0, "init": "pytorch",
			"mimic": map[string]any{"backbone": "", "layer": "", "weight": 1.0}, "memory": false, "recon_loss": "", "recon_mode": "",
			"pkgnet": pkgnetDefaults()},
		"train": map[string]any{"batch": 4, "teacher_steps": 300, "student_steps": 300, "lr": 2e-4, "control": true,
			"optim":            optimDefaults(),
			"schedule":         map[string]any{"kind": "cosine", "milestones": []float64{}, "gamma": 0.2, "min_lr": 0.0, "warmup_steps": 0},
			"checkpoint_every": 100, "seeds": []uint64{}},
		"eval":   map[string]any{"lambda": 0.5, "grid": "0:1:0.05", "sigma": 0.0, "batch": 8, "pictures": 6, "quantile": DefaultQuantile},
		"report": map[string]any{"formats": []string{"png"}},
	}
}

// optimDefaults is optim.Defaults as a settings map, keyed like the YAML.
// float32 fields go through their shortest decimal form so that 0.9 stays
// 0.9 rather than 0.899999976158.
func optimDefaults() map[string]any {
	d := optim.Defaults()
	f := func(v float32) float64 {
		x, _ := strconv.ParseFloat(strconv.FormatFloat(float64(v), 'g', -1, 32), 64)
		return x
	}
	return map[string]any{"kind": d.Kind, "momentum": f(d.Momentum), "beta1": f(d.Beta1), "beta2": f(d.Beta2),
		"eps": f(d.Eps), "weight_decay": f(d.WeightDecay), "clip_norm": f(d.ClipNorm)}
}

// Load builds the configuration: defaults, then the YAML file (or the
// embedded one when file is empty and embedded is given), then the preset,
// then FMAM_* variables and explicitly set flags (overrides).
func Load(file string, embedded []byte, preset string, overrides map[string]any) (*Config, error) {
	return load(file, embedded, preset, overrides, true)
}

// LoadRecorded reads a run folder's config.yaml as it was written: no
// preset, no FMAM_* variables, no flags, so that it can be compared with
// the configuration a command asks for.
func LoadRecorded(file string) (*Config, error) {
	return load(file, nil, "", nil, false)
}

func load(file string, embedded []byte, preset string, overrides map[string]any, env bool) (*Config, error) {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.MergeConfigMap(Defaults()); err != nil {
		return nil, err
	}
	src := "built-in defaults"
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("read config %s: %w", file, err)
		}
		if err := v.MergeConfig(bytes.NewReader(b)); err != nil {
			return nil, fmt.Errorf("read config %s: %w", file, err)
		}
		src = file
	case embedded != nil:
		if err := v.MergeConfig(bytes.NewReader(embedded)); err != nil {
			return nil, fmt.Errorf("read embedded config: %w", err)
		}
		src = "(the embedded demo, configs/demo.yaml)"
	}
	if preset != "" {
		p := v.Get("presets." + preset)
		m, ok := p.(map[string]any)
		if !ok {
			have := strings.Join(keys(v.GetStringMap("presets")), ", ")
			if have == "" {
				have = "none"
			}
			return nil, fmt.Errorf("config %s: no preset %q (its presets: %s)", src, preset, have)
		}
		// Checked apart from the file so that the error names the preset.
		if bad := unknownKeys(m, reflect.TypeOf(Config{}), ""); len(bad) > 0 {
			return nil, fmt.Errorf("config %s: preset %s: unknown key %s", src, preset, strings.Join(bad, "; unknown key "))
		}
		if err := v.MergeConfigMap(m); err != nil {
			return nil, fmt.Errorf("apply preset %s: %w", preset, err)
		}
	}
	var c Config
	// Paths from the file (and its presets) are resolved against the
	// file's folder; those from FMAM_* variables and flags, and those of
	// an embedded config, against the working directory.
	base := ""
	if file != "" {
		base = filepath.Dir(file)
	}
	// Environment (FMAM_DEVICE, FMAM_TRAIN_LR ...), then flags; see env.go.
	var set []setting
	if env {
		var err error
		if set, err = envSettings(reflect.TypeOf(c), v.AllKeys()); err != nil {
			return nil, err
		}
	}
	for _, k := range keys(overrides) {
		set = append(set, flagSetting(k, overrides[k]))
	}
	if err := checkSettings(set); err != nil {
		return nil, err
	}
	fromCWD := map[string]bool{}
	for _, s := range set {
		v.Set(s.key, s.value)
		fromCWD[s.key] = true
	}
	dec, err := newDecoder(&c, true)
	if err != nil {
		return nil, err
	}
	settings := v.AllSettings()
	if bad := unknownKeys(settings, reflect.TypeOf(c), ""); len(bad) > 0 {
		return nil, fmt.Errorf("config %s: unknown key %s", src, strings.Join(bad, "; unknown key "))
	}
	if err := dec.Decode(settings); err != nil {
		return nil, fmt.Errorf("config %s: %w (see configs/ for the known keys)", src, err)
	}
	if preset != "" {
		c.Name += "-" + preset
	}
	c.preset = preset
	if err := c.resolvePaths(base, fromCWD, file); err != nil {
		return nil, blame(err, set, src)
	}
	if err := c.Validate(); err != nil {
		return nil, blame(err, set, src)
	}
	return &c, nil
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Validate checks every field and reports all problems at once.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Name == "" || strings.ContainsAny(c.Name, `/\`) {
		bad("name %q must be non-empty and contain no slashes (it names the run folder)", c.Name)
	}
	switch c.Task {
	case TaskVideo, TaskImage:
	default:
		bad("task %q: use %s or %s", c.Task, TaskVideo, TaskImage)
	}
	switch c.Device {
	case "cpu", "cuda", "auto":
	default:
		bad("device %q: use cpu, cuda or auto", c.Device)
	}
	for _, f := range c.Report.Formats {
		if f != "png" && f != "svg" && f != "pdf" {
			bad("report.formats: %q is not png, svg or pdf", f)
		}
	}
	if c.Threads < 0 {
		bad("threads %d must be >= 0 (0 lets ONNX Runtime choose)", c.Threads)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("log_level %q: use debug, info, warn or error", c.LogLevel)
	}
	if c.Data.Root == "" && !strings.HasPrefix(c.Data.Kind, "synth-") {
		bad("data.root is empty: give the dataset folder")
	}
	if c.Data.Size < SizeMultiple || c.Data.Size%SizeMultiple != 0 {
		bad("data.size %d must be a multiple of %d (the networks pool 4 times)", c.Data.Size, SizeMultiple)
	}
	if c.Data.Frames < 1 || c.Data.Channels != 1 && c.Data.Channels != 3 {
		bad("data.frames must be >= 1 and data.channels 1 or 3")
	}
	if c.Data.FrameStep < 1 || c.Data.TestStride < 1 || c.Data.Workers < 1 {
		bad("data.frame_step, data.test_stride and data.workers must be >= 1")
	}
	errs = append(errs, c.Data.Objects.validate()...)
	errs = append(errs, c.Data.validateInput()...)
	if c.Model.Teacher != "" && c.Model.TeacherRun != "" {
		bad("model.teacher %s and model.teacher_run %s both name a teacher: keep one", c.Model.Teacher, c.Model.TeacherRun)
	}
	if c.Model.Width <= 0 || c.Model.Width > 4 {
		bad("model.width %v must be in (0, 4]", c.Model.Width)
	}
	if len(c.Model.Taps) == 0 {
		bad("model.taps is empty: name at least one tap (e.g. bottleneck)")
	}
	if c.Model.Attention.Kind == "" {
		c.Model.Attention.Kind = nn.AttnSCA
	}
	if err := c.Model.Attention.WithDefaults().Validate(); err != nil {
		bad("model.attention: %v", err)
	}
	switch c.Model.StudentInit {
	case "random", "teacher":
	default:
		bad("model.student_init %q: use random or teacher", c.Model.StudentInit)
	}
	switch c.Model.Init {
	case string(nn.InitPyTorch), string(nn.InitNormal002):
	default:
		bad("model.init %q: use pytorch or normal0.02", c.Model.Init)
	}
	switch c.Model.ReconLoss {
	case "", "mse", "l1", "ssim":
	default:
		bad("model.recon_loss %q: use mse, l1 or ssim (model.arch reconstruction)", c.Model.ReconLoss)
	}
	switch c.Model.ReconMode {
	case "", "auto", "autoencoder", "predictor":
	default:
		bad("model.recon_mode %q: use auto, autoencoder or predictor (model.arch reconstruction on video)", c.Model.ReconMode)
	}
	if c.Model.WFea < 0 {
		bad("model.w_fea %v must be >= 0", c.Model.WFea)
	}
	if (c.Model.Mimic.Backbone == "") != (c.Model.Mimic.Layer == "") {
		bad("model.mimic needs both backbone (an ONNX file) and layer (an output name)")
	}
	errs = append(errs, c.Model.PKGNet.validate()...)
	if c.Train.Batch < 1 {
		bad("train.batch %d must be >= 1", c.Train.Batch)
	}
	if c.Train.TeacherSteps < 0 || c.Train.StudentSteps < 0 || c.Train.CheckpointEvery < 0 {
		bad("train.teacher_steps %d, train.student_steps %d and train.checkpoint_every %d must be >= 0", c.Train.TeacherSteps, c.Train.StudentSteps, c.Train.CheckpointEvery)
	}
	if err := c.checkSeedKeys(); err != nil {
		bad("%v", err)
	}
	if c.Train.LR <= 0 {
		bad("train.lr %v must be > 0", c.Train.LR)
	}
	if err := c.Train.Optim.WithDefaults().Validate(); err != nil {
		bad("train.optim: %v", err)
	}
	if err := c.Train.Schedule.Validate(); err != nil {
		bad("train.schedule: %v", err)
	}
	if c.Eval.Lambda < 0 || c.Eval.Lambda > 1 {
		bad("eval.lambda %v must be in [0, 1]", c.Eval.Lambda)
	}
	if !(c.Data.ValFraction >= 0 && c.Data.ValFraction < 1) {
		bad("data.val_fraction %v must be in [0, 1): the fraction of training normals held out for thresholds", c.Data.ValFraction)
	}
	if !(c.Eval.Quantile > 0 && c.Eval.Quantile <= 1) {
		bad("eval.quantile %v must be in (0, 1], e.g. 0.99", c.Eval.Quantile)
	}
	if c.Eval.Sigma < 0 || c.Eval.Batch < 1 {
		bad("eval.sigma must be >= 0 and eval.batch >= 1")
	}
	// Checked here, not when the sweep runs after training.
	if c.Eval.Grid != "" {
		grid, err := score.ParseGrid(c.Eval.Grid)
		if err != nil {
			bad("eval.grid: %v", err)
		}
		for _, l := range grid {
			if l < 0 || l > 1 {
				bad("eval.grid %q: lambda %v is outside [0, 1]", c.Eval.Grid, l)
				break
			}
		}
	}
	return errors.Join(errs...)
}

// YAML renders the resolved configuration (presets dropped) for the run
// folder, so a run records exactly what it ran with. A run whose teacher
// is not trained here (model.teacher or model.teacher_run) does not record
// the teacher's training settings (unusedKeys): they did not shape it.
func (c *Config) YAML() ([]byte, error) { return c.render(true) }

// FullYAML is YAML with every key, as run folders recorded it before
// unused keys were left out.
func (c *Config) FullYAML() ([]byte, error) { return c.render(false) }

// render encodes the configuration without its presets, without the
// unused teacher keys when dropUnused is set, and without model.pkgnet
// unless PKG-Net is the baseline (the key is newer than the run folders
// of the other baselines).
func (c *Config) render(dropUnused bool) ([]byte, error) {
	cc := *c
	cc.Presets = nil
	var doc yaml.Node
	if err := doc.Encode(&cc); err != nil {
		return nil, err
	}
	if dropUnused {
		for _, k := range c.unusedKeys() {
			dropKey(&doc, strings.Split(k, "."))
		}
	}
	if c.Model.Arch != ArchPKGNet {
		dropKey(&doc, []string{"model", "pkgnet"})
	}
	return yaml.Marshal(&doc)
}
