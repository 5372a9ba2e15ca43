package pkgnet

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/datacheck"
	"github.com/fmam/fmam/internal/objects"
	"github.com/fmam/fmam/internal/train"
)

// CheckConfig refuses settings PKG-Net cannot run: RGB cubes of 5
// frames, every test frame scored, STC boxes from files or the STC
// extraction, and a backbone with the named layers.
func (bl *Baseline) CheckConfig(cfg *config.Config) error {
	p := cfg.Model.PKGNet
	if p.K != 0 && p.K != 1 && p.K != 2 {
		return fmt.Errorf("model.pkgnet.k %d: use 1, 2 or 0 (the data set's official k)", p.K)
	}
	c, err := bl.Configure(cfg)
	if err != nil {
		return err
	}
	if err := c.(*Baseline).Check(baseline.Spec(c, cfg, nil)); err != nil {
		return err
	}
	d := cfg.Data
	switch {
	case d.TestStride != 1:
		return fmt.Errorf("data.test_stride %d: PKG-Net scores the objects of every test frame; set data.test_stride: 1", d.TestStride)
	case cfg.Model.Mimic.Backbone != "":
		return fmt.Errorf("model.mimic: PKG-Net's teacher already learns from its backbone (model.pkgnet.backbone); leave model.mimic empty")
	}
	o := d.Objects
	switch {
	case o.Detector == config.DetectorForeground:
		return fmt.Errorf("data.objects.detector foreground is Jigsaw-VAD's box finder; PKG-Net takes STC boxes: set it to motion or an ONNX detector, or give train_boxes and test_boxes")
	case o.Detector == "" && (o.TrainBoxes == "" || o.TestBoxes == ""):
		return fmt.Errorf("data.objects.train_boxes and data.objects.test_boxes must name the STC box files of both splits (VEC .npy or CSV video,frame,x1,y1,x2,y2), or set data.objects.detector to motion or an ONNX detector")
	}
	if o.Layout != "" {
		if _, err := objects.ParseLayout(o.Layout); err != nil {
			return fmt.Errorf("data.objects.layout: %w", err)
		}
	}
	if n := len(p.Stats.Mean); n != 0 && n != c.(*Baseline).k+1 {
		return fmt.Errorf("model.pkgnet.stats: %d means and stds for k %d; give %d (prediction MSE, then each block)", n, c.(*Baseline).k, c.(*Baseline).k+1)
	}
	if n := len(p.Hybrid); n != 0 && n != c.(*Baseline).k+1 {
		return fmt.Errorf("model.pkgnet.hybrid: %d weights for k %d; give %d (prediction MSE, then each block)", n, c.(*Baseline).k, c.(*Baseline).k+1)
	}
	if _, err := OfficialDataset(cfg.Data.Kind); err != nil && (len(p.Hybrid) == 0 || p.NumObj == 0) {
		return fmt.Errorf("data.kind %s has no official PKG-Net constants: set model.pkgnet.hybrid and model.pkgnet.num_obj", cfg.Data.Kind)
	}
	return nil
}

// splitName is a split as the run-folder files spell it.
func splitName(sp data.Split) string {
	if sp == data.Train {
		return "train"
	}
	return "test"
}

// DataChecks reads the STC box files the config names (boxes of fmam's
// own extraction in the run folder were checked when they were written):
// one entry per frame of the split's videos, and no box naming a video or
// frame the split lacks or lying entirely outside the frame.
func (*Baseline) DataChecks(u *baseline.Unit, train, test *data.VideoDataset) []datacheck.Check {
	o := u.Cfg.Data.Objects
	if o.Detector != "" {
		return nil
	}
	var out []datacheck.Check
	add := func(ds *data.VideoDataset, path, key string) {
		if ds == nil || path == "" {
			return
		}
		out = append(out, datacheck.Check{Files: 1, Run: func(context.Context) error {
			set, err := objects.LoadSTCBoxes(path, ds)
			if err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			d, err := objects.DatasetOf(ds)
			if err != nil {
				return err
			}
			d.EmptyOK = true
			if _, _, err := objects.Validate(set, path, d); err != nil {
				return fmt.Errorf("%s: %w", key, err)
			}
			return nil
		}})
	}
	add(train, o.TrainBoxes, "data.objects.train_boxes")
	add(test, o.TestBoxes, "data.objects.test_boxes")
	return out
}

