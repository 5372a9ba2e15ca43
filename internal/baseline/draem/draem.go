// Package draem is the DRAEM baseline (Zavrtanik et al., ICCV 2021): a
// reconstructive subnetwork trained to remove synthetic anomalies (Perlin
// masks filled with textures) and a discriminative subnetwork that segments
// them. The pixel map is the discriminative softmax's anomaly channel; the
// image score is the maximum of its 21x21 mean filter.
package draem

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/loss"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/score"
	"github.com/fmam/fmam/internal/synth"
	"github.com/fmam/fmam/internal/train"
)

// Baseline is DRAEM. Its zero value is ready to use.
type Baseline struct {
	// Name and ImageScore, when set, let another image baseline score
	// and tabulate with DRAEM's code (internal/baseline/recon): its name
	// in tables ("DRAEM") and its image score of an anomaly map
	// (score.DRAEMImageScore).
	Name       string
	ImageScore func(m []float32, h, w int) float64
}

// imageScore is S_o of an anomaly map.
func (bl *Baseline) imageScore(m []float32, h, w int) float64 {
	if bl.ImageScore != nil {
		return bl.ImageScore(m, h, w)
	}
	return score.DRAEMImageScore(m, h, w)
}

// Baseline is a baseline.Baseline.
var _ baseline.Baseline = (*Baseline)(nil)

// New returns the DRAEM baseline.
func New() *Baseline { return &Baseline{} }

// Tensor names of DRAEM's graphs.
const (
	// InImage is the input image, RGB in [0, 1] (with pasted anomalies in
	// training).
	InImage = "image"
	// InClean is the reconstruction's target, InMask the anomaly mask.
	InClean = "clean"
	InMask  = "mask"
	// Per-pixel anomaly maps of the evaluation graph, [N, H, W].
	OutTeacherMap = method.OutTeacherMap
	OutStudentMap = method.OutStudentMap
)

func (*Baseline) Arch() string        { return "draem" }
func (*Baseline) Taps() []string      { return Taps }
func (*Baseline) Input() string       { return InImage }
func (*Baseline) Outputs() []string   { return []string{"reconstruction", "mask_logits"} }
func (*Baseline) Task() baseline.Task { return baseline.ImageTask() }
func (bl *Baseline) Title(*config.Config) string {
	if bl.Name != "" {
		return bl.Name
	}
	return "DRAEM"
}

func (*Baseline) Check(s method.Spec) error {
	if s.Memory {
		return fmt.Errorf("model.memory is MNAD's memory module; DRAEM has none: set model.memory: false")
	}
	return nil
}

// SizeMultiple is the input side fmam's DRAEM can pool down; fmam bench
// checks --size by it as CheckConfig checks data.size.
func (*Baseline) SizeMultiple() (multiple int, why string) {
	return 64, "it pools 5 times"
}

func (b *Baseline) CheckConfig(cfg *config.Config) error {
	// An imported DRAEM's own input shape decides (LoadTeacher checks it).
	if m, why := b.SizeMultiple(); cfg.Data.Size%m != 0 && cfg.Model.Teacher == "" {
		return fmt.Errorf("data.size %d must be a multiple of %d for fmam's DRAEM (%s)", cfg.Data.Size, m, why)
	}
	if cfg.Data.Channels != 3 {
		return fmt.Errorf("data.channels %d: DRAEM reads RGB images; set data.channels: 3", cfg.Data.Channels)
	}
	// MimicImage hands the input to the backbone as it is.
	if o := decode(cfg); cfg.Model.Mimic.Backbone != "" && (o.Range != imageio.RangeUnit || o.Mean != nil) {
		return fmt.Errorf("model.mimic needs DRAEM's own input format: leave data.range, data.mean and data.std unset")
	}
	return nil
}

func imageShape(s method.Spec, c int) graph.Shape {
	return graph.Shape{int64(s.Batch), int64(c), int64(s.Size), int64(s.Size)}
}

func (*Baseline) InputShape(s method.Spec) graph.Shape { return imageShape(s, 3) }

