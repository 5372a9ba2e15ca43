// Package lock keeps two fmam processes from working in the same stage
// folder at once: an advisory flock(2) on a lock file in the folder, with
// the holder's host and pid written into it so that a waiting process can
// say who holds the folder and notice a holder that died.
//
// flock is released by the kernel when the holding process exits, however
// it exits, so a lock never outlives its process on a local file system.
// The host and pid are for people and for two checks: a lock still held
// while its holder's pid is gone on this host (a network file system whose
// server has not yet dropped a dead client's lock) is reported as stale,
// and a lock file that still names a holder when the lock is taken (the
// holder ended without Release: killed, crashed) is reported so that the
// log says the stage resumes after it.
//
// On NFS, Linux emulates flock with POSIX locks that the server arbitrates
// (NLM for NFSv3, the protocol's own locks for NFSv4), so processes on
// different hosts exclude each other, unless the file system is mounted
// with nolock or local_lock=flock|all, where locks are local to each host.
// Lustre needs the flock mount option (localflock is local only); BeeGFS
// and GPFS arbitrate flock across hosts. A crashed host's locks are freed
// when the server's lease expires (NFSv4: 90 s by default).
package lock

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// FileName is the lock file's name in a locked folder.
const FileName = ".lock"

// pollEvery is how often a waiting process tries the lock again.
var pollEvery = 250 * time.Millisecond

// Holder is who holds, or last held, a lock: what the lock file records.
type Holder struct {
	Host  string
	PID   int
	Since time.Time
	// What the holder does, e.g. "train teacher".
	What string
}

func (h Holder) String() string {
	s := fmt.Sprintf("%s pid %d", h.Host, h.PID)
	if h.What != "" {
		s = h.What + " by " + s
	}
	if !h.Since.IsZero() {
		s += " since " + h.Since.Format(time.RFC3339)
	}
	return s
}

// Gone reports whether the holder ran on this host and its process no
// longer exists.
func (h Holder) Gone() bool {
	host, err := os.Hostname()
	if err != nil || host != h.Host || h.PID <= 0 {
		return false
	}
	err = syscall.Kill(h.PID, 0)
	return errors.Is(err, syscall.ESRCH)
}

// Lock is a held lock on a folder.
type Lock struct {
	f    *os.File
	path string
}

// ErrHeld is returned by Try when another process holds the lock.
var ErrHeld = errors.New("held by another process")

// HeldError says who holds a lock Try could not take.
type HeldError struct {
	Path   string
	Holder Holder
	// Stale: the holder is gone from this host, yet the lock is held.
	Stale bool
}

func (e *HeldError) Error() string {
	msg := fmt.Sprintf("%s is locked: %s", filepath.Dir(e.Path), e.Holder)
	if e.Stale {
		msg += fmt.Sprintf(" (stale: that process is gone from this host, yet the lock is held; on a network file system the server frees it when the dead client's lease expires; if nothing else can hold it, delete %s)", e.Path)
	}
	return msg
}

func (e *HeldError) Unwrap() error { return ErrHeld }

// Try takes the lock of folder dir (created if needed) without waiting.
// It returns a *HeldError (errors.Is ErrHeld) when another process holds
// it; prev is the holder the lock file still named when it was taken
// (that holder ended without releasing it), nil when none.
func Try(dir, what string) (l *Lock, prev *Holder, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			h, _ := Read(path)
			he := &HeldError{Path: path}
			if h != nil {
				he.Holder = *h
				he.Stale = h.Gone()
			}
			return nil, nil, he
		}
		return nil, nil, fmt.Errorf("lock %s: %w (the file system may not support flock: see the README on locks and shared file systems)", path, err)
	}
	prev, _ = Read(path)
	host, _ := os.Hostname()
	rec := fmt.Sprintf("host=%s\npid=%d\nsince=%s\nwhat=%s\n", host, os.Getpid(), time.Now().UTC().Format(time.RFC3339), what)
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(rec), 0)
	}
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("lock %s: record holder: %w", path, err)
	}
	return &Lock{f: f, path: path}, prev, nil
}

// Acquire takes the lock of dir, waiting while another process holds it;
// log says once that it waits and for whom, and when the wait ends. A
// previous holder that ended without releasing is logged too.
func Acquire(ctx context.Context, dir, what string, log *slog.Logger) (*Lock, error) {
	waiting := false
	start := time.Now()
	for {
		l, prev, err := Try(dir, what)
		if err == nil {
			if waiting {
				log.Info("lock free, going on", "dir", dir, "waited", time.Since(start).Round(time.Second).String())
			}
			LogPrevious(log, dir, prev)
			return l, nil
		}
		var he *HeldError
		if !errors.As(err, &he) {
			return nil, err
		}
		if !waiting {
			log.Info("waiting: another process holds this folder", "dir", dir, "holder", he.Holder.String(), "stale", he.Stale)
			waiting = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", he.Error(), ctx.Err())
		case <-time.After(pollEvery):
		}
	}
}

// LogPrevious logs a holder that ended without releasing the lock.
func LogPrevious(log *slog.Logger, dir string, prev *Holder) {
	if prev != nil {
		log.Warn("the previous holder of this folder ended without releasing it (killed or crashed); resuming after it", "dir", dir, "previous", prev.String())
	}
}

// Release empties the lock file (a later holder then knows this one ended
// cleanly) and drops the lock.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Truncate(0)
	if cerr := l.f.Close(); err == nil { // closing the last descriptor drops the flock
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("release lock %s: %w", l.path, err)
	}
	return nil
}

// Held reports whether another process holds the lock of dir now (for
// status displays); it takes and drops the lock when it is free, and
// reports false when dir has no lock file.
func Held(dir string) (bool, *Holder) {
	path := filepath.Join(dir, FileName)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, nil
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		h, _ := Read(path)
		return errors.Is(err, unix.EWOULDBLOCK), h
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false, nil
}

// Read parses a lock file; nil when it names no holder.
func Read(path string) (*Holder, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var h Holder
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		switch k {
		case "host":
			h.Host = v
		case "pid":
			h.PID, _ = strconv.Atoi(v)
		case "since":
			h.Since, _ = time.Parse(time.RFC3339, v)
		case "what":
			h.What = v
		}
	}
	if h.Host == "" && h.PID == 0 {
		return nil, nil
	}
	return &h, nil
}
