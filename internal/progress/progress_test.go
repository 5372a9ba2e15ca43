package progress

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// Without a terminal a phase logs: its start, a line every LogEvery with
// the time left, its end.
func TestLoggedProgress(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	clock := time.Unix(0, 0)
	b := NewLogged(nil, log, 100, "eval student", "")
	b.log.now = func() time.Time { return clock }
	b.log.start, b.log.last = clock, clock
	b.Set(1)
	for range 10 {
		clock = clock.Add(5 * time.Second)
		b.Add()
	}
	b.Finish()
	out := buf.String()
	for _, want := range []string{"eval student: started", "done=7/100", "left=6m39s", "eval student: done", "took=50s"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "done="); n != 1 {
		t.Errorf("%d progress lines in 50 s, want 1 (every %v):\n%s", n, LogEvery, out)
	}
	// A terminal gets a bar and no log lines; neither gets nothing.
	buf.Reset()
	var term bytes.Buffer
	NewLogged(&term, log, 3, "x", "").Finish()
	if buf.Len() != 0 {
		t.Errorf("a phase with a terminal logged:\n%s", buf.String())
	}
	NewLogged(nil, nil, 3, "x", "").Add() // no-op, no panic
}
