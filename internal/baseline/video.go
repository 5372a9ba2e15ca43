package baseline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/synth"
)

// VideoTask is the task of video data sets: a run has one unit, the data
// set, whose results table is the run's.
func VideoTask() Task { return videoTask{} }

type videoTask struct{}

func (videoTask) Kind() config.Task { return config.TaskVideo }

func (videoTask) DataKinds() []string {
	return []string{"ped2", "ped1", "avenue", "shanghaitech", "frames", "synth-video"}
}

func (videoTask) Units(context.Context, *Unit) ([]string, error) { return []string{""}, nil }

func (videoTask) Narrow(cfg *config.Config, _ string) *config.Config { return cfg }

func (videoTask) Summary(string, []*Eval) (report.Table, bool, error) {
	return report.Table{}, false, nil
}

func (videoTask) HeadlineName() string { return "frame micro AUC" }

// DatasetName names the unit's data set in tables: the data kind, or for
// generic layouts the data folder's name.
func (u *Unit) DatasetName() string {
	d := u.Cfg.Data
	switch {
	case d.Kind == "synth-video" || d.Kind == "synth-mvtec":
		return d.Kind
	case (d.Kind == "frames" || d.Kind == "folder") && d.Root != "":
		return filepath.Base(filepath.Clean(d.Root))
	}
	return d.Kind
}

// VideoSets loads the train and test splits the config names, generating
// the synthetic set into the run folder when asked for. With
// data.val_fraction the held-out videos are not in train (VideoSplits).
func (u *Unit) VideoSets(ctx context.Context) (train, test *data.VideoDataset, err error) {
	train, _, test, err = u.VideoSplits(ctx)
	return train, test, err
}

// VideoSplits is VideoSets with the held-out training videos
// (data.val_fraction of them, whole videos, at least one) as val; val has
// no videos when the fraction is 0.
func (u *Unit) VideoSplits(ctx context.Context) (train, val, test *data.VideoDataset, err error) {
	if train, test, err = u.loadVideoSets(ctx); err != nil {
		return nil, nil, nil, err
	}
	keep, held := holdOut(len(train.Videos), u.Cfg.Data.ValFraction, u.Cfg.DataSeed())
	tr, v := *train, *train
	tr.Videos, v.Videos = pick(train.Videos, keep), pick(train.Videos, held)
	return &tr, &v, test, nil
}

// videoRoot is the data set's root folder: data.root, or for the synthetic
// set without one the folder in the run where it is generated.
func (u *Unit) videoRoot() string {
	if d := u.Cfg.Data; d.Kind == "synth-video" && d.Root == "" {
		return filepath.Join(u.Layout.DataDir(), "synth-video")
	}
	return u.Cfg.Data.Root
}

// FrameKinds reads the anomaly kind of every test frame from the data
// set's data.FrameKindsFile (the synthetic video set has one); nil when
// the data set has none.
func (u *Unit) FrameKinds() (map[string][]string, error) {
	root := u.videoRoot()
	if root == "" {
		return nil, nil
	}
	p := filepath.Join(root, data.FrameKindsFile)
	if _, err := os.Stat(p); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return data.ReadFrameKinds(p)
}

// KindAUCs is the frame AUC of each anomaly kind of fused, normalised
// frame scores (metrics.FrameAUCByKind); nil when kinds is nil.
func KindAUCs(vs []metrics.VideoScores, kinds map[string][]string) ([]results.KindAUC, error) {
	if kinds == nil {
		return nil, nil
	}
	ks, err := metrics.FrameAUCByKind(vs, kinds)
	if err != nil {
		return nil, err
	}
	out := make([]results.KindAUC, len(ks))
	for i, k := range ks {
		out[i] = results.KindAUC{Kind: k.Kind, AUC: k.AUC, Frames: k.Frames}
	}
	return out, nil
}

func (u *Unit) loadVideoSets(ctx context.Context) (train, test *data.VideoDataset, err error) {
	if train, test, err = u.scanVideoSets(ctx, DataUse{Train: true, Test: true}); err != nil {
		return nil, nil, err
	}
	return train, test, nil
}

// scanVideoSets loads the splits use names, keeping what was found beside
// the layout's problems (data.ScanVideo): a split is nil when it was not
// asked for or its folder could not be listed.
func (u *Unit) scanVideoSets(ctx context.Context, use DataUse) (train, test *data.VideoDataset, err error) {
	d := u.Cfg.Data
	root := u.videoRoot()
	name := d.Kind
	if d.Kind == "synth-video" {
		err := u.generateOnce(ctx, root, filepath.Join(root, "labels.json"), "the synthetic video set", func() error {
			_, err := synth.GenerateVideo(ctx, synth.VideoOptions{Log: u.Log, Out: root, Width: d.Size, Height: d.Size, Seed: u.Cfg.DataSeed(), Force: true})
			return err
		})
		if err != nil {
			return nil, nil, err
		}
		name = "synth"
	}
	labels, err := FrameLabels(d.Labels, name)
	if err != nil {
		return nil, nil, err
	}
	opt := data.FramesOptions{Labels: labels, Log: u.Log}
	scan := func(split data.Split) (*data.VideoDataset, error) {
		switch name {
		case "ped1", "ped2", "avenue", "shanghaitech":
			return data.ScanVideo(name, root, split, opt)
		default:
			return data.ScanFrames(root, split, opt)
		}
	}
	var errs []error
	if use.Train {
		train, err = scan(data.Train)
		errs = append(errs, err)
	}
	if use.Test {
		test, err = scan(data.Test)
		errs = append(errs, err)
	}
	return train, test, errors.Join(errs...)
}

// FrameLabels turns a labels path into a label source by its form: a .mat
// of ranges, a UCSD .m file, an .npy vector, or a folder of Avenue masks or
// ShanghaiTech per-video vectors. name is the data kind.
func FrameLabels(path, name string) (data.FrameLabels, error) {
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
