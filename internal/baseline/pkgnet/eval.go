package pkgnet

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/objects"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/score"
)

// ObjectRow is one object's raw scores: its box, the components (the
// prediction MSE, then each block's mean 1 - cos; high = anomalous) and
// S_fea, the mean squared teacher-student inconsistency at the taps (NaN
// when the teacher was scored alone).
type ObjectRow struct {
	Video string
	Frame int
	Box   [4]float64
	Comps []float64
	Fea   float64
}

// Chain is the official scoring of per-object rows: z-scoring, the hybrid
// weights, the top NumObj objects of a frame, the per-video median filter.
type Chain struct {
	// Stats z-score the components; Fea z-scores S_fea.
	Stats []Stats
	Fea   Stats
	// Hybrid weights the z-scored components.
	Hybrid []float64
	NumObj int
	Median int
}

// Video is a test video: its name and frame labels (true = anomalous).
type Video struct {
	Name   string
	Labels []bool
}

// Objects are per-object scores at lambda: S_total = lambda z(S_fea) +
// (1 - lambda) S_o, S_o the hybrid of the z-scored components.
func (c Chain) Objects(rows []ObjectRow, lambda float64) ([]float64, error) {
	comps := make([][]float64, len(c.Stats))
	for _, r := range rows {
		if len(r.Comps) != len(c.Stats) {
			return nil, fmt.Errorf("object of video %s frame %d has %d score components; the chain has %d", r.Video, r.Frame, len(r.Comps), len(c.Stats))
		}
		for i, x := range r.Comps {
			comps[i] = append(comps[i], x)
		}
	}
	so, err := Hybrid(comps, c.Stats, c.Hybrid)
	if err != nil {
		return nil, err
	}
	if lambda == 0 {
		return so, nil
	}
	for i, r := range rows {
		if math.IsNaN(r.Fea) {
			return nil, fmt.Errorf("object of video %s at frame %d has no S_fea (a teacher scored alone)", r.Video, r.Frame)
		}
		so[i] = lambda*c.Fea.Z(r.Fea) + (1-lambda)*so[i]
	}
	return so, nil
}

// Empty is the score of a frame without objects at lambda: every
// z-scored value -1 (EmptyFrameScore), S_fea's too.
func (c Chain) Empty(lambda float64) float64 {
	return (1-lambda)*EmptyFrameScore(c.Hybrid) + lambda*-1
}

// Frames turns the rows into median-filtered frame scores of every video
// (higher = anomalous).
func (c Chain) Frames(videos []Video, rows []ObjectRow, lambda float64) ([]metrics.VideoScores, error) {
	obj, err := c.Objects(rows, lambda)
	if err != nil {
		return nil, err
	}
	index := map[string]int{}
	for i, v := range videos {
		index[v.Name] = i
	}
	// per video, per frame, the object scores
	byFrame := make([][][]float64, len(videos))
	for i, v := range videos {
		byFrame[i] = make([][]float64, len(v.Labels))
	}
	for i, r := range rows {
		v, ok := index[r.Video]
		if !ok {
			return nil, fmt.Errorf("object of video %q, which is not among the %d test videos", r.Video, len(videos))
		}
		if r.Frame < 0 || r.Frame >= len(byFrame[v]) {
			return nil, fmt.Errorf("object of video %s at frame %d; the video has %d frames", r.Video, r.Frame, len(byFrame[v]))
		}
		byFrame[v][r.Frame] = append(byFrame[v][r.Frame], obj[i])
	}
	out := make([]metrics.VideoScores, len(videos))
	for i, v := range videos {
		var flat []float64
		counts := make([]int, len(v.Labels))
		for f, s := range byFrame[i] {
			counts[f] = len(s)
			flat = append(flat, s...)
		}
		fs, err := FrameScores(flat, counts, c.NumObj, c.Empty(lambda))
		if err != nil {
			return nil, fmt.Errorf("video %s: %w", v.Name, err)
		}
		if fs, err = MedFilt(fs, c.Median); err != nil {
			return nil, err
		}
		out[i] = metrics.VideoScores{Name: v.Name, Labels: v.Labels, Scores: fs}
	}
	return out, nil
}