func (*Baseline) Build(b *nn.Builder, s method.Spec, input string, hook arch.Tap) method.Forward {
	r, l := Build(b, input, Config{Width: s.Width}, hook)
	return method.Forward{Outputs: []string{r, l}}
}

func (*Baseline) Targets(g *graph.Graph, s method.Spec) []string {
	return []string{g.Input(InClean, graph.Float, imageShape(s, 3)), g.Input(InMask, graph.Float, imageShape(s, 1))}
}

// Loss is DRAEM's: L2 and SSIM loss between the reconstruction and the
// clean image, and the focal loss (gamma 2) of the mask logits.
func (*Baseline) Loss(g *graph.Graph, _ method.Spec, f method.Forward, targets []string) method.Loss {
	l2 := loss.MSE(g, f.Outputs[0], targets[0])
	ss := loss.SSIMLoss(g, f.Outputs[0], targets[0], loss.DRAEMSSIM())
	fo := loss.Focal(g, f.Outputs[1], loss.BinaryOneHot(g, targets[1]), loss.DRAEMFocal())
	total := g.Op(graph.OpSum, []string{l2, ss, fo}, nil)
	return method.Loss{Total: total, Terms: []string{l2, ss, fo}, Names: []string{"l2", "ssim", "focal"}}
}

// anomalyMap is softmax channel 1 of the mask logits: [N, H, W].
func anomalyMap(g *graph.Graph, logits string) string {
	sm := g.Op(graph.OpSoftmax, []string{logits}, graph.Attrs{"axis": int64(1)})
	ch1 := g.Op(graph.OpSlice, []string{sm, g.Const1D(1), g.Const1D(2), g.Const1D(1)}, nil)
	return g.Op(graph.OpSqueeze, []string{ch1, g.Const1D(1)}, nil)
}

// Scores are the per-pixel anomaly maps of teacher and student.
func (*Baseline) Scores(g *graph.Graph, _ method.Spec, teacher, student *method.Forward) ([]string, []string, error) {
	outs := []string{method.Rename(g, anomalyMap(g, teacher.Outputs[1]), OutTeacherMap)}
	if student != nil {
		outs = append(outs, method.Rename(g, anomalyMap(g, student.Outputs[1]), OutStudentMap))
	}
	return nil, outs, g.Err()
}

// MimicImage is the image itself.
func (*Baseline) MimicImage(_ *graph.Graph, _ method.Spec, input string) string { return input }

func (*Baseline) TeacherMeta(method.Spec) map[string]string { return nil }

func (*Baseline) CheckTeacher(*method.Teacher, method.Spec) error { return nil }

// BenchShape is the clip of `fmam bench`: the frames and channels of its
// input (scripts/bench_torch.py builds the same).
func (*Baseline) BenchShape() (frames, channels int) { return 0, 3 }

// BenchLoss is MSE(reconstruction, image) plus the cross-entropy of the
// mask logits against a mask input.
func (*Baseline) BenchLoss(g *graph.Graph, s method.Spec, f method.Forward, input string) (string, []string) {
	m := g.Input(InMask, graph.Float, imageShape(s, 1))
	onehot := g.Op(graph.OpConcat, []string{g.Op(graph.OpSub, []string{g.Scalar(1), m}, nil), m}, graph.Attrs{"axis": int64(1)})
	total := g.Op(graph.OpAdd, []string{loss.MSE(g, f.Outputs[0], input), loss.CrossEntropy(g, f.Outputs[1], onehot)}, nil)
	return total, []string{input, m}
}

// decode is DRAEM's input: RGB in [0, 1] unless data.range and
// data.mean/std say otherwise (an imported DRAEM's own format).
func decode(cfg *config.Config) imageio.DecodeOptions { return baseline.Decode(cfg) }

// unitRange is the decode range without normalisation: what an
// augmentation sees (data.Sample), to be taken to and from [0, 1].
func unitRange(cfg *config.Config) (imageio.Input, bool) {
	in := imageio.Input{C: 3, Range: decode(cfg).Range}
	return in, in.Range != imageio.RangeUnit
}

