package data

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
)

// Split selects the training or the test part of a dataset.
type Split int

// Dataset splits.
const (
	Train Split = iota
	Test
)

func (s Split) String() string {
	if s == Test {
		return "test"
	}
	return "train"
}

// dir is the split's folder name in the frames layout.
func (s Split) dir() string {
	if s == Test {
		return "testing"
	}
	return "training"
}

// Video is one video of a dataset, as an ordered list of frame files.
type Video struct {
	Name string
	// Frames are the frame files in temporal order (by the number in
	// their names, whatever it starts from).
	Frames []string
	// Labels holds one label per frame, 0 normal and 1 anomalous; nil for
	// training videos.
	Labels []uint8
	// Masks, when not nil, holds a pixel mask file per frame.
	Masks []string
	// MaskVolume, when not empty, is a .npy file of shape (N, H, W) with
	// the pixel masks of all N frames (ShanghaiTech); see ReadMaskVolume.
	MaskVolume string
}

// VideoDataset is one split of a video anomaly-detection dataset.
type VideoDataset struct {
	Name   string
	Root   string
	Split  Split
	Videos []Video
}

// where names the dataset's folder for messages: the folder holding its
// video folders, else Root, else its name.
func (d *VideoDataset) where() string {
	for _, v := range d.Videos {
		if len(v.Frames) > 0 {
			return filepath.Dir(filepath.Dir(v.Frames[0]))
		}
	}
	if d.Root != "" {
		return d.Root
	}
	if d.Name != "" {
		return d.Name
	}
	return "(unnamed data set)"
}

// NumFrames is the total number of frames over all videos.
func (d *VideoDataset) NumFrames() int {
	n := 0
	for _, v := range d.Videos {
		n += len(v.Frames)
	}
	return n
}

// Labels returns the frame labels of all videos concatenated in order, or
// nil when the split has no labels.
func (d *VideoDataset) Labels() []uint8 {
	var out []uint8
	for _, v := range d.Videos {
		out = append(out, v.Labels...)
	}
	return out
}

// Scene is the ShanghaiTech scene of a video: the part of its name before
// the first "_" ("01" for "01_0014"); the whole name when there is none.
func Scene(video string) string {
	s, _, _ := strings.Cut(video, "_")
	return s
}

// VideoLength names a video and gives its frame count.
type VideoLength struct {
	Name   string
	Frames int
}

// Ped2TestVideos lists the 12 UCSD Ped2 test videos with their frame
// counts, in the order of MNAD's frame_labels_ped2.npy (2,010 frames).
func Ped2TestVideos() []VideoLength {
	n := []int{180, 180, 150, 180, 150, 180, 180, 180, 120, 150, 180, 180}
	return numberedLengths(n)
}

// AvenueTestVideos lists the 21 CUHK Avenue test videos with their frame
// counts, in the order of MNAD's frame_labels_avenue.npy (15,324 frames).
func AvenueTestVideos() []VideoLength {
	n := []int{1439, 1211, 923, 947, 1007, 1283, 605, 36, 1175, 841, 472, 1271, 549, 507, 1001, 740, 426, 294, 248, 273, 76}
	return numberedLengths(n)
}

func numberedLengths(n []int) []VideoLength {
	out := make([]VideoLength, len(n))
	for i, f := range n {
		out[i] = VideoLength{Name: fmt.Sprintf("%02d", i+1), Frames: f}
	}
	return out
}

// FrameLabels says where the frame labels of a test split come from. Set
// exactly one source; the zero value asks the loader to look for the files
// a dataset usually ships with.
type FrameLabels struct {
	// RangesMAT is a MAT-file whose variable RangesVar (default "gt") is a
	// cell of [start; end] ranges, one per video (ped2.mat). Videos are
	// matched by the number in their name, so absent videos are fine.
	RangesMAT string
	RangesVar string
	// UCSDm is a UCSDpedN.m text file; matched by number like RangesMAT.
	UCSDm string
	// AvenueMaskDir holds CUHK Avenue's <n>_label.mat files; a frame is
	// anomalous iff its mask is non-empty.
	AvenueMaskDir string
	// NPYDir holds one <video>.npy label vector per video (ShanghaiTech's
	// test_frame_mask).
	NPYDir string
	// NPY is a single vector with the labels of all videos concatenated
	// in sorted order (MNAD's frame_labels_<name>.npy). It is split by the
	// frame counts of the videos present; when some videos are absent,
	// AllVideos must list every video in the file with its frame count.
	NPY       string
	AllVideos []VideoLength
}

