package train

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults of the LoopConfig fields of the same names.
const (
	DefaultLogEvery  = 30 * time.Second
	DefaultLongAfter = 30 * time.Minute
)

// The estimate waits for this many timed steps, or this long, whichever
// comes first: enough to average out the first few steps' noise without
// keeping a slow run's user waiting for minutes.
const (
	estimateSteps = 5
	estimateAfter = 10 * time.Second
)

// progress writes a stage's log lines: one early estimate of how long the
// stage takes, and, when no progress bar is shown, a line every interval and
// one at the end. Times are passed in so that tests can use a fake clock.
type progress struct {
	log          *slog.Logger
	label        string
	start, steps int
	every        time.Duration // <= 0: no periodic lines
	longAfter    time.Duration // <= 0: never warn
	hint         string

	begin     time.Time // loop start
	firstDone time.Time // end of the first step, where timing starts
	last      time.Time // last periodic line, or begin
	estimated bool
}

func newProgress(cfg LoopConfig, log *slog.Logger, start int, bar bool, now time.Time) *progress {
	p := &progress{log: log, label: cfg.Label, start: start, steps: cfg.Steps, every: cfg.LogEvery,
		longAfter: cfg.LongAfter, hint: cfg.LongHint, begin: now, last: now}
	if p.every == 0 {
		p.every = DefaultLogEvery
	}
	if bar {
		p.every = 0
	}
	if p.longAfter == 0 {
		p.longAfter = DefaultLongAfter
	}
	return p
}

// stepDone records that the loop finished step number done (counted from 1
// over the whole stage, resumed steps included) at now, with loss.
func (p *progress) stepDone(now time.Time, done int, loss float64) {
	k := done - p.start
	if k == 1 {
		// The first step pays for session warm-up (graph optimisation,
		// kernel selection); it would inflate any estimate.
		p.firstDone = now
	}
	timed, el := k-1, now.Sub(p.firstDone)
	if !p.estimated && timed >= 1 && (timed >= estimateSteps || el >= estimateAfter) && done < p.steps {
		p.estimated = true
		per := el / time.Duration(timed)
		total := per * time.Duration(p.steps-p.start)
		left := per * time.Duration(p.steps-done)
		args := []any{"stage", p.label, "steps", p.steps - p.start, "step_ms", fmt.Sprintf("%.1f", float64(per.Microseconds())/1000),
			"total", total.Round(time.Second), "left", left.Round(time.Second)}
		if p.longAfter > 0 && total > p.longAfter {
			if p.hint != "" {
				args = append(args, "hint", p.hint)
			}
			p.log.Warn("long training stage", args...)
		} else {
			p.log.Info("training time estimate", args...)
		}
	}
	if p.every <= 0 || now.Sub(p.last) < p.every && done < p.steps {
		return
	}
	p.last = now
	rate := float64(k) / now.Sub(p.begin).Seconds()
	if timed >= 1 && el > 0 {
		rate = float64(timed) / el.Seconds()
	}
	eta := time.Duration(float64(p.steps-done) / rate * float64(time.Second)).Round(time.Second)
	p.log.Info("training", "stage", p.label, "step", done, "of", p.steps, "loss", fmt.Sprintf("%.4g", loss),
		"steps_per_s", fmt.Sprintf("%.3g", rate), "eta", eta)
}
