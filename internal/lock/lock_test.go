package lock

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// flock locks belong to an open file description, so two Try calls in one
// process exclude each other as two processes would.
func TestTryNamesHolder(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "teacher")
	l, prev, err := Try(dir, "train teacher")
	if err != nil || prev != nil {
		t.Fatalf("first Try: %v, prev %v", err, prev)
	}
	_, _, err = Try(dir, "train teacher")
	var he *HeldError
	if !errors.As(err, &he) || !errors.Is(err, ErrHeld) {
		t.Fatalf("second Try: %v, want a HeldError", err)
	}
	host, _ := os.Hostname()
	if he.Holder.PID != os.Getpid() || he.Holder.Host != host || he.Stale {
		t.Errorf("holder %+v, want this process on %s, not stale", he.Holder, host)
	}
	if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("pid %d", os.Getpid())) || !strings.Contains(msg, "train teacher") {
		t.Errorf("message %q does not name the holder", msg)
	}
	if held, _ := Held(dir); !held {
		t.Error("Held: false while locked")
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if held, _ := Held(dir); held {
		t.Error("Held: true after Release")
	}
	l2, prev, err := Try(dir, "x")
	if err != nil || prev != nil {
		t.Fatalf("Try after a clean release: %v, prev %v (want none)", err, prev)
	}
	l2.Release()
}

// A lock file that still names a holder whose process is gone: taking the
// lock reports that holder; a held lock naming a gone pid is stale.
func TestDeadHolder(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no 'true' to get a finished pid")
	}
	dead := cmd.Process.Pid
	host, _ := os.Hostname()
	dir := t.TempDir()
	rec := fmt.Sprintf("host=%s\npid=%d\nsince=2020-01-02T03:04:05Z\nwhat=train student\n", host, dead)
	if err := os.WriteFile(filepath.Join(dir, FileName), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	h, _ := Read(filepath.Join(dir, FileName))
	if h == nil || !h.Gone() {
		t.Fatalf("holder %+v: want gone", h)
	}
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l, err := Acquire(context.Background(), dir, "train student", log)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "ended without releasing") || !strings.Contains(buf.String(), fmt.Sprintf("pid %d", dead)) {
		t.Errorf("log does not report the dead holder:\n%s", buf.String())
	}
	l.Release()
}

// Acquire waits for the holder, says so once, and honours its context.
func TestAcquireWaits(t *testing.T) {
	dir := t.TempDir()
	l, _, err := Try(dir, "train teacher")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&lockedWriter{&mu, &buf}, nil))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := Acquire(ctx, dir, "y", log); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Acquire on a held lock with a short deadline: %v", err)
	}
	done := make(chan error, 1)
	go func() {
		l2, err := Acquire(context.Background(), dir, "y", log)
		if err == nil {
			err = l2.Release()
		}
		done <- err
	}()
	time.Sleep(400 * time.Millisecond)
	l.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if n := strings.Count(buf.String(), "waiting: another process holds this folder"); n != 2 {
		t.Errorf("%d waiting lines, want one per Acquire:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "lock free, going on") {
		t.Errorf("no line when the wait ended:\n%s", buf.String())
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
