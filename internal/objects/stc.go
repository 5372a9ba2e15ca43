package objects

import (
	"context"
	"fmt"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
)

// FrameDetector finds boxes in one frame (C=3, values in [0, 1]); Detector
// is one.
type FrameDetector interface {
	Detect(img imageio.Image) ([]Box, error)
}

// ExtractSTCBoxes makes fmam's own STC boxes for every video of ds as
// HF2VAD and PKG-Net do (see STCBoxConfig): per frame, the appearance boxes
// of det's detections, then the motion boxes outside them. det should keep
// every class (the official detector is a COCO Cascade R-CNN with all 80
// classes, per-class NMS at IoU 0.5) and may score below cfg.Score, which
// is applied here. det may be nil for motion boxes only. progress (may be
// nil) is called after every frame. The result knows every video of ds
// with its frame count.
func ExtractSTCBoxes(ctx context.Context, det FrameDetector, ds *data.VideoDataset, cfg STCBoxConfig, progress func(Progress)) (*Set, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := NewSet()
	for vi, v := range ds.Videos {
		s.Grow(v.Name, len(v.Frames))
		err := stcVideoBoxes(ctx, det, v, cfg, func(frame int, boxes []Box) {
			for _, b := range boxes {
				s.Add(b)
			}
			if progress != nil {
				progress(Progress{Video: v.Name, VideoIndex: vi, Videos: len(ds.Videos), Done: frame + 1, Total: len(v.Frames)})
			}
		})
		if err != nil {
			return nil, fmt.Errorf("STC boxes of video %s of %s: %w", v.Name, ds.Root, err)
		}
	}
	return s, nil
}

// stcVideoBoxes decodes each frame of v once and emits its STC boxes.
func stcVideoBoxes(ctx context.Context, det FrameDetector, v data.Video, cfg STCBoxConfig, emit func(frame int, boxes []Box)) error {
	dec, err := imageio.NewDecoder(imageio.DecodeOptions{C: 3, Range: imageio.RangeByte})
	if err != nil {
		return err
	}
	n := len(v.Frames)
	win := map[int]imageio.Image{}
	get := func(i int) (imageio.Image, error) {
		if img, ok := win[i]; ok {
			return img, nil
		}
		img, err := dec.Decode(v.Frames[i])
		if err != nil {
			return img, err
		}
		if first, ok := win[i-1]; ok && (first.W != img.W || first.H != img.H) {
			return img, fmt.Errorf("%s is %dx%d but %s is %dx%d; frames of a video must share one size", v.Frames[i], img.W, img.H, v.Frames[i-1], first.W, first.H)
		}
		win[i] = img
		return img, nil
	}
	var unit imageio.Image
	for t := range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		delete(win, t-2)
		prev, err := get(max(t-1, 0))
		if err != nil {
			return err
		}
		cur, err := get(t)
		if err != nil {
			return err
		}
		next, err := get(min(t+1, n-1))
		if err != nil {
			return err
		}
		var app []Box
		if det != nil {
			unit.C, unit.H, unit.W = cur.C, cur.H, cur.W
			unit.Pix = append(unit.Pix[:0], cur.Pix...)
			for i := range unit.Pix {
				unit.Pix[i] /= 255
			}
			dets, err := det.Detect(unit)
			if err != nil {
				return fmt.Errorf("%s: %w", v.Frames[t], err)
			}
			app = cfg.AppearanceBoxes(dets)
		}
		boxes := append(app, cfg.MotionBoxes(prev, cur, next, app)...)
		for i := range boxes {
			boxes[i].Video, boxes[i].Frame = v.Name, t
		}
		emit(t, boxes)
	}
	return nil
}
