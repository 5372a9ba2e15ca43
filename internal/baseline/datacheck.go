package baseline

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/datacheck"
	"github.com/fmam/fmam/internal/synth"
)

// DataUse says which splits a command reads: training reads both (the
// run will evaluate what it trains), evaluation the test split.
type DataUse struct {
	Train, Test bool
}

// DataChecker is implemented by baselines that read files of their own
// beside the unit's images and frames (box files): DataChecks returns
// their checks against the splits' videos. A split is nil when the
// command does not read it or when its folder could not be listed.
type DataChecker interface {
	DataChecks(u *Unit, train, test *data.VideoDataset) []datacheck.Check
}

// PlanData adds what the unit's stages read to p (see package datacheck):
// the images of both splits with the test masks, or the frames of every
// video, the anomaly textures, and what b checks itself. Layout problems
// of the splits are problems of p, beside whatever the files that could
// be listed hold.
//
// How deeply: data.strict decodes every file in full and holds every
// image of an image data set to data.size; otherwise the test split's
// images and masks are decoded in full when there are at most
// datacheck.FullTestLimit of them, and the rest gets headers and the
// truncation probe.
func (u *Unit) PlanData(ctx context.Context, b Baseline, use DataUse, p *datacheck.Plan) error {
	if b.Task().Kind() == config.TaskImage {
		return u.planImages(ctx, b, use, p)
	}
	return u.planVideos(ctx, b, use, p)
}

func (u *Unit) planImages(ctx context.Context, b Baseline, use DataUse, p *datacheck.Plan) error {
	ds, err := u.scanImageSet(ctx)
	if ds == nil {
		return err // no category folder: nothing else to check
	}
	p.Problem(err)
	d := u.Cfg.Data
	strict := func(f datacheck.File) datacheck.File {
		if d.Strict {
			f.Full, f.Width, f.Height = true, d.Size, d.Size
			f.SizeHint = fmt.Sprintf("; data.size is %d and data.strict is set: resize the data or change data.size", d.Size)
		}
		return f
	}
	if use.Train {
		for _, it := range ds.Train {
			p.Add(strict(datacheck.File{Path: it.Path, What: "train image"}))
		}
		if d.Textures != "" {
			tex, err := synth.TextureFiles(d.Textures)
			p.Problem(keyed("data.textures", err))
			for _, t := range tex {
				p.Add(datacheck.File{Path: t, What: "anomaly texture", Full: d.Strict})
			}
		}
	}
	if !use.Test {
		return nil
	}
	n := len(ds.Test)
	for _, it := range ds.Test {
		if it.MaskPath != "" {
			n++
		}
	}
	full := n <= datacheck.FullTestLimit
	for _, it := range ds.Test {
		p.Add(strict(datacheck.File{Path: it.Path, What: "test image", Full: full}))
		if it.MaskPath != "" {
			p.Add(datacheck.File{Path: it.MaskPath, What: "mask", Full: full || d.Strict, SizeOf: it.Path})
		}
	}
	return nil
}

func (u *Unit) planVideos(ctx context.Context, b Baseline, use DataUse, p *datacheck.Plan) error {
	train, test, err := u.scanVideoSets(ctx, use)
	p.Problem(err)
	strict := u.Cfg.Data.Strict
	if use.Train && train != nil {
		for _, v := range train.Videos {
			for _, f := range v.Frames {
				p.Add(datacheck.File{Path: f, What: "train frame", Full: strict})
			}
		}
	}
	if use.Test && test != nil {
		full := strict || test.NumFrames() <= datacheck.FullTestLimit
		for _, v := range test.Videos {
			for _, f := range v.Frames {
				p.Add(datacheck.File{Path: f, What: "test frame", Full: full})
			}
		}
		// Pixel masks of videos are listed (their counts are checked with
		// the layout) but no stage reads them.
	}
	if c, ok := b.(DataChecker); ok {
		p.Checks = append(p.Checks, c.DataChecks(u, train, test)...)
	}
	return nil
}

// keyed prefixes an error with the config key it is about.
func keyed(key string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", key, err)
}

// scanImageSet is ImageSet's loading, keeping what was found beside the
// layout's problems (data.ScanMVTec), before data.val_fraction splits
// the training images (the held-out ones are read too).
func (u *Unit) scanImageSet(ctx context.Context) (*data.ImageDataset, error) {
	root, err := u.ImageRoot(ctx)
	if err != nil {
		return nil, err
	}
	if len(u.Cfg.Data.Categories) != 1 {
		return nil, fmt.Errorf("internal error: an image unit holds one category, not %v", u.Cfg.Data.Categories)
	}
	cat := u.Cfg.Data.Categories[0]
	switch {
	case u.Cfg.Data.Kind != "folder":
		return data.ScanMVTec(root, cat)
	case isDir(filepath.Join(root, "train")):
		if cat != filepath.Base(filepath.Clean(root)) {
			return nil, fmt.Errorf("data.root %s holds one category (%s/train) but data.categories asks for %q; drop data.categories or use the layout <root>/<category>/{train,test}", root, root, cat)
		}
		return data.ScanImageFolder(root)
	default:
		return data.ScanImageFolderCategory(root, cat)
	}
}