// Source yields normal images with Perlin anomalies pasted from the
// texture folder, their clean versions and masks.
func (*Baseline) Source(ctx context.Context, u *baseline.Unit, seed uint64) (train.Source, error) {
	ds, err := u.ImageSet(ctx)
	if err != nil {
		return nil, err
	}
	tex := u.Cfg.Data.Textures
	if tex == "" {
		return nil, fmt.Errorf("data.textures is empty: DRAEM's training batches, the student's too (also of an imported DRAEM: it mimics the teacher on the images DRAEM trains on), are normal images with anomalies pasted from texture images; set data.textures to a folder of images (the DTD set, or ../shared/data/textures)")
	}
	s := u.Cfg.Data.Size
	// DRAEM rotates 30% of its training inputs; the clean target turns too.
	syn, err := synth.NewSynthesizer(tex, s, s, synth.Options{RotateInput: true, Log: u.Log})
	if err != nil {
		return nil, err
	}
	// The synthesizer blends textures into [0, 1] images.
	in, convert := unitRange(u.Cfg)
	aug := func(rng *rand.Rand, smp *data.Sample) error {
		img := smp.Image
		if convert {
			img = in.ToUnit(img)
		}
		out, err := syn.Synthesize(synth.Image(img), rng)
		if err != nil {
			return err
		}
		smp.Image = imageio.Image(out.Aug)
		smp.Clean = imageio.Image(out.Input)
		if convert {
			smp.Image, smp.Clean = in.FromUnit(smp.Image), in.FromUnit(smp.Clean)
		}
		for i, m := range out.Mask {
			smp.Mask.Pix[i] = m > 0.5
		}
		smp.Label = out.Label
		return nil
	}
	b, err := data.NewImageBatcher(ds.Train, data.ImageBatchConfig{
		Decode: decode(u.Cfg), BatchSize: u.Cfg.Train.Batch,
		Shuffle: true, Seed: seed, DropLast: len(ds.Train) >= u.Cfg.Train.Batch, Augment: aug, Workers: u.Cfg.Data.Workers,
	})
	if err != nil {
		return nil, fmt.Errorf("category %s: %w", ds.Name, err)
	}
	return baseline.ImageSource(b), nil
}

// mapPath is where an image's anomaly map is saved: maps/<model>/<defect>/<name>.npy.
func mapPath(st baseline.Stage, model string, it data.ImageItem) string {
	name := strings.TrimSuffix(filepath.Base(it.Path), filepath.Ext(it.Path))
	return filepath.Join(st.Maps(), model, baseline.SafeName(it.Defect), name+".npy")
}

// truthModel is the folder beside the maps that holds the ground truth
// as the evaluation saw it (resized to data.size), so that
// 'fmam metrics --maps maps/student' reproduces the results table.
const truthModel = "truth"

// truthPath is where an image's mask is saved: maps/truth/<defect>/<name>.png.
func truthPath(st baseline.Stage, it data.ImageItem) string {
	return strings.TrimSuffix(mapPath(st, truthModel, it), ".npy") + ".png"
}

// saveMask writes one s x s mask (values > 0.5 anomalous) as a 0/255 PNG.
func saveMask(path string, m []float32, s int) error {
	img := image.NewGray(image.Rect(0, 0, s, s))
	for i, v := range m {
		if v > 0.5 {
			img.Pix[i] = 255
		}
	}
	return atomicfile.WriteFunc(path, func(w io.Writer) error { return png.Encode(w, img) })
}

