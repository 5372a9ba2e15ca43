package jigsaw

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/objects"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/score"
)

// testSet is the test split as the frame chain needs it: the videos
// (frames, frame size) and their frame labels.
type testSet struct {
	ds     *data.VideoDataset
	videos []Video
	labels [][]bool
}

func loadTest(ctx context.Context, u *baseline.Unit) (*testSet, error) {
	_, ds, err := u.VideoSets(ctx)
	if err != nil {
		return nil, err
	}
	d, err := objects.DatasetOf(ds)
	if err != nil {
		return nil, err
	}
	t := &testSet{ds: ds}
	for _, v := range ds.Videos {
		if len(v.Labels) != len(v.Frames) {
			return nil, fmt.Errorf("test video %s has %d frames but %d frame labels; set data.labels", v.Name, len(v.Frames), len(v.Labels))
		}
		t.videos = append(t.videos, Video{Name: v.Name, Frames: len(v.Frames), Width: d.Width, Height: d.Height})
		l := make([]bool, len(v.Labels))
		for i, x := range v.Labels {
			l[i] = x == 1
		}
		t.labels = append(t.labels, l)
	}
	return t, nil
}

// chain turns object rows, fused at lambda, into per-video frame scores
// with the official protocol, and evaluates them.
func (t *testSet) chain(rows []objectRow, lambda float64, p Protocol) ([]FrameScores, AUC, error) {
	fused, err := fuse(rows, lambda)
	if err != nil {
		return nil, AUC{}, err
	}
	objs := make([]Object, len(fused))
	for i, r := range fused {
		objs[i] = r.Object
	}
	fs, err := Score(t.videos, objs, p)
	if err != nil {
		return nil, AUC{}, err
	}
	auc, err := Evaluate(fs, t.labels)
	return fs, auc, err
}

// curves are frame scores as the ROC and score pictures take them.
func (t *testSet) curves(fs []FrameScores) []metrics.VideoScores {
	out := make([]metrics.VideoScores, len(fs))
	for i, f := range fs {
		out[i] = metrics.VideoScores{Name: f.Video, Labels: t.labels[i], Scores: f.Anomaly}
	}
	return out
}

// frameRows are the frame scores of the S_o chain (s_o) and of the S_fea
// chain (s_fea, when given) as score rows: both anomaly scores, high =
// anomalous.
func (t *testSet) frameRows(so, fea []FrameScores) []score.VideoRow {
	var rows []score.VideoRow
	for i, f := range so {
		for fr, a := range f.Anomaly {
			r := score.VideoRow{ID: f.Video + "/" + strconv.Itoa(fr), Video: f.Video, Frame: fr, Label: t.labels[i][fr], SO: a}
			if fea != nil {
				r.SFea = fea[i].Anomaly[fr]
			}
			rows = append(rows, r)
		}
	}
	return rows
}

