// Package mnad is the MNAD baseline (Park et al., CVPR 2020): a frame
// predictor that sees T frames and predicts the next, optionally with its
// memory module. S_o is the PSNR of the predicted frame (with memory, MNAD's
// fusion of PSNR and memory distance), scored per video.
package mnad

import (
	"context"
	"fmt"
	"os"
	"strconv"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/loss"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/score"
	"github.com/fmam/fmam/internal/train"
)

// Baseline is MNAD. Its zero value is ready to use.
type Baseline struct {
	// MapOnClip says that the error map compares a clip with itself (a
	// clip autoencoder, model.arch reconstruction), not the next frame:
	// predict shows it over the clip's last frame.
	MapOnClip bool
}

// Baseline is a baseline.Baseline.
var _ baseline.Baseline = (*Baseline)(nil)

// New returns the MNAD baseline.
func New() *Baseline { return &Baseline{} }

// Tensor names of MNAD's graphs.
const (
	// InFrames is the clip input: T frames stacked on channels, in [-1, 1].
	InFrames = "frames"
	// InTarget is the next frame, the prediction's target.
	InTarget = "target"
	// Per-sample outputs of the evaluation graph: MSE of the teacher's and
	// the student's prediction, and with memory their distances to the
	// nearest memory items (MNAD's feature distance).
	OutTeacherErr = "t_err"
	OutStudentErr = "s_err"
	OutTeacherMem = "t_mem"
	OutStudentMem = "s_mem"
)

// metaMemory records in an exported teacher how many memory items it has.
const metaMemory = "fmam.memory"

// scoring: a low PSNR and a high feature inconsistency are anomalous.
var scoring = baseline.FrameScoring{SO: score.LowerIsAnomalous, SFea: score.HigherIsAnomalous} // read only

func (*Baseline) Arch() string      { return "mnad" }
func (*Baseline) Taps() []string    { return Taps }
func (*Baseline) Input() string     { return InFrames }
func (*Baseline) Outputs() []string { return []string{"prediction"} }
func (*Baseline) Task() baseline.Task {
	return baseline.VideoTask()
}

func (*Baseline) Title(cfg *config.Config) string {
	if cfg.Model.Memory {
		return "MNAD with memory"
	}
	return "MNAD"
}

func (*Baseline) Check(method.Spec) error { return nil }

// CheckConfig refuses teacher pre-training (model.mimic) on inputs other
// than [-1, 1] frames: MimicImage maps that range to the backbone's.
func (*Baseline) CheckConfig(cfg *config.Config) error {
	if cfg.Model.Mimic.Backbone == "" {
		return nil
	}
	if o := baseline.Decode(cfg); o.Range != imageio.RangeSigned || o.Mean != nil {
		return fmt.Errorf("model.mimic needs MNAD's own input format: leave data.range, data.mean and data.std unset")
	}
	return nil
}

func (*Baseline) InputShape(s method.Spec) graph.Shape {
	return graph.Shape{int64(s.Batch), int64(s.Frames * s.Channels), int64(s.Size), int64(s.Size)}
}

func frameShape(s method.Spec) graph.Shape {
	return graph.Shape{int64(s.Batch), int64(s.Channels), int64(s.Size), int64(s.Size)}
}

func (*Baseline) Build(b *nn.Builder, s method.Spec, input string, hook arch.Tap) method.Forward {
	items := 0
	if s.Memory {
		items = MemoryItems
	}
	o := Build(b, input, Config{Width: s.Width, Frames: s.Frames, Channels: s.Channels, MemoryItems: items}, hook)
	f := method.Forward{Outputs: []string{o.Prediction}}
	if o.Memory != nil {
		f.Extra = o.Memory
	}
	return f
}

func memoryOf(f *method.Forward) *nn.Memory {
	m, _ := f.Extra.(*nn.Memory)
	return m
}

func (*Baseline) Targets(g *graph.Graph, s method.Spec) []string {
	return []string{g.Input(InTarget, graph.Float, frameShape(s))}
}

