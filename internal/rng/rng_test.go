package rng

import "testing"

// TestStreamsDistinct checks that no two (seed, stage, use) of seeds 0..99
// share a stream outside the teacher, whose uses all read the seed, and
// that no other stage's stream is any seed's teacher stream.
func TestStreamsDistinct(t *testing.T) {
	const seeds = 100
	teacher := map[uint64]uint64{}
	for k := uint64(0); k < seeds; k++ {
		for _, u := range Uses {
			if got := Stream(k, Teacher, u); got != k {
				t.Fatalf("teacher stream of seed %d, use %d is %d; the teacher's streams are its seed", k, u, got)
			}
		}
		teacher[k] = k
	}
	type key struct {
		seed  uint64
		stage Stage
		use   Use
	}
	seen := map[uint64]key{}
	for k := uint64(0); k < seeds; k++ {
		for _, st := range Stages {
			if st == Teacher {
				continue
			}
			for _, u := range Uses {
				s := Stream(k, st, u)
				if tk, ok := teacher[s]; ok {
					t.Errorf("%s stream of seed %d, use %d is the teacher stream of seed %d", st, k, u, tk)
				}
				if old, ok := seen[s]; ok {
					t.Errorf("%s seed %d use %d shares stream %d with %s seed %d use %d", st, k, u, s, old.stage, old.seed, old.use)
				}
				seen[s] = key{k, st, u}
			}
		}
	}
	if want := seeds * (len(Stages) - 1) * len(Uses); len(seen) != want {
		t.Errorf("%d distinct streams, want %d", len(seen), want)
	}
}

func TestStreamStable(t *testing.T) {
	// The streams are part of what a run folder's numbers mean: changing
	// them changes every student and control, so two are pinned.
	if got := Stream(1, Student, Init); got != 7139585272864942409 {
		t.Errorf("Stream(1, Student, Init) = %d; a changed stream changes every student", got)
	}
	if got := Stream(0, Control, Data); got != 3242329876061499322 {
		t.Errorf("Stream(0, Control, Data) = %d; a changed stream changes every control", got)
	}
}
