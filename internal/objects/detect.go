package objects

import (
	"context"
	"fmt"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
)

// VideoDetector finds boxes in the frames of a video.
type VideoDetector interface {
	// DetectVideo passes the boxes of every frame of v, in frame order, to
	// emit (boxes with Video and Frame set; the slice may be reused after
	// emit returns).
	DetectVideo(ctx context.Context, v data.Video, emit func(frame int, boxes []Box) error) error
}

// Progress reports how far a pass over a dataset is.
type Progress struct {
	Video      string
	VideoIndex int // 0-based
	Videos     int
	Done       int // frames (detection) or boxes (cubes) done in this video
	Total      int // of this video
}

// DetectDataset runs det over every video of ds and collects the boxes.
// progress (may be nil) is called after every frame.
func DetectDataset(ctx context.Context, det VideoDetector, ds *data.VideoDataset, progress func(Progress)) (*Set, error) {
	s := NewSet()
	for vi, v := range ds.Videos {
		s.Grow(v.Name, len(v.Frames))
		err := det.DetectVideo(ctx, v, func(frame int, boxes []Box) error {
			for _, b := range boxes {
				s.Add(b)
			}
			if progress != nil {
				progress(Progress{Video: v.Name, VideoIndex: vi, Videos: len(ds.Videos), Done: frame + 1, Total: len(v.Frames)})
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("detect boxes in video %s of %s: %w", v.Name, ds.Root, err)
		}
	}
	return s, nil
}

// DetectVideo runs the detector on every frame of v.
func (d *Detector) DetectVideo(ctx context.Context, v data.Video, emit func(frame int, boxes []Box) error) error {
	dec, err := imageio.NewDecoder(imageio.DecodeOptions{C: 3, Range: imageio.RangeUnit})
	if err != nil {
		return err
	}
	for i, path := range v.Frames {
		if err := ctx.Err(); err != nil {
			return err
		}
		img, err := dec.Decode(path)
		if err != nil {
			return err
		}
		boxes, err := d.Detect(img)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for j := range boxes {
			boxes[j].Video, boxes[j].Frame = v.Name, i
		}
		if err := emit(i, boxes); err != nil {
			return err
		}
	}
	return nil
}