// Loss is the next-frame MSE, plus MNAD's compactness and separateness
// losses (weights 0.1, its Train.py's) when it has a memory.
func (*Baseline) Loss(g *graph.Graph, s method.Spec, f method.Forward, targets []string) method.Loss {
	l := loss.MSE(g, f.Outputs[0], targets[0])
	mem := memoryOf(&f)
	if mem == nil {
		return method.Loss{Total: l, Terms: []string{l}, Names: []string{"l_o"}}
	}
	wc := g.Op(graph.OpMul, []string{mem.Compactness, g.Scalar(nn.MemoryCompactWeight)}, nil)
	ws := g.Op(graph.OpMul, []string{mem.Separateness, g.Scalar(nn.MemorySeparateWeight)}, nil)
	total := g.Op(graph.OpSum, []string{l, wc, ws}, nil)
	return method.Loss{Total: total, Terms: []string{l, mem.Compactness, mem.Separateness}, Names: []string{"l_o", "l_compact", "l_separate"}}
}

// Scores are the per-sample prediction errors of teacher and student,
// with memory their memory distances, and last their per-pixel error maps
// (method.OutTeacherMap, method.OutStudentMap: [N, H, W], the squared
// error averaged over channels, whose mean is the error), which predict
// writes as anomaly maps; Score reads its outputs by name.
func (*Baseline) Scores(g *graph.Graph, s method.Spec, teacher, student *method.Forward) ([]string, []string, error) {
	target := g.Input(InTarget, graph.Float, frameShape(s))
	outs := []string{method.Rename(g, method.PerSampleMSE(g, teacher.Outputs[0], target), OutTeacherErr)}
	maps := []string{method.Rename(g, method.ErrorMap(g, teacher.Outputs[0], target), method.OutTeacherMap)}
	if student != nil {
		outs = append(outs, method.Rename(g, method.PerSampleMSE(g, student.Outputs[0], target), OutStudentErr))
		maps = append(maps, method.Rename(g, method.ErrorMap(g, student.Outputs[0], target), method.OutStudentMap))
	}
	if s.Memory {
		tq, ti := method.TeacherPrefix+MemoryQuery, method.TeacherPrefix+MemoryTensor
		if !g.Has(tq) || !g.Has(ti) {
			return nil, nil, fmt.Errorf("model.memory is set but the teacher has no memory tensors %s, %s", MemoryQuery, MemoryTensor)
		}
		outs = append(outs, method.Rename(g, nn.MemoryDistance(g, tq, ti), OutTeacherMem))
		if student != nil {
			mem := memoryOf(student)
			if mem == nil {
				return nil, nil, fmt.Errorf("model.memory is set but the student has no memory module")
			}
			outs = append(outs, method.Rename(g, nn.MemoryDistance(g, mem.Query, mem.Items), OutStudentMem))
		}
	}
	return []string{target}, append(outs, maps...), g.Err()
}

// MimicImage is the last frame of the clip, from [-1, 1] to [0, 1].
func (*Baseline) MimicImage(g *graph.Graph, s method.Spec, input string) string {
	c := int64(s.Channels)
	k := int64(s.Frames)
	x := g.Op(graph.OpSlice, []string{input, g.Const1D((k - 1) * c), g.Const1D(k * c), g.Const1D(1)}, nil)
	return g.Op(graph.OpMul, []string{g.Op(graph.OpAdd, []string{x, g.Scalar(1)}, nil), g.Scalar(0.5)}, nil)
}

func (*Baseline) TeacherMeta(s method.Spec) map[string]string {
	if s.Memory {
		return map[string]string{metaMemory: strconv.Itoa(MemoryItems)}
	}
	return nil
}

// CheckTeacher matches the teacher's memory module with the config's: a
// student with memory needs a built-in teacher that has one (its scores
// use the teacher's feature distance), and the other way round.
func (*Baseline) CheckTeacher(t *method.Teacher, s method.Spec) error {
	has := t.Orig.Meta(metaMemory) != ""
	switch {
	case s.Memory && !t.BuiltIn:
		return fmt.Errorf("model.memory: the teacher is an imported ONNX model, which carries no memory module; leave model.teacher empty so fmam trains an MNAD teacher with memory, or set model.memory: false")
	case s.Memory && !has:
		return fmt.Errorf("model.memory: the teacher was trained without memory; train a new teacher (a new run folder) or set model.memory: false")
	case !s.Memory && has:
		return fmt.Errorf("the teacher has a memory module but model.memory is false; set model.memory: true")
	}
	if has {
		for _, n := range []string{MemoryQuery, MemoryTensor} {
			if !t.Orig.Has(n) {
				return fmt.Errorf("the teacher says it has a memory but has no tensor %s; export it again", n)
			}
		}
	}
	return nil
}