// Score runs the evaluation model over every object cube of the test
// split (extracted once into the cube cache) and writes the raw
// per-object scores, teacher_objects.csv and objects.csv (each branch's
// official score and S_fea), and the frame scores of the official chain,
// teacher_scores.csv and scores.csv (s_o: S_o's anomaly score, s_fea:
// S_fea's alone).
func (bl *Baseline) Score(ctx context.Context, u *baseline.Unit, m baseline.EvalModel) error {
	mb, err := os.ReadFile(m.Path)
	if err != nil {
		return fmt.Errorf("evaluate %s: %w; train the student first", m.Stage.Dir, err)
	}
	test, err := loadTest(ctx, u)
	if err != nil {
		return err
	}
	dir, err := cubes(ctx, u, test.ds, data.Test)
	if err != nil {
		return err
	}
	vs, err := objects.OpenAllVideoCubes(dir, test.ds)
	if err != nil {
		return err
	}
	defer objects.CloseAll(vs)
	cfg := u.Cfg
	bs := cfg.Eval.Batch
	spec := baseline.Spec(New(), cfg, nil)
	spec.Batch = bs
	nc := netConfig(spec)
	outs := []string{OutTeacherTemporal, OutTeacherSpatial}
	if !m.TeacherOnly {
		outs = append(outs, OutStudentTemporal, OutStudentSpatial, method.OutFea)
	}
	var ports []ort.Port
	for _, o := range outs {
		ports = append(ports, ort.Port{Name: o, Shape: []int64{int64(bs)}})
	}
	sess, err := u.RT.NewInference(mb, []ort.Port{{Name: m.Inputs[0], Shape: cubeShape(spec)}}, ports, u.ORT())
	if err != nil {
		return fmt.Errorf("load %s: %w", m.Path, err)
	}
	defer sess.Close()
	total := 0
	for _, v := range vs {
		total += (v.Len() + bs - 1) / bs
	}
	var trows, srows []objectRow
	per := 3 * nc.Frames * nc.Size * nc.Size
	layout := layoutFor(nc.Size)
	in := sess.Input(0)
	var buf []float32
	bar := u.Bar(total, "eval "+m.Stage.Dir)
	for _, v := range vs {
		for start := 0; start < v.Len(); start += bs {
			n := min(bs, v.Len()-start)
			for i := range n {
				if buf, err = v.Cube(start+i, buf); err != nil {
					return err
				}
				if err := TestCubeInto(in[i*per:(i+1)*per], buf, nc.Frames, nc.Size, layout); err != nil {
					return err
				}
			}
			// The model's batch is fixed: the rest of the last one is zeros.
			clear(in[n*per:])
			if err := sess.Run(ctx); err != nil {
				return err
			}
			for i := range n {
				b := v.Index.Box(start + i)
				obj := Object{Video: b.Video, Frame: b.Frame, Box: [4]float64{b.X1, b.Y1, b.X2, b.Y2}}
				t := objectRow{Object: obj, Fea: math.NaN()}
				t.Temporal, t.Spatial = float64(sess.Output(0)[i]), float64(sess.Output(1)[i])
				if !m.TeacherOnly {
					s := objectRow{Object: obj, Fea: float64(sess.Output(4)[i])}
					s.Temporal, s.Spatial = float64(sess.Output(2)[i]), float64(sess.Output(3)[i])
					t.Fea = s.Fea
					srows = append(srows, s)
				}
				trows = append(trows, t)
			}
			bar.Add()
		}
	}
	bar.Finish()
	u.Log.Info("scored objects", "objects", len(trows), "videos", len(vs))
	st := m.Stage
	p := protocolFor(cfg.Data.Kind)
	if err := writeObjects(st.TeacherObjectScores(), trows); err != nil {
		return err
	}
	tfs, _, err := bl.chains.chain(test, st.TeacherObjectScores(), trows, 0, p)
	if err != nil {
		return fmt.Errorf("teacher frame scores: %w", err)
	}
	if err := score.WriteVideoCSV(st.TeacherScores(), test.frameRows(tfs, nil)); err != nil {
		return err
	}
	if m.TeacherOnly {
		return nil
	}
	if err := writeObjects(st.ObjectScores(), srows); err != nil {
		return err
	}
	sfs, _, err := bl.chains.chain(test, st.ObjectScores(), srows, 0, p)
	if err != nil {
		return fmt.Errorf("student frame scores: %w", err)
	}
	ffs, _, err := bl.chains.chain(test, st.ObjectScores(), srows, 1, p)
	if err != nil {
		return fmt.Errorf("student S_fea frame scores: %w", err)
	}
	return score.WriteVideoCSV(st.Scores(), test.frameRows(sfs, ffs))
}

