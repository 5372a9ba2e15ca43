package jigsaw

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fmam/fmam/internal/nn"
)

// Layout is the spatial jigsaw's geometry: a 3x3 grid of Tile x Tile
// tiles starting Border pixels from the top left corner. Pixels outside
// the grid are set to zero on every cube, puzzle or not.
type Layout struct{ Border, Tile int }

// OfficialLayout is dataset.py's: 20-pixel tiles after a 2-pixel border,
// covering pixels 2..61 of a 64x64 crop.
var OfficialLayout = Layout{Border: 2, Tile: 20}

// Augment holds the training-sample settings of the official dataset.py
// and main.py.
type Augment struct {
	Layout Layout
	// StaticThreshold: a cube whose largest |last frame - first frame|
	// is below it is not permuted in time (its temporal target is the
	// identity). main.py's default is 0.3 (dataset.py's own default 0.1 is
	// always overridden; the README trains ShanghaiTech with 0.2).
	StaticThreshold float64
	// FlipProb is the chance of a horizontal flip (0.5).
	FlipProb float64
	// IdentityProb is the chance that a drawn permutation is replaced by
	// the identity (0.0001 in dataset.py).
	IdentityProb float64
}

// OfficialAugment is the official training setting.
var OfficialAugment = Augment{Layout: OfficialLayout, StaticThreshold: 0.3, FlipProb: 0.5, IdentityProb: 1e-4}

// Sample is one training cube with its puzzle.
type Sample struct {
	// Cube is [3, T, S, S]: flipped, tiled, permuted, clamped to [0, 1].
	Cube []float32
	// Temporal marks a temporal puzzle; otherwise the sample is a spatial
	// puzzle. Each sample trains one branch only.
	Temporal bool
	// TemporalPerm: frame position i of Cube holds original frame
	// TemporalPerm[i]. The identity for spatial and static samples.
	TemporalPerm []int
	// SpatialPerm: original tile j (row-major in the grid) sits at grid
	// position SpatialPerm[j] in every frame. The identity for temporal
	// samples.
	SpatialPerm []int
	Flipped     bool
	// Static marks a temporal sample left unpermuted because its first
	// and last frames hardly differ.
	Static bool
}

// checkCube validates a [3, frames, size, size] cube and the layout.
func checkCube(cube []float32, frames, size int, l Layout) error {
	if want := 3 * frames * size * size; len(cube) != want {
		return fmt.Errorf("jigsaw: cube has %d values; want 3x%dx%dx%d = %d", len(cube), frames, size, size, want)
	}
	if l.Border < 0 || l.Tile < 1 || l.Border+Grid*l.Tile > size {
		return fmt.Errorf("jigsaw: layout border %d, tile %d does not fit a %dx%d cube", l.Border, l.Tile, size, size)
	}
	return nil
}

// NewSample makes the training sample of dataset.py's __getitem__ from a
// cube [3, frames, size, size] in [0, 1]: a horizontal flip with
// FlipProb; for a spatial sample (temporal false) a random tile
// permutation, the same on every frame; for a temporal sample the tiles
// stay in place (the cube still loses its border) and, unless the cube is
// static, the frames are shuffled. The official code makes the objects at
// even dataset indices temporal and those at odd indices spatial: pass
// index%2 == 0. Everything random comes from rng, so a seeded rng per
// sample (SampleRNG) makes training reproducible. The input is not changed.
func NewSample(cube []float32, frames, size int, temporal bool, a Augment, rng *rand.Rand) (Sample, error) {
	if err := checkCube(cube, frames, size, a.Layout); err != nil {
		return Sample{}, err
	}
	s := Sample{Temporal: temporal, TemporalPerm: identityPerm(frames), SpatialPerm: identityPerm(Tiles)}
	perm := randomPerm(frames, a.IdentityProb, rng)
	src := cube
	if rng.Float64() < a.FlipProb {
		src = flipW(cube, size)
		s.Flipped = true
	}
	if !temporal {
		s.SpatialPerm = randomPerm(Tiles, a.IdentityProb, rng)
	}
	out := Tile(src, frames, size, a.Layout, s.SpatialPerm)
	if temporal {
		if maxEndDiff(out, frames, size) < a.StaticThreshold {
			s.Static = true
		} else {
			s.TemporalPerm = perm
			out = permuteFrames(out, frames, size, perm)
		}
	}
	clamp01(out)
	s.Cube = out
	return s, nil
}

// TestCube is the cube the official evaluation feeds the network: tiles in
// place, so the border outside the grid is zero, and values clamped to
// [0, 1]. No flip, no permutation.
func TestCube(cube []float32, frames, size int, l Layout) ([]float32, error) {
	out := make([]float32, len(cube))
	if err := TestCubeInto(out, cube, frames, size, l); err != nil {
		return nil, err
	}
	return out, nil
}

// TestCubeInto is TestCube writing into dst (len(dst) == len(cube)), for
// evaluation loops that fill a batch in place.
func TestCubeInto(dst, cube []float32, frames, size int, l Layout) error {
	if err := checkCube(cube, frames, size, l); err != nil {
		return err
	}
	if len(dst) != len(cube) {
		return fmt.Errorf("jigsaw: test cube destination has %d values; want %d", len(dst), len(cube))
	}
	clear(dst) // the border outside the tiles is zero
	tileInto(dst, cube, frames, size, l, identityPerm(Tiles))
	clamp01(dst)
	return nil
}