// boxes returns the STC boxes of one split: from the configured file, or
// from fmam's own STC extraction (run once per split, kept in the run
// folder); training boxes thinned to every data.objects.train_stride-th
// frame.
func boxes(ctx context.Context, u *baseline.Unit, ds *data.VideoDataset, sp data.Split) (*objects.Set, error) {
	o := u.Cfg.Data.Objects
	var set *objects.Set
	var err error
	switch {
	case o.Detector != "":
		if set, err = extracted(ctx, u, ds, u.Layout.Boxes(splitName(sp))); err != nil {
			return nil, fmt.Errorf("data.objects.detector %s: %w", o.Detector, err)
		}
	case sp == data.Train:
		if set, err = objects.LoadSTCBoxes(o.TrainBoxes, ds); err != nil {
			return nil, fmt.Errorf("data.objects.train_boxes: %w", err)
		}
	default:
		if set, err = objects.LoadSTCBoxes(o.TestBoxes, ds); err != nil {
			return nil, fmt.Errorf("data.objects.test_boxes: %w", err)
		}
	}
	if k := o.TrainStride; sp == data.Train && k > 1 {
		thin := objects.NewSet()
		for _, v := range set.Videos() {
			thin.Grow(v, set.NumFrames(v))
			for _, b := range set.Video(v) {
				if b.Frame%k == 0 {
					thin.Add(b)
				}
			}
		}
		set = thin
	}
	n := 0
	for _, v := range set.Videos() {
		n += len(set.Video(v))
	}
	u.Log.Info("STC boxes", "split", splitName(sp), "boxes", n, "videos", len(set.Videos()))
	return set, nil
}

// extracted runs fmam's STC extraction over ds unless its boxes are
// already in path, and writes them there.
func extracted(ctx context.Context, u *baseline.Unit, ds *data.VideoDataset, path string) (*objects.Set, error) {
	if _, err := os.Stat(path); err == nil {
		return objects.LoadSTCBoxes(path, ds)
	}
	o := u.Cfg.Data.Objects
	bc, err := objects.STCBoxConfigFor(u.Cfg.Data.Kind)
	if err != nil {
		bc, _ = objects.STCBoxConfigFor("ped2")
		u.Log.Warn("no STC box thresholds for the data set; using Ped2's", "data", u.Cfg.Data.Kind)
	}
	var det objects.FrameDetector
	if o.Detector != config.DetectorMotion {
		dc := objects.DefaultDetectorConfig(o.Detector)
		l, err := objects.ParseLayout(o.Layout)
		if err != nil {
			return nil, fmt.Errorf("data.objects.layout: %w", err)
		}
		opt := u.ORT()
		dc.Layout, dc.Device, dc.Threads = l, opt.Device, opt.Threads
		d, err := objects.NewDetector(u.RT, dc)
		if err != nil {
			return nil, err
		}
		defer d.Close()
		det = d
	}
	u.Log.Info("extracting STC boxes", "detector", o.Detector, "videos", len(ds.Videos), "frames", ds.NumFrames(), "out", path)
	set, err := objects.ExtractSTCBoxes(ctx, det, ds, bc, nil)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := objects.WriteCSV(path, set); err != nil {
		return nil, err
	}
	return set, nil
}

// cubeDir is the cube cache folder of a split.
func cubeDir(u *baseline.Unit, sp data.Split) string {
	if c := u.Cfg.Data.Objects.Cache; c != "" {
		return filepath.Join(c, splitName(sp))
	}
	return u.Layout.Cubes(splitName(sp))
}

