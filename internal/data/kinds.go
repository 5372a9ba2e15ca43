package data

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
)

// FrameKindsFile is the optional table in a video data set's root that
// names each test frame's anomaly kind (synth.GenerateVideo writes it):
// header video,frame,kind, frame the 0-based index of the frame in its
// video, kind "normal" for a normal frame. Results report AUC per kind
// where it exists.
const FrameKindsFile = "frame_kinds.csv"

// ReadFrameKinds reads a FrameKindsFile: for each video, the kind of each
// frame by index. Every frame from 0 to a video's last must have a row.
func ReadFrameKinds(path string) (map[string][]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read frame kinds: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read frame kinds %s: %w", path, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], []string{"video", "frame", "kind"}) {
		return nil, fmt.Errorf("read frame kinds %s: want the header video,frame,kind", path)
	}
	out := map[string][]string{}
	set := map[string][]bool{}
	for i, rec := range recs[1:] {
		video, kind := rec[0], rec[2]
		frame, err := strconv.Atoi(rec[1])
		if err != nil || frame < 0 || frame > 1<<20 {
			return nil, fmt.Errorf("read frame kinds %s line %d: frame %q is not a frame index", path, i+2, rec[1])
		}
		if video == "" || kind == "" {
			return nil, fmt.Errorf("read frame kinds %s line %d: empty video or kind", path, i+2)
		}
		for len(out[video]) <= frame {
			out[video] = append(out[video], "")
			set[video] = append(set[video], false)
		}
		if set[video][frame] {
			return nil, fmt.Errorf("read frame kinds %s line %d: video %s frame %d appears twice", path, i+2, video, frame)
		}
		out[video][frame], set[video][frame] = kind, true
	}
	var errs []error
	for v, s := range set {
		if i := slices.Index(s, false); i >= 0 {
			errs = append(errs, fmt.Errorf("read frame kinds %s: video %s has no row for frame %d", path, v, i))
		}
	}
	return out, errors.Join(errs...)
}