// BenchShape is the clip of `fmam bench`: the frames and channels of its
// input (scripts/bench_torch.py builds the same).
func (*Baseline) BenchShape() (frames, channels int) { return 4, 3 }

// BenchLoss is the next-frame MSE.
func (*Baseline) BenchLoss(g *graph.Graph, s method.Spec, f method.Forward, input string) (string, []string) {
	t := g.Input(InTarget, graph.Float, frameShape(s))
	return loss.MSE(g, f.Outputs[0], t), []string{input, t}
}

// decode is MNAD's input: frames in [-1, 1] unless data.range and
// data.mean/std say otherwise (an imported predictor's own format). PSNR
// is min-max normalised per video, so the range's scale does not change
// the scores' ranking.
func decode(cfg *config.Config) imageio.DecodeOptions { return baseline.Decode(cfg) }

func clips(cfg *config.Config) data.ClipSpec {
	return data.ClipSpec{T: cfg.Data.Frames, Step: cfg.Data.FrameStep}
}

// Source yields shuffled clips and their next frames.
func (*Baseline) Source(ctx context.Context, u *baseline.Unit, seed uint64) (train.Source, error) {
	tr, _, err := u.VideoSets(ctx)
	if err != nil {
		return nil, err
	}
	b, err := data.NewVideoBatcher(tr, data.VideoBatchConfig{
		Clip: clips(u.Cfg), Decode: decode(u.Cfg),
		BatchSize: u.Cfg.Train.Batch, Shuffle: true, Seed: seed, DropLast: true, Workers: u.Cfg.Data.Workers,
	})
	if err != nil {
		return nil, err
	}
	return baseline.ClipSource(b), nil
}

// Score runs the evaluation model over the test split and writes raw
// scores: S_o as PSNR (teacher and student) and S_fea. With memory, s_o
// holds MNAD's combined normality score instead (score.CombineMemory),
// and the PSNR and memory distance go to the memory scores files.
func (*Baseline) Score(ctx context.Context, u *baseline.Unit, m baseline.EvalModel) error {
	b, err := os.ReadFile(m.Path)
	if err != nil {
		return fmt.Errorf("evaluate %s: %w; train the student first", m.Stage.Dir, err)
	}
	_, test, err := u.VideoSets(ctx)
	if err != nil {
		return err
	}
	cfg := u.Cfg
	bs := cfg.Eval.Batch
	batcher, err := data.NewVideoBatcher(test, data.VideoBatchConfig{Clip: clips(cfg), Decode: decode(cfg), BatchSize: bs, Workers: cfg.Data.Workers})
	if err != nil {
		return err
	}
	for _, v := range data.ShortVideos(test, clips(cfg)) {
		u.Log.Warn("test video left out of the evaluation: it is shorter than data.frames + 1 and has no clip to score; lower data.frames to keep it",
			"video", v.Name, "frames", len(v.Frames), "need", clips(cfg).Span()+1)
	}
	spec := method.Spec{Batch: bs, Size: cfg.Data.Size, Frames: cfg.Data.Frames, Channels: cfg.Data.Channels}
	outs := []string{OutTeacherErr}
	if !m.TeacherOnly {
		outs = append(outs, OutStudentErr, method.OutFea)
	}
	memory := cfg.Model.Memory
	if memory {
		outs = append(outs, OutTeacherMem)
		if !m.TeacherOnly {
			outs = append(outs, OutStudentMem)
		}
	}
	ins := []ort.Port{{Name: m.Inputs[0], Shape: New().InputShape(spec)}, {Name: InTarget, Shape: frameShape(spec)}}
	var outPorts []ort.Port
	for _, o := range outs {
		outPorts = append(outPorts, ort.Port{Name: o, Shape: []int64{int64(bs)}})
	}
	sess, err := u.RT.NewInference(b, ins, outPorts, u.ORT())
	if err != nil {
		return fmt.Errorf("load %s: %w", m.Path, err)
	}
	defer sess.Close()
	out := func(name string) []float32 {
		for i, o := range outs {
			if o == name {
				return sess.Output(i)
			}
		}
		return nil
	}
	var srows, trows []score.VideoRow
	var sdist, tdist []float64
	stride := cfg.Data.TestStride
	bar := u.Bar(batcher.BatchesPerEpoch(), "eval "+m.Stage.Dir)
	for batch, err := range batcher.Epoch(ctx, data.Position{}) {
		if err != nil {
			return err
		}
		copy(sess.Input(0), batch.Input)
		copy(sess.Input(1), batch.Target)
		if err := sess.Run(ctx); err != nil {
			return err
		}
		te, se, fe := out(OutTeacherErr), out(OutStudentErr), out(method.OutFea)
		for i := 0; i < batch.N; i++ {
			if batch.Frame[i]%stride != 0 {
				continue
			}
			v := test.Videos[batch.Video[i]].Name
			row := score.VideoRow{ID: baseline.FrameID(v, batch.Frame[i]), Video: v, Frame: batch.Frame[i], Label: batch.Label[i] == 1}
			t := row
			t.SO = score.FramePSNR(float64(te[i]))
			if !m.TeacherOnly {
				row.SO, row.SFea = score.FramePSNR(float64(se[i])), float64(fe[i])
				t.SFea = row.SFea
				srows = append(srows, row)
			}
			trows = append(trows, t)
			if memory {
				tdist = append(tdist, float64(out(OutTeacherMem)[i]))
				if !m.TeacherOnly {
					sdist = append(sdist, float64(out(OutStudentMem)[i]))
				}
			}
		}
		bar.Add()
	}
	bar.Finish()
	st := m.Stage
	if memory {
		if trows, err = withMemory(st.TeacherMemoryScores(), trows, tdist); err != nil {
			return err
		}
		if !m.TeacherOnly {
			if srows, err = withMemory(st.MemoryScores(), srows, sdist); err != nil {
				return err
			}
		}
	}
	if err := score.WriteTeacherVideoCSV(st.TeacherScores(), trows, !m.TeacherOnly); err != nil {
		return err
	}
	if m.TeacherOnly {
		return nil
	}
	return score.WriteVideoCSV(st.Scores(), srows)
}

