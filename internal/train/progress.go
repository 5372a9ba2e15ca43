package train

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults of ProgressLog.Every and ProgressLog.LongAfter.
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

// ProgressLog is the observer that writes a stage's log lines: one early
// estimate of how long the stage takes, and a line every Every and one at
// the end. Times come from the loop's LoopInfo and StepInfo, so that tests
// can use a fake clock.
type ProgressLog struct {
	Log   *slog.Logger
	Label string // names the stage in the lines
	// Every is the interval of the periodic lines: 0 is DefaultLogEvery,
	// negative none (when a progress bar shows progress).
	Every time.Duration
	// After a few steps the stage's duration is estimated; when it exceeds
	// LongAfter (0: DefaultLongAfter, negative: never) the line is a
	// warning carrying LongHint, e.g. "use --preset cpu-small".
	LongAfter time.Duration
	LongHint  string

	start, steps int
	every        time.Duration // <= 0: no periodic lines
	longAfter    time.Duration // <= 0: never warn
	begin        time.Time     // loop start
	firstDone    time.Time     // end of the first step, where timing starts
	last         time.Time     // last periodic line, or begin
	estimated    bool
}

// Init resolves the defaults and starts the clock.
func (p *ProgressLog) Init(li LoopInfo) error {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	p.start, p.steps, p.begin, p.last, p.estimated = li.Start, li.Steps, li.Time, li.Time, false
	p.every, p.longAfter = p.Every, p.LongAfter
	if p.every == 0 {
		p.every = DefaultLogEvery
	}
	if p.longAfter == 0 {
		p.longAfter = DefaultLongAfter
	}
	return nil
}

// Record logs the estimate and the periodic lines that are due.
func (p *ProgressLog) Record(s StepInfo) error {
	p.stepDone(s.Time, s.Step, s.Result.Loss)
	return nil
}

// Done does nothing: the last step's Record wrote the final line.
func (p *ProgressLog) Done() error { return nil }

// stepDone records that the loop finished step number done (counted from 1
// over the whole stage, resumed steps included) at now, with loss.
func (p *ProgressLog) stepDone(now time.Time, done int, loss float64) {
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
		args := []any{"stage", p.Label, "steps", p.steps - p.start, "step_ms", fmt.Sprintf("%.1f", float64(per.Microseconds())/1000),
			"total", total.Round(time.Second), "left", left.Round(time.Second)}
		if p.longAfter > 0 && total > p.longAfter {
			if p.LongHint != "" {
				args = append(args, "hint", p.LongHint)
			}
			p.Log.Warn("long training stage", args...)
		} else {
			p.Log.Info("training time estimate", args...)
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
	p.Log.Info("training", "stage", p.Label, "step", done, "of", p.steps, "loss", fmt.Sprintf("%.4g", loss),
		"steps_per_s", fmt.Sprintf("%.3g", rate), "eta", eta)
}
