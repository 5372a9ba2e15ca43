package jigsaw

import (
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"strings"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/datacheck"
	"github.com/fmam/fmam/internal/objects"
)

// splitName is a split as the config keys and run-folder files spell it.
func splitName(sp data.Split) string {
	if sp == data.Train {
		return "train"
	}
	return "test"
}

// boxFile is the configured box file of a split and its config key.
func boxFile(o config.Objects, sp data.Split) (path, key string) {
	if sp == data.Train {
		return o.TrainBoxes, "data.objects.train_boxes"
	}
	return o.TestBoxes, "data.objects.test_boxes"
}

// filterFor is the box filter of the configuration: Jigsaw-VAD's for the
// data set (Ped2's for data sets it has none for), with the overrides of
// data.objects.
func filterFor(cfg *config.Config) objects.FilterConfig {
	f, err := objects.FilterFor(cfg.Data.Kind)
	if err != nil {
		f, _ = objects.FilterFor("ped2")
	}
	o := cfg.Data.Objects
	if o.Score != nil {
		f.Score = *o.Score
	}
	if o.MinSide != nil {
		f.MinSide = *o.MinSide
	}
	if o.DropInside != nil {
		f.DropContained = *o.DropInside
	}
	return f
}

// cubeConfig is how a split's cubes are cut: data.frames frames of
// data.size pixels, Jigsaw-VAD's margins (T/2 on test videos, T-1 on
// training videos) and training frame stride (5 on ShanghaiTech), or
// data.objects.train_stride.
func cubeConfig(cfg *config.Config, sp data.Split) objects.CubeConfig {
	c, err := objects.CubeConfigFor(cfg.Data.Kind, sp)
	if err != nil {
		c = objects.CubeConfig{Stride: 1}
	}
	c.T, c.Size = cfg.Data.Frames, cfg.Data.Size
	c.Margin = c.T / 2
	if sp == data.Train {
		c.Margin = c.T - 1
		if s := cfg.Data.Objects.TrainStride; s > 0 {
			c.Stride = s
		}
	}
	return c
}

// protocolFor is the official scoring protocol of the data set, Ped2's
// for data sets it has none for.
func protocolFor(kind string) Protocol {
	p, err := ProtocolFor(kind)
	if err != nil {
		p, _ = ProtocolFor("ped2")
	}
	return p
}

// boxes returns the filtered boxes of one split of ds, from the box file
// the config names or from the configured detector (run once per split,
// its boxes kept in the run folder), checked against the frames of ds.
// Boxes partly outside the frame are kept as they are (ROI sampling reads
// zeros there, as torchvision's does).
func boxes(ctx context.Context, u *baseline.Unit, ds *data.VideoDataset, sp data.Split) (*objects.Set, error) {
	o := u.Cfg.Data.Objects
	var set *objects.Set
	path, key := boxFile(o, sp)
	var err error
	if o.Detector == "" { // CheckConfig made sure both box files are named
		if set, err = objects.Load(path); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
	} else {
		path, key = u.Layout.Boxes(splitName(sp)), "data.objects.detector"
		if set, err = detected(ctx, u, ds, path); err != nil {
			return nil, fmt.Errorf("%s %s: %w", key, o.Detector, err)
		}
	}
	rep, err := validate(set, ds, path, key)
	if err != nil {
		return nil, err
	}
	if len(rep.Empty) > 0 {
		u.Log.Warn("videos without any box: their frames score as normal", "split", splitName(sp), "file", path, "videos", strings.Join(rep.Empty, ","))
	}
	f := filterFor(u.Cfg)
	kept, st := f.Apply(set)
	u.Log.Info("boxes", "split", splitName(sp), "file", path, "boxes", st.In, "kept", st.Kept, "low_score", st.LowScore,
		"inside", st.Contained, "small", st.Small, "partly_outside", rep.Clipped, "score_above", f.Score)
	return kept, nil
}

// validate checks boxes read from path (named by the config key) against
// the frames of ds; videos without any box are accepted.
func validate(set *objects.Set, ds *data.VideoDataset, path, key string) (objects.ValidateReport, error) {
	d, err := objects.DatasetOf(ds)
	if err != nil {
		return objects.ValidateReport{}, err
	}
	d.EmptyOK = true
	_, rep, err := objects.Validate(set, path, d)
	if err != nil {
		return rep, fmt.Errorf("%s: %w", key, err)
	}
	return rep, nil
}

