package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/config"
)

func TestParseSeeds(t *testing.T) {
	cases := []struct {
		in   string
		want []uint64
		err  string
	}{
		{"0,1,2", []uint64{0, 1, 2}, ""},
		{" 7 , 3 ", []uint64{7, 3}, ""},
		{"", nil, "no seeds"},
		{"1,x", nil, `"x" is not a non-negative integer`},
		{"-1", nil, "not a non-negative integer"},
		{"2,2", nil, "seed 2 is given twice"},
	}
	for _, c := range cases {
		got, err := config.ParseSeeds(c.in)
		switch {
		case c.err == "" && (err != nil || !slices.Equal(got, c.want)):
			t.Errorf("ParseSeeds(%q) = %v, %v; want %v", c.in, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("ParseSeeds(%q) error %v, want one containing %q", c.in, err, c.err)
		}
	}
}

// A seed's configuration: its seed, no list, the data seeded with the run's
// seed, and the teacher placeholder filled; the placeholder without seeds,
// and a repeated seed, are refused; FMAM_TRAIN_SEEDS reads a comma list.
func TestForSeed(t *testing.T) {
	c, err := config.Load("", []byte("name: x\nseed: 5\ntrain: {seeds: [0, 9]}\nmodel: {teacher: \"runs/a/seed-{seed}/teacher/teacher.onnx\"}\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !c.MultiSeed() || c.DataSeed() != 5 {
		t.Fatalf("multi %v, data seed %d", c.MultiSeed(), c.DataSeed())
	}
	abs := func(p string) string { // an embedded config's paths resolve against the working directory
		a, err := filepath.Abs(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	s := c.ForSeed(9)
	if s.Seed != 9 || s.MultiSeed() || s.DataSeed() != 5 || s.Model.Teacher != abs("runs/a/seed-9/teacher/teacher.onnx") {
		t.Errorf("ForSeed(9): seed %d, seeds %v, data seed %d, teacher %s", s.Seed, s.Train.Seeds, s.DataSeed(), s.Model.Teacher)
	}
	if err := s.Validate(); err != nil {
		t.Errorf("seed config invalid: %v", err)
	}
	if c.Model.Teacher != abs("runs/a/seed-{seed}/teacher/teacher.onnx") || len(c.Train.Seeds) != 2 {
		t.Error("ForSeed changed the run's configuration")
	}
	for _, y := range []string{
		"name: x\nmodel: {teacher: \"a/seed-{seed}.onnx\"}\n",
		"name: x\ntrain: {seeds: [1, 1]}\n",
	} {
		if _, err := config.Load("", []byte(y), "", nil); err == nil {
			t.Errorf("%q accepted", y)
		}
	}
	// One seed stays the default, and its config.yaml has no seed keys.
	d, _ := config.Load("", []byte("name: x\n"), "", nil)
	y, _ := d.YAML()
	if d.MultiSeed() || strings.Contains(string(y), "seeds") || strings.Contains(string(y), "\n    seed:") {
		t.Errorf("default config is multi-seed or writes seed keys:\n%s", y)
	}
	t.Setenv("FMAM_TRAIN_SEEDS", "4,2")
	e, err := config.Load("", []byte("name: x\n"), "", nil)
	if err != nil || !slices.Equal(e.Train.Seeds, []uint64{4, 2}) {
		t.Errorf("FMAM_TRAIN_SEEDS: %v, %v", e.Train.Seeds, err)
	}
}

// A teacher path with the seed placeholder is checked once per seed.
func TestCheckPathsPerSeed(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "t0.onnx"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	y := "name: x\ntrain: {seeds: [0, 1]}\nmodel: {teacher: \"" + filepath.Join(dir, "t{seed}.onnx") + "\"}\n"
	c, err := config.Load("", []byte(y), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	err = c.CheckPaths()
	if err == nil || !strings.Contains(err.Error(), "seed 1") || strings.Contains(err.Error(), "seed 0") {
		t.Errorf("CheckPaths: %v, want an error for seed 1 only", err)
	}
}
