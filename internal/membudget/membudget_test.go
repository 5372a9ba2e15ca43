package membudget

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadTakesTheSmallestBudget(t *testing.T) {
	d := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(d, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	meminfo := write("meminfo", "MemTotal: 8000000 kB\nMemFree: 100 kB\nMemAvailable: 4194304 kB\n")
	b, ok := Read(Files{Meminfo: meminfo, CgroupMax: write("max", "max\n")})
	if !ok || b.Bytes != 4<<30 || !strings.Contains(b.Source, "MemAvailable") {
		t.Errorf("MemAvailable 4 GiB, cgroup max: got %v, %v", b, ok)
	}
	b, ok = Read(Files{Meminfo: meminfo, CgroupMax: write("max2", "1073741824\n"), CgroupCurrent: write("cur", "536870912\n")})
	if !ok || b.Bytes != 512<<20 || !strings.Contains(b.Source, "cgroup limit 1.00 GiB") {
		t.Errorf("cgroup 1 GiB with 512 MiB used: got %v, %v", b, ok)
	}
}
