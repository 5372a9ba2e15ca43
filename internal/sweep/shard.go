package sweep

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is which part of the units a process runs: the units whose index
// is Index modulo Count.
type Shard struct{ Index, Count int }

// All is the whole grid in one process.
var All = Shard{0, 1}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Owns reports whether unit i belongs to the shard.
func (s Shard) Owns(i int) bool { return i%s.Count == s.Index }

// ParseShard reads --shard i/n (0 <= i < n).
func ParseShard(v string) (Shard, error) {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/n with 0 <= i < n, e.g. 0/4", v)
	}
	return Shard{i, n}, nil
}

// ShardFromEnv reads the shard a scheduler gives the process: Slurm's
// SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT (or _MIN and _MAX), or a
// Kubernetes Indexed Job's JOB_COMPLETION_INDEX with FMAM_SHARD_COUNT
// (default: units, one unit per index). ok is false when none is set.
func ShardFromEnv(getenv func(string) string, units int) (s Shard, ok bool, err error) {
	atoi := func(name string) (int, error) {
		v, err := strconv.Atoi(strings.TrimSpace(getenv(name)))
		if err != nil {
			return 0, fmt.Errorf("%s=%q: %w", name, getenv(name), err)
		}
		return v, nil
	}
	if getenv("SLURM_ARRAY_TASK_ID") != "" {
		id, err := atoi("SLURM_ARRAY_TASK_ID")
		if err != nil {
			return s, false, err
		}
		lo := 0
		if getenv("SLURM_ARRAY_TASK_MIN") != "" {
			if lo, err = atoi("SLURM_ARRAY_TASK_MIN"); err != nil {
				return s, false, err
			}
		}
		var n int
		switch {
		case getenv("SLURM_ARRAY_TASK_COUNT") != "":
			n, err = atoi("SLURM_ARRAY_TASK_COUNT")
		case getenv("SLURM_ARRAY_TASK_MAX") != "":
			var hi int
			hi, err = atoi("SLURM_ARRAY_TASK_MAX")
			n = hi - lo + 1
		default:
			return s, false, fmt.Errorf("SLURM_ARRAY_TASK_ID is set without SLURM_ARRAY_TASK_COUNT or SLURM_ARRAY_TASK_MAX")
		}
		if err != nil {
			return s, false, err
		}
		s = Shard{id - lo, n}
		if s.Index < 0 || s.Index >= n {
			return s, false, fmt.Errorf("Slurm array task %d is outside %d..%d", id, lo, lo+n-1)
		}
		return s, true, nil
	}
	if getenv("JOB_COMPLETION_INDEX") != "" {
		id, err := atoi("JOB_COMPLETION_INDEX")
		if err != nil {
			return s, false, err
		}
		n := units
		if getenv("FMAM_SHARD_COUNT") != "" {
			if n, err = atoi("FMAM_SHARD_COUNT"); err != nil {
				return s, false, err
			}
		}
		if n < 1 || id < 0 || id >= n {
			return s, false, fmt.Errorf("JOB_COMPLETION_INDEX %d is outside 0..%d", id, n-1)
		}
		return Shard{id, n}, true, nil
	}
	return All, false, nil
}
