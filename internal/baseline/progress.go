package baseline

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar is a progress bar that is a no-op without a writer.
type Bar struct{ b *progressbar.ProgressBar }

// NewBar starts a bar of total steps on w (nil: none).
func NewBar(w io.Writer, total int, label string) *Bar {
	if w == nil {
		return &Bar{}
	}
	return &Bar{progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish())}
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
