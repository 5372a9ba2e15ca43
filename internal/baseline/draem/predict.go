package draem

import (
	"context"
	"fmt"
	"os"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/ort"
)

// DRAEM scores unlabelled images.
var _ baseline.Predictor = (*Baseline)(nil)

// Predict runs the evaluation model over unlabelled images: S_o is
// DRAEM's image score of the student's map (as in Score), S_fea the
// feature inconsistency; a teacher-only evaluation model
// (teacher_eval.onnx) gives the teacher's S_o and map, S_fea 0. With
// in.Maps the map and the input in [0, 1] come with each item. The last
// batch is padded.
func (bl *Baseline) Predict(ctx context.Context, u *baseline.Unit, m baseline.EvalModel, in baseline.PredictInput, emit func(baseline.PredictItem) error) error {
	if len(in.Images) == 0 {
		return fmt.Errorf("predict: no images to score")
	}
	mb, err := os.ReadFile(m.Path)
	if err != nil {
		return fmt.Errorf("predict with %s: %w", m.Path, err)
	}
	items := make([]data.ImageItem, len(in.Images))
	for i, p := range in.Images {
		items[i] = data.ImageItem{Path: p, Defect: "unknown"}
	}
	s, bs := u.Cfg.Data.Size, u.Cfg.Eval.Batch
	b, err := data.NewImageBatcher(items, data.ImageBatchConfig{Decode: decode(u.Cfg), BatchSize: bs, Workers: u.Cfg.Data.Workers})
	if err != nil {
		return err
	}
	mapShape := []int64{int64(bs), int64(s), int64(s)}
	// Outputs: the map, then S_fea and the teacher's map (a student's
	// model).
	outs := []ort.Port{{Name: OutTeacherMap, Shape: mapShape}}
	if !m.TeacherOnly {
		outs = []ort.Port{{Name: OutStudentMap, Shape: mapShape}, {Name: method.OutFea, Shape: []int64{int64(bs)}}, {Name: OutTeacherMap, Shape: mapShape}}
	}
	sess, err := u.RT.NewInference(mb, []ort.Port{{Name: m.Inputs[0], Shape: []int64{int64(bs), 3, int64(s), int64(s)}}}, outs, u.ORT())
	if err != nil {
		return fmt.Errorf("load %s: %w", m.Path, err)
	}
	defer sess.Close()
	n := s * s
	dec := decode(u.Cfg).Input()
	bar := baseline.NewBar(u.Progress, b.BatchesPerEpoch(), "predict")
	for batch, err := range b.Epoch(ctx, data.Position{}) {
		if err != nil {
			return err
		}
		copy(sess.Input(0), batch.Images)
		if err := sess.Run(ctx); err != nil {
			return err
		}
		for i := 0; i < batch.N; i++ {
			it := items[batch.Items[i]]
			sMap := sess.Output(0)[i*n : (i+1)*n]
			so := bl.imageScore(sMap, s, s)
			p := baseline.PredictItem{ID: it.Path, SO: so, TeacherSO: so}
			if !m.TeacherOnly {
				p.SFea, p.TeacherSO = float64(sess.Output(1)[i]), bl.imageScore(sess.Output(2)[i*n:(i+1)*n], s, s)
			}
			if in.Maps {
				p.Map = append([]float32(nil), sMap...)
				img := dec.ToUnit(imageio.Image{C: 3, H: s, W: s, Pix: batch.Images[i*3*n : (i+1)*3*n]})
				p.Image, p.C, p.H, p.W = img.Pix, 3, s, s
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

// ScoreRule says how the model's outputs become DRAEM's raw scores, for
// the exported model's metadata.
func (*Baseline) ScoreRule() string {
	return "S_o = max over pixels of the 21x21 mean filter of s_map (windows cut at the image border and averaged over their pixels inside); S_fea = s_fea; s_map is the anomaly map"
}

// PostScore is S_o inside the model: the 21x21 mean filter of s_map
// (t_map for the teacher; AveragePool without the padding in the count,
// as DRAEMImageScore averages over the pixels inside the image), then its
// maximum.
func (*Baseline) PostScore(a *graph.Appender, teacher bool) string {
	m := OutStudentMap
	if teacher {
		m = OutTeacherMap
	}
	u := a.Op(graph.OpUnsqueeze, []string{m, a.Ints(1)}, nil)
	p := a.Op(graph.OpAveragePool, []string{u}, graph.Attrs{"kernel_shape": []int64{21, 21}, "pads": []int64{10, 10, 10, 10},
		"strides": []int64{1, 1}, "count_include_pad": int64(0)})
	return a.Op(graph.OpReduceMax, []string{p}, graph.Attrs{"axes": []int64{1, 2, 3}, "keepdims": int64(0)})
}
