package data

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"codeberg.org/sbinet/npyio/npy"
)

// assign reads the labels and sets Labels of every video; framesDir only
// names the frames in messages.
func (l FrameLabels) assign(videos []Video, framesDir string) []error {
	if src := l.sources(); len(src) != 1 {
		return []error{fmt.Errorf("give exactly one frame label source, got %d: %s", len(src), strings.Join(src, ", "))}
	}
	switch {
	case l.RangesMAT != "":
		ranges, err := ReadRangesMAT(l.RangesMAT, cmp.Or(l.RangesVar, "gt"))
		if err != nil {
			return []error{err}
		}
		return assignRanges(videos, ranges, l.RangesMAT)
	case l.UCSDm != "":
		ranges, err := ReadUCSDm(l.UCSDm)
		if err != nil {
			return []error{err}
		}
		return assignRanges(videos, ranges, l.UCSDm)
	case l.AvenueMaskDir != "":
		return assignPerVideo(videos, framesDir, func(v Video) (string, error) {
			n, ok := lastNumber(v.Name)
			if !ok {
				return "", fmt.Errorf("video folder %s has no number in its name; Avenue label files are named <n>_label.mat", v.Name)
			}
			return filepath.Join(l.AvenueMaskDir, fmt.Sprintf("%d_label.mat", n)), nil
		}, ReadAvenueMaskLabels)
	case l.NPYDir != "":
		return assignPerVideo(videos, framesDir, func(v Video) (string, error) {
			return filepath.Join(l.NPYDir, v.Name+".npy"), nil
		}, ReadNPYLabels)
	default:
		return assignConcat(videos, framesDir, l.NPY, l.AllVideos)
	}
}

// assignRanges labels videos from per-video ranges, matching a video to
// ranges[k-1] by the number k in its name so that withheld videos do not
// shift the others.
func assignRanges(videos []Video, ranges [][]FrameRange, path string) []error {
	var errs []error
	for i := range videos {
		v := &videos[i]
		n, ok := lastNumber(v.Name)
		if !ok {
			errs = append(errs, fmt.Errorf("video folder %s has no number in its name; %s labels videos by number", v.Name, path))
			continue
		}
		if n < 1 || n > len(ranges) {
			errs = append(errs, fmt.Errorf("video %s is number %d but %s has labels for videos 1-%d", v.Name, n, path, len(ranges)))
			continue
		}
		labels, err := ExpandRanges(ranges[n-1], len(v.Frames))
		if err != nil {
			errs = append(errs, fmt.Errorf("video %s has %d frames but its labels in %s do not fit: %w", v.Name, len(v.Frames), path, err))
			continue
		}
		v.Labels = labels
	}
	return errs
}

// assignPerVideo reads one label file per video, in parallel: Avenue's mask
// files take a second or more each to inflate.
func assignPerVideo(videos []Video, framesDir string, pathOf func(Video) (string, error), read func(string) ([]uint8, error)) []error {
	errs := make([]error, len(videos))
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for i := range videos {
		v := &videos[i]
		path, err := pathOf(*v)
		if err != nil {
			errs[i] = err
			continue
		}
		if !isFile(path) {
			errs[i] = fmt.Errorf("video %s: label file %s not found", v.Name, path)
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			labels, err := read(path)
			if err != nil {
				errs[i] = fmt.Errorf("video %s: %w", v.Name, err)
				return
			}
			if len(labels) != len(v.Frames) {
				errs[i] = fmt.Errorf("video %s: %d frames in %s but %d labels in %s", v.Name, len(v.Frames), filepath.Join(framesDir, v.Name), len(labels), path)
				return
			}
			v.Labels = labels
		})
	}
	wg.Wait()
	return compact(errs)
}

func compact(errs []error) []error {
	var out []error
	for _, e := range errs {
		if e != nil {
			out = append(out, e)
		}
	}
	return out
}

