// Package experiment runs fmam's stages over a run folder: train the
// teacher, train a student with feature mimicking and attention, evaluate
// both, re-score saved raw scores for a lambda grid, and ablate the tap
// layers. Everything a stage writes lands in the run folder atomically, and
// every stage resumes or skips work already done.
package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/membudget"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/train"
)

// Env is what every stage needs.
type Env struct {
	Cfg      *config.Config
	RT       *ort.Runtime
	Log      *slog.Logger
	Progress io.Writer // progress bars; nil for none
	// Layout is the run folder; Baseline the run's baseline.
	Layout   baseline.Layout
	Baseline baseline.Baseline
	// created: Open made the run folder, so a failed start may remove it.
	created bool
	// checks are the data checks passed (CheckData).
	checks *dataChecks
}

// Open resolves the run folder, checks the configuration against the one
// the folder holds, opens ONNX Runtime and, for a new run, writes the
// resolved config into the folder. A run folder that holds a different
// configuration is refused with every setting that differs, so a resumed
// run cannot silently mix settings; nothing is created before every check
// has passed. lib is the ONNX Runtime library to load (ort.FindLibrary).
func Open(cfg *config.Config, runDir, lib string, log *slog.Logger, progress io.Writer) (*Env, error) {
	b, err := registry.Lookup(cfg)
	if err != nil {
		return nil, err
	}
	if err := cfg.CheckPaths(); err != nil {
		return nil, err
	}
	if dir := cfg.Model.TeacherRun; dir != "" { // once per run, not per stage
		if err := CheckTeacherRun(cfg, dir); err != nil {
			return nil, err
		}
	}
	if runDir == "" {
		runDir = DefaultRunDir(cfg)
	}
	layout := baseline.Layout{Root: runDir}
	cfgPath := layout.Config()
	_, statErr := os.Stat(cfgPath)
	isNew := statErr != nil
	if !isNew {
		if err := checkSameRun(cfgPath, cfg); err != nil {
			return nil, err
		}
		// A killed process leaves its temporary files (a half-generated
		// data set, a zero-byte picture); no later write takes their name.
		n, err := atomicfile.RemoveStale(runDir, time.Now())
		if n > 0 {
			log.Info("removed temporary files a stopped fmam left in the run folder", "count", n, "dir", runDir)
		}
		if err != nil {
			log.Warn("could not remove every stale temporary file", "dir", runDir, "err", err)
		}
	}
	if isNew {
		if err := CheckMemory(b, cfg, membudget.System, log); err != nil {
			return nil, err
		}
	}
	rt, err := ort.Open(lib)
	if err != nil {
		return nil, err
	}
	e := &Env{Cfg: cfg, RT: rt, Log: log, Progress: progress, Layout: layout, Baseline: b, checks: newDataChecks()}
	if isNew {
		_, err := os.Stat(runDir)
		e.created = err != nil
		if err := e.writeConfig(); err != nil {
			e.Discard()
			e.Close()
			return nil, err
		}
	}
	return e, nil
}

func (e *Env) writeConfig() error {
	y, err := e.Cfg.YAML()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(e.Layout.Root, 0o755); err != nil {
		return fmt.Errorf("create run folder %s: %w", e.Layout.Root, err)
	}
	return atomicfile.Write(e.Layout.Config(), y)
}

// DefaultRunDir is the run folder of a configuration without --run:
// runs_dir/<name>.
func DefaultRunDir(cfg *config.Config) string { return filepath.Join(cfg.RunsDir, cfg.Name) }

// checkSameRun compares the run folder's config.yaml with cfg and names
// every training setting that differs.
func checkSameRun(path string, cfg *config.Config) error {
	old, err := config.LoadRecorded(path)
	if err != nil {
		return fmt.Errorf("run folder %s: %w", filepath.Dir(path), err)
	}
	diff, err := config.Diff(old, cfg)
	if err != nil {
		return err
	}
	if len(diff) == 0 {
		return nil
	}
	dir := filepath.Dir(path)
	next, err := NextVersion(dir)
	if err != nil {
		return err
	}
	return fmt.Errorf("run folder %s holds a run with another configuration (%s): %s; start a new version with --new-version (%s), use a new name or --run DIR, or delete the folder",
		dir, path, strings.Join(diff, "; "), next)
}

// NextVersion is the folder a new version of the run in dir starts in:
// dir itself when it holds no run yet, else the first of dir/v2, dir/v3,
// ... that holds none (anomalib numbers its runs the same way).
func NextVersion(dir string) (string, error) {
	l := baseline.Layout{Root: dir}
	if _, err := os.Stat(l.Config()); err != nil {
		return dir, nil
	}
	for v := 2; v < 10000; v++ {
		d := filepath.Join(dir, fmt.Sprintf("v%d", v))
		if _, err := os.Stat(baseline.Layout{Root: d}.Config()); err != nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("run folder %s: no free version folder up to v9999", dir)
}

// Finish closes the Env after a command; when the command failed (*errp
// is not nil) and this Env created the run folder, which holds no trained
// stage or scores yet, the folder is removed: a failed start leaves
// nothing behind.
func (e *Env) Finish(errp *error) {
	if *errp != nil {
		e.Discard()
	}
	e.Close()
}

// Discard removes the run folder if this Env created it and nothing in it
// is worth keeping (a checkpoint, a model, raw scores).
func (e *Env) Discard() {
	if !e.created {
		return
	}
	var st baseline.Stage
	worth := []string{st.Checkpoint(), st.TeacherModel(), st.Model(), st.Scores(), st.TeacherScores()}
	keep := false
	_ = filepath.WalkDir(e.Layout.Root, func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains(worth, d.Name()) {
			keep = true
			return filepath.SkipAll
		}
		return nil
	})
	if keep {
		return
	}
	if err := os.RemoveAll(e.Layout.Root); err != nil {
		e.Log.Warn("could not remove the run folder of a failed start", "dir", e.Layout.Root, "err", err)
		return
	}
	e.Log.Info("removed the run folder this command created: nothing was trained in it", "dir", e.Layout.Root)
	e.created = false
}

