// Package progress draws the progress bar of fmam's long phases (training
// stages, evaluation passes), so that every phase shows progress in one
// style: label, count, predicted time left, redrawn at most 5 times a
// second and cleared when done. Without a terminal a phase logs its
// progress instead (NewLogged), a line every LogEvery.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// Bar is a progress bar that is a no-op without a writer or logger, so
// that callers need not check whether progress is shown.
type Bar struct {
	b   *progressbar.ProgressBar
	log *logged
}

// LogEvery is how often a phase without a terminal logs its progress.
const LogEvery = 30 * time.Second

// logged is the progress of a phase without a terminal: log lines.
type logged struct {
	mu          sync.Mutex
	log         *slog.Logger
	label       string
	total, n    int
	start, last time.Time
	now         func() time.Time
}

// NewLogged is NewBar where w is a terminal; without one (w nil) the
// phase logs to log instead: that it started, a line every LogEvery with
// the count and, from the first item done on, the time left, and that it
// ended, when it took longer than a LogEvery.
func NewLogged(w io.Writer, log *slog.Logger, total int, label, unit string) *Bar {
	if w != nil || log == nil {
		return NewBar(w, total, label, unit)
	}
	l := &logged{log: log, label: label, total: total, now: time.Now}
	l.start = l.now()
	l.last = l.start
	log.Info(label+": started", "total", total)
	return &Bar{log: l}
}

// set records n items done.
func (l *logged) set(n int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setLocked(n)
}

// add records one more item done, in one step so that goroutines adding
// at once lose no count.
func (l *logged) add() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.setLocked(l.n + 1)
}

// setLocked is set with l.mu held.
func (l *logged) setLocked(n int) {
	l.n = n
	now := l.now()
	if now.Sub(l.last) < LogEvery {
		return
	}
	l.last = now
	args := []any{"done", fmt.Sprintf("%d/%d", n, l.total)}
	// The estimate comes once an item is done.
	if n > 0 && n < l.total {
		left := time.Duration(float64(now.Sub(l.start)) / float64(n) * float64(l.total-n))
		args = append(args, "left", left.Round(time.Second))
	}
	l.log.Info(l.label, args...)
}

func (l *logged) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if took := l.now().Sub(l.start); took >= LogEvery {
		l.log.Info(l.label+": done", "took", took.Round(time.Second))
	}
}

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
	return &Bar{b: progressbar.NewOptions(total, opts...)}
}

// Set moves the bar to n items done, e.g. where a resumed phase starts.
func (b *Bar) Set(n int) {
	if b.b != nil {
		_ = b.b.Set(n)
	}
	if b.log != nil {
		b.log.set(n)
	}
}

// Describe replaces the label, e.g. to show the latest loss.
func (b *Bar) Describe(label string) {
	if b.b != nil {
		b.b.Describe(label)
	}
}

// Add advances the bar by one; goroutines may call it at once.
func (b *Bar) Add() {
	if b.b != nil {
		_ = b.b.Add(1)
	}
	if b.log != nil {
		b.log.add()
	}
}

// Finish completes the bar.
func (b *Bar) Finish() {
	if b.b != nil {
		_ = b.b.Finish()
	}
	if b.log != nil {
		b.log.finish()
	}
}

// ClearLine wraps a terminal's writer so that every write (a log record)
// first clears the current line: a progress bar drawn there is wiped
// rather than left glued to the front of the record; the bar redraws
// itself below at its next update.
func ClearLine(w io.Writer) io.Writer { return clearLine{w} }

type clearLine struct{ w io.Writer }

func (c clearLine) Write(p []byte) (int, error) {
	if _, err := io.WriteString(c.w, "\r\x1b[K"); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
