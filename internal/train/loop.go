package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/fmam/fmam/internal/optim"
)

// Source yields training batches, one slice per batch input, and can
// save and restore its position so a resumed run sees the same data.
type Source interface {
	Next(ctx context.Context) ([][]float32, error)
	Position() ([]byte, error)
	Restore(pos []byte) error
}

// LoopConfig controls a training loop.
type LoopConfig struct {
	Steps    int
	LR       float64
	Schedule optim.Schedule
	// CheckpointPath, when set, is written every CheckpointEvery steps, at
	// the end, and when the context is cancelled; an existing one is resumed.
	CheckpointPath  string
	CheckpointEvery int
	// Fingerprint must match the checkpoint's to resume from it.
	Fingerprint string
	// Logger receives the loop's own lines (resuming, interrupted); nil
	// discards them.
	Logger *slog.Logger
	// Observers watch every step, in this order: the caller plugs in a
	// progress bar, periodic log lines (ProgressLog), the log.csv writer
	// (CSVLog). Each Loop call needs observers of its own.
	Observers []Observer
}

// Summary describes a finished (or interrupted) loop.
type Summary struct {
	StartStep, Steps int
	FirstLoss        float64
	LastLoss         float64
	StepMS           float64 // mean wall time of one step, data included
	Resumed          bool
	State            map[string][]float32
}

// ErrInterrupted wraps a cancelled context after the checkpoint is saved.
var ErrInterrupted = errors.New("training interrupted")

// Loop runs steps until cfg.Steps, resuming from the checkpoint if one
// exists. It stops on a non-finite loss (keeping the last checkpoint
// untouched) and on cancellation (after writing a checkpoint).
func Loop(ctx context.Context, r *Runner, src Source, cfg LoopConfig) (*Summary, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	sum := &Summary{FirstLoss: nan()}
	start := 0
	if cfg.CheckpointPath != "" {
		ck, err := LoadCheckpoint(cfg.CheckpointPath)
		if err != nil {
			return nil, err
		}
		if ck != nil {
			if cfg.Fingerprint != "" && ck.Fingerprint != cfg.Fingerprint {
				return nil, fmt.Errorf("checkpoint %s was written for a different model or configuration; use a new run folder or delete it to start over", cfg.CheckpointPath)
			}
			if err := r.SetState(ck.Tensors); err != nil {
				return nil, fmt.Errorf("resume from %s: %w", cfg.CheckpointPath, err)
			}
			if err := src.Restore(ck.Data); err != nil {
				return nil, fmt.Errorf("resume data position from %s: %w", cfg.CheckpointPath, err)
			}
			if ck.Format < checkpointFormat {
				log.Warn("checkpoint has no checksum (written by an older fmam); resuming without an integrity check", "checkpoint", cfg.CheckpointPath)
			}
			start = ck.Step
			sum.Resumed = true
			log.Info("resuming", "checkpoint", cfg.CheckpointPath, "step", start, "of", cfg.Steps)
		}
	}
	sum.StartStep = start
	save := func(step int) error {
		if cfg.CheckpointPath == "" {
			return nil
		}
		pos, err := src.Position()
		if err != nil {
			return err
		}
		state, err := r.State()
		if err != nil {
			return err
		}
		return SaveCheckpoint(cfg.CheckpointPath, &Checkpoint{Step: step, Tensors: state, Data: pos, Fingerprint: cfg.Fingerprint})
	}
	t0 := time.Now()
	obs := &observers{list: cfg.Observers}
	// On an error return the observers still close (a file, a bar); after
	// the last step they are done before the final checkpoint is written.
	defer obs.done()
	if err := obs.init(LoopInfo{Start: start, Steps: cfg.Steps, Time: t0}); err != nil {
		return nil, err
	}
	step := start
	for ; step < cfg.Steps; step++ {
		if ctx.Err() != nil {
			break
		}
		// A step cancelled inside ONNX Runtime keeps the state from before
		// it, so the checkpoint must also hold the data position from
		// before its batch for the resumed run to see the same batches.
		before, err := src.Position()
		if err != nil {
			return sum, fmt.Errorf("step %d: data position: %w", step+1, err)
		}
		batch, err := src.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			return sum, fmt.Errorf("step %d: next batch: %w", step, err)
		}
		lr := cfg.Schedule.LR(cfg.LR, step, cfg.Steps)
		res, err := r.Run(ctx, batch, lr)
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				if err := src.Restore(before); err != nil {
					return sum, fmt.Errorf("step %d: rewind data position: %w", step+1, err)
				}
				break
			}
			if errors.Is(err, ErrNonFinite) {
				return sum, fmt.Errorf("step %d: %w; lower the learning rate or check the data; %s", step+1, err, checkpointState(cfg.CheckpointPath))
			}
			return sum, fmt.Errorf("step %d: %w", step+1, err)
		}
		if step == start {
			sum.FirstLoss = res.Loss
		}
		sum.LastLoss = res.Loss
		if err := obs.record(StepInfo{Step: step + 1, LR: lr, Result: res, Time: time.Now()}); err != nil {
			return sum, err
		}
		if cfg.CheckpointEvery > 0 && (step+1)%cfg.CheckpointEvery == 0 && step+1 < cfg.Steps {
			if err := save(step + 1); err != nil {
				return sum, err
			}
		}
	}
	if err := obs.done(); err != nil {
		return sum, err
	}
	sum.Steps = step - start
	if sum.Steps > 0 {
		sum.StepMS = float64(time.Since(t0).Microseconds()) / 1000 / float64(sum.Steps)
	}
	state, err := r.State()
	if err != nil {
		return sum, err
	}
	sum.State = state
	if err := save(step); err != nil {
		return sum, err
	}
	if step < cfg.Steps {
		log.Warn("interrupted; checkpoint saved", "step", step, "checkpoint", cfg.CheckpointPath)
		return sum, fmt.Errorf("%w at step %d of %d; run the same command again to resume: %w", ErrInterrupted, step, cfg.Steps, ctx.Err())
	}
	return sum, nil
}

// checkpointState says what a failed run can resume from: only a
// checkpoint that is on disk is called intact (a run folder whose first
// steps failed holds none, and its command removes the folder).
func checkpointState(path string) string {
	if path == "" {
		return "checkpoints are off, so a rerun starts from step 0"
	}
	if _, err := os.Stat(path); err != nil {
		return fmt.Sprintf("no checkpoint was written yet (%s), so a rerun starts from step 0", path)
	}
	return fmt.Sprintf("the last checkpoint (%s) is intact and a rerun resumes from it", path)
}

func nan() float64 { v, _ := strconv.ParseFloat("NaN", 64); return v }
