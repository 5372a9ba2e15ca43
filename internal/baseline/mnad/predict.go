package mnad

import (
	"context"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/onnxpb"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/score"
)

// MNAD scores unlabelled videos.
var _ baseline.Predictor = (*Baseline)(nil)

// Predict runs the evaluation model over the clips of unlabelled videos:
// one item per predicted frame (the first data.frames frames of a video
// have no clip before them), S_o the PSNR of the student's prediction as
// in Score, S_fea the feature inconsistency. A teacher-only evaluation
// model (teacher_eval.onnx) gives the teacher's PSNR as S_o and S_fea 0.
// With in.Maps each item carries the error map of the student (or the
// teacher alone) and its frame in [0, 1]: the target frame, or the
// clip's last frame when MapOnClip; a model exported before the maps were
// an output has none, and its items come without (the caller says so).
// MNAD with memory ranks per-video normalised scores and is refused. The
// last batch is padded.
func (bl *Baseline) Predict(ctx context.Context, u *baseline.Unit, m baseline.EvalModel, in baseline.PredictInput, emit func(baseline.PredictItem) error) error {
	cfg := u.Cfg
	if cfg.Model.Memory {
		return fmt.Errorf("predict: MNAD with model.memory combines per-video min-max normalised scores, which need the whole video; predict supports runs without memory")
	}
	if len(in.Videos) == 0 {
		return fmt.Errorf("predict: no videos to score")
	}
	b, err := os.ReadFile(m.Path)
	if err != nil {
		return fmt.Errorf("predict with %s: %w", m.Path, err)
	}
	errOut, mapOut := OutStudentErr, method.OutStudentMap
	if m.TeacherOnly {
		errOut, mapOut = OutTeacherErr, method.OutTeacherMap
	}
	maps := false
	if in.Maps {
		mp, err := graph.DecodeModel(b, m.Path)
		if err != nil {
			return err
		}
		maps = slices.ContainsFunc(mp.GetGraph().GetOutput(), func(o *onnxpb.ValueInfoProto) bool { return o.GetName() == mapOut })
	}
	bs := cfg.Eval.Batch
	batcher, err := data.NewVideoBatcher(&data.VideoDataset{Name: "predict", Videos: in.Videos}, data.VideoBatchConfig{Clip: clips(cfg), Decode: decode(cfg), BatchSize: bs, Workers: cfg.Data.Workers})
	if err != nil {
		return err
	}
	spec := method.Spec{Batch: bs, Size: cfg.Data.Size, Frames: cfg.Data.Frames, Channels: cfg.Data.Channels}
	ins := []ort.Port{{Name: m.Inputs[0], Shape: New().InputShape(spec)}, {Name: InTarget, Shape: frameShape(spec)}}
	// Outputs: the error, then S_fea and the teacher's error (a student's
	// model), then the map.
	outs := []ort.Port{{Name: errOut, Shape: []int64{int64(bs)}}}
	if !m.TeacherOnly {
		outs = append(outs, ort.Port{Name: method.OutFea, Shape: []int64{int64(bs)}}, ort.Port{Name: OutTeacherErr, Shape: []int64{int64(bs)}})
	}
	s, c := cfg.Data.Size, cfg.Data.Channels
	if maps {
		outs = append(outs, ort.Port{Name: mapOut, Shape: []int64{int64(bs), int64(s), int64(s)}})
	}
	sess, err := u.RT.NewInference(b, ins, outs, u.ORT())
	if err != nil {
		return fmt.Errorf("load %s: %w", m.Path, err)
	}
	defer sess.Close()
	n := s * s
	dec := decode(cfg).Input()
	bar := baseline.NewBar(u.Progress, batcher.BatchesPerEpoch(), "predict")
	for batch, err := range batcher.Epoch(ctx, data.Position{}) {
		if err != nil {
			return err
		}
		copy(sess.Input(0), batch.Input)
		copy(sess.Input(1), batch.Target)
		if err := sess.Run(ctx); err != nil {
			return err
		}
		for i := 0; i < batch.N; i++ {
			v := in.Videos[batch.Video[i]].Name
			so := score.FramePSNR(float64(sess.Output(0)[i]))
			p := baseline.PredictItem{ID: v + "/" + strconv.Itoa(batch.Frame[i]), Video: v, Frame: batch.Frame[i], SO: so, TeacherSO: so}
			if !m.TeacherOnly {
				p.SFea, p.TeacherSO = float64(sess.Output(1)[i]), score.FramePSNR(float64(sess.Output(2)[i]))
			}
			if maps {
				p.Map = slices.Clone(sess.Output(len(outs) - 1)[i*n : (i+1)*n])
				frame := batch.Target[i*c*n : (i+1)*c*n]
				if bl.MapOnClip { // the clip's last frame, channels (T-1)*C..T*C
					t := cfg.Data.Frames
					frame = batch.Input[(i*t+t-1)*c*n : (i+1)*t*c*n]
				}
				img := dec.ToUnit(imageio.Image{C: c, H: s, W: s, Pix: frame})
				p.Image, p.C, p.H, p.W = img.Pix, c, s, s
			}
			if err := emit(p); err != nil {
				return err
			}
		}
		bar.Add()
	}
	bar.Finish()
	return nil
}

// MapLevel is the error map's value of a frame whose PSNR is so: the
// mean squared error 4*10^(-so/10) (score.FramePSNR inverted below its
// cap of 100 dB), so that a contour of the map at it outlines where the
// per-pixel error is as large as a deciding frame's mean error.
func (*Baseline) MapLevel(so float64) float64 { return 4 * math.Pow(10, -so/10) }

// ScoreRule says how the model's outputs become MNAD's raw scores, for
// the exported model's metadata.
func (*Baseline) ScoreRule() string {
	return "inputs: frames (the clip) and target (the next frame); S_o = min(10*log10(4/s_err), 100), the PSNR of the prediction (lower is anomalous); S_fea = s_fea; s_map = squared error averaged over channels (its mean is s_err)"
}

// PostScore is S_o inside the model: min(10*log10(4/s_err), 100)
// (score.FramePSNR); the teacher's of t_err.
func (*Baseline) PostScore(a *graph.Appender, teacher bool) string {
	e := OutStudentErr
	if teacher {
		e = OutTeacherErr
	}
	r := a.Op(graph.OpDiv, []string{a.Scalar(4), e}, nil)
	db := a.Op(graph.OpMul, []string{a.Op(graph.OpLog, []string{r}, nil), a.Scalar(float32(10 / math.Ln10))}, nil)
	return a.Op(graph.OpMin, []string{db, a.Scalar(100)}, nil)
}
