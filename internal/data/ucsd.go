package data

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// LoadUCSD loads UCSD Ped1 or Ped2 in the layout of the official release,
// root being the UCSDped1 or UCSDped2 folder:
//
//	Train/Train001/001.tif ...
//	Test/Test001/001.tif ...   Test/Test001_gt/001.bmp ... (some videos)
//	Test/UCSDped2.m            anomalous frame ranges of every test video
func LoadUCSD(root string, split Split) (*VideoDataset, error) {
	return whole(ScanUCSD(root, split))
}

// ScanUCSD is LoadUCSD that keeps what it found beside the error, as
// ScanFrames does.
func ScanUCSD(root string, split Split) (*VideoDataset, error) {
	sub := "Train"
	if split == Test {
		sub = "Test"
	}
	name := strings.ToLower(strings.TrimPrefix(filepath.Base(root), "UCSD"))
	dir := filepath.Join(root, sub)
	if !isDir(dir) {
		return nil, fmt.Errorf("load UCSD %s split: folder %s not found; want the release layout <UCSDpedN>/%s/%s001/001.tif", split, dir, sub, sub)
	}
	videos, errs := scanVideos(dir, func(n string) bool {
		return strings.HasPrefix(n, sub) && !strings.HasSuffix(n, "_gt")
	})
	if split == Test && len(videos) > 0 {
		mfiles, _ := filepath.Glob(filepath.Join(dir, "UCSDped*.m"))
		switch len(mfiles) {
		case 0:
			errs = append(errs, fmt.Errorf("no label file %s found (the release ships UCSDped1.m or UCSDped2.m there)", filepath.Join(dir, "UCSDped*.m")))
		case 1:
			ranges, err := ReadUCSDm(mfiles[0])
			if err != nil {
				errs = append(errs, err)
			} else {
				errs = append(errs, assignRanges(videos, ranges, mfiles[0])...)
			}
		default:
			errs = append(errs, fmt.Errorf("several label files in %s: %s; keep one", dir, strings.Join(mfiles, ", ")))
		}
		for i := range videos {
			v := &videos[i]
			md := filepath.Join(dir, v.Name+"_gt")
			if !isDir(md) {
				continue
			}
			masks, err := listFrames(md)
			if err != nil {
				errs = append(errs, fmt.Errorf("video %s masks: %w", v.Name, err))
				continue
			}
			if len(masks) != len(v.Frames) {
				errs = append(errs, fmt.Errorf("video %s: %d frames but %d pixel masks in %s", v.Name, len(v.Frames), len(masks), md))
				continue
			}
			v.Masks = masks
		}
	}
	ds := &VideoDataset{Name: name, Root: root, Split: split, Videos: videos}
	if len(errs) > 0 {
		return ds, fmt.Errorf("load UCSD %s %s split from %s:\n%w", name, split, root, errors.Join(errs...))
	}
	return ds, nil
}