// Score runs the evaluation model over the category's test images and
// writes per-image raw scores (s_o = DRAEM's image score) and every
// anomaly map as .npy (maps/teacher/..., maps/student/...), from which
// Results computes the pixel metrics.
func (bl *Baseline) Score(ctx context.Context, u *baseline.Unit, m baseline.EvalModel) error {
	mb, err := os.ReadFile(m.Path)
	if err != nil {
		return fmt.Errorf("evaluate %s: %w; train the student first", m.Stage.Dir, err)
	}
	ds, err := u.ImageSet(ctx)
	if err != nil {
		return err
	}
	s := u.Cfg.Data.Size
	bs := u.Cfg.Eval.Batch
	b, err := data.NewImageBatcher(ds.Test, data.ImageBatchConfig{Decode: decode(u.Cfg), BatchSize: bs, Workers: u.Cfg.Data.Workers, Log: maskLog(u)})
	if err != nil {
		return err
	}
	mapShape := []int64{int64(bs), int64(s), int64(s)}
	outs := []ort.Port{{Name: OutTeacherMap, Shape: mapShape}}
	if !m.TeacherOnly {
		outs = append(outs, ort.Port{Name: OutStudentMap, Shape: mapShape}, ort.Port{Name: method.OutFea, Shape: []int64{int64(bs)}})
	}
	sess, err := u.RT.NewInference(mb, []ort.Port{{Name: m.Inputs[0], Shape: []int64{int64(bs), 3, int64(s), int64(s)}}}, outs, u.ORT())
	if err != nil {
		return fmt.Errorf("load %s: %w", m.Path, err)
	}
	defer sess.Close()
	n := s * s
	// Truth is written for every image whose mask is known, when any
	// defect image has one (else there are no pixel metrics to redo).
	withTruth := hasPixelTruth(ds)
	var srows, trows []score.ImageRow
	bar := u.Bar(b.BatchesPerEpoch(), "eval "+m.Stage.Dir)
	for batch, err := range b.Epoch(ctx, data.Position{}) {
		if err != nil {
			return err
		}
		copy(sess.Input(0), batch.Images)
		if err := sess.Run(ctx); err != nil {
			return err
		}
		for i := 0; i < batch.N; i++ {
			it := ds.Test[batch.Items[i]]
			row := score.ImageRow{ID: baseline.ImageID(it), Category: ds.Name, Defect: it.Defect, Label: batch.Labels[i] == 1}
			tMap := sess.Output(0)[i*n : (i+1)*n]
			t := row
			t.SO = bl.imageScore(tMap, s, s)
			if err := saveMap(mapPath(m.Stage, "teacher", it), tMap, s); err != nil {
				return err
			}
			if withTruth && batch.HasMask[i] { // no file: the truth is unknown, as in the tables
				if err := saveMask(truthPath(m.Stage, it), batch.Masks[i*n:(i+1)*n], s); err != nil {
					return err
				}
			}
			if !m.TeacherOnly {
				sMap := sess.Output(1)[i*n : (i+1)*n]
				row.SO, row.SFea = bl.imageScore(sMap, s, s), float64(sess.Output(2)[i])
				t.SFea = row.SFea
				if err := saveMap(mapPath(m.Stage, "student", it), sMap, s); err != nil {
					return err
				}
				srows = append(srows, row)
			}
			trows = append(trows, t)
		}
		bar.Add()
	}
	bar.Finish()
	if err := score.WriteTeacherImageCSV(m.Stage.TeacherScores(), trows, !m.TeacherOnly); err != nil {
		return err
	}
	if m.TeacherOnly {
		return nil
	}
	return score.WriteImageCSV(m.Stage.Scores(), srows)
}

// maps reads back the saved maps of one model for the test items.
func maps(st baseline.Stage, model string, items []data.ImageItem, s int) ([][]float32, error) {
	out := make([][]float32, len(items))
	for i, it := range items {
		p := mapPath(st, model, it)
		m, w, h, err := score.LoadMapNPY(p)
		if err != nil {
			return nil, fmt.Errorf("%w; run 'fmam eval' again to rewrite the maps", err)
		}
		if w != s || h != s {
			return nil, fmt.Errorf("map %s is %dx%d, data.size is %d; run 'fmam eval' again", p, w, h, s)
		}
		out[i] = m
	}
	return out, nil
}

