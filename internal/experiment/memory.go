package experiment

import (
	"fmt"
	"log/slog"
	"math"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/membudget"
	"github.com/fmam/fmam/internal/method"
)

// checkMemory refuses a configuration whose estimate exceeds the budget,
// naming the keys to lower and the largest data.size that would fit.
func checkMemory(est method.MemoryEstimate, budget membudget.Budget, cfg *config.Config) error {
	if est.Bytes <= budget.Bytes {
		return nil
	}
	msg := fmt.Sprintf("the %s of this configuration needs about %s (weights %s, forward pass %s at train.batch %d and data.size %d; a shape-level estimate) but the machine has %s",
		est.Stage, membudget.GiB(est.Bytes), membudget.GiB(est.Params), membudget.GiB(est.Activations), cfg.Train.Batch, cfg.Data.Size, budget)
	// Activations grow with the square of data.size: the largest size
	// that fits, at the same batch and width, as a multiple of 16.
	fixed := float64(est.Fixed)
	if room := float64(budget.Bytes) - fixed; room > 0 && float64(est.Bytes) > fixed {
		scale := math.Sqrt(room / (float64(est.Bytes) - fixed))
		if fit := int(float64(cfg.Data.Size)*scale) / config.SizeMultiple * config.SizeMultiple; fit >= config.SizeMultiple && fit < cfg.Data.Size {
			return fmt.Errorf("%s; lower data.size (to %d or less fits), train.batch or eval.batch, or model.width", msg, fit)
		}
	}
	return fmt.Errorf("%s; lower data.size, train.batch or eval.batch, or model.width", msg)
}

// CheckMemory estimates a new run's largest graph and refuses it when it
// cannot fit in the memory the machine has (membudget.Read of files);
// it runs before the run folder is created, so nothing is left behind.
func CheckMemory(b baseline.Baseline, cfg *config.Config, files membudget.Files, log *slog.Logger) error {
	if cfg.Model.Teacher != "" || cfg.Model.TeacherRun != "" {
		return nil // an imported teacher's own shapes decide
	}
	est, ok := method.EstimateMemory(baseline.Spec(b, cfg, cfg.Model.Taps), cfg.Eval.Batch)
	if !ok {
		return nil
	}
	budget, ok := membudget.Read(files)
	if !ok {
		log.Debug("memory estimate", "stage", est.Stage, "need", membudget.GiB(est.Bytes), "budget", "unknown")
		return nil
	}
	log.Debug("memory estimate", "stage", est.Stage, "need", membudget.GiB(est.Bytes), "budget", budget.String())
	return checkMemory(est, budget, cfg)
}