// assignConcat splits a concatenated label vector over the videos. Without
// all, the file must cover exactly the videos present; with all, each video
// takes its slice at the offset all implies.
func assignConcat(videos []Video, framesDir, path string, all []VideoLength) []error {
	labels, err := ReadNPYLabels(path)
	if err != nil {
		return []error{err}
	}
	present := 0
	for _, v := range videos {
		present += len(v.Frames)
	}
	if len(all) == 0 {
		if len(labels) != present {
			return []error{fmt.Errorf("%s holds %d labels but the %d videos in %s have %d frames; if some videos are missing, give the names and frame counts of all videos in the file (FrameLabels.AllVideos, e.g. data.Ped2TestVideos()) or per-video labels such as ped2.mat",
				path, len(labels), len(videos), framesDir, present)}
		}
		off := 0
		for i := range videos {
			n := len(videos[i].Frames)
			videos[i].Labels = labels[off : off+n : off+n]
			off += n
		}
		return nil
	}
	type span struct{ off, n int }
	spans := make(map[string]span, len(all))
	total := 0
	for _, v := range all {
		spans[v.Name] = span{total, v.Frames}
		total += v.Frames
	}
	if total != len(labels) {
		return []error{fmt.Errorf("%s holds %d labels but the video list given for it (%d videos) adds up to %d frames", path, len(labels), len(all), total)}
	}
	var errs []error
	for i := range videos {
		v := &videos[i]
		s, ok := spans[v.Name]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("video %s is not in the video list given for %s", v.Name, path))
		case s.n != len(v.Frames):
			errs = append(errs, fmt.Errorf("video %s: %d frames in %s but %d labels for it in %s", v.Name, len(v.Frames), filepath.Join(framesDir, v.Name), s.n, path))
		default:
			v.Labels = labels[s.off : s.off+s.n : s.off+s.n]
		}
	}
	return errs
}

// assignMaskDirs finds each video's folder of pixel masks in dir, named like
// the video, <video>_gt or TestNNN_gt (UCSD).
func assignMaskDirs(videos []Video, dir string) []error {
	var errs []error
	found := 0
	for i := range videos {
		v := &videos[i]
		candidates := []string{v.Name, v.Name + "_gt"}
		if n, ok := lastNumber(v.Name); ok {
			candidates = append(candidates, fmt.Sprintf("Test%03d_gt", n))
		}
		for _, c := range candidates {
			md := filepath.Join(dir, c)
			if !isDir(md) {
				continue
			}
			found++
			masks, err := listFrames(md)
			if err != nil {
				errs = append(errs, fmt.Errorf("video %s masks: %w", v.Name, err))
				break
			}
			if len(masks) != len(v.Frames) {
				errs = append(errs, fmt.Errorf("video %s: %d frames but %d pixel masks in %s", v.Name, len(v.Frames), len(masks), md))
				break
			}
			v.Masks = masks
			break
		}
	}
	if found == 0 {
		errs = append(errs, fmt.Errorf("pixel mask folder %s has no folder for any video (looked for <video>, <video>_gt and TestNNN_gt)", dir))
	}
	return errs
}

// assignMaskVolumes finds <dir>/<video>.npy mask volumes and checks their
// frame count from the header alone.
func assignMaskVolumes(videos []Video, dir string) []error {
	var errs []error
	for i := range videos {
		v := &videos[i]
		p := filepath.Join(dir, v.Name+".npy")
		if !isFile(p) {
			continue
		}
		shape, err := npyShape(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(shape) != 3 || shape[0] != len(v.Frames) {
			errs = append(errs, fmt.Errorf("video %s: %d frames but pixel masks in %s have shape %v, want (%d, H, W)", v.Name, len(v.Frames), p, shape, len(v.Frames)))
			continue
		}
		v.MaskVolume = p
	}
	return errs
}

// npyShape reads only the header of a .npy file.
func npyShape(path string) ([]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var head [1 << 12]byte
	n, err := io.ReadFull(f, head[:])
	if err != nil && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("read npy header %s: %w", path, err)
	}
	r, err := npy.NewReader(bytes.NewReader(head[:n]))
	if err != nil {
		return nil, fmt.Errorf("read npy header %s: %w", path, err)
	}
	return r.Header.Descr.Shape, nil
}
