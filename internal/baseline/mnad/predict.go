package mnad

import (
	"context"
	"fmt"
	"math"
	"os"
	"strconv"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/score"
)

// MNAD scores unlabelled videos.
var _ baseline.Predictor = (*Baseline)(nil)

// Predict runs the evaluation model over the clips of unlabelled videos:
// one item per predicted frame (the first data.frames frames of a video
// have no clip before them), S_o the PSNR of the student's prediction as
// in Score, S_fea the feature inconsistency. MNAD with memory ranks
// per-video normalised scores and is refused. The last batch is padded.
func (*Baseline) Predict(ctx context.Context, u *baseline.Unit, m baseline.EvalModel, in baseline.PredictInput, emit func(baseline.PredictItem) error) error {
	cfg := u.Cfg
	if m.TeacherOnly {
		return fmt.Errorf("predict needs a student's model.onnx; %s is the teacher alone", m.Path)
	}
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
	bs := cfg.Eval.Batch
	batcher, err := data.NewVideoBatcher(&data.VideoDataset{Name: "predict", Videos: in.Videos}, data.VideoBatchConfig{Clip: clips(cfg), Decode: decode(cfg), BatchSize: bs, Workers: cfg.Data.Workers})
	if err != nil {
		return err
	}
	spec := method.Spec{Batch: bs, Size: cfg.Data.Size, Frames: cfg.Data.Frames, Channels: cfg.Data.Channels}
	ins := []ort.Port{{Name: m.Inputs[0], Shape: New().InputShape(spec)}, {Name: InTarget, Shape: frameShape(spec)}}
	outs := []ort.Port{{Name: OutStudentErr, Shape: []int64{int64(bs)}}, {Name: method.OutFea, Shape: []int64{int64(bs)}}, {Name: OutTeacherErr, Shape: []int64{int64(bs)}}}
	sess, err := u.RT.NewInference(b, ins, outs, u.ORT())
	if err != nil {
		return fmt.Errorf("load %s: %w", m.Path, err)
	}
	defer sess.Close()
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
			p := baseline.PredictItem{ID: v + "/" + strconv.Itoa(batch.Frame[i]), Video: v, Frame: batch.Frame[i],
				SO: score.FramePSNR(float64(sess.Output(0)[i])), SFea: float64(sess.Output(1)[i]), TeacherSO: score.FramePSNR(float64(sess.Output(2)[i]))}
			if err := emit(p); err != nil {
				return err
			}
		}
		bar.Add()
	}
	bar.Finish()
	return nil
}

// ScoreRule says how the model's outputs become MNAD's raw scores, for
// the exported model's metadata.
func (*Baseline) ScoreRule() string {
	return "inputs: frames (the clip) and target (the next frame); S_o = min(10*log10(4/s_err), 100), the PSNR of the prediction (lower is anomalous); S_fea = s_fea"
}

// PostScore is S_o inside the model: min(10*log10(4/s_err), 100)
// (score.FramePSNR).
func (*Baseline) PostScore(a *graph.Appender) string {
	r := a.Op(graph.OpDiv, []string{a.Scalar(4), OutStudentErr}, nil)
	db := a.Op(graph.OpMul, []string{a.Op(graph.OpLog, []string{r}, nil), a.Scalar(float32(10 / math.Ln10))}, nil)
	return a.Op(graph.OpMin, []string{db, a.Scalar(100)}, nil)
}
