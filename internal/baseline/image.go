package baseline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/lock"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/synth"
)

// ImageTask is the task of image data sets: a run has one unit per
// category, and its summary is the paper's Table 4 over them.
func ImageTask() Task { return imageTask{} }

type imageTask struct{}

func (imageTask) Kind() config.Task { return config.TaskImage }

func (imageTask) DataKinds() []string { return []string{"mvtec", "folder", "synth-mvtec"} }

func (imageTask) HeadlineName() string { return "image AUROC" }

// Units lists the categories: data.categories when given, else every
// category folder of the data set.
func (imageTask) Units(ctx context.Context, u *Unit) ([]string, error) {
	if len(u.Cfg.Data.Categories) > 0 {
		return u.Cfg.Data.Categories, nil
	}
	root, err := u.ImageRoot(ctx)
	if err != nil {
		return nil, err
	}
	if u.Cfg.Data.Kind == "folder" {
		if _, err := os.Stat(filepath.Join(root, "train")); err == nil {
			// One category laid out at the root: <root>/{train,test}.
			return []string{filepath.Base(filepath.Clean(root))}, nil
		}
		return data.ImageFolderCategories(root)
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list categories in %s: %w", root, err)
	}
	var out []string
	for _, en := range ents {
		if st, err := os.Stat(filepath.Join(root, en.Name(), "train")); err == nil && st.IsDir() {
			out = append(out, en.Name())
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no category folder with train/ in %s; want <root>/<category>/train/good (MVTec AD layout)", root)
	}
	return out, nil
}

func (imageTask) Narrow(cfg *config.Config, unit string) *config.Config {
	c := *cfg
	c.Data.Categories = []string{unit}
	return &c
}

// Summary is the Table-4-shaped table over the categories' teacher and
// student rows.
func (imageTask) Summary(title string, evals []*Eval) (report.Table, bool, error) {
	var rows []results.ImageResult
	var notes []string
	for _, e := range evals {
		rows = append(rows, e.Images...)
		for _, n := range e.Notes {
			notes = append(notes, e.Unit+": "+n)
		}
	}
	t, err := report.ImageTable(title, rows)
	t.Notes = append(t.Notes, notes...)
	return t, err == nil, err
}

// ImageRoot returns the data set's root, generating the synthetic set
// into the run folder when asked for.
func (u *Unit) ImageRoot(ctx context.Context) (string, error) {
	d := u.Cfg.Data
	if d.Kind != "synth-mvtec" {
		return d.Root, nil
	}
	root := d.Root
	if root == "" {
		root = filepath.Join(u.Layout.DataDir(), "synth-mvtec")
	}
	err := u.generateOnce(ctx, root, root, "the synthetic MVTec-layout set", func() error {
		_, err := synth.GenerateMVTec(ctx, synth.MVTecOptions{Log: u.Log, Out: root, Size: d.Size, Seed: u.Cfg.DataSeed(), Force: true})
		return err
	})
	if err != nil {
		return "", err
	}
	return root, nil
}

// generateOnce runs gen to write a generated data set into root unless
// done (a file or folder gen writes last) exists. Units of a sweep share
// generated data and start at once: gen replaces root as a whole, so one
// process's generation would pull the files from under another's reading
// them. The lock on root's parent lets one process generate while the
// others wait, and they find the set done when they get the lock.
func (u *Unit) generateOnce(ctx context.Context, root, done, what string, gen func() error) error {
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	parent := filepath.Dir(root)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("generate %s: %w", what, err)
	}
	l, err := lock.Acquire(ctx, parent, "generating "+what, u.Log)
	if err != nil {
		return fmt.Errorf("generate %s: %w", what, err)
	}
	defer l.Release()
	if _, err := os.Stat(done); err == nil {
		return nil
	}
	u.Log.Info("generating "+what, "dir", root)
	return gen()
}

// ImageSet loads the unit's category.
func (u *Unit) ImageSet(ctx context.Context) (*data.ImageDataset, error) {
	ds, err := u.scanImageSet(ctx)
	if err != nil {
		return nil, err
	}
	if f := u.Cfg.Data.ValFraction; f > 0 {
		keep, val := holdOut(len(ds.Train), f, u.Cfg.DataSeed())
		ds.Train, ds.Val = pick(ds.Train, keep), pick(ds.Train, val)
	}
	return ds, u.checkImageSize(ds)
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// checkImageSize compares the first train and test images with
// data.size: a different size is resized with a warning, or refused when
// data.strict is set.
func (u *Unit) checkImageSize(ds *data.ImageDataset) error {
	s := u.Cfg.Data.Size
	for _, items := range [][]data.ImageItem{ds.Train, ds.Test} {
		if len(items) == 0 {
			continue
		}
		w, h, err := imageio.Size(items[0].Path)
		if err != nil {
			return err
		}
		if w == s && h == s {
			continue
		}
		if u.Cfg.Data.Strict {
			return fmt.Errorf("%s is %dx%d but data.size is %d and data.strict is set: resize the data or change data.size", items[0].Path, w, h, s)
		}
		u.Log.Warn("images are resized to data.size", "image", items[0].Path, "width", w, "height", h, "size", s)
		return nil
	}
	return nil
}
