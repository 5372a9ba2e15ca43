package experiment

import (
	"io"
	"time"

	"github.com/schollz/progressbar/v3"
)

// bar is a progress bar that is a no-op without a writer.
type bar struct{ b *progressbar.ProgressBar }

func newBar(w io.Writer, total int, label string) *bar {
	if w == nil {
		return &bar{}
	}
	return &bar{progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(label),
		progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish())}
}

func (b *bar) add() {
	if b.b != nil {
		_ = b.b.Add(1)
	}
}

func (b *bar) finish() {
	if b.b != nil {
		_ = b.b.Finish()
	}
}