// Results evaluates the per-object scores with the official chain and
// writes the frame-level AUC table, ROC curves and score curves: the
// teacher, the student's S_o (its S_total, as the paper scores
// Jigsaw-VAD), and for analysis S_fea alone and S_o and S_fea fused at
// eval.lambda per object. The headline is the student's S_o micro AUC.
func (bl *Baseline) Results(ctx context.Context, u *baseline.Unit, st baseline.Stage, r baseline.ResultsSpec) (*baseline.Eval, error) {
	test, err := loadTest(ctx, u)
	if err != nil {
		return nil, err
	}
	p := protocolFor(u.Cfg.Data.Kind)
	trows, err := readObjects(st.TeacherObjectScores())
	if err != nil {
		return nil, err
	}
	ds, title := u.DatasetName(), bl.Title(u.Cfg)
	tfs, tauc, err := bl.chains.chain(test, st.TeacherObjectScores(), trows, 0, p)
	if err != nil {
		return nil, fmt.Errorf("teacher scores: %w", err)
	}
	// Per anomaly kind where the data set names them (frame_kinds.csv).
	kinds, err := u.FrameKinds()
	if err != nil {
		return nil, err
	}
	tkinds, err := baseline.KindAUCs(test.curves(tfs), kinds)
	if err != nil {
		return nil, fmt.Errorf("teacher scores: %w", err)
	}
	frames := test.ds.NumFrames()
	res := []results.VideoResult{{Dataset: ds, Method: title + " (teacher)", MicroAUC: tauc.Micro, MacroAUC: tauc.Macro, Kinds: tkinds}}
	curves := [][]metrics.VideoScores{test.curves(tfs)}
	ev := &baseline.Eval{Unit: u.Name, Headline: tauc.Micro, Teacher: tauc.Micro, HeadlineName: "frame micro AUC", Frames: frames, Table: st.Table("results"+r.Suffix) + ".md"}
	var student []metrics.VideoScores
	if !r.TeacherOnly {
		srows, err := readObjects(st.ObjectScores())
		if err != nil {
			return nil, err
		}
		label := baseline.StudentLabel(title, u.Cfg)
		rows := baseline.StudentRows(label, u.Cfg, r.Lambda, " S_o = S_total (λ=0)", "%s S_o+S_fea (λ=%g)")
		for i, row := range rows {
			fs, auc, err := bl.chains.chain(test, st.ObjectScores(), srows, row.Lambda, p)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", row.Name, err)
			}
			ks, err := baseline.KindAUCs(test.curves(fs), kinds)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", row.Name, err)
			}
			res = append(res, results.VideoResult{Dataset: ds, Method: row.Name, MicroAUC: auc.Micro, MacroAUC: auc.Macro, Kinds: ks})
			curves = append(curves, test.curves(fs))
			if i == 0 {
				ev.Headline, student = auc.Micro, curves[len(curves)-1]
			}
		}
		ev.HeadlineName = "frame micro AUC of S_o (S_total)"
	}
	what := "taps " + baseline.TapSetName(r.Taps)
	if r.TeacherOnly {
		what = "teacher alone"
	}
	ev.Video = res
	r.AddControl(ev)
	tab, err := report.VideoTable(fmt.Sprintf("Frame-level AUC (%%), %s, %s, %d frames, %d objects", ds, what, frames, len(trows)), ev.Video)
	if err != nil {
		return nil, err
	}
	tab.Notes = append(tab.Notes, "Jigsaw-VAD's official scoring: per-object branch scores, "+protocolName(p)+", Gaussian smoothing; micro AUC pools all frames, macro averages the videos.",
		"S_total = S_o, as the paper scores Jigsaw-VAD; the S_fea and fused rows fuse per-object scores (S_fea min-max normalised per video) before the frame chain, for analysis.")
	if err := report.WriteAll(st.Dir, "results"+r.Suffix, tab); err != nil {
		return nil, err
	}
	if err := baseline.WriteKindTable(st, r, ev, ds, what); err != nil {
		return nil, err
	}
	var names []string
	for _, vr := range res {
		names = append(names, vr.Method)
	}
	if err := baseline.WriteROC(st.Picture("roc"+r.Suffix), "Frame-level ROC, "+ds, names, curves, u.Cfg.Report.Formats); err != nil {
		return nil, err
	}
	if err := baseline.WriteScoreCurves(st.Curves()+r.Suffix, u.Cfg.Eval.Pictures, student, curves[0], 0, u.Cfg.Report.Formats); err != nil {
		return nil, err
	}
	return ev, nil
}

func protocolName(p Protocol) string {
	if p.Maps {
		return fmt.Sprintf("score maps over %d-pixel blocks filtered %d^3", p.BlockScale, p.MapFilter)
	}
	return fmt.Sprintf("per-frame minima filtered over %d frames", p.FrameWindow)
}

// RawScoring says that scores.csv holds the official chain's final frame
// scores (higher is anomalous): 'fmam metrics --scores' scores them as
// written, as Results does.
func (*Baseline) RawScoring() baseline.FrameScoring {
	return baseline.FrameScoring{SO: score.HigherIsAnomalous, SFea: score.HigherIsAnomalous, Final: true}
}

// Sweep fuses the student's per-object S_o and S_fea at each lambda (see
// fuse) and scores the frames with the official chain.
func (bl *Baseline) Sweep(ctx context.Context, u *baseline.Unit, st baseline.Stage, lambdas []float64) ([]results.LambdaPoint, error) {
	rows, err := readObjects(st.ObjectScores())
	if err != nil {
		return nil, fmt.Errorf("sweep-lambda: %w", err)
	}
	test, err := loadTest(ctx, u)
	if err != nil {
		return nil, err
	}
	p := protocolFor(u.Cfg.Data.Kind)
	var pts []results.LambdaPoint
	for _, l := range lambdas {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, auc, err := bl.chains.chain(test, st.ObjectScores(), rows, l, p)
		if err != nil {
			return nil, fmt.Errorf("lambda %g: %w", l, err)
		}
		pts = append(pts, results.LambdaPoint{Lambda: l, MicroAUC: auc.Micro, MacroAUC: auc.Macro})
	}
	return pts, nil
}