// hasPixelTruth reports whether some defect image of ds has a mask: only then
// are there pixel metrics.
func hasPixelTruth(ds *data.ImageDataset) bool {
	return slices.ContainsFunc(ds.Test, func(it data.ImageItem) bool { return it.Label == 1 && it.HasMask() })
}

// Results computes image AUROC from the raw scores and pixel AUROC, AP
// and AUPRO from the saved maps (also after Gaussian smoothing with eval.sigma), and
// writes the category's table and map panels.
func (bl *Baseline) Results(ctx context.Context, u *baseline.Unit, st baseline.Stage, r baseline.ResultsSpec) (*baseline.Eval, error) {
	ds, err := u.ImageSet(ctx)
	if err != nil {
		return nil, err
	}
	s := u.Cfg.Data.Size
	truth, err := readTruth(ctx, u, ds)
	if err != nil {
		return nil, err
	}
	// Pixel metrics cover the images whose pixel truth is known: a defect
	// image without a mask is left out rather than counted all normal.
	var masks [][]bool
	var known []int
	for i, m := range truth.masks {
		if truth.known[i] {
			masks, known = append(masks, m), append(known, i)
		}
	}
	localised, defects := hasPixelTruth(ds), 0
	for _, it := range ds.Test {
		defects += int(it.Label)
	}
	cat := u.Name
	group := ""
	if !slices.Contains(data.MVTecCategories(), cat) {
		group = u.DatasetName()
	}
	// The image scores of each model, for the panels' row labels.
	imageScores := map[string][]float64{}
	res := func(method, file, model string) (results.ImageResult, [][]float32, error) {
		out := results.ImageResult{Category: cat, Method: method, Group: group, PixelAUROCSigma: math.NaN(), PixelAPSigma: math.NaN(), PixelAUROC: math.NaN(), PixelAP: math.NaN(), AUPRO: math.NaN()}
		rows, err := score.ReadImageCSV(file)
		if err != nil {
			return out, nil, err
		}
		if len(rows) != len(ds.Test) {
			return out, nil, fmt.Errorf("scores %s have %d rows, the test set %d images; run 'fmam eval' again", file, len(rows), len(ds.Test))
		}
		sc := make([]float64, len(rows))
		labels := make([]bool, len(rows))
		for i, row := range rows {
			sc[i], labels[i] = row.SO, row.Label
		}
		imageScores[model] = sc
		if out.ImageAUROC, err = metrics.ROCAUC(sc, labels); err != nil {
			return out, nil, fmt.Errorf("image AUROC: %w", err)
		}
		mm, err := maps(st, model, ds.Test, s)
		if err != nil {
			return out, nil, err
		}
		if localised {
			km := make([][]float32, len(known))
			for j, i := range known {
				km[j] = mm[i]
			}
			// A full MVTec category holds millions of pixels: progress.
			bar := u.Bar(metrics.PixelSteps(len(km)), "pixel metrics "+model)
			pr, err := metrics.EvaluatePixelsProgress(ctx, km, masks, s, s, metrics.DefaultMaxFPR, func(done, _ int) { bar.Set(done) })
			bar.Finish()
			if err != nil {
				return out, nil, metrics.NameNaNMap(err, func(j int) string {
					it := ds.Test[known[j]]
					return fmt.Sprintf("%s (of %s)", mapPath(st, model, it), it.Path)
				})
			}
			out.PixelAUROC, out.PixelAP, out.AUPRO = pr.AUROC, pr.AP, pr.AUPRO
			if sig := u.Cfg.Eval.Sigma; sig > 0 {
				sm := make([][]float32, len(km))
				for i, m := range km {
					if sm[i], err = metrics.GaussianBlur(m, s, s, sig); err != nil {
						return out, nil, err
					}
				}
				if out.PixelAUROCSigma, out.PixelAPSigma, err = metrics.PixelMetrics(ctx, sm, masks, s, s); err != nil {
					return out, nil, err
				}
			}
		}
		return out, mm, nil
	}
	title := bl.Title(u.Cfg)
	tr, tMaps, err := res(title+" (teacher)", st.TeacherScores(), "teacher")
	if err != nil {
		return nil, err
	}
	ev := &baseline.Eval{Unit: cat, Headline: tr.ImageAUROC, Teacher: tr.ImageAUROC, HeadlineName: "image AUROC", Images: []results.ImageResult{tr}, Table: st.Table("results"+r.Suffix) + ".md"}
	var sMaps [][]float32
	if !r.TeacherOnly {
		var sr results.ImageResult
		if sr, sMaps, err = res(imageStudentLabel(title, u.Cfg), st.Scores(), "student"); err != nil {
			return nil, err
		}
		ev.Images = append(ev.Images, sr)
		ev.Headline = sr.ImageAUROC
	}
	what := "taps " + baseline.TapSetName(r.Taps)
	if r.TeacherOnly {
		what = "teacher alone"
	}
	r.AddControl(ev)
	tab, err := report.ImageTable(fmt.Sprintf("%s %s, %s: pixel AUROC, pixel AP, image AUROC, AUPRO (%%)", u.DatasetName(), cat, what), ev.Images)
	if err != nil {
		return nil, err
	}
	if n := len(ds.Test) - len(known); n > 0 {
		note := fmt.Sprintf("%d of %d defect images have no mask: pixel metrics leave them out", n, defects)
		if !localised {
			note = fmt.Sprintf("no defect image has a mask (%d without): pixel metrics are absent", n)
		}
		ev.Notes = append(ev.Notes, note+".")
		tab.Notes = append(tab.Notes, note+"; maps.png draws them as \"no mask\".")
	}
	if err := report.WriteAll(st.Dir, "results"+r.Suffix, tab); err != nil {
		return nil, err
	}
	return ev, mapPanels(u, st, ds, truth, tMaps, sMaps, imageScores)
}

