package experiment_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/membudget"
)

const bigVideo = `
name: too-big
task: video
data: {kind: synth-video, size: 1000000, frames: 4, channels: 1}
model: {arch: mnad, width: 0.125, taps: [bottleneck]}
train: {batch: 4}
`

// A data.size no machine holds is refused before the run folder exists,
// with the estimate, the machine's memory and the keys to lower (issue
// 22: it ended in "fatal error: out of memory" with the folder left).
func TestOpenRefusesWhatCannotFit(t *testing.T) {
	cfg, err := config.Load("", []byte(bigVideo), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	_, err = experiment.Open(cfg, dir, "", slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err == nil {
		t.Fatal("opened a run of data.size 1000000")
	}
	for _, want := range []string{"needs about", "TiB", "the machine has", "data.size", "train.batch", "model.width"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the run folder %s exists after the refusal (%v)", dir, err)
	}
}

// Under a cgroup limit a size that fits the machine but not the limit is
// refused, naming the limit and a data.size that fits; the demo's own
// size passes.
func TestCheckMemoryUnderCgroupLimit(t *testing.T) {
	d := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := membudget.Files{
		Meminfo:       write("meminfo", "MemTotal: 67108864 kB\nMemAvailable: 60000000 kB\n"),
		CgroupMax:     write("memory.max", "2147483648\n"),
		CgroupCurrent: write("memory.current", "0\n"),
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, c := range []struct {
		size int
		want string // "" for no error
	}{
		{32, ""},
		{4096, "lower data.size (to "},
		{8192, "cgroup limit 2.00 GiB"},
	} {
		cfg, err := config.Load("", []byte(strings.Replace(bigVideo, "1000000", "32", 1)), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Data.Size = c.size
		b, err := registry.Lookup(cfg)
		if err != nil {
			t.Fatal(err)
		}
		err = experiment.CheckMemory(b, cfg, files, log)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("data.size %d: %v", c.size, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("data.size %d: error %v, want one with %q", c.size, err, c.want)
		}
	}
}
