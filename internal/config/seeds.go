package config

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// SeedPlaceholder in model.teacher is replaced by the seed a run trains
// with, so that the students of a multi-seed run can share the teachers of
// another one: runs/x/sca/seed-{seed}/teacher/teacher.onnx.
const SeedPlaceholder = "{seed}"

// MultiSeed reports whether the run trains once per seed of train.seeds.
func (c *Config) MultiSeed() bool { return len(c.Train.Seeds) > 0 }

// ForSeed returns the configuration one seed of a multi-seed run trains
// with: seed k, no seed list, generated data seeded with the run's
// top-level seed (so every seed sees the same data), and the placeholder
// of model.teacher filled in.
func (c *Config) ForSeed(k uint64) *Config {
	cc := *c
	cc.Train.Seeds = nil
	if cc.Data.Seed == 0 {
		cc.Data.Seed = c.Seed
	}
	cc.Seed = k
	cc.Model.Teacher = strings.ReplaceAll(c.Model.Teacher, SeedPlaceholder, strconv.FormatUint(k, 10))
	return &cc
}

// DataSeed seeds generated data sets: data.seed, else the run's seed.
func (c *Config) DataSeed() uint64 {
	if c.Data.Seed != 0 {
		return c.Data.Seed
	}
	return c.Seed
}

// ParseSeeds reads a comma list of seeds ("0,1,2").
func ParseSeeds(s string) ([]uint64, error) {
	var out []uint64
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		k, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seeds %q: %q is not a non-negative integer; use a comma list such as 0,1,2", s, f)
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("seeds %q: no seeds; use a comma list such as 0,1,2", s)
	}
	return out, checkSeeds(out)
}

// checkSeedKeys checks train.seeds and the placeholder of model.teacher,
// which only a multi-seed run fills in.
func (c *Config) checkSeedKeys() error {
	if err := checkSeeds(c.Train.Seeds); err != nil {
		return fmt.Errorf("train.seeds: %w", err)
	}
	if !c.MultiSeed() && strings.Contains(c.Model.Teacher, SeedPlaceholder) {
		return fmt.Errorf("model.teacher %q holds %s but train.seeds is empty; set train.seeds (--seeds) or name one teacher file", c.Model.Teacher, SeedPlaceholder)
	}
	return nil
}

// checkSeeds refuses a seed given twice: its folder would be trained once
// and counted twice in the mean.
func checkSeeds(seeds []uint64) error {
	for i, k := range seeds {
		if slices.Contains(seeds[:i], k) {
			return fmt.Errorf("seed %d is given twice", k)
		}
	}
	return nil
}
