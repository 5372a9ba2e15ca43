package objects

import (
	"cmp"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
)

// Box is one detection in one frame of one video.
type Box struct {
	Video          string
	Frame          int // 0-based
	X1, Y1, X2, Y2 float64
	Score          float64
	// Class is the detector's class index, -1 when unknown (the Jigsaw-VAD
	// pickles and the foreground detector carry none).
	Class int
}

// W is the box width.
func (b Box) W() float64 { return b.X2 - b.X1 }

// H is the box height.
func (b Box) H() float64 { return b.Y2 - b.Y1 }

// Area is the box area, 0 for an empty or inverted box.
func (b Box) Area() float64 { return max(b.W(), 0) * max(b.H(), 0) }

func (b Box) String() string {
	return fmt.Sprintf("[%g %g %g %g] score %g class %d", b.X1, b.Y1, b.X2, b.Y2, b.Score, b.Class)
}

// IoU is the intersection over union of two boxes; 0 when either is empty.
func IoU(a, b Box) float64 {
	iw := min(a.X2, b.X2) - max(a.X1, b.X1)
	ih := min(a.Y2, b.Y2) - max(a.Y1, b.Y1)
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	union := a.Area() + b.Area() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// Set holds boxes by video and frame. The zero value is not usable; make
// one with NewSet.
type Set struct {
	frames map[string][][]Box
}

// NewSet returns an empty set.
func NewSet() *Set { return &Set{frames: map[string][][]Box{}} }

// Add appends b to its video and frame.
func (s *Set) Add(b Box) {
	s.Grow(b.Video, b.Frame+1)
	f := s.frames[b.Video]
	f[b.Frame] = append(f[b.Frame], b)
}

// Grow makes sure video is in the set with at least n frames (empty ones
// where nothing was added). Readers of formats that list every frame (the
// pickles) use it so that a trailing frame without boxes is still known.
func (s *Set) Grow(video string, n int) {
	f := s.frames[video]
	if len(f) < n {
		f = append(f, make([][]Box, n-len(f))...)
	}
	s.frames[video] = f
}

// Videos lists the videos in natural order ("2" before "10").
func (s *Set) Videos() []string {
	return slices.SortedFunc(maps.Keys(s.frames), naturalCompare)
}

// Has reports whether the set knows video (possibly without boxes).
func (s *Set) Has(video string) bool {
	_, ok := s.frames[video]
	return ok
}

// NumFrames is the number of frames known for video: one past the last
// frame with a box, or more where the source listed empty frames.
func (s *Set) NumFrames(video string) int { return len(s.frames[video]) }

// Frame returns the boxes of one frame (nil when there are none). The
// slice belongs to the set.
func (s *Set) Frame(video string, frame int) []Box {
	f := s.frames[video]
	if frame < 0 || frame >= len(f) {
		return nil
	}
	return f[frame]
}

// VideoLen is the number of boxes of video.
func (s *Set) VideoLen(video string) int {
	n := 0
	for _, f := range s.frames[video] {
		n += len(f)
	}
	return n
}

// Len is the number of boxes in the set.
func (s *Set) Len() int {
	n := 0
	for v := range s.frames {
		n += s.VideoLen(v)
	}
	return n
}

// Counts gives the number of boxes per video.
func (s *Set) Counts() map[string]int {
	out := make(map[string]int, len(s.frames))
	for v := range s.frames {
		out[v] = s.VideoLen(v)
	}
	return out
}

// All yields every box, by video (natural order), frame, then as added.
func (s *Set) All() iter.Seq[Box] {
	return func(yield func(Box) bool) {
		for _, v := range s.Videos() {
			for _, f := range s.frames[v] {
				for _, b := range f {
					if !yield(b) {
						return
					}
				}
			}
		}
	}
}

// Video returns a copy of the boxes of one video in frame order.
func (s *Set) Video(video string) []Box {
	var out []Box
	for _, f := range s.frames[video] {
		out = append(out, f...)
	}
	return out
}

// MapFrames returns a new set with fn applied to the boxes of every known
// frame (frames without boxes included); the new set knows the same videos
// and frame counts. fn must not keep or modify its argument.
func (s *Set) MapFrames(fn func(video string, frame int, boxes []Box) []Box) *Set {
	out := NewSet()
	for v, frames := range s.frames {
		out.Grow(v, len(frames))
		for i, f := range frames {
			for _, b := range fn(v, i, f) {
				out.Add(b)
			}
		}
	}
	return out
}

// naturalCompare orders strings with their digit runs compared as numbers,
// so video "2" comes before "10" and "01_0014" before "01_0015".
func naturalCompare(a, b string) int {
	for a != "" && b != "" {
		da, ra := digitPrefix(a)
		db, rb := digitPrefix(b)
		if da != "" && db != "" {
			// Compare as numbers without parsing (runs may be long):
			// significant digits first, then leading zeros.
			na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
			if c := cmp.Or(cmp.Compare(len(na), len(nb)), strings.Compare(na, nb)); c != 0 {
				return c
			}
			if c := cmp.Compare(len(da), len(db)); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitPrefix(s string) (digits, rest string) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i], s[i:]
}
