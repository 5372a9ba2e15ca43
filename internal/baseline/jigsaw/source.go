package jigsaw

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/objects"
)

// cubeSource yields the official training batches from a cube cache:
// every epoch a seeded shuffle of all training cubes in batches (the last
// incomplete one dropped); the cube at dataset index i is a temporal
// puzzle when i is even and a spatial one when odd, as dataset.py makes
// them; every sample and the Dropout2d mask are drawn from the seed and
// the step alone, so a resumed run draws what the interrupted one would
// have.
type cubeSource struct {
	cfg    Config
	aug    Augment
	batch  int
	seed   uint64
	videos []*objects.VideoCubes
	// index lists (video, cube) in dataset order.
	index [][2]int
	pos   data.Position
	// perm is the shuffle of epoch permEpoch.
	perm      []int
	permEpoch int
	buf       []float32
}

func newCubeSource(cfg Config, aug Augment, batch int, seed uint64, videos []*objects.VideoCubes) (*cubeSource, error) {
	s := &cubeSource{cfg: cfg, aug: aug, batch: batch, seed: seed, videos: videos, permEpoch: -1}
	for vi, v := range videos {
		if got, want := v.Index.Shape, []int{3, cfg.Frames, cfg.Size, cfg.Size}; !slices.Equal(got, want) {
			return nil, fmt.Errorf("cached cubes of video %s have shape %v; the network reads %v", v.Index.Video, got, want)
		}
		for i := range v.Len() {
			s.index = append(s.index, [2]int{vi, i})
		}
	}
	if len(s.index) < batch {
		return nil, fmt.Errorf("%d training cubes, fewer than train.batch %d: the boxes give too few objects (check the box files, lower data.objects.score or data.objects.train_stride)", len(s.index), batch)
	}
	return s, nil
}

// batches is the number of batches per epoch.
func (s *cubeSource) batches() int { return len(s.index) / s.batch }

func (s *cubeSource) Next(ctx context.Context) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.permEpoch != s.pos.Epoch {
		s.perm = rand.New(rand.NewPCG(s.seed, uint64(s.pos.Epoch))).Perm(len(s.index))
		s.permEpoch = s.pos.Epoch
	}
	step := s.pos.Epoch*s.batches() + s.pos.Batch
	samples := make([]Sample, s.batch)
	for slot := range samples {
		i := s.perm[s.pos.Batch*s.batch+slot]
		at := s.index[i]
		cube, err := s.videos[at[0]].Cube(at[1], s.buf)
		if err != nil {
			return nil, err
		}
		s.buf = cube
		if samples[slot], err = NewSample(cube, s.cfg.Frames, s.cfg.Size, i%2 == 0, s.aug, SampleRNG(s.seed, step, slot)); err != nil {
			return nil, err
		}
	}
	out, err := StackBatch(s.cfg, samples, DropoutMask(s.cfg, s.batch, s.seed, step))
	if err != nil {
		return nil, err
	}
	s.pos = s.pos.Next(s.batches())
	return out, nil
}

func (s *cubeSource) Position() ([]byte, error) { return json.Marshal(s.pos) }

func (s *cubeSource) Restore(b []byte) error { return json.Unmarshal(b, &s.pos) }

// Close closes the cube files.
func (s *cubeSource) Close() error { return objects.CloseAll(s.videos) }