// DataChecks reads the box files the config names (boxes a detector
// found in the run folder were checked when they were written) and checks
// them against the frames of their split, as training and evaluation do.
func (*Baseline) DataChecks(u *baseline.Unit, train, test *data.VideoDataset) []datacheck.Check {
	o := u.Cfg.Data.Objects
	if o.Detector != "" {
		return nil
	}
	var out []datacheck.Check
	for sp, ds := range splits(train, test) {
		path, key := boxFile(o, sp)
		if path == "" {
			continue
		}
		out = append(out, datacheck.Check{Files: 1, Run: func(context.Context) error {
			set, err := objects.Load(path)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			_, err = validate(set, ds, path, key)
			return err
		}})
	}
	return out
}

// splits yields the splits that were read, train first.
func splits(train, test *data.VideoDataset) iter.Seq2[data.Split, *data.VideoDataset] {
	return func(yield func(data.Split, *data.VideoDataset) bool) {
		if train != nil && !yield(data.Train, train) {
			return
		}
		if test != nil {
			yield(data.Test, test)
		}
	}
}

// detected runs the configured detector over ds unless its boxes are
// already in path, and writes them there.
func detected(ctx context.Context, u *baseline.Unit, ds *data.VideoDataset, path string) (*objects.Set, error) {
	if _, err := os.Stat(path); err == nil {
		return objects.Load(path)
	}
	o := u.Cfg.Data.Objects
	var det objects.VideoDetector
	if o.Detector == config.DetectorForeground {
		fc := objects.DefaultForegroundConfig()
		if o.FgThreshold != nil {
			fc.Threshold = *o.FgThreshold
		}
		if o.FgMinArea > 0 {
			fc.MinArea = o.FgMinArea
		}
		fc.Union = o.FgUnion
		f, err := objects.NewForeground(fc)
		if err != nil {
			return nil, err
		}
		det = f
	} else {
		dc := objects.DefaultDetectorConfig(o.Detector)
		l, err := objects.ParseLayout(o.Layout)
		if err != nil {
			return nil, fmt.Errorf("data.objects.layout: %w", err)
		}
		opt := u.ORT()
		dc.Layout, dc.Device, dc.Threads = l, opt.Device, opt.Threads
		d, err := objects.NewDetector(u.RT, dc)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		det = d
	}
	u.Log.Info("detecting boxes", "detector", o.Detector, "videos", len(ds.Videos), "frames", ds.NumFrames(), "out", path)
	// Detection takes minutes on a full split: progress over all frames.
	bar := u.Bar(ds.NumFrames(), "boxes "+filepath.Base(path))
	done := 0
	set, err := objects.DetectDataset(ctx, det, ds, func(p objects.Progress) {
		done++
		bar.Set(done)
		if p.Done == p.Total {
			u.Log.Debug("detected", "video", p.Video, "frames", p.Total)
		}
	})
	bar.Finish()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	return set, objects.WriteCSV(path, set)
}

// cubeDir is the cube cache folder of a split.
func cubeDir(u *baseline.Unit, sp data.Split) string {
	if c := u.Cfg.Data.Objects.Cache; c != "" {
		return filepath.Join(c, splitName(sp))
	}
	return u.Layout.Cubes(splitName(sp))
}

// cubes extracts the cubes of one split into its cache (videos already
// there with the same boxes and settings are skipped) and returns the
// folder.
func cubes(ctx context.Context, u *baseline.Unit, ds *data.VideoDataset, sp data.Split) (string, error) {
	set, err := boxes(ctx, u, ds, sp)
	if err != nil {
		return "", err
	}
	cc := cubeConfig(u.Cfg, sp)
	dir := cubeDir(u, sp)
	// Extraction takes minutes on a full split: progress per video.
	bar := u.Bar(len(ds.Videos), "cubes "+splitName(sp))
	sum, err := objects.WriteCache(ctx, dir, ds, set, cc, objects.CacheOptions{Logger: u.Log, Progress: func(p objects.Progress) {
		if p.Done == p.Total {
			bar.Set(p.VideoIndex + 1)
			if p.Total > 0 {
				u.Log.Debug("cubes", "split", splitName(sp), "video", p.Video, "cubes", p.Total)
			}
		}
	}})
	bar.Finish()
	if err != nil {
		return "", err
	}
	if sum.Written > 0 {
		u.Log.Info("cube cache", "split", splitName(sp), "dir", dir, "videos", sum.Videos, "written", sum.Written, "cubes", sum.Cubes)
	}
	return dir, nil
}
