package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
)

// unprivilegedID is the uid and gid (nobody, nogroup) that runs the
// commands whose test needs file permissions to bind: they do not bind
// root, and CI runs as root.
const unprivilegedID = 65534

// setuidDep is running a process as another user. It is not one of
// sharedtest's: only this package's tests need it, but it follows the
// same rule (CI=true, or FMAM_REQUIRE naming "setuid", fails instead of
// skipping).
const setuidDep sharedtest.Dep = "setuid"

// runUnprivileged runs the built fmam with args as user nobody and
// returns its output and, when it fails, an error that holds its stderr
// (where fmam logs the error). Each tree of owned is given to the user,
// as a user's own run folder is, so that only its modes can deny the
// process a write (a folder of root's would deny it whatever its modes).
// Before the command, it makes what the process must read reachable to
// it: the binary, a copy of the ONNX Runtime library, and the ancestors
// of owned (folders of the test that t.TempDir makes 0700), restoring
// their modes at the end of the test. The process gets a HOME, cache and
// TMPDIR of its own, so it never looks under /root. The environment is
// the test's (with its t.Setenv values), less what names root's home.
func runUnprivileged(t *testing.T, owned []string, args ...string) (string, error) {
	t.Helper()
	uid := strconv.Itoa(unprivilegedID)
	if u, err := user.LookupId(uid); err != nil {
		sharedtest.Missing(t, setuidDep, "no unprivileged user %s to run fmam as: %v", uid, err)
	} else if u.Uid != uid {
		t.Fatalf("user %s has uid %s", uid, u.Uid)
	}
	bin := fmamBinary(t)
	lib, err := ort.FindLibrary("", "")
	if err != nil {
		sharedtest.Missing(t, sharedtest.ORT, "ONNX Runtime not installed: %v", err)
	}
	libCopy := filepath.Join(t.TempDir(), filepath.Base(lib))
	copyFile(t, lib, libCopy)
	// go build and the copy honour the umask: make both readable by all.
	for p, mode := range map[string]fs.FileMode{bin: 0o755, libCopy: 0o644} {
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	home := t.TempDir()
	if err := os.Chown(home, unprivilegedID, unprivilegedID); err != nil {
		t.Fatalf("give %s to uid %d: %v", home, unprivilegedID, err)
	}
	for _, p := range append([]string{bin, libCopy, home}, owned...) {
		reachable(t, p)
	}
	for _, root := range owned {
		err := filepath.WalkDir(root, func(p string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, unprivilegedID, unprivilegedID)
		})
		if err != nil {
			t.Fatalf("give %s to uid %d: %v", root, unprivilegedID, err)
		}
	}

	var env []string
	for _, kv := range os.Environ() {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "USER", "LOGNAME", "TMPDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "FMAM_CACHE", ort.LibraryEnv:
		default:
			env = append(env, kv)
		}
	}
	env = append(env, "HOME="+home, "USER=nobody", "LOGNAME=nobody", "TMPDIR="+home,
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"), "XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"FMAM_CACHE="+filepath.Join(home, "fmam-cache"), ort.LibraryEnv+"="+libCopy)
	cmd := func(args ...string) *exec.Cmd {
		c := exec.Command(bin, args...)
		c.Dir = home
		c.Env = env
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{
			Uid: unprivilegedID, Gid: unprivilegedID, Groups: []uint32{}}}
		return c
	}

	// First a command that only loads the binary and the library: if it
	// fails, the setup is wrong, not the command under test.
	out, err := cmd("version").CombinedOutput()
	if err != nil {
		if errors.Is(err, syscall.EPERM) {
			sharedtest.Missing(t, setuidDep, "cannot run fmam as uid %d (setuid not permitted here?): %v", unprivilegedID, err)
		}
		t.Fatalf("fmam version as uid %d (binary %s, %s=%s, HOME=%s) failed, so the unprivileged setup is wrong: %v\n%s",
			unprivilegedID, bin, ort.LibraryEnv, libCopy, home, err, out)
	}

	var stdout, stderr bytes.Buffer
	c := cmd(args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	if err := c.Run(); err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("fmam %s as uid %d: %w; stderr:\n%s", strings.Join(args, " "), unprivilegedID, err, stderr.String())
	}
	return stdout.String() + stderr.String(), nil
}

// reachable makes every folder above path traversable and readable by
// all (0755 from t.TempDir's 0700) and restores their modes when the test
// ends. Folders that already are stay as they are.
func reachable(t *testing.T, path string) {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		info, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if mode := info.Mode() & (fs.ModePerm | fs.ModeSticky | fs.ModeSetgid); mode&0o055 != 0o055 {
			if err := os.Chmod(d, mode|0o055); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := os.Chmod(d, mode); err != nil && !os.IsNotExist(err) {
					t.Error(err)
				}
			})
		}
		if d == filepath.Dir(d) {
			return
		}
	}
}

// copyFile copies from to a new file readable by all.
func copyFile(t *testing.T, from, to string) {
	t.Helper()
	src, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatalf("copy %s to %s: %v", from, to, err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
}