// imageStudentLabel names an image student as the paper's Table 4 does
// ("DRAEM+SCA"), and the control as every baseline does.
func imageStudentLabel(title string, cfg *config.Config) string {
	if baseline.IsControl(cfg) {
		return baseline.StudentLabel(title, cfg)
	}
	return title + "+" + strings.ToUpper(string(cfg.Model.Attention.Kind))
}

// truth is the test set as the batcher decodes it: masks (checked against
// their images' sizes), whether each is known (data.ImageItem.HasMask),
// and the first anomalous images for the panels.
type truth struct {
	masks  [][]bool
	known  []bool
	images map[int][]float32 // by test index
}

func readTruth(ctx context.Context, u *baseline.Unit, ds *data.ImageDataset) (*truth, error) {
	s := u.Cfg.Data.Size
	n := s * s
	b, err := data.NewImageBatcher(ds.Test, data.ImageBatchConfig{Decode: decode(u.Cfg), BatchSize: u.Cfg.Eval.Batch, Workers: u.Cfg.Data.Workers, Log: maskLog(u)})
	if err != nil {
		return nil, err
	}
	t := &truth{masks: make([][]bool, len(ds.Test)), known: make([]bool, len(ds.Test)), images: map[int][]float32{}}
	in := decode(u.Cfg).Input() // pictures are drawn from [0, 1]
	for batch, err := range b.Epoch(ctx, data.Position{}) {
		if err != nil {
			return nil, err
		}
		for i := 0; i < batch.N; i++ {
			idx := batch.Items[i]
			mask := make([]bool, n)
			for j := range mask {
				mask[j] = batch.Masks[i*n+j] > 0.5
			}
			t.masks[idx], t.known[idx] = mask, batch.HasMask[i]
			// Panels show anomalous images: that is where the maps differ.
			if batch.Labels[i] == 1 && len(t.images) < u.Cfg.Eval.Pictures {
				img := imageio.Image{C: 3, H: s, W: s, Pix: batch.Images[i*3*n : (i+1)*3*n]}
				t.images[idx] = in.ToUnit(img).Pix
			}
		}
	}
	return t, nil
}