// SampleRNG is the random source of one sample: a function of the run's
// seed, the training step and the sample's slot in the batch only, so a
// resumed run draws exactly what the interrupted one would have.
func SampleRNG(seed uint64, step, slot int) *rand.Rand {
	return rand.New(rand.NewPCG(seed^0x6a09e667f3bcc908, uint64(step)<<16|uint64(slot)))
}

// DropoutMask is the Dropout2d keep-mask of one training step, a function
// of the seed and the step only (see SampleRNG).
func DropoutMask(cfg Config, batch int, seed uint64, step int) []float32 {
	rng := rand.New(rand.NewPCG(seed^0xbb67ae8584caa73b, uint64(step)))
	return nn.Dropout2dMask(rng, batch, cfg.Channels(), cfg.Dropout)
}

// Targets returns the one-hot targets of a sample as the train step reads
// them: temporal [T, T] (row i one-hot at TemporalPerm[i]) and spatial
// [9, 9] (row j one-hot at SpatialPerm[j]); the branch the sample does not
// train is all zeros.
func (s Sample) Targets() (temporal, spatial []float32) {
	t := len(s.TemporalPerm)
	temporal = make([]float32, t*t)
	spatial = make([]float32, Tiles*Tiles)
	if s.Temporal {
		for i, p := range s.TemporalPerm {
			temporal[i*t+p] = 1
		}
	} else {
		for j, p := range s.SpatialPerm {
			spatial[j*Tiles+p] = 1
		}
	}
	return temporal, spatial
}

// StackBatch lays samples out as the train step's batch inputs, in
// TrainSpec's order: cubes, temporal targets, spatial targets and the
// given Dropout2d mask.
func StackBatch(cfg Config, samples []Sample, mask []float32) ([][]float32, error) {
	per := 3 * cfg.Frames * cfg.Size * cfg.Size
	if want := len(samples) * cfg.Channels(); len(mask) != want {
		return nil, fmt.Errorf("jigsaw: dropout mask has %d values; want %d samples x %d channels", len(mask), len(samples), cfg.Channels())
	}
	cubes := make([]float32, 0, len(samples)*per)
	var tt, st []float32
	for i, s := range samples {
		if len(s.Cube) != per || len(s.TemporalPerm) != cfg.Frames {
			return nil, fmt.Errorf("jigsaw: sample %d has %d values and %d frames; want %d and %d", i, len(s.Cube), len(s.TemporalPerm), per, cfg.Frames)
		}
		cubes = append(cubes, s.Cube...)
		a, b := s.Targets()
		tt, st = append(tt, a...), append(st, b...)
	}
	return [][]float32{cubes, tt, st, mask}, nil
}

func identityPerm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}

// randomPerm is numpy's permutation(n), or the identity with probability
// pIdentity.
func randomPerm(n int, pIdentity float64, rng *rand.Rand) []int {
	if rng.Float64() < pIdentity {
		return identityPerm(n)
	}
	return rng.Perm(n)
}

// flipW mirrors every row of a [C, T, S, S] cube.
func flipW(cube []float32, size int) []float32 {
	out := make([]float32, len(cube))
	for r := 0; r < len(cube); r += size {
		for x := range size {
			out[r+x] = cube[r+size-1-x]
		}
	}
	return out
}

// Tile is dataset.py's jigsaw: a zero cube into which original tile j of
// every frame is copied at grid position perm[j]. With the identity it
// only zeroes the pixels outside the grid.
func Tile(cube []float32, frames, size int, l Layout, perm []int) []float32 {
	out := make([]float32, len(cube))
	tileInto(out, cube, frames, size, l, perm)
	return out
}

// tileInto writes the tiles of cube into out at their permuted places,
// leaving the rest of out as it is.
func tileInto(out, cube []float32, frames, size int, l Layout, perm []int) {
	plane := size * size
	for j, p := range perm {
		sy, sx := l.Border+l.Tile*(j/Grid), l.Border+l.Tile*(j%Grid)
		dy, dx := l.Border+l.Tile*(p/Grid), l.Border+l.Tile*(p%Grid)
		for f := 0; f < 3*frames; f++ {
			base := f * plane
			for y := range l.Tile {
				src := base + (sy+y)*size + sx
				dst := base + (dy+y)*size + dx
				copy(out[dst:dst+l.Tile], cube[src:src+l.Tile])
			}
		}
	}
}

// maxEndDiff is max |cube[:, T-1] - cube[:, 0]|.
func maxEndDiff(cube []float32, frames, size int) float64 {
	plane := size * size
	m := 0.0
	for c := range 3 {
		first := cube[(c*frames)*plane:][:plane]
		last := cube[(c*frames+frames-1)*plane:][:plane]
		for i := range plane {
			m = max(m, math.Abs(float64(last[i])-float64(first[i])))
		}
	}
	return m
}

// permuteFrames returns the cube with frame position i holding original
// frame perm[i] (PyTorch's obj[:, perm]).
func permuteFrames(cube []float32, frames, size int, perm []int) []float32 {
	plane := size * size
	out := make([]float32, len(cube))
	for c := range 3 {
		for i, p := range perm {
			copy(out[(c*frames+i)*plane:][:plane], cube[(c*frames+p)*plane:][:plane])
		}
	}
	return out
}

func clamp01(v []float32) {
	for i, x := range v {
		v[i] = min(max(x, 0), 1)
	}
}
