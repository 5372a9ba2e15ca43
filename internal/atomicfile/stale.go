package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"time"
)

// TempPrefix is the name prefix of the temporary file or folder that
// becomes base: ".<base>.tmp-<pid>-", to which os.CreateTemp and
// os.MkdirTemp add random digits. The pid lets RemoveStale tell a
// leftover of a killed process from a write in progress.
func TempPrefix(base string) string {
	return "." + base + ".tmp-" + strconv.Itoa(os.Getpid()) + "-"
}

// tempName matches fmam's temporary names: TempPrefix's, and the older
// ".<base>.tmp-<random>" without a pid.
var tempName = regexp.MustCompile(`^\..+\.tmp-(?:([0-9]+)-)?[0-9]+$`)

// StaleAge is how long a temporary of a process that no longer exists is
// left alone: an active write keeps its file's (or folder's) time fresh.
const StaleAge = time.Minute

// OrphanAge is the age at which any temporary of fmam's naming is stale,
// whoever wrote it: names without a pid, a pid reused by another process,
// a writer on another host of a shared file system.
const OrphanAge = 6 * time.Hour

// RemoveStale removes the temporary files and folders of fmam's naming
// under root that a killed or crashed process left behind: those whose
// writer (the pid in the name) no longer runs on this host and that have
// not changed for StaleAge, and any not changed for OrphanAge. It returns
// how many it removed; a folder counts once, with what it holds.
func RemoveStale(root string, now time.Time) (int, error) {
	removed := 0
	var errs []error
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path == root {
				return err
			}
			return nil // a folder that went away or cannot be read
		}
		if path == root || !tempName.MatchString(d.Name()) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if !stale(d.Name(), now.Sub(info.ModTime())) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if err := os.RemoveAll(path); err != nil {
			errs = append(errs, err)
		} else {
			removed++
		}
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return removed, errors.Join(errs...)
}

func stale(name string, age time.Duration) bool {
	if age >= OrphanAge {
		return true
	}
	if age < StaleAge {
		return false
	}
	m := tempName.FindStringSubmatch(name)
	if m == nil || m[1] == "" {
		return false
	}
	pid, err := strconv.Atoi(m[1])
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