// mapPanels writes Figure-3-style rows for the first anomalous images:
// image, ground truth, teacher map, student map, and a colour bar of the
// maps' joint range, each row labelled with its category, defect, file
// and image scores. Tiles are shown at least 192 px wide.
func mapPanels(u *baseline.Unit, st baseline.Stage, ds *data.ImageDataset, t *truth, tMaps, sMaps [][]float32, scores map[string][]float64) error {
	s := u.Cfg.Data.Size
	tile := s * max(1, (192+s-1)/s)
	var rows []report.Panel
	for i := range t.masks {
		img, ok := t.images[i]
		if !ok {
			continue
		}
		mk := make([]float32, s*s)
		for j, v := range t.masks[i] {
			if v {
				mk[j] = 1
			}
		}
		tm := report.Map{Data: tMaps[i], H: s, W: s}
		truthTile := report.MaskTile("truth", report.Map{Data: mk, H: s, W: s})
		if !t.known[i] {
			truthTile = report.NoteTile("truth", "no mask", s, s)
		}
		tiles := []report.Tile{report.ImageTile("image", report.ImageCHW{Data: img, C: 3, H: s, W: s}), truthTile}
		it := ds.Test[i]
		label := fmt.Sprintf("%s / %s / %s   image score: teacher %.4g", u.Name, it.Defect, filepath.Base(it.Path), scores["teacher"][i])
		var r report.Range
		if sMaps != nil {
			sm := report.Map{Data: sMaps[i], H: s, W: s}
			r = report.JointRange(tm, sm)
			tiles = append(tiles, report.HeatTile("teacher", tm, r), report.HeatTile("student", sm, r))
			label += fmt.Sprintf(", student %.4g", scores["student"][i])
		} else {
			r = report.JointRange(tm)
			tiles = append(tiles, report.HeatTile("teacher", tm, r))
		}
		p := report.Panel{Tiles: tiles, TileWidth: tile, TileHeight: tile, Label: label}
		if r.Hi > r.Lo {
			p.Bar = &r
		}
		rows = append(rows, p)
	}
	if len(rows) == 0 {
		return nil
	}
	return report.WritePanelsAs(st.Picture("maps"), u.Cfg.Report.Formats, rows...)
}

// saveMap writes one s x s anomaly map as a float32 .npy of shape (s, s).
func saveMap(path string, m []float32, s int) error {
	rows := make([][]float32, s)
	for y := range rows {
		rows[y] = m[y*s : (y+1)*s]
	}
	return atomicfile.WriteFunc(path, func(w io.Writer) error { return npy.Write(w, rows) })
}

// Sweep fuses min-max normalised image scores of the category for each
// lambda and reports the image AUROC.
func (*Baseline) Sweep(ctx context.Context, _ *baseline.Unit, st baseline.Stage, lambdas []float64) ([]results.LambdaPoint, error) {
	rows, err := score.ReadImageCSV(st.Scores())
	if err != nil {
		return nil, fmt.Errorf("sweep-lambda: %w; run 'fmam eval' first", err)
	}
	labels := make([]bool, len(rows))
	for i, r := range rows {
		labels[i] = r.Label
	}
	f := baseline.ScoringOf(New())
	var pts []results.LambdaPoint
	for _, l := range lambdas {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fused, err := f.FuseImages(rows, l)
		if err != nil {
			return nil, fmt.Errorf("lambda %s: %w", strconv.FormatFloat(l, 'g', -1, 64), err)
		}
		auc, err := metrics.ROCAUC(fused, labels)
		if err != nil {
			return nil, fmt.Errorf("lambda %s: %w", strconv.FormatFloat(l, 'g', -1, 64), err)
		}
		pts = append(pts, results.LambdaPoint{Lambda: l, MicroAUC: auc, MacroAUC: math.NaN()})
	}
	return pts, nil
}

// maskLog is the logger test batchers warn about non-binary masks on,
// naming the category; nil without a logger.
func maskLog(u *baseline.Unit) *slog.Logger {
	if u.Log == nil {
		return nil
	}
	return u.Log.With("category", u.Name)
}
