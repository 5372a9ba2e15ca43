package sweep

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/lock"
)

// State is a unit's state as the sweep folder shows it.
type State string

// The unit states.
const (
	Pending State = "pending"
	Running State = "running"
	Done    State = "done"
	Failed  State = "failed"
)

// unitRecord is <unit>/sweep-unit.json: how the unit's last attempt ended.
type unitRecord struct {
	ID       string    `json:"id"`
	State    State     `json:"state"`
	Error    string    `json:"error,omitempty"`
	Host     string    `json:"host"`
	Finished time.Time `json:"finished"`
}

func recordFile(u Unit) string { return filepath.Join(u.Dir, "sweep-unit.json") }

// RunFunc trains and evaluates one unit (its run folder is u.Dir).
type RunFunc func(ctx context.Context, u Unit) error

// Run runs the shard's units in order, each under the unit folder's lock:
// a unit another process runs, or one done already, is skipped and said
// so. A failed unit is recorded and the shard goes on with the next; the
// error lists every failed unit.
func Run(ctx context.Context, units []Unit, shard Shard, log *slog.Logger, run RunFunc) error {
	var errs []error
	n := 0
	for _, u := range units {
		if !shard.Owns(u.Index) {
			continue
		}
		n++
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := runUnit(ctx, u, log, run); err != nil {
			log.Error("unit failed", "unit", u.Name, "id", u.ID, "err", err)
			errs = append(errs, fmt.Errorf("unit %s (%d, %s): %w", u.Name, u.Index, u.ID, err))
		}
	}
	log.Info("shard finished", "shard", shard.String(), "units", n, "failed", len(errs))
	return errors.Join(errs...)
}

func runUnit(ctx context.Context, u Unit, log *slog.Logger, run RunFunc) error {
	if rec, err := readRecord(u); err == nil && rec.State == Done {
		log.Info("unit already done", "unit", u.Name, "id", u.ID)
		return nil
	}
	l, prev, err := lock.Try(u.Dir, "sweep unit "+u.Name)
	var he *lock.HeldError
	if errors.As(err, &he) {
		log.Info("skipping the unit: another process runs it", "unit", u.Name, "holder", he.Holder.String(), "stale", he.Stale)
		return nil
	}
	if err != nil {
		return err
	}
	defer l.Release()
	lock.LogPrevious(log, u.Dir, prev)
	log.Info("unit", "unit", u.Name, "index", u.Index, "id", u.ID)
	err = run(ctx, u)
	host, _ := os.Hostname()
	rec := unitRecord{ID: u.ID, State: Done, Host: host, Finished: time.Now().UTC()}
	if err != nil {
		if ctx.Err() != nil { // interrupted: pending again, not failed
			return err
		}
		rec.State, rec.Error = Failed, err.Error()
	}
	b, merr := json.MarshalIndent(rec, "", "  ")
	if merr == nil {
		merr = atomicfile.Write(recordFile(u), append(b, '\n'))
	}
	return errors.Join(err, merr)
}

func readRecord(u Unit) (*unitRecord, error) {
	b, err := os.ReadFile(recordFile(u))
	if err != nil {
		return nil, err
	}
	var r unitRecord
	return &r, json.Unmarshal(b, &r)
}

// UnitStatus is one unit's line of 'fmam sweep status'.
type UnitStatus struct {
	Unit  Unit
	State State
	// Detail is the holder of a running unit or the error of a failed one.
	Detail string
}

// Status reads each unit's state from its folder: running while a process
// holds its lock, else done or failed as its last attempt ended, else
// pending.
func Status(units []Unit) []UnitStatus {
	var out []UnitStatus
	for _, u := range units {
		s := UnitStatus{Unit: u, State: Pending}
		if held, h := lock.Held(u.Dir); held {
			s.State = Running
			if h != nil {
				s.Detail = h.String()
			}
		} else if rec, err := readRecord(u); err == nil {
			s.State, s.Detail = rec.State, rec.Error
		}
		out = append(out, s)
	}
	return out
}
