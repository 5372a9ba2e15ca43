package objects

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
)

// VideoInfo names one video of a dataset and gives its frame count.
type VideoInfo struct {
	Name   string
	Frames int
}

// Dataset is what boxes are checked against: the videos and the frame size
// in pixels (all frames of a dataset share it).
type Dataset struct {
	Videos        []VideoInfo
	Width, Height int
	// EmptyOK accepts videos without any box (a test video whose frames
	// then all score as normal); otherwise they are an error.
	EmptyOK bool
}

// DatasetOf describes a loaded video dataset, reading the size of the first
// frame of every video from its header; videos of different sizes are an
// error naming the first frames that differ.
func DatasetOf(ds *data.VideoDataset) (Dataset, error) {
	var d Dataset
	first := ""
	for _, v := range ds.Videos {
		d.Videos = append(d.Videos, VideoInfo{Name: v.Name, Frames: len(v.Frames)})
		if len(v.Frames) == 0 {
			continue
		}
		w, h, err := imageio.Size(v.Frames[0])
		if err != nil {
			return Dataset{}, fmt.Errorf("frame size of video %s: %w", v.Name, err)
		}
		if first == "" {
			d.Width, d.Height, first = w, h, v.Frames[0]
			continue
		}
		if w != d.Width || h != d.Height {
			return Dataset{}, fmt.Errorf("frames of different sizes: %s is %dx%d, %s is %dx%d; boxes need one frame size per dataset", first, d.Width, d.Height, v.Frames[0], w, h)
		}
	}
	if first == "" {
		return Dataset{}, fmt.Errorf("dataset %s has no frames", ds.Root)
	}
	return d, nil
}

// ValidateReport counts what Validate did.
type ValidateReport struct {
	Boxes   int      // boxes checked
	Clipped int      // boxes partly outside the frame, clipped to it
	Empty   []string // videos without any box (accepted with Dataset.EmptyOK)
}

// maxListed bounds the problems an error lists one by one.
const maxListed = 20

// Validate checks the boxes of s, read from the file named file, against
// the dataset d and returns them with boxes that stick out of the frame
// clipped to it. It is an error, naming file, video and frame, when a box
// names a video or a frame the dataset lacks, lies entirely outside the
// frame, has x2 <= x1 or y2 <= y1 or a coordinate that is not a number, and
// (unless d.EmptyOK) when a video of d has no boxes at all. All problems
// are reported, up to
// 20 listed one by one.
func Validate(s *Set, file string, d Dataset) (*Set, ValidateReport, error) {
	var rep ValidateReport
	if d.Width <= 0 || d.Height <= 0 {
		return nil, rep, fmt.Errorf("validate boxes %s: frame size %dx%d; give the dataset's frame width and height", file, d.Width, d.Height)
	}
	frames := map[string]int{}
	var names []string
	for _, v := range d.Videos {
		frames[v.Name] = v.Frames
		names = append(names, v.Name)
	}
	var problems []string
	add := func(format string, args ...any) {
		problems = append(problems, fmt.Sprintf(format, args...))
	}
	out := NewSet()
	for _, v := range d.Videos {
		out.Grow(v.Name, v.Frames)
	}
	W, H := float64(d.Width), float64(d.Height)
	for _, video := range s.Videos() {
		n, ok := frames[video]
		if !ok {
			if s.VideoLen(video) > 0 {
				b := s.Video(video)[0]
				add("video %s frame %d: the dataset has no video %s (it has %s); is this the box file of another split or dataset?", video, b.Frame, video, listNames(names))
			}
			continue
		}
		for fi := range s.NumFrames(video) {
			for _, b := range s.Frame(video, fi) {
				rep.Boxes++
				if b.Frame >= n {
					add("video %s frame %d: the video has %d frames (0-%d); frames are 0-based", video, b.Frame, n, n-1)
					continue
				}
				if !finite(b.X1, b.Y1, b.X2, b.Y2, b.Score) {
					add("video %s frame %d: box %s has a coordinate or score that is not a number", video, b.Frame, b)
					continue
				}
				if b.X2 <= b.X1 || b.Y2 <= b.Y1 {
					add("video %s frame %d: box %s has x2 <= x1 or y2 <= y1; want x1, y1, x2, y2 in pixels", video, b.Frame, b)
					continue
				}
				c := b
				c.X1, c.Y1 = max(b.X1, 0), max(b.Y1, 0)
				c.X2, c.Y2 = min(b.X2, W), min(b.Y2, H)
				if c.X2 <= c.X1 || c.Y2 <= c.Y1 {
					add("video %s frame %d: box %s lies entirely outside the %dx%d frame", video, b.Frame, b, d.Width, d.Height)
					continue
				}
				if c != b {
					rep.Clipped++
				}
				out.Add(c)
			}
		}
	}
	for _, v := range d.Videos {
		if s.VideoLen(v.Name) == 0 {
			rep.Empty = append(rep.Empty, v.Name)
			if !d.EmptyOK {
				add("video %s has no boxes at all; lower the detector's score threshold, or use the foreground detector (fmam data boxes --foreground)", v.Name)
			}
		}
	}
	if len(problems) > 0 {
		return nil, rep, fmt.Errorf("validate boxes %s against the dataset (%d videos, %dx%d): %w", file, len(d.Videos), d.Width, d.Height, listProblems(problems))
	}
	return out, rep, nil
}

func finite(vs ...float64) bool {
	for _, v := range vs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	return true
}

// listProblems joins problems into one error, listing at most maxListed.
func listProblems(p []string) error {
	var errs []error
	for i, s := range p {
		if i == maxListed {
			errs = append(errs, fmt.Errorf("... and %d more problems", len(p)-maxListed))
			break
		}
		errs = append(errs, errors.New(s))
	}
	if len(p) == 1 {
		return errs[0]
	}
	return fmt.Errorf("%d problems:\n%w", len(p), errors.Join(errs...))
}

// listNames shortens a long list of video names for errors.
func listNames(names []string) string {
	if len(names) == 0 {
		return "no videos"
	}
	if len(names) > 6 {
		return fmt.Sprintf("%d videos: %s, ..., %s", len(names), strings.Join(names[:3], ", "), names[len(names)-1])
	}
	return strings.Join(names, ", ")
}