// AUC is the micro (all frames pooled, as the official eval.py) and
// macro (per-video mean over videos with both classes) frame AUC of the
// chain at lambda.
func (c Chain) AUC(videos []Video, rows []ObjectRow, lambda float64) (metrics.FrameAUCResult, []metrics.VideoScores, error) {
	vs, err := c.Frames(videos, rows, lambda)
	if err != nil {
		return metrics.FrameAUCResult{}, nil, err
	}
	r, err := metrics.FrameAUC(vs, metrics.VideoOptions{SkipNormalize: true})
	return r, vs, err
}

// zstats are the z-scoring statistics of a stage, zstats.json.
type zstats struct {
	// Source says where they come from: "config" (model.pkgnet.stats) or
	// "training cubes".
	Source  string  `json:"source"`
	Teacher []Stats `json:"teacher"`
	Student []Stats `json:"student,omitempty"`
	// Fea is S_fea's, always from the training cubes.
	Fea    *Stats `json:"s_fea,omitempty"`
	Frames int    `json:"objects"`
}

func zstatsPath(st baseline.Stage) string { return filepath.Join(st.Dir, "zstats.json") }

func readZStats(st baseline.Stage) (*zstats, error) {
	b, err := os.ReadFile(zstatsPath(st))
	if err != nil {
		return nil, fmt.Errorf("read z-scoring statistics: %w; run 'fmam eval' first", err)
	}
	var z zstats
	if err := json.Unmarshal(b, &z); err != nil {
		return nil, fmt.Errorf("read %s: %w", zstatsPath(st), err)
	}
	return &z, nil
}

// chainOf is the configured chain with a stage's statistics: the
// teacher's or the student's.
func chainOf(cfg *config.Config, k int, z *zstats, student bool) (Chain, error) {
	p := cfg.Model.PKGNet
	c := Chain{Hybrid: p.Hybrid, NumObj: p.NumObj, Median: p.Median, Stats: z.Teacher}
	if student {
		c.Stats = z.Student
		if z.Fea != nil {
			c.Fea = *z.Fea
		}
	}
	if d, err := OfficialDataset(cfg.Data.Kind); err == nil {
		if len(c.Hybrid) == 0 {
			c.Hybrid = d.Hybrid
		}
		if c.NumObj == 0 {
			c.NumObj = d.NumObj
		}
	}
	if len(c.Hybrid) != k+1 {
		return Chain{}, fmt.Errorf("model.pkgnet.hybrid %v: k %d needs %d weights (prediction MSE, then each block)", c.Hybrid, k, k+1)
	}
	return c, nil
}

// testVideos are the test split's videos with their labels.
func testVideos(ds *data.VideoDataset) ([]Video, error) {
	var out []Video
	for _, v := range ds.Videos {
		if len(v.Labels) != len(v.Frames) {
			return nil, fmt.Errorf("test video %s has %d frames but %d frame labels; set data.labels", v.Name, len(v.Frames), len(v.Labels))
		}
		l := make([]bool, len(v.Labels))
		for i, x := range v.Labels {
			l[i] = x == 1
		}
		out = append(out, Video{Name: v.Name, Labels: l})
	}
	return out, nil
}

