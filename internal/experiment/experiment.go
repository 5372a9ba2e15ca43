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
	"strings"
	"time"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/ort"
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
}

// Open resolves the run folder, writes the resolved config into it and
// opens ONNX Runtime. A run folder that holds a different configuration
// is refused, so a resumed run cannot silently mix settings.
func Open(cfg *config.Config, runDir string, log *slog.Logger, progress io.Writer) (*Env, error) {
	b, err := Lookup(cfg)
	if err != nil {
		return nil, err
	}
	if runDir == "" {
		runDir = filepath.Join(cfg.RunsDir, cfg.Name)
	}
	layout := baseline.Layout{Root: runDir}
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return nil, fmt.Errorf("create run folder %s: %w", runDir, err)
	}
	y, err := cfg.YAML()
	if err != nil {
		return nil, err
	}
	cfgPath := layout.Config()
	if old, err := os.ReadFile(cfgPath); err == nil && string(old) != string(y) {
		// Folders written before config.yaml left out unused keys hold them all.
		full, err := cfg.FullYAML()
		if err != nil {
			return nil, err
		}
		if !sameTraining(old, y) && !sameTraining(old, full) {
			return nil, fmt.Errorf("run folder %s holds a run with another configuration (see its config.yaml); use a new name, --run DIR, or delete the folder", runDir)
		}
	}
	if err := atomicfile.Write(cfgPath, y); err != nil {
		return nil, err
	}
	lib, err := ort.FindLibrary(cfg.OrtLib)
	if err != nil {
		return nil, err
	}
	rt, err := ort.Open(lib)
	if err != nil {
		return nil, err
	}
	return &Env{Cfg: cfg, RT: rt, Log: log, Progress: progress, Layout: layout, Baseline: b}, nil
}

// sameTraining ignores settings that do not change trained weights
// (device, threads, logging, eval) when comparing configs.
func sameTraining(a, b []byte) bool {
	strip := func(y []byte) string {
		var keep []string
		skip := false
		for _, line := range strings.Split(string(y), "\n") {
			if strings.HasPrefix(line, "eval:") {
				skip = true
				continue
			}
			if skip && strings.HasPrefix(line, " ") {
				continue
			}
			skip = false
			for _, k := range []string{"device:", "threads:", "log_level:", "ort_lib:", "runs_dir:"} {
				if strings.HasPrefix(line, k) {
					line = ""
				}
			}
			keep = append(keep, line)
		}
		return strings.Join(keep, "\n")
	}
	return strip(a) == strip(b)
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
		LogPath: st.Log(), ReportNames: built.Terms,
		Fingerprint: fingerprint(step), Progress: e.Progress, Logger: e.Log, Label: label,
	})
	if err != nil {
		return sum, nil, err
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