// stcConfig is how cubes are cut: data.frames-1 frames before the target,
// data.size pixels, R, G, B (the backbone's BGR is the network's).
func stcConfig(cfg *config.Config) objects.STCConfig {
	return objects.STCConfig{Context: cfg.Data.Frames - 1, Size: cfg.Data.Size}
}

// openCubes extracts the cubes of one split into its cache (videos already
// there with the same boxes and settings are skipped) and opens them, in
// the order of ds's videos. The caller closes them.
func openCubes(ctx context.Context, u *baseline.Unit, ds *data.VideoDataset, sp data.Split) ([]*objects.STCCubes, error) {
	set, err := boxes(ctx, u, ds, sp)
	if err != nil {
		return nil, err
	}
	dir := cubeDir(u, sp)
	sum, err := objects.WriteSTCCache(ctx, dir, ds, set, stcConfig(u.Cfg), objects.CacheOptions{Logger: u.Log})
	if err != nil {
		return nil, err
	}
	if sum.Written > 0 {
		u.Log.Info("cube cache", "split", splitName(sp), "dir", dir, "videos", sum.Videos, "written", sum.Written, "cubes", sum.Cubes)
	}
	return objects.OpenAllSTCCubes(dir, ds)
}

// Source extracts the training cubes (once, into the cube cache) and
// yields them in batches, a seeded shuffle every epoch.
func (*Baseline) Source(ctx context.Context, u *baseline.Unit, seed uint64) (train.Source, error) {
	tr, _, err := u.VideoSets(ctx)
	if err != nil {
		return nil, err
	}
	vs, err := openCubes(ctx, u, tr, data.Train)
	if err != nil {
		return nil, err
	}
	src, err := newCubeSource(u.Cfg.Train.Batch, seed, vs)
	if err != nil {
		objects.CloseAll(vs)
		return nil, err
	}
	u.Log.Info("training cubes", "cubes", len(src.index), "batches_per_epoch", src.batches())
	return src, nil
}

// cubeSource yields batches of whole cubes: every epoch a seeded shuffle
// of all training cubes, the last incomplete batch dropped (fmam's train
// step has one batch size). The order depends on the seed and the epoch alone, so
// a resumed run reads what the interrupted one would have.
type cubeSource struct {
	batch  int
	seed   uint64
	videos []*objects.STCCubes
	index  [][2]int
	pos    data.Position
	perm   []int
	epoch  int
	buf    []float32
}

func newCubeSource(batch int, seed uint64, videos []*objects.STCCubes) (*cubeSource, error) {
	s := &cubeSource{batch: batch, seed: seed, videos: videos, epoch: -1}
	for vi, v := range videos {
		for i := range v.Len() {
			s.index = append(s.index, [2]int{vi, i})
		}
	}
	if len(s.index) < batch {
		return nil, fmt.Errorf("%d training cubes, fewer than train.batch %d: the boxes give too few objects (check the box files or data.objects.train_stride)", len(s.index), batch)
	}
	return s, nil
}

func (s *cubeSource) batches() int { return len(s.index) / s.batch }

func (s *cubeSource) Next(ctx context.Context) ([][]float32, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.epoch != s.pos.Epoch {
		s.perm = rand.New(rand.NewPCG(s.seed, uint64(s.pos.Epoch))).Perm(len(s.index))
		s.epoch = s.pos.Epoch
	}
	var out []float32
	for slot := range s.batch {
		at := s.index[s.perm[s.pos.Batch*s.batch+slot]]
		cube, err := s.videos[at[0]].Cube(at[1], s.buf)
		if err != nil {
			return nil, err
		}
		s.buf = cube
		if out == nil {
			out = make([]float32, 0, s.batch*len(cube))
		}
		out = append(out, cube...)
	}
	s.pos = s.pos.Next(s.batches())
	return [][]float32{out}, nil
}

func (s *cubeSource) Position() ([]byte, error) { return json.Marshal(s.pos) }

func (s *cubeSource) Restore(b []byte) error { return json.Unmarshal(b, &s.pos) }

// Close closes the cube files.
func (s *cubeSource) Close() error { return objects.CloseAll(s.videos) }
