package baseline

import (
	"context"
	"encoding/json"
	"iter"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/train"
)

// ClipSource feeds a video baseline's training batches (input clips and
// their target frames) from a VideoBatcher, epoch after epoch, and records
// its position for checkpoints.
func ClipSource(b *data.VideoBatcher) train.Source { return &clipSource{b: b} }

// ImageSource feeds an image baseline's training batches (images, clean
// targets, masks) from an ImageBatcher.
func ImageSource(b *data.ImageBatcher) train.Source { return &imageSrc{b: b} }

type clipSource struct {
	b    *data.VideoBatcher
	pos  data.Position
	next func() (*data.Batch, error, bool)
	stop func()
}

func (s *clipSource) Next(ctx context.Context) ([][]float32, error) {
	for {
		if s.next == nil {
			s.next, s.stop = iter.Pull2(s.b.Epoch(ctx, s.pos))
		}
		b, err, ok := s.next()
		if !ok {
			s.stop()
			s.next = nil
			if s.pos.Batch != 0 {
				s.pos = data.Position{Epoch: s.pos.Epoch + 1}
			}
			continue
		}
		if err != nil {
			s.close()
			return nil, err
		}
		s.pos = data.Position{Epoch: b.Epoch, Batch: b.Index}.Next(s.b.BatchesPerEpoch())
		return [][]float32{b.Input, b.Target}, nil
	}
}

func (s *clipSource) close() {
	if s.stop != nil {
		s.stop()
		s.next, s.stop = nil, nil
	}
}

func (s *clipSource) Position() ([]byte, error) { return json.Marshal(s.pos) }

func (s *clipSource) Restore(b []byte) error {
	s.close()
	return json.Unmarshal(b, &s.pos)
}

type imageSrc struct {
	b    *data.ImageBatcher
	pos  data.Position
	next func() (*data.ImageBatch, error, bool)
	stop func()
}

func (s *imageSrc) Next(ctx context.Context) ([][]float32, error) {
	for {
		if s.next == nil {
			s.next, s.stop = iter.Pull2(s.b.Epoch(ctx, s.pos))
		}
		b, err, ok := s.next()
		if !ok {
			s.close()
			continue
		}
		if err != nil {
			s.close()
			return nil, err
		}
		s.pos = data.Position{Epoch: b.Epoch, Batch: b.Index}.Next(s.b.BatchesPerEpoch())
		return [][]float32{b.Images, b.Clean, b.Masks}, nil
	}
}

func (s *imageSrc) close() {
	if s.stop != nil {
		s.stop()
		s.next, s.stop = nil, nil
	}
}

func (s *imageSrc) Position() ([]byte, error) { return json.Marshal(s.pos) }

func (s *imageSrc) Restore(b []byte) error {
	s.close()
	return json.Unmarshal(b, &s.pos)
}
