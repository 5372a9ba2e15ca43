package data

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// lastNumber returns the last run of decimal digits in s: the frame number of
// "000.jpg", "frame012.png" or "0042" and the video number of "Test001",
// "Test001_gt" or "07".
func lastNumber(s string) (int, bool) {
	end := strings.LastIndexAny(s, "0123456789")
	if end < 0 {
		return 0, false
	}
	start := end
	for start > 0 && s[start-1] >= '0' && s[start-1] <= '9' {
		start--
	}
	n, err := strconv.Atoi(s[start : end+1])
	return n, err == nil
}

// frameNumber is the number in a frame file's name without its extension.
func frameNumber(name string) (int, bool) {
	return lastNumber(strings.TrimSuffix(name, filepath.Ext(name)))
}

// listFrames returns the image files in dir ordered by the number in their
// names, and checks that the numbers are consecutive: a gap or a duplicate
// would shift every label after it. Other files (thumbnails, .DS_Store) are
// ignored; links are followed. All problems found are returned joined.
func listFrames(dir string) ([]string, error) {
	names, err := imageFiles(dir)
	if names == nil && err != nil {
		return nil, err
	}
	type frame struct {
		name string
		num  int
	}
	var frames []frame
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, name := range names {
		n, ok := frameNumber(name)
		if !ok {
			errs = append(errs, fmt.Errorf("%s: no frame number in the file name (want names like 000.jpg or frame001.png)", filepath.Join(dir, name)))
			continue
		}
		frames = append(frames, frame{name, n})
	}
	if len(frames) == 0 && len(errs) == 0 {
		return nil, fmt.Errorf("%s: no image files (want frames named by number, e.g. 000.jpg, 001.jpg, ...)", dir)
	}
	slices.SortFunc(frames, func(a, b frame) int {
		return cmp.Or(cmp.Compare(a.num, b.num), strings.Compare(a.name, b.name))
	})
	for i := 1; i < len(frames); i++ {
		prev, cur := frames[i-1], frames[i]
		switch {
		case cur.num == prev.num:
			errs = append(errs, fmt.Errorf("%s: files %s and %s have the same frame number %d", dir, prev.name, cur.name, cur.num))
		case cur.num == prev.num+2:
			errs = append(errs, fmt.Errorf("%s: frame numbers jump from %d (%s) to %d (%s); frame %d is missing", dir, prev.num, prev.name, cur.num, cur.name, prev.num+1))
		case cur.num != prev.num+1:
			errs = append(errs, fmt.Errorf("%s: frame numbers jump from %d (%s) to %d (%s); frames %d-%d are missing", dir, prev.num, prev.name, cur.num, cur.name, prev.num+1, cur.num-1))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	paths := make([]string, len(frames))
	for i, f := range frames {
		paths[i] = filepath.Join(dir, f.name)
	}
	return paths, nil
}

// naturalCompare orders names by their digits as numbers where they differ
// only there ("2.png" before "10.png"), else by text.
func naturalCompare(a, b string) int {
	na, oka := lastNumber(a)
	nb, okb := lastNumber(b)
	if oka && okb {
		pa := a[:strings.LastIndexAny(a, "0123456789")]
		pb := b[:strings.LastIndexAny(b, "0123456789")]
		pa = strings.TrimRight(pa, "0123456789")
		pb = strings.TrimRight(pb, "0123456789")
		if pa == pb {
			if c := cmp.Compare(na, nb); c != 0 {
				return c
			}
		}
	}
	return strings.Compare(a, b)
}

// ListFrames returns the frame files of one video folder in temporal
// order, refusing gaps and duplicates in their numbers (see listFrames).
func ListFrames(dir string) ([]string, error) { return listFrames(dir) }
