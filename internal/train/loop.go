package train

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/fmam/fmam/internal/atomicfile"
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
	// LogPath is a CSV of the loss terms per step.
	LogPath     string
	ReportNames []string
	// Fingerprint must match the checkpoint's to resume from it.
	Fingerprint string
	// Progress receives a progress bar; nil disables it, and progress is
	// logged instead, a line every LogEvery (0: DefaultLogEvery) and one at
	// the end.
	Progress io.Writer
	LogEvery time.Duration
	Logger   *slog.Logger
	// Label names the run in the progress bar and log lines.
	Label string
	// After a few steps the loop logs how long the stage will take; when
	// that exceeds LongAfter (0: DefaultLongAfter, negative: never) the line
	// is a warning carrying LongHint, e.g. "use --preset cpu-small".
	LongAfter time.Duration
	LongHint  string
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
			start = ck.Step
			sum.Resumed = true
			log.Info("resuming", "checkpoint", cfg.CheckpointPath, "step", start, "of", cfg.Steps)
		}
	}
	sum.StartStep = start
	logw, err := openLog(cfg.LogPath, cfg.ReportNames, start)
	if err != nil {
		return nil, err
	}
	defer logw.close()

	save := func(step int) error {
		if cfg.CheckpointPath == "" {
			return nil
		}
		pos, err := src.Position()
		if err != nil {
			return err
		}
		return SaveCheckpoint(cfg.CheckpointPath, &Checkpoint{Step: step, Tensors: r.State(), Data: pos, Fingerprint: cfg.Fingerprint})
	}
	var bar *progressbar.ProgressBar
	if cfg.Progress != nil && start < cfg.Steps {
		bar = progressbar.NewOptions(cfg.Steps,
			progressbar.OptionSetWriter(cfg.Progress),
			progressbar.OptionSetDescription(cfg.Label),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("steps"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(200*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
		_ = bar.Set(start)
	}
	t0 := time.Now()
	prog := newProgress(cfg, log, start, bar != nil, t0)
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
				return sum, fmt.Errorf("step %d: %w; lower the learning rate or check the data; the last checkpoint (%s) is intact", step+1, err, orNone(cfg.CheckpointPath))
			}
			return sum, fmt.Errorf("step %d: %w", step+1, err)
		}
		if step == start {
			sum.FirstLoss = res.Loss
		}
		sum.LastLoss = res.Loss
		if err := logw.write(step+1, lr, res); err != nil {
			return sum, err
		}
		if bar != nil {
			bar.Describe(fmt.Sprintf("%s loss %.4g", cfg.Label, res.Loss))
			_ = bar.Add(1)
		}
		prog.stepDone(time.Now(), step+1, res.Loss)
		if cfg.CheckpointEvery > 0 && (step+1)%cfg.CheckpointEvery == 0 && step+1 < cfg.Steps {
			if err := save(step + 1); err != nil {
				return sum, err
			}
		}
	}
	if bar != nil {
		_ = bar.Finish()
	}
	sum.Steps = step - start
	if sum.Steps > 0 {
		sum.StepMS = float64(time.Since(t0).Microseconds()) / 1000 / float64(sum.Steps)
	}
	sum.State = r.State()
	if err := save(step); err != nil {
		return sum, err
	}
	if step < cfg.Steps {
		log.Warn("interrupted; checkpoint saved", "step", step, "checkpoint", cfg.CheckpointPath)
		return sum, fmt.Errorf("%w at step %d of %d; run the same command again to resume: %w", ErrInterrupted, step, cfg.Steps, ctx.Err())
	}
	return sum, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func nan() float64 { v, _ := strconv.ParseFloat("NaN", 64); return v }

type logWriter struct {
	f *os.File
	w *csv.Writer
}

// openLog opens the per-step CSV, dropping rows past a resumed step so the
// log never holds steps the checkpoint does not.
func openLog(path string, names []string, from int) (*logWriter, error) {
	if path == "" {
		return &logWriter{}, nil
	}
	header := append([]string{"step", "lr", "loss"}, names...)
	header = append(header, "grad_norm")
	var keep [][]string
	if from > 0 {
		if b, err := os.ReadFile(path); err == nil {
			rows, _ := csv.NewReader(bytes.NewReader(b)).ReadAll()
			for i, row := range rows {
				if i == 0 {
					continue
				}
				if s, err := strconv.Atoi(row[0]); err == nil && s <= from {
					keep = append(keep, row)
				}
			}
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(header)
	_ = w.WriteAll(keep)
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open training log %s: %w", path, err)
	}
	return &logWriter{f: f, w: csv.NewWriter(f)}, nil
}

func (l *logWriter) write(step int, lr float64, r Result) error {
	if l.w == nil {
		return nil
	}
	row := []string{strconv.Itoa(step), fmtF(lr), fmtF(r.Loss)}
	for _, v := range r.Report {
		row = append(row, fmtF(v))
	}
	row = append(row, fmtF(r.GradNorm))
	if err := l.w.Write(row); err != nil {
		return err
	}
	l.w.Flush()
	return l.w.Error()
}

func (l *logWriter) close() {
	if l.f != nil {
		l.w.Flush()
		l.f.Close()
	}
}

func fmtF(f float64) string { return strconv.FormatFloat(f, 'g', 7, 64) }
