package objects

import (
	"fmt"
	"strings"
)

// FilterConfig selects boxes the way the official Jigsaw-VAD code does
// (dataset.py, VideoAnomalyDataset_C3D._load_data), per frame and in this
// order:
//
//  1. keep boxes with score > Score (strictly greater, as the code's
//     detect_result[:, 4] > filter_ratio);
//  2. among those, drop a box lying strictly inside another box of the same
//     frame (x1 > x1', y1 > y1', x2 < x2', y2 < y2'; identical boxes are not
//     inside each other), when DropContained is set;
//  3. drop a box whose longest side, max(x2-x1, y2-y1), is under MinSide.
//
// Steps 2 and 3 are both decided on the boxes left by step 1: a box inside
// a small box is dropped too, as in the official code.
type FilterConfig struct {
	Score         float64
	DropContained bool
	MinSide       float64 // 0 keeps boxes of every size
}

// FilterFor returns Jigsaw-VAD's filter for a dataset: score threshold 0.5
// on UCSD Ped2 (and Ped1), 0.8 on CUHK Avenue and ShanghaiTech, boxes
// inside other boxes dropped, longest side at least 10 px.
func FilterFor(dataset string) (FilterConfig, error) {
	c := FilterConfig{DropContained: true, MinSide: 10}
	switch strings.ToLower(dataset) {
	case "ped2", "ped1":
		c.Score = 0.5
	case "avenue", "shanghaitech", "shanghai":
		c.Score = 0.8
	default:
		return c, fmt.Errorf("no Jigsaw-VAD box filter for dataset %q (it has ped2, avenue, shanghaitech); set the score threshold yourself", dataset)
	}
	return c, nil
}

// FilterStats counts the boxes each step removed.
type FilterStats struct {
	In, Kept                   int
	LowScore, Contained, Small int
}

// Frame filters the boxes of one frame; the input is not modified.
func (c FilterConfig) Frame(boxes []Box) ([]Box, FilterStats) {
	st := FilterStats{In: len(boxes)}
	var scored []Box
	for _, b := range boxes {
		if b.Score > c.Score {
			scored = append(scored, b)
		}
	}
	st.LowScore = len(boxes) - len(scored)
	var kept []Box
	for i, b := range scored {
		if c.DropContained && insideAny(b, i, scored) {
			st.Contained++
			continue
		}
		if max(b.W(), b.H()) < c.MinSide {
			st.Small++
			continue
		}
		kept = append(kept, b)
	}
	st.Kept = len(kept)
	return kept, st
}

// insideAny reports whether b (at index self) lies strictly inside another
// box of the frame.
func insideAny(b Box, self int, boxes []Box) bool {
	for j, o := range boxes {
		if j != self && b.X1 > o.X1 && b.Y1 > o.Y1 && b.X2 < o.X2 && b.Y2 < o.Y2 {
			return true
		}
	}
	return false
}

// Apply filters every frame of s.
func (c FilterConfig) Apply(s *Set) (*Set, FilterStats) {
	var total FilterStats
	out := s.MapFrames(func(_ string, _ int, boxes []Box) []Box {
		kept, st := c.Frame(boxes)
		total.In += st.In
		total.Kept += st.Kept
		total.LowScore += st.LowScore
		total.Contained += st.Contained
		total.Small += st.Small
		return kept
	})
	return out, total
}