// runModel runs the evaluation model over every cube of vs and returns
// the teacher's and (unless teacherOnly) the student's rows.
func (bl *Baseline) runModel(ctx context.Context, u *baseline.Unit, m baseline.EvalModel, model []byte, vs []*objects.STCCubes, label string) (trows, srows []ObjectRow, err error) {
	cfg := u.Cfg
	bs := cfg.Eval.Batch
	spec := baseline.Spec(bl, cfg, nil)
	spec.Batch = bs
	outs := objectOutputs("t_", bl.k)
	if !m.TeacherOnly {
		outs = append(append(outs, objectOutputs("s_", bl.k)...), method.OutFea)
	}
	var ports []ort.Port
	for _, o := range outs {
		ports = append(ports, ort.Port{Name: o, Shape: []int64{int64(bs)}})
	}
	sess, err := u.RT.NewInference(model, []ort.Port{{Name: m.Inputs[0], Shape: bl.InputShape(spec)}}, ports, u.ORT())
	if err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", m.Path, err)
	}
	defer sess.Close()
	total := 0
	for _, v := range vs {
		total += (v.Len() + bs - 1) / bs
	}
	in := sess.Input(0)
	per := len(in) / bs
	nc := bl.k + 1
	bar := u.Bar(total, label)
	var buf []float32
	for _, v := range vs {
		for start := 0; start < v.Len(); start += bs {
			n := min(bs, v.Len()-start)
			for i := range n {
				if buf, err = v.Cube(start+i, buf); err != nil {
					return nil, nil, err
				}
				copy(in[i*per:(i+1)*per], buf)
			}
			// The model's batch is fixed: the rest of the last one is zeros.
			clear(in[n*per:])
			if err := sess.Run(ctx); err != nil {
				return nil, nil, err
			}
			for i := range n {
				b := v.Index.Box(start + i)
				r := ObjectRow{Video: b.Video, Frame: b.Frame, Box: [4]float64{b.X1, b.Y1, b.X2, b.Y2}, Fea: math.NaN()}
				t := r
				for c := range nc {
					t.Comps = append(t.Comps, float64(sess.Output(c)[i]))
				}
				if !m.TeacherOnly {
					s := r
					for c := range nc {
						s.Comps = append(s.Comps, float64(sess.Output(nc + c)[i]))
					}
					s.Fea = float64(sess.Output(2 * nc)[i])
					t.Fea = s.Fea
					srows = append(srows, s)
				}
				trows = append(trows, t)
			}
			bar.Add()
		}
	}
	bar.Finish()
	return trows, srows, nil
}

// statsOf computes each component's statistics over rows.
func statsOf(rows []ObjectRow, n int) ([]Stats, error) {
	out := make([]Stats, n)
	for c := range n {
		xs := make([]float64, len(rows))
		for i, r := range rows {
			xs[i] = r.Comps[c]
		}
		s, err := ComputeStats(xs)
		if err != nil {
			return nil, fmt.Errorf("score component %d: %w", c, err)
		}
		out[c] = s
	}
	return out, nil
}