func (l FrameLabels) sources() []string {
	var s []string
	for _, p := range []struct{ name, v string }{
		{"RangesMAT", l.RangesMAT}, {"UCSDm", l.UCSDm}, {"AvenueMaskDir", l.AvenueMaskDir},
		{"NPYDir", l.NPYDir}, {"NPY", l.NPY},
	} {
		if p.v != "" {
			s = append(s, p.name+"="+p.v)
		}
	}
	return s
}

func (l FrameLabels) String() string { return strings.Join(l.sources(), ", ") }

// FramesOptions configures LoadFrames.
type FramesOptions struct {
	// Name is the dataset name ("ped2", "avenue", "shanghaitech" or any
	// other); it picks where labels are looked for when Labels is zero.
	Name string
	// Labels is the label source of the test split; zero = look for it.
	Labels FrameLabels
	// MaskDir holds per-video folders of pixel masks, named like the video
	// or TestNNN_gt (UCSD); default <root>/testing/pixel_masks when present.
	// Videos without a folder have no masks.
	MaskDir string
	// MaskVolumeDir holds per-video <video>.npy (N, H, W) pixel masks;
	// default <root>/testing/test_pixel_mask when present (ShanghaiTech).
	MaskVolumeDir string
	// Log hears where labels were found; nil: nowhere.
	Log *slog.Logger
}

// LoadFrames loads a split stored in the frames layout used by MNAD and most
// video anomaly-detection code:
//
//	<root>/training/frames/<video>/<frame>.jpg
//	<root>/testing/frames/<video>/<frame>.jpg
//
// Frame files may have any image extension and are ordered by the number in
// their names. For the test split, labels come from opt.Labels or, when it is
// zero, from the first of these that exists (name = opt.Name):
//
//	ped1, ped2:    <root>/<name>.mat (variable gt), <root>/UCSD<name>.m
//	avenue:        <root>/testing_label_mask/, <root>/ground_truth_demo/testing_label_mask/
//	shanghaitech:  <root>/testing/test_frame_mask/
//	any:           <root>/frame_labels_<name>.npy, or the only frame_labels_*.npy in <root>
func LoadFrames(root string, split Split, opt FramesOptions) (*VideoDataset, error) {
	return whole(ScanFrames(root, split, opt))
}

// ScanFrames is LoadFrames that keeps what it found when the layout has
// problems: the dataset then holds every video that could be listed (nil
// only when the split's folder is missing) beside the error that names
// every problem, as ScanMVTec does for images.
func ScanFrames(root string, split Split, opt FramesOptions) (*VideoDataset, error) {
	name := strings.ToLower(opt.Name)
	ds := &VideoDataset{Name: name, Root: root, Split: split}
	dir := filepath.Join(root, split.dir(), "frames")
	if !isDir(dir) {
		return nil, fmt.Errorf("load %s %s split: folder %s not found; want the frames layout <root>/%s/frames/<video>/<frame>.jpg", nameOr(name), split, dir, split.dir())
	}
	videos, errs := scanVideos(dir, func(string) bool { return true })
	ds.Videos = videos
	if split == Test && len(videos) > 0 {
		labels := opt.Labels
		if len(labels.sources()) == 0 {
			var tried []string
			labels, tried = discoverLabels(root, name)
			if len(labels.sources()) == 0 {
				errs = append(errs, fmt.Errorf("no frame labels found for %s; looked for %s; pass a label source explicitly", dir, strings.Join(tried, ", ")))
			} else {
				if opt.Log != nil {
					opt.Log.Debug("found frame labels", "dataset", nameOr(name), "source", labels.String())
				}
			}
		}
		// A concatenated file is split by the frame counts of all videos,
		// so with a video unreadable its count check would only mislead.
		concat := labels.NPY != "" && len(labels.AllVideos) == 0
		if len(labels.sources()) > 0 && !(concat && len(errs) > 0) {
			errs = append(errs, labels.assign(ds.Videos, dir)...)
		}
		maskDir := opt.MaskDir
		if maskDir == "" && isDir(filepath.Join(root, "testing", "pixel_masks")) {
			maskDir = filepath.Join(root, "testing", "pixel_masks")
		}
		if maskDir != "" {
			errs = append(errs, assignMaskDirs(ds.Videos, maskDir)...)
		}
		volDir := opt.MaskVolumeDir
		if volDir == "" && isDir(filepath.Join(root, "testing", "test_pixel_mask")) {
			volDir = filepath.Join(root, "testing", "test_pixel_mask")
		}
		if volDir != "" {
			errs = append(errs, assignMaskVolumes(ds.Videos, volDir)...)
		}
	}
	if len(errs) > 0 {
		return ds, fmt.Errorf("load %s %s split from %s:\n%w", nameOr(name), split, root, errors.Join(errs...))
	}
	return ds, nil
}

