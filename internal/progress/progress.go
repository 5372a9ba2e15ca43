// Package progress draws the progress bar of fmam's long phases (training
// stages, evaluation passes), so that every phase shows progress in one
// style: label, count, predicted time left, redrawn at most 5 times a
// second and cleared when done.
package progress

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar is a progress bar that is a no-op without a writer, so that callers
// need not check whether progress is shown.
type Bar struct{ b *progressbar.ProgressBar }

// NewBar starts a bar of total items labelled label on w (nil: a bar that
// draws nothing). A unit, e.g. "steps", names the items and adds their
// rate to the bar; "" shows no rate.
func NewBar(w io.Writer, total int, label, unit string) *Bar {
	if w == nil {
		return &Bar{}
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(label),
	}
	if unit != "" {
		opts = append(opts, progressbar.OptionShowIts(), progressbar.OptionSetItsString(unit))
	}
	opts = append(opts,
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return &Bar{progressbar.NewOptions(total, opts...)}
}

// Set moves the bar to n items done, e.g. where a resumed phase starts.
func (b *Bar) Set(n int) {
	if b.b != nil {
		_ = b.b.Set(n)
	}
}

// Describe replaces the label, e.g. to show the latest loss.
func (b *Bar) Describe(label string) {
	if b.b != nil {
		b.b.Describe(label)
	}
}

// Add advances the bar by one.
func (b *Bar) Add() {
	if b.b != nil {
		_ = b.b.Add(1)
	}
}

// Finish completes the bar.
func (b *Bar) Finish() {
	if b.b != nil {
		_ = b.b.Finish()
	}
}