// stageStats computes a stage's z-scoring statistics with a pass of the
// evaluation model over the training cubes (or takes model.pkgnet.stats)
// and writes zstats.json.
func (bl *Baseline) stageStats(ctx context.Context, u *baseline.Unit, m baseline.EvalModel, model []byte) error {
	p := u.Cfg.Model.PKGNet
	z := &zstats{Source: "training cubes"}
	given := len(p.Stats.Mean) > 0
	var given2 []Stats
	for i := range p.Stats.Mean {
		given2 = append(given2, Stats{Mean: p.Stats.Mean[i], Std: p.Stats.Std[i]})
	}
	if !given || !m.TeacherOnly {
		tr, _, err := u.VideoSets(ctx)
		if err != nil {
			return err
		}
		vs, err := openCubes(ctx, u, tr, data.Train)
		if err != nil {
			return err
		}
		defer objects.CloseAll(vs)
		trows, srows, err := bl.runModel(ctx, u, m, model, vs, "z-stats "+m.Stage.Dir)
		if err != nil {
			return err
		}
		z.Frames = len(trows)
		if z.Teacher, err = statsOf(trows, bl.k+1); err != nil {
			return fmt.Errorf("teacher on the training cubes: %w", err)
		}
		if !m.TeacherOnly {
			if z.Student, err = statsOf(srows, bl.k+1); err != nil {
				return fmt.Errorf("student on the training cubes: %w", err)
			}
			fea := make([]float64, len(srows))
			for i, r := range srows {
				fea[i] = r.Fea
			}
			s, err := ComputeStats(fea)
			if err != nil {
				return fmt.Errorf("S_fea on the training cubes: %w", err)
			}
			z.Fea = &s
		}
	}
	if given {
		z.Source = "config (model.pkgnet.stats)"
		z.Teacher = given2
		if !m.TeacherOnly {
			z.Student = given2
		}
	}
	b, err := json.MarshalIndent(z, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(zstatsPath(m.Stage), append(b, '\n'))
}

// Score computes the stage's z-scoring statistics (zstats.json), runs the
// evaluation model over every test cube and writes the raw per-object
// scores, teacher_objects.csv and objects.csv, and the frame scores of
// the official chain, teacher_scores.csv and scores.csv (s_o: S_o, s_fea:
// z-scored S_fea alone, both through the frame chain).
func (bl *Baseline) Score(ctx context.Context, u *baseline.Unit, m baseline.EvalModel) error {
	model, err := os.ReadFile(m.Path)
	if err != nil {
		return fmt.Errorf("evaluate %s: %w; train the student first", m.Stage.Dir, err)
	}
	_, ds, err := u.VideoSets(ctx)
	if err != nil {
		return err
	}
	videos, err := testVideos(ds)
	if err != nil {
		return err
	}
	if err := bl.stageStats(ctx, u, m, model); err != nil {
		return err
	}
	vs, err := openCubes(ctx, u, ds, data.Test)
	if err != nil {
		return err
	}
	defer objects.CloseAll(vs)
	trows, srows, err := bl.runModel(ctx, u, m, model, vs, "eval "+m.Stage.Dir)
	if err != nil {
		return err
	}
	u.Log.Info("scored objects", "objects", len(trows), "videos", len(vs))
	st := m.Stage
	z, err := readZStats(st)
	if err != nil {
		return err
	}
	if err := WriteObjects(st.TeacherObjectScores(), trows, bl.k); err != nil {
		return err
	}
	tc, err := chainOf(u.Cfg, bl.k, z, false)
	if err != nil {
		return err
	}
	tfs, err := tc.Frames(videos, trows, 0)
	if err != nil {
		return fmt.Errorf("teacher frame scores: %w", err)
	}
	if err := score.WriteVideoCSV(st.TeacherScores(), frameRows(tfs, nil)); err != nil {
		return err
	}
	if m.TeacherOnly {
		return nil
	}
	if err := WriteObjects(st.ObjectScores(), srows, bl.k); err != nil {
		return err
	}
	sc, err := chainOf(u.Cfg, bl.k, z, true)
	if err != nil {
		return err
	}
	sfs, err := sc.Frames(videos, srows, 0)
	if err != nil {
		return fmt.Errorf("student frame scores: %w", err)
	}
	ffs, err := sc.Frames(videos, srows, 1)
	if err != nil {
		return fmt.Errorf("student S_fea frame scores: %w", err)
	}
	return score.WriteVideoCSV(st.Scores(), frameRows(sfs, ffs))
}

// frameRows are frame scores as score rows (both high = anomalous).
func frameRows(so, fea []metrics.VideoScores) []score.VideoRow {
	var rows []score.VideoRow
	for i, v := range so {
		for f, s := range v.Scores {
			r := score.VideoRow{ID: v.Name + "/" + strconv.Itoa(f), Video: v.Name, Frame: f, Label: v.Labels[f], SO: s}
			if fea != nil {
				r.SFea = fea[i].Scores[f]
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// RawScoring says that scores.csv holds the official chain's final frame
// scores (higher is anomalous).
func (*Baseline) RawScoring() baseline.FrameScoring {
	return baseline.FrameScoring{SO: score.HigherIsAnomalous, SFea: score.HigherIsAnomalous, Final: true}
}

// Results scores the per-object rows with the official chain and writes
// the frame-level AUC table, ROC curves and score curves: the teacher,
// the student's S_o, S_fea alone and S_total at eval.lambda. The headline
// is S_total's micro AUC at eval.lambda.
func (bl *Baseline) Results(ctx context.Context, u *baseline.Unit, st baseline.Stage, r baseline.ResultsSpec) (*baseline.Eval, error) {
	_, ds, err := u.VideoSets(ctx)
	if err != nil {
		return nil, err
	}
	videos, err := testVideos(ds)
	if err != nil {
		return nil, err
	}
	z, err := readZStats(st)
	if err != nil {
		return nil, err
	}
	trows, err := ReadObjects(st.TeacherObjectScores(), bl.k)
	if err != nil {
		return nil, err
	}
	tc, err := chainOf(u.Cfg, bl.k, z, false)
	if err != nil {
		return nil, err
	}
	name, title := u.DatasetName(), bl.Title(u.Cfg)
	tauc, tvs, err := tc.AUC(videos, trows, 0)
	if err != nil {
		return nil, fmt.Errorf("teacher scores: %w", err)
	}
	// Per anomaly kind where the data set names them (frame_kinds.csv).
	kinds, err := u.FrameKinds()
	if err != nil {
		return nil, err
	}
	tkinds, err := baseline.KindAUCs(tvs, kinds)
	if err != nil {
		return nil, fmt.Errorf("teacher scores: %w", err)
	}
	frames := ds.NumFrames()
	res := []results.VideoResult{{Dataset: name, Method: title + " (teacher)", MicroAUC: tauc.Micro, MacroAUC: tauc.Macro, Kinds: tkinds}}
	curves := [][]metrics.VideoScores{tvs}
	ev := &baseline.Eval{Unit: u.Name, Headline: tauc.Micro, Teacher: tauc.Micro, HeadlineName: "frame micro AUC", Frames: frames, Table: st.Table("results"+r.Suffix) + ".md"}
	var student []metrics.VideoScores
	if !r.TeacherOnly {
		srows, err := ReadObjects(st.ObjectScores(), bl.k)
		if err != nil {
			return nil, err
		}
		sc, err := chainOf(u.Cfg, bl.k, z, true)
		if err != nil {
			return nil, err
		}
		label := baseline.StudentLabel(title, u.Cfg)
		rows := baseline.StudentRows(label, u.Cfg, r.Lambda, " S_o (λ=0)", "%s S_total (λ=%g)")
		for _, rw := range rows {
			auc, vs, err := sc.AUC(videos, srows, rw.Lambda)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rw.Name, err)
			}
			ks, err := baseline.KindAUCs(vs, kinds)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", rw.Name, err)
			}
			res = append(res, results.VideoResult{Dataset: name, Method: rw.Name, MicroAUC: auc.Micro, MacroAUC: auc.Macro, Kinds: ks})
			curves = append(curves, vs)
			if rw.Lambda == r.Lambda {
				ev.Headline, student = auc.Micro, vs
			}
		}
		ev.HeadlineName = fmt.Sprintf("frame micro AUC of S_total (λ=%g)", r.Lambda)
	}
	what := "taps " + baseline.TapSetName(r.Taps)
	if r.TeacherOnly {
		what = "teacher alone"
	}
	ev.Video = res
	r.AddControl(ev)
	tab, err := report.VideoTable(fmt.Sprintf("Frame-level AUC (%%), %s, %s, %d frames, %d objects", name, what, frames, len(trows)), ev.Video)
	if err != nil {
		return nil, err
	}
	tab.Notes = append(tab.Notes, bl.notes(u.Cfg, z, tc)...)
	if err := report.WriteAll(st.Dir, "results"+r.Suffix, tab); err != nil {
		return nil, err
	}
	if err := baseline.WriteKindTable(st, r, ev, name, what); err != nil {
		return nil, err
	}
	var names []string
	for _, vr := range res {
		names = append(names, vr.Method)
	}
	if err := baseline.WriteROC(st.Picture("roc"+r.Suffix), "Frame-level ROC, "+name, names, curves, u.Cfg.Report.Formats); err != nil {
		return nil, err
	}
	if err := baseline.WriteScoreCurves(st.Curves()+r.Suffix, u.Cfg.Eval.Pictures, student, curves[0], 0, u.Cfg.Report.Formats); err != nil {
		return nil, err
	}
	return ev, nil
}

// notes are the results table's notes: the scoring, the backbone and its
// adapters, and frames without objects.
func (bl *Baseline) notes(cfg *config.Config, z *zstats, c Chain) []string {
	p := cfg.Model.PKGNet
	bb := fmt.Sprintf("Teacher prior: the frozen backbone %s, layers %v, fed the target patch resized to %dx%d (BGR %v)", filepath.Base(p.Backbone), p.Layers, p.BackboneSize, p.BackboneSize, p.BGR)
	if d, err := OfficialDataset(cfg.Data.Kind); err == nil {
		bb += fmt.Sprintf(", standing in for the official %s", d.Teacher)
	}
	bb += "; a trainable 1x1 adapter maps a student feature to the backbone layer's channels where they differ, and the backbone feature is resized bilinearly to the student feature's size where sizes differ."
	return []string{
		fmt.Sprintf("PKG-Net's official scoring (eval.py): per object the prediction MSE and per block the mean (1 - cos), z-scored with statistics from %s, weighted %v; frame score = mean of the top %d objects; per-video median filter of %d (scipy's medfilt); micro AUC pools all frames (the official number), macro averages the videos with both classes.", z.Source, c.Hybrid, c.NumObj, c.Median),
		fmt.Sprintf("Frames without objects score %g (every z-scored value -1, as the official code does for ShanghaiTech; fmam does so for every data set).", EmptyFrameScore(c.Hybrid)),
		"S_total = λ z(S_fea) + (1 - λ) S_o per object, before the frame chain; S_fea is z-scored with the training cubes' statistics.",
		bb,
	}
}

// Sweep scores the student's objects at each lambda with the chain.
func (bl *Baseline) Sweep(ctx context.Context, u *baseline.Unit, st baseline.Stage, lambdas []float64) ([]results.LambdaPoint, error) {
	rows, err := ReadObjects(st.ObjectScores(), bl.k)
	if err != nil {
		return nil, fmt.Errorf("sweep-lambda: %w", err)
	}
	z, err := readZStats(st)
	if err != nil {
		return nil, err
	}
	c, err := chainOf(u.Cfg, bl.k, z, true)
	if err != nil {
		return nil, err
	}
	_, ds, err := u.VideoSets(ctx)
	if err != nil {
		return nil, err
	}
	videos, err := testVideos(ds)
	if err != nil {
		return nil, err
	}
	var pts []results.LambdaPoint
	for _, l := range lambdas {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		auc, _, err := c.AUC(videos, rows, l)
		if err != nil {
			return nil, fmt.Errorf("lambda %g: %w", l, err)
		}
		pts = append(pts, results.LambdaPoint{Lambda: l, MicroAUC: auc.Micro, MacroAUC: auc.Macro})
	}
	return pts, nil
}

// objectHeader is the header of objects.csv for k blocks.
func objectHeader(k int) []string {
	h := []string{"video", "frame", "x1", "y1", "x2", "y2", "mse"}
	for i := range k {
		h = append(h, "cos"+strconv.Itoa(i+1))
	}
	return append(h, "s_fea")
}

// WriteObjects writes rows as CSV (objectHeader; s_fea empty when NaN)
// atomically.
func WriteObjects(path string, rows []ObjectRow, k int) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(objectHeader(k))
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range rows {
		rec := []string{r.Video, strconv.Itoa(r.Frame), f(r.Box[0]), f(r.Box[1]), f(r.Box[2]), f(r.Box[3])}
		for _, c := range r.Comps {
			rec = append(rec, f(c))
		}
		fea := ""
		if !math.IsNaN(r.Fea) {
			fea = f(r.Fea)
		}
		_ = w.Write(append(rec, fea))
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write object scores %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// ReadObjects reads a file written by WriteObjects for k blocks.
func ReadObjects(path string, k int) ([]ObjectRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read object scores: %w; run 'fmam eval' first", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read object scores %s: %w", path, err)
	}
	h := objectHeader(k)
	if len(recs) == 0 || !slices.Equal(recs[0], h) {
		return nil, fmt.Errorf("read object scores %s: the header is not %v; run 'fmam eval' again", path, h)
	}
	rows := make([]ObjectRow, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		r := ObjectRow{Video: rec[0], Fea: math.NaN()}
		bad := func(what string) error {
			return fmt.Errorf("read object scores %s line %d: %s %q", path, i+2, what, rec)
		}
		if r.Frame, err = strconv.Atoi(rec[1]); err != nil || r.Frame < 0 {
			return nil, bad("frame is not an index in")
		}
		vals := make([]float64, 4+k+1)
		for j := range vals {
			if vals[j], err = strconv.ParseFloat(rec[2+j], 64); err != nil {
				return nil, bad("not a number in")
			}
		}
		copy(r.Box[:], vals[:4])
		r.Comps = vals[4:]
		if last := rec[len(rec)-1]; last != "" {
			if r.Fea, err = strconv.ParseFloat(last, 64); err != nil {
				return nil, bad("s_fea is not a number in")
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}
