// Package membudget says how much memory the machine can give fmam: the
// kernel's MemAvailable, lowered by a cgroup memory limit and the address
// space limit (ulimit -v) where they are set. Commands compare it with a
// shape-level estimate of their graphs before allocating, so that a size
// that cannot fit is refused with a message instead of ending in the Go
// runtime's "fatal error: out of memory".
package membudget

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Budget is the memory fmam may use and where the figure comes from.
type Budget struct {
	Bytes  int64
	Source string
}

func (b Budget) String() string { return fmt.Sprintf("%s (%s)", GiB(b.Bytes), b.Source) }

// GiB formats a byte count for messages.
func GiB(n int64) string {
	if n >= 1<<40 {
		return fmt.Sprintf("%.1f TiB", float64(n)/(1<<40))
	}
	return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
}

// Files are where Read looks; tests point them elsewhere.
type Files struct {
	Meminfo string // /proc/meminfo
	// CgroupMax and CgroupCurrent are cgroup v2's memory.max and
	// memory.current; CgroupV1Limit and CgroupV1Usage cgroup v1's.
	CgroupMax, CgroupCurrent     string
	CgroupV1Limit, CgroupV1Usage string
}

// System is the running machine's files.
var System = Files{
	Meminfo:       "/proc/meminfo",
	CgroupMax:     "/sys/fs/cgroup/memory.max",
	CgroupCurrent: "/sys/fs/cgroup/memory.current",
	CgroupV1Limit: "/sys/fs/cgroup/memory/memory.limit_in_bytes",
	CgroupV1Usage: "/sys/fs/cgroup/memory/memory.usage_in_bytes",
}

// Read returns the smallest of the budgets it can find; ok is false when
// none can be read (not Linux), and then nothing should be refused.
func Read(f Files) (b Budget, ok bool) {
	consider := func(n int64, src string) {
		if n > 0 && (!ok || n < b.Bytes) {
			b, ok = Budget{Bytes: n, Source: src}, true
		}
	}
	if n, err := memAvailable(f.Meminfo); err == nil {
		consider(n, "MemAvailable in "+f.Meminfo)
	}
	for _, c := range [][2]string{{f.CgroupMax, f.CgroupCurrent}, {f.CgroupV1Limit, f.CgroupV1Usage}} {
		limit, err := readInt(c[0])
		if err != nil || limit <= 0 || limit >= 1<<60 { // "max" or v1's unlimited
			continue
		}
		used, _ := readInt(c[1])
		consider(max(limit-used, 1), fmt.Sprintf("cgroup limit %s in %s, less %s in use", GiB(limit), c[0], GiB(used)))
	}
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &rl); err == nil && rl.Cur < 1<<62 {
		consider(int64(rl.Cur), "address space limit (ulimit -v)")
	}
	return b, ok
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
}

func memAvailable(path string) (int64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		rest, found := strings.CutPrefix(sc.Text(), "MemAvailable:")
		if !found {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			break
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: MemAvailable %q: %w", path, rest, err)
		}
		return kb * 1024, nil
	}
	return 0, fmt.Errorf("%s: no MemAvailable line", path)
}
