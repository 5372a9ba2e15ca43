package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/synth"
)

// videoSets loads the train and test splits the config names, generating
// the synthetic set into the run folder when asked for.
func (e *Env) videoSets(ctx context.Context) (train, test *data.VideoDataset, err error) {
	d := e.Cfg.Data
	root := d.Root
	name := d.Kind
	if d.Kind == "synth-video" {
		if root == "" {
			root = filepath.Join(e.BaseDir, "data", "synth-video")
		}
		if _, err := os.Stat(filepath.Join(root, "labels.json")); err != nil {
			e.Log.Info("generating the synthetic video set", "dir", root)
			if _, err := synth.GenerateVideo(ctx, synth.VideoOptions{Out: root, Width: d.Size, Height: d.Size, Seed: e.Cfg.Seed, Force: true}); err != nil {
				return nil, nil, err
			}
		}
		name = "synth"
	}
	labels, err := frameLabels(d.Labels, name)
	if err != nil {
		return nil, nil, err
	}
	opt := data.FramesOptions{Labels: labels}
	if name == "frames" || name == "synth" {
		opt.Name = ""
	}
	load := func(split data.Split) (*data.VideoDataset, error) {
		switch name {
		case "ped1", "ped2", "avenue", "shanghaitech":
			return data.LoadVideo(name, root, split, opt)
		default:
			return data.LoadFrames(root, split, opt)
		}
	}
	if train, err = load(data.Train); err != nil {
		return nil, nil, err
	}
	if test, err = load(data.Test); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// frameLabels turns the config's labels path into a label source by its
// form: a .mat of ranges, a UCSD .m file, an .npy vector, or a folder of
// Avenue masks or ShanghaiTech per-video vectors.
func frameLabels(path, name string) (data.FrameLabels, error) {
	var l data.FrameLabels
	if path == "" {
		return l, nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return l, fmt.Errorf("data.labels %s: %w", path, err)
	}
	switch {
	case st.IsDir():
		ents, _ := os.ReadDir(path)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), "_label.mat") {
				l.AvenueMaskDir = path
				return l, nil
			}
		}
		l.NPYDir = path
	case strings.HasSuffix(path, ".mat"):
		if name == "avenue" {
			return l, fmt.Errorf("data.labels %s: Avenue labels are a folder of <n>_label.mat files or an .npy", path)
		}
		l.RangesMAT = path
	case strings.HasSuffix(path, ".m"):
		l.UCSDm = path
	case strings.HasSuffix(path, ".npy"):
		l.NPY = path
		switch name {
		case "ped2":
			l.AllVideos = data.Ped2TestVideos()
		case "avenue":
			l.AllVideos = data.AvenueTestVideos()
		}
	default:
		return l, fmt.Errorf("data.labels %s: use a .mat, .m or .npy file, or a folder of label files", path)
	}
	return l, nil
}

func (e *Env) decodeOptions() data.DecodeOptions {
	d := e.Cfg.Data
	r := data.RangeUnit
	if e.Cfg.Task == "video" {
		// MNAD normalises frames to [-1, 1].
		r = data.RangeSigned
	}
	return data.DecodeOptions{C: d.Channels, H: d.Size, W: d.Size, Range: r}
}

// clipSource feeds training batches from a VideoBatcher, epoch after
// epoch, and records its position for checkpoints.
type clipSource struct {
	b    *data.VideoBatcher
	pos  data.Position
	next func() (*data.Batch, error, bool)
	stop func()
}

func newClipSource(b *data.VideoBatcher) *clipSource { return &clipSource{b: b} }

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