// Close releases ONNX Runtime.
func (e *Env) Close() error { return e.RT.Close() }

// RunDir is the run's top folder.
func (e *Env) RunDir() string { return e.Layout.Root }

// StageSummary is written as summary.json in a stage folder.
type StageSummary struct {
	Stage string `json:"stage"`
	Steps int    `json:"steps"`
	// FirstLoss and LastLoss are absent when no step ran (train steps 0,
	// or a run resumed at its last step).
	FirstLoss    *float64  `json:"first_loss,omitempty"`
	LastLoss     *float64  `json:"last_loss,omitempty"`
	StepMS       float64   `json:"step_ms"`
	CompileMS    float64   `json:"compile_ms"`
	Device       string    `json:"device"`
	Params       int64     `json:"params"`
	Finished     time.Time `json:"finished"`
	Model        string    `json:"model"`
	TrainedSteps int       `json:"trained_steps"`
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'))
}

// runTraining compiles a built graph and runs the loop in a stage folder.
func (e *Env) runTraining(ctx context.Context, u *baseline.Unit, st baseline.Stage, label string, built *method.Built, src train.Source, steps int) (*train.Summary, *StageSummary, error) {
	// Sources that read files (Jigsaw's cube cache) close them here.
	if c, ok := src.(io.Closer); ok {
		defer c.Close()
	}
	dir := st.Dir
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	step, err := train.Compile(*built.Spec)
	if err != nil {
		return nil, nil, err
	}
	compile := time.Since(t0)
	params := step.ParamCount()
	e.Log.Info("compiled train step", "stage", label, "params", params, "nodes", len(step.Graph.Nodes), "model_mb", fmt.Sprintf("%.1f", float64(len(step.Model))/1e6), "ms", compile.Milliseconds())
	r, err := train.NewRunner(e.RT, step, u.ORT())
	if err != nil {
		return nil, nil, err
	}
	defer r.Close()
	c := e.Cfg.Train
	sum, err := train.Loop(ctx, r, src, train.LoopConfig{
		Steps: steps, LR: c.LR, Schedule: c.Schedule,
		CheckpointPath: st.Checkpoint(), CheckpointEvery: c.CheckpointEvery,
		Fingerprint: fingerprint(step), Logger: e.Log,
		Observers: e.trainObservers(st, label, built.Terms, longHint(e.Cfg, r.Device())),
	})
	if err != nil {
		return sum, nil, err
	}
	if steps > 0 {
		// A picture of the log for the user; training stands without it.
		if err := report.WriteLossPlot(st.Log(), st.LossPlot(), report.PlotOptions{Title: "training, " + label, Formats: e.Cfg.Report.Formats}); err != nil {
			e.Log.Warn("no loss plot", "err", err)
		}
	}
	// The loop leaves FirstLoss NaN and LastLoss 0 when no step ran.
	first, last := finite(sum.FirstLoss), finite(sum.LastLoss)
	if first == nil {
		last = nil
	}
	ss := &StageSummary{Stage: label, Steps: steps, FirstLoss: first, LastLoss: last, StepMS: sum.StepMS,
		CompileMS: float64(compile.Microseconds()) / 1000, Device: string(r.Device()), Params: params, Finished: time.Now().UTC(), TrainedSteps: sum.Steps}
	return sum, ss, nil
}

// trainObservers watch a stage's training loop: log.csv, and progress as a
// bar on a terminal (e.Progress) or else as a log line every
// train.DefaultLogEvery; the estimate of the stage's duration is logged
// either way.
func (e *Env) trainObservers(st baseline.Stage, label string, terms []string, hint string) []train.Observer {
	obs := []train.Observer{train.NewCSVLog(st.Log(), terms)}
	plog := &train.ProgressLog{Log: e.Log, Label: label, LongHint: hint}
	if e.Progress != nil {
		obs = append(obs, train.NewProgressBar(e.Progress, label))
		plog.Every = -1
	}
	return append(obs, plog)
}

// cpuPreset is the preset name the shipped configs give their CPU-sized
// variant.
const cpuPreset = "cpu-small"

// longHint is what a long training stage's warning suggests: on the CPU,
// the config's CPU preset when it has one and it is not in use.
func longHint(cfg *config.Config, dev ort.Device) string {
	if dev != ort.CPU || cfg.Preset() != "" {
		return ""
	}
	if _, ok := cfg.Presets[cpuPreset]; !ok {
		return ""
	}
	return fmt.Sprintf("this config has a preset sized for CPUs: add --preset %s (a new run folder, %s-%s)", cpuPreset, cfg.Name, cpuPreset)
}

// finite is x, or nil for NaN and infinities (which JSON cannot hold).
func finite(x float64) *float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return &x
}

// losses says how a stage's loss went, for the log.
func (s *StageSummary) losses() string {
	if s.FirstLoss == nil || s.LastLoss == nil {
		return "no step run"
	}
	return fmt.Sprintf("%.4g -> %.4g", *s.FirstLoss, *s.LastLoss)
}

// fingerprint identifies a train step by its inputs and their shapes, so
// a checkpoint of another model is refused rather than half-loaded.
func fingerprint(st *train.Step) string {
	var sb strings.Builder
	for _, in := range st.Inputs {
		fmt.Fprintf(&sb, "%s%v;", in, st.Shapes[in])
	}
	return fmt.Sprintf("%x", hash(sb.String()))
}

func hash(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}
