// Package rng derives the random streams of fmam's training stages from
// the run's seed: every stage (teacher, student, control) draws its
// initial weights, its data order and its other random numbers from a
// stream of its own, Stream(seed, stage, use), so that no two stages of
// any seeds share one. The teacher's streams are the seed itself, as they
// have always been, so teachers trained before the streams were derived
// are unchanged; every other stage's stream is splitmix64 over (seed,
// stage, use), far from the small numbers seeds are.
//
// Before, a student of seed k drew from seed k + 1, the teacher of seed
// k + 1's streams: a control student of seed k was that teacher.
package rng

// Stage is a training stage that draws random numbers.
type Stage uint64

// The stages.
const (
	// Teacher is stage one, the baseline trained alone.
	Teacher Stage = iota
	// Student is stage two, trained with feature mimicking.
	Student
	// Control is the student network trained on L_o alone (no mimicking,
	// no attention): the row that tells mimicking from a second network.
	Control
)

// Stages lists every stage, for tests and documentation.
var Stages = []Stage{Teacher, Student, Control}

// String names the stage as its folder does.
func (s Stage) String() string {
	switch s {
	case Teacher:
		return "teacher"
	case Student:
		return "student"
	case Control:
		return "control"
	}
	return "stage?"
}

// Use is what a stream is drawn for.
type Use uint64

// The uses.
const (
	// Init draws the network's initial weights.
	Init Use = iota
	// Data draws the training data's order and augmentation.
	Data
	// Attention draws the attention modules' initial weights where they
	// are not built with the network (a cloned imported student).
	Attention
)

// Uses lists every use, for tests.
var Uses = []Use{Init, Data, Attention}

// Stream is the seed of the stream a stage draws for a use. The teacher's
// is seed itself for every use (its weights and its data order have always
// been drawn from the run's seed); every other stage's is splitmix64
// mixed over seed, stage and use.
func Stream(seed uint64, stage Stage, use Use) uint64 {
	if stage == Teacher {
		return seed
	}
	h := mix(seed ^ 0x666d616d73656564) // "fmamseed"
	h = mix(h ^ uint64(stage)<<32 ^ uint64(use))
	return h
}

// mix is splitmix64's finaliser over x advanced by its increment.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
