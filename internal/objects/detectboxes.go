package objects

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/ort"
)

// BoxesOptions says what DetectBoxes runs over and with what.
type BoxesOptions struct {
	// Dataset is the split whose every frame gets boxes.
	Dataset *data.VideoDataset
	// Foreground, when set, finds moving regions (no model needed);
	// otherwise the ONNX detector Detector runs on ONNX Runtime loaded
	// from Library.
	Foreground *ForegroundConfig
	Detector   DetectorConfig
	Library    string
	// Out is the CSV to write (WriteCSV).
	Out string
	// Progress, when set, is told after every frame how many frames of
	// the whole split are done and how many there are, so that a caller
	// can draw a bar or log (progress.NewLogged); the counts increase.
	Progress func(done, total int)
}

// BoxesResult is what DetectBoxes found.
type BoxesResult struct {
	Set *Set
	// Empty names the videos without a single box, in dataset order: a
	// sign of a threshold set too high.
	Empty []string
}

// DetectBoxes runs the detector of o over every frame of o.Dataset and
// writes the boxes to o.Out, logging a line per video to log (nil:
// nowhere) and telling o.Progress (nil: no one) of every frame.
func DetectBoxes(ctx context.Context, o BoxesOptions, log *slog.Logger) (*BoxesResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ds := o.Dataset
	var det VideoDetector
	if o.Foreground != nil {
		f, err := NewForeground(*o.Foreground)
		if err != nil {
			return nil, err
		}
		det = f
	} else {
		rt, err := ort.Open(o.Library)
		if err != nil {
			return nil, err
		}
		defer rt.Close()
		d, err := NewDetector(rt, o.Detector)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		det = d
	}
	log.Info("detecting boxes", "videos", len(ds.Videos), "frames", ds.NumFrames(), "root", ds.Root)
	// Frames done in the videos before the current one: the progress
	// of the whole split, which o.Progress counts in.
	total, before := ds.NumFrames(), 0
	set, err := DetectDataset(ctx, det, ds, func(p Progress) {
		if o.Progress != nil {
			o.Progress(before+p.Done, total)
		}
		// A line per video; within one, the bar (or its log lines every
		// progress.LogEvery) shows how far it got.
		if p.Done == p.Total {
			before += p.Total
			log.Info("detecting boxes", "video", p.Video, "index", fmt.Sprintf("%d/%d", p.VideoIndex+1, p.Videos), "frame", fmt.Sprintf("%d/%d", p.Done, p.Total))
		}
	})
	if err != nil {
		return nil, err
	}
	res := &BoxesResult{Set: set}
	for _, v := range ds.Videos {
		if set.VideoLen(v.Name) == 0 {
			res.Empty = append(res.Empty, v.Name)
		}
	}
	if err := WriteCSV(o.Out, set); err != nil {
		return nil, err
	}
	return res, nil
}