func nameOr(name string) string {
	if name == "" {
		return "video dataset"
	}
	return name
}

// LoadPed2 loads UCSD Ped2 from either the official release layout
// (root = UCSDped2, with Train/ and Test/) or the frames layout.
func LoadPed2(root string, split Split, labels FrameLabels) (*VideoDataset, error) {
	return LoadVideo("ped2", root, split, FramesOptions{Labels: labels})
}

// LoadAvenue loads CUHK Avenue in the frames layout (see
// scripts/extract-frames.sh to make it from the released .avi files).
func LoadAvenue(root string, split Split, labels FrameLabels) (*VideoDataset, error) {
	return LoadFrames(root, split, FramesOptions{Name: "avenue", Labels: labels})
}

// LoadShanghaiTech loads ShanghaiTech Campus in the frames layout, with
// labels from testing/test_frame_mask/<video>.npy (or MNAD's
// frame_labels_shanghai.npy) and pixel masks from
// testing/test_pixel_mask/<video>.npy when present.
func LoadShanghaiTech(root string, split Split, labels FrameLabels) (*VideoDataset, error) {
	return LoadFrames(root, split, FramesOptions{Name: "shanghaitech", Labels: labels})
}

// LoadVideo loads the named dataset from root. For "ped1" and "ped2" the
// official UCSD layout is used when root has a Train or Test folder; all
// other cases use the frames layout (LoadFrames).
func LoadVideo(name, root string, split Split, opt FramesOptions) (*VideoDataset, error) {
	return whole(ScanVideo(name, root, split, opt))
}

// ScanVideo is LoadVideo that keeps what it found beside the error, as
// ScanFrames does.
func ScanVideo(name, root string, split Split, opt FramesOptions) (*VideoDataset, error) {
	opt.Name = name
	switch strings.ToLower(name) {
	case "ped1", "ped2":
		if isDir(filepath.Join(root, "Train")) || isDir(filepath.Join(root, "Test")) {
			if len(opt.Labels.sources()) > 0 {
				return nil, fmt.Errorf("load %s from %s: the official UCSD layout takes its labels from Test/UCSD%s.m; do not pass %s", name, root, name, opt.Labels)
			}
			return ScanUCSD(root, split)
		}
	}
	return ScanFrames(root, split, opt)
}

// scanVideos lists the video folders in dir accepted by keep and their
// frames. An empty dir is an error.
func scanVideos(dir string, keep func(name string) bool) ([]Video, []error) {
	names, err := subdirs(dir)
	var videos []Video
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	for _, n := range names {
		if !keep(n) {
			continue
		}
		frames, err := listFrames(filepath.Join(dir, n))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		videos = append(videos, Video{Name: n, Frames: frames})
	}
	if len(videos) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no video folders; want one folder of frames per video", dir))
	}
	return videos, errs
}

// discoverLabels finds the label source a dataset usually ships with.
func discoverLabels(root, name string) (FrameLabels, []string) {
	var tried []string
	exists := func(p string, dir bool) bool {
		tried = append(tried, p)
		if dir {
			return isDir(p)
		}
		return isFile(p)
	}
	switch name {
	case "ped1", "ped2":
		if p := filepath.Join(root, name+".mat"); exists(p, false) {
			return FrameLabels{RangesMAT: p}, nil
		}
		if p := filepath.Join(root, "UCSD"+name+".m"); exists(p, false) {
			return FrameLabels{UCSDm: p}, nil
		}
	case "avenue":
		for _, p := range []string{
			filepath.Join(root, "testing_label_mask"),
			filepath.Join(root, "ground_truth_demo", "testing_label_mask"),
		} {
			if exists(p, true) {
				return FrameLabels{AvenueMaskDir: p}, nil
			}
		}
	case "shanghaitech", "shanghai":
		if p := filepath.Join(root, "testing", "test_frame_mask"); exists(p, true) {
			return FrameLabels{NPYDir: p}, nil
		}
	}
	if name != "" {
		candidates := []string{name}
		if name == "shanghaitech" {
			candidates = append(candidates, "shanghai") // MNAD's file name
		}
		for _, c := range candidates {
			if p := filepath.Join(root, "frame_labels_"+c+".npy"); exists(p, false) {
				return FrameLabels{NPY: p}, nil
			}
		}
	}
	glob := filepath.Join(root, "frame_labels_*.npy")
	tried = append(tried, glob+" (exactly one)")
	if m, _ := filepath.Glob(glob); len(m) == 1 {
		return FrameLabels{NPY: m[0]}, nil
	}
	return FrameLabels{}, tried
}