// withMemory writes the raw PSNR and memory distance of rows to path and
// returns the rows with s_o replaced by MNAD's combined score.
func withMemory(path string, rows []score.VideoRow, dist []float64) ([]score.VideoRow, error) {
	raw := make([]score.VideoRow, len(rows))
	for i, r := range rows {
		raw[i] = r
		raw[i].SFea = dist[i]
	}
	if err := score.WriteVideoCSV(path, raw); err != nil {
		return nil, err
	}
	return score.CombineMemory(rows, dist, score.MNADAlpha)
}

// Results writes the frame-level AUC table, ROC and score curves.
func (b *Baseline) Results(ctx context.Context, u *baseline.Unit, st baseline.Stage, r baseline.ResultsSpec) (*baseline.Eval, error) {
	// The table says which test videos had no clip to score; a test set
	// that no longer loads (moved data) leaves the note out, not the table.
	if _, test, err := u.VideoSets(ctx); err != nil {
		u.Log.Warn("cannot list the test videos for the table's notes", "err", err)
	} else if note := data.ShortVideosNote(data.ShortVideos(test, clips(u.Cfg)), clips(u.Cfg)); note != "" {
		r.Notes = append(r.Notes, note)
	}
	return scoring.FrameResults(u, st, b.Title(u.Cfg), r)
}

// Sweep re-scores the raw frame scores at each lambda.
func (*Baseline) Sweep(ctx context.Context, _ *baseline.Unit, st baseline.Stage, lambdas []float64) ([]results.LambdaPoint, error) {
	return scoring.Sweep(ctx, st, lambdas)
}

// RawScoring says how MNAD's raw scores files are read: a low PSNR (or
// memory normality score) and a high feature inconsistency are anomalous.
func (*Baseline) RawScoring() baseline.FrameScoring { return scoring }

// ScoredSamples are the frames Score writes a row for: the target frame
// of every test clip, every data.test_stride-th.
func (*Baseline) ScoredSamples(ctx context.Context, u *baseline.Unit) ([]score.Sample, error) {
	_, test, err := u.VideoSets(ctx)
	if err != nil {
		return nil, err
	}
	spec := clips(u.Cfg)
	var out []score.Sample
	for _, c := range data.Clips(test, spec) {
		if f := c.Start + spec.Span(); f%u.Cfg.Data.TestStride == 0 {
			out = append(out, baseline.FrameSample(test.Videos[c.Video], f))
		}
	}
	return out, nil
}
