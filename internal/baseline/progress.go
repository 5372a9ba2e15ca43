package baseline

import (
	"io"

	"github.com/fmam/fmam/internal/progress"
)

// Bar is the progress bar of an evaluation pass.
type Bar = progress.Bar

// NewBar starts a bar of total batches on w (nil: none), in the style of
// every long phase (progress.NewBar).
func NewBar(w io.Writer, total int, label string) *Bar {
	return progress.NewBar(w, total, label, "")
}

// Bar starts the progress of one of the unit's long phases, of total
// items: a bar on a terminal (u.Progress), else log lines every
// progress.LogEvery through u.Log, so that no phase is silent.
func (u *Unit) Bar(total int, label string) *Bar {
	return progress.NewLogged(u.Progress, u.Log, total, label, "")
}
