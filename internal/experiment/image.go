package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/score"
	"github.com/fmam/fmam/internal/synth"
)

// imageRoot returns the dataset root, generating the synthetic set into
// the run folder's parent when asked for.
func (e *Env) imageRoot(ctx context.Context) (string, error) {
	d := e.Cfg.Data
	if d.Kind != "synth-mvtec" {
		return d.Root, nil
	}
	root := d.Root
	if root == "" {
		root = filepath.Join(e.BaseDir, "data", "synth-mvtec")
	}
	if _, err := os.Stat(root); err != nil {
		e.Log.Info("generating the synthetic MVTec-layout set", "dir", root)
		if _, err := synth.GenerateMVTec(ctx, synth.MVTecOptions{Out: root, Size: d.Size, Seed: e.Cfg.Seed, Force: true}); err != nil {
			return "", err
		}
	}
	return root, nil
}

// Categories lists the image categories a run covers.
func (e *Env) Categories(ctx context.Context) ([]string, error) {
	if e.Cfg.Task != "image" {
		return nil, nil
	}
	if len(e.Cfg.Data.Categories) > 0 {
		return e.Cfg.Data.Categories, nil
	}
	root, err := e.imageRoot(ctx)
	if err != nil {
		return nil, err
	}
	if e.Cfg.Data.Kind == "folder" {
		return []string{filepath.Base(root)}, nil
	}
	ents, err := os.ReadDir(root)
	if err != nil {
		return nil, fmt.Errorf("list categories in %s: %w", root, err)
	}
	var out []string
	for _, en := range ents {
		if en.IsDir() && !slices.Contains([]string{"data"}, en.Name()) {
			if _, err := os.Stat(filepath.Join(root, en.Name(), "train")); err == nil {
				out = append(out, en.Name())
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no category folder with train/ in %s; want <root>/<category>/train/good (MVTec AD layout)", root)
	}
	return out, nil
}

// ForCategory returns the environment of one image category: its own
// run sub-folder and data.categories narrowed to it.
func (e *Env) ForCategory(cat string) *Env {
	c := *e.Cfg
	c.Data.Categories = []string{cat}
	ce := *e
	ce.Cfg = &c
	ce.RunDir = filepath.Join(e.RunDir, sanitizeName(cat))
	return &ce
}

func (e *Env) imageSet(ctx context.Context) (*data.ImageDataset, error) {
	root, err := e.imageRoot(ctx)
	if err != nil {
		return nil, err
	}
	if len(e.Cfg.Data.Categories) != 1 {
		return nil, fmt.Errorf("image stages run one category at a time")
	}
	var ds *data.ImageDataset
	if e.Cfg.Data.Kind == "folder" {
		ds, err = data.LoadImageFolder(root)
	} else {
		ds, err = data.LoadMVTec(root, e.Cfg.Data.Categories[0])
	}
	if err != nil {
		return nil, err
	}
	return ds, e.checkImageSize(ds)
}

// checkImageSize compares the first train and test images with
// data.size: a different size is resized with a warning, or refused when
// data.strict is set.
func (e *Env) checkImageSize(ds *data.ImageDataset) error {
	s := e.Cfg.Data.Size
	for _, items := range [][]data.ImageItem{ds.Train, ds.Test} {
		if len(items) == 0 {
			continue
		}
		w, h, err := data.ImageSize(items[0].Path)
		if err != nil {
			return err
		}
		if w == s && h == s {
			continue
		}
		if e.Cfg.Data.Strict {
			return fmt.Errorf("%s is %dx%d but data.size is %d and data.strict is set: resize the data or change data.size", items[0].Path, w, h, s)
		}
		e.Log.Warn("images are resized to data.size", "image", items[0].Path, "width", w, "height", h, "size", s)
		return nil
	}
	return nil
}

// imageSource yields DRAEM training batches: normal images with Perlin
// anomalies pasted from the texture folder.
func (e *Env) imageSource(ctx context.Context, seed uint64) (*imageSrc, error) {
	ds, err := e.imageSet(ctx)
	if err != nil {
		return nil, err
	}
	tex := e.Cfg.Data.Textures
	if tex == "" {
		return nil, fmt.Errorf("data.textures is empty: DRAEM needs a folder of anomaly source images (the DTD set, or ../shared/data/textures)")
	}
	s := e.Cfg.Data.Size
	// DRAEM rotates 30% of its training inputs; the clean target turns too.
	syn, err := synth.NewSynthesizer(tex, s, s, synth.Options{RotateInput: true})
	if err != nil {
		return nil, err
	}
	aug := func(rng *rand.Rand, smp *data.Sample) error {
		in := synth.Image(smp.Image)
		out, err := syn.Synthesize(in, rng)
		if err != nil {
			return err
		}
		smp.Image = data.Image(out.Aug)
		smp.Clean = data.Image(out.Input)
		for i, m := range out.Mask {
			smp.Mask.Pix[i] = m > 0.5
		}
		smp.Label = out.Label
		return nil
	}
	b, err := data.NewImageBatcher(ds.Train, data.ImageBatchConfig{
		Decode: data.DecodeOptions{C: 3, H: s, W: s, Range: data.RangeUnit}, BatchSize: e.Cfg.Train.Batch,
		Shuffle: true, Seed: seed, DropLast: len(ds.Train) >= e.Cfg.Train.Batch, Augment: aug, Workers: e.Cfg.Data.Workers,
	})
	if err != nil {
		return nil, fmt.Errorf("category %s: %w", ds.Name, err)
	}
	return &imageSrc{b: b}, nil
}

type imageSrc struct {
	b    *data.ImageBatcher
	pos  data.Position
	next func() (*data.ImageBatch, error, bool)
	stop func()
}

func (s *imageSrc) Next(ctx context.Context) ([][]float32, error) {
	for {
		if s.next == nil {
			s.next, s.stop = iter.Pull2(s.b.Epoch(ctx, s.pos))
		}
		b, err, ok := s.next()
		if !ok {
			s.close()
			continue
		}
		if err != nil {
			s.close()
			return nil, err
		}
		s.pos = data.Position{Epoch: b.Epoch, Batch: b.Index}.Next(s.b.BatchesPerEpoch())
		return [][]float32{b.Images, b.Clean, b.Masks}, nil
	}
}

func (s *imageSrc) close() {
	if s.stop != nil {
		s.stop()
		s.next, s.stop = nil, nil
	}
}

func (s *imageSrc) Position() ([]byte, error) { return json.Marshal(s.pos) }

func (s *imageSrc) Restore(b []byte) error {
	s.close()
	return json.Unmarshal(b, &s.pos)
}

// ImageEval holds one category's results for teacher and student.
type ImageEval struct {
	Category string
	Teacher  report.ImageResult
	Student  report.ImageResult
}

// ImageEvals is a run's image results.
type ImageEvals []ImageEval

// MeanImageAUROC is the student's mean image AUROC over categories.
func (r ImageEvals) MeanImageAUROC() float64 {
	s := 0.0
	for _, c := range r {
		s += c.Student.ImageAUROC
	}
	return s / float64(len(r))
}

// EvaluateImages evaluates every category's student (for taps) and writes
// per-category raw scores, a results table in the paper's Table 4 shape,
// and map panels.
func (e *Env) EvaluateImages(ctx context.Context, taps []string) (ImageEvals, error) {
	cats, err := e.Categories(ctx)
	if err != nil {
		return nil, err
	}
	var out ImageEvals
	var rows []report.ImageResult
	for _, cat := range cats {
		ce := e.ForCategory(cat)
		ev, err := ce.evaluateCategory(ctx, taps)
		if err != nil {
			return nil, fmt.Errorf("category %s: %w", cat, err)
		}
		out = append(out, *ev)
		rows = append(rows, ev.Teacher, ev.Student)
	}
	tab, err := report.ImageTable(fmt.Sprintf("%s, taps %s: pixel AUROC, pixel AP, image AUROC (%%)", e.Cfg.Data.Kind, TapSetName(taps)), rows)
	if err != nil {
		return nil, err
	}
	name := "results"
	if !slices.Equal(taps, e.Cfg.Model.Taps) {
		name += "-" + TapSetName(taps)
	}
	return out, report.WriteAll(e.RunDir, name, tab)
}

func (e *Env) evaluateCategory(ctx context.Context, taps []string) (*ImageEval, error) {
	dir := e.StudentDir(taps)
	model := filepath.Join(dir, "model.onnx")
	mb, err := os.ReadFile(model)
	if err != nil {
		return nil, fmt.Errorf("evaluate %s: %w; train the student first", dir, err)
	}
	ds, err := e.imageSet(ctx)
	if err != nil {
		return nil, err
	}
	s := e.Cfg.Data.Size
	bs := e.Cfg.Eval.Batch
	b, err := data.NewImageBatcher(ds.Test, data.ImageBatchConfig{Decode: data.DecodeOptions{C: 3, H: s, W: s, Range: data.RangeUnit}, BatchSize: bs, Workers: e.Cfg.Data.Workers})
	if err != nil {
		return nil, err
	}
	t, _, err := e.teacher(taps, bs)
	if err != nil {
		return nil, err
	}
	mapShape := []int64{int64(bs), int64(s), int64(s)}
	sess, err := e.RT.NewInference(mb, []ort.Port{{Name: t.Input, Shape: []int64{int64(bs), 3, int64(s), int64(s)}}},
		[]ort.Port{{Name: method.OutTeacherMap, Shape: mapShape}, {Name: method.OutStudentMap, Shape: mapShape}, {Name: method.OutFea, Shape: []int64{int64(bs)}}},
		e.ortOptions())
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", model, err)
	}
	defer sess.Close()
	n := s * s
	var tMaps, sMaps [][]float32
	var masks [][]bool
	var images [][]float32
	var picked []int // indices into the maps of the pictured images
	var srows, trows []score.ImageRow
	var labels []bool
	for batch, err := range b.Epoch(ctx, data.Position{}) {
		if err != nil {
			return nil, err
		}
		copy(sess.Input(0), batch.Images)
		if err := sess.Run(ctx); err != nil {
			return nil, err
		}
		tm, sm, sf := sess.Output(0), sess.Output(1), sess.Output(2)
		for i := 0; i < batch.N; i++ {
			it := ds.Test[batch.Items[i]]
			tMap := slices.Clone(tm[i*n : (i+1)*n])
			sMap := slices.Clone(sm[i*n : (i+1)*n])
			mask := make([]bool, n)
			for j := range mask {
				mask[j] = batch.Masks[i*n+j] > 0.5
			}
			tMaps, sMaps, masks = append(tMaps, tMap), append(sMaps, sMap), append(masks, mask)
			lab := batch.Labels[i] == 1
			// Panels show anomalous images: that is where the maps differ.
			if lab && len(images) < e.Cfg.Eval.Pictures {
				images = append(images, slices.Clone(batch.Images[i*3*n:(i+1)*3*n]))
				picked = append(picked, len(masks)-1)
			}
			labels = append(labels, lab)
			id := it.Defect + "/" + filepath.Base(it.Path)
			fea := float64(sf[i])
			srows = append(srows, score.ImageRow{ID: id, Category: ds.Name, Defect: it.Defect, Label: lab, SO: score.DRAEMImageScore(sMap, s, s), SFea: fea})
			trows = append(trows, score.ImageRow{ID: id, Category: ds.Name, Defect: it.Defect, Label: lab, SO: score.DRAEMImageScore(tMap, s, s), SFea: fea})
		}
	}
	sPath, tPath := scoresPaths(dir)
	if err := score.WriteImageCSV(sPath, srows); err != nil {
		return nil, err
	}
	if err := score.WriteImageCSV(tPath, trows); err != nil {
		return nil, err
	}
	cat := e.Cfg.Data.Categories[0]
	res := func(method string, maps [][]float32, rows []score.ImageRow) (report.ImageResult, error) {
		r := report.ImageResult{Category: cat, Method: method, PixelAUROCSigma: math.NaN(), PixelAPSigma: math.NaN(), PixelAUROC: math.NaN(), PixelAP: math.NaN()}
		sc := make([]float64, len(rows))
		for i, row := range rows {
			sc[i] = row.SO
		}
		auc, err := metrics.ROCAUC(sc, labels)
		if err != nil {
			return r, fmt.Errorf("image AUROC: %w", err)
		}
		r.ImageAUROC = auc
		if ds.HasMasks() {
			if r.PixelAUROC, r.PixelAP, err = metrics.PixelMetrics(ctx, maps, masks, s, s); err != nil {
				return r, err
			}
			if sig := e.Cfg.Eval.Sigma; sig > 0 {
				sm := make([][]float32, len(maps))
				for i, m := range maps {
					if sm[i], err = metrics.GaussianBlur(m, s, s, sig); err != nil {
						return r, err
					}
				}
				if r.PixelAUROCSigma, r.PixelAPSigma, err = metrics.PixelMetrics(ctx, sm, masks, s, s); err != nil {
					return r, err
				}
			}
		}
		return r, nil
	}
	tr, err := res("DRAEM (teacher)", tMaps, trows)
	if err != nil {
		return nil, err
	}
	attn := upper(string(e.Cfg.Model.Attention.Kind))
	sr, err := res("DRAEM+"+attn, sMaps, srows)
	if err != nil {
		return nil, err
	}
	pick := func(all [][]float32) [][]float32 {
		var out [][]float32
		for _, i := range picked {
			out = append(out, all[i])
		}
		return out
	}
	var pm [][]bool
	for _, i := range picked {
		pm = append(pm, masks[i])
	}
	if err := e.mapPanels(dir, images, pm, pick(tMaps), pick(sMaps)); err != nil {
		return nil, err
	}
	return &ImageEval{Category: cat, Teacher: tr, Student: sr}, nil
}

// mapPanels writes Figure-3-style rows: image, ground truth, teacher map,
// student map.
func (e *Env) mapPanels(dir string, images [][]float32, masks [][]bool, tMaps, sMaps [][]float32) error {
	s := e.Cfg.Data.Size
	var rows []report.Panel
	for i := range images {
		mk := make([]float32, s*s)
		for j, v := range masks[i] {
			if v {
				mk[j] = 1
			}
		}
		tm := report.Map{Data: tMaps[i], H: s, W: s}
		sm := report.Map{Data: sMaps[i], H: s, W: s}
		r := report.JointRange(tm, sm)
		rows = append(rows, report.Panel{Tiles: []report.Tile{
			report.ImageTile("image", report.ImageCHW{Data: images[i], C: 3, H: s, W: s}),
			report.MaskTile("truth", report.Map{Data: mk, H: s, W: s}),
			report.HeatTile("teacher", tm, r),
			report.HeatTile("student", sm, r),
		}})
	}
	if len(rows) == 0 {
		return nil
	}
	return report.WritePanels(filepath.Join(dir, "maps.png"), rows...)
}

// sweepImages fuses normalised image scores per category for each lambda
// and reports the mean image AUROC.
func sweepImages(dir string, lams []float64, rows []score.ImageRow, dataset string) ([]report.LambdaPoint, error) {
	so := make([]float64, len(rows))
	fe := make([]float64, len(rows))
	labels := make([]bool, len(rows))
	for i, r := range rows {
		so[i], fe[i], labels[i] = r.SO, r.SFea, r.Label
	}
	nO, err := score.Normalize(so, score.HigherIsAnomalous)
	if err != nil {
		return nil, err
	}
	nF, err := score.Normalize(fe, score.HigherIsAnomalous)
	if err != nil {
		return nil, err
	}
	var pts []report.LambdaPoint
	for _, l := range lams {
		f, err := score.Fuse(l, nF, nO)
		if err != nil {
			return nil, err
		}
		auc, err := metrics.ROCAUC(f, labels)
		if err != nil {
			return nil, fmt.Errorf("lambda %s: %w", strconv.FormatFloat(l, 'g', -1, 64), err)
		}
		pts = append(pts, report.LambdaPoint{Lambda: l, MicroAUC: auc, MacroAUC: math.NaN()})
	}
	return pts, writeSweep(dir, dataset, pts)
}
