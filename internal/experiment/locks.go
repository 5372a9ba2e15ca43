package experiment

import (
	"context"
	"errors"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/lock"
)

// Stage folders are locked while a process trains or scores in them, so
// that two processes on one run folder (two 'fmam run', two shards of a
// sweep sharing a teacher) never write the same files: a process waits for
// a stage it needs (the teacher its students mimic, the scores it
// evaluates) and skips a student stage another process is training.

// waitStage takes the lock of a stage folder, waiting for its holder.
func (e *Env) waitStage(ctx context.Context, st baseline.Stage, what string) (*lock.Lock, error) {
	return lock.Acquire(ctx, st.Dir, what, e.Log)
}

// tryStage takes the lock of a stage folder if it is free; held is true,
// and logged, when another process holds it.
func (e *Env) tryStage(st baseline.Stage, what string) (l *lock.Lock, held bool, err error) {
	l, prev, err := lock.Try(st.Dir, what)
	var he *lock.HeldError
	if errors.As(err, &he) {
		e.Log.Info("skipping the stage: another process is training it", "stage", what, "dir", st.Dir, "holder", he.Holder.String(), "stale", he.Stale)
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	lock.LogPrevious(e.Log, st.Dir, prev)
	return l, false, nil
}

// release drops a stage lock; a failure to empty the lock file is logged,
// not returned (the kernel drops the lock regardless).
func (e *Env) release(l *lock.Lock) {
	if err := l.Release(); err != nil {
		e.Log.Warn("release stage lock", "err", err)
	}
}
