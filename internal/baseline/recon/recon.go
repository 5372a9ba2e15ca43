// Package recon is the generic reconstruction baseline (model.arch
// reconstruction): on images (Baseline), any imported ONNX autoencoder
// whose first output has its image input's shape; on video (Video, see
// video.go), any imported clip autoencoder or next-frame predictor. L_o is the MSE between the reconstruction and
// the input; the anomaly map is the squared error averaged over channels
// and S_o, the per-sample reconstruction error, its mean. Taps are tensor
// names or "bottleneck", found automatically; the student is the
// imported graph cloned, as for every imported teacher. Scoring, tables
// and predict are DRAEM's image code (internal/baseline/draem) with this
// image score.
package recon

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/draem"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/train"
)

// Arch is the model.arch of the generic reconstruction baseline.
const Arch = "reconstruction"

// InClean is the reconstruction target in training: the input image.
const InClean = "clean"

// Baseline is the generic reconstruction baseline.
type Baseline struct {
	*draem.Baseline
	// loss is model.recon_loss: "mse" (or empty), "l1" or "ssim".
	loss string
}

// Configure returns the baseline with the configuration's L_o.
func (bl *Baseline) Configure(cfg *config.Config) (baseline.Baseline, error) {
	c := *bl
	c.loss = cfg.Model.ReconLoss
	return &c, nil
}

// Baseline is a baseline.Baseline that predicts.
var (
	_ baseline.Baseline      = (*Baseline)(nil)
	_ baseline.Predictor     = (*Baseline)(nil)
	_ baseline.PostProcessor = (*Baseline)(nil)
)

// New returns the generic reconstruction baseline.
func New() *Baseline {
	return &Baseline{Baseline: &draem.Baseline{Name: "Reconstruction", ImageScore: MeanScore}}
}

// MeanScore is S_o of an error map: its mean, the per-sample
// reconstruction error.
func MeanScore(m []float32, _, _ int) float64 {
	s := 0.0
	for _, v := range m {
		s += float64(v)
	}
	return s / float64(len(m))
}

func (*Baseline) Arch() string      { return Arch }
func (*Baseline) Taps() []string    { return []string{"bottleneck"} }
func (*Baseline) Input() string     { return "image" }
func (*Baseline) Outputs() []string { return []string{"reconstruction"} }

func (*Baseline) Title(*config.Config) string { return "Reconstruction" }

func (*Baseline) Check(s method.Spec) error {
	if s.Memory {
		return fmt.Errorf("model.memory is MNAD's memory module; set model.memory: false")
	}
	return nil
}

// CheckConfig asks for an imported network: there is no built-in one.
func (*Baseline) CheckConfig(cfg *config.Config) error {
	if cfg.Model.Teacher == "" {
		return fmt.Errorf("model.arch %s boosts a network you exported: set model.teacher to its ONNX file (an autoencoder whose first output has its input's shape)", Arch)
	}
	if cfg.Data.Channels != 3 {
		return fmt.Errorf("data.channels %d: model.arch %s reads RGB images; set data.channels: 3", cfg.Data.Channels, Arch)
	}
	if cfg.Model.Mimic.Backbone != "" {
		return fmt.Errorf("model.mimic pre-trains a built-in teacher; model.arch %s imports its teacher: leave model.mimic unset", Arch)
	}
	return nil
}

func (*Baseline) InputShape(s method.Spec) graph.Shape {
	return graph.Shape{int64(s.Batch), 3, int64(s.Size), int64(s.Size)}
}

// Build is never reached: CheckConfig asks for model.teacher.
func (*Baseline) Build(b *nn.Builder, _ method.Spec, _ string, _ arch.Tap) method.Forward {
	b.G.Fail(fmt.Errorf("model.arch %s has no built-in network; set model.teacher", Arch))
	return method.Forward{}
}

func (bl *Baseline) Targets(g *graph.Graph, s method.Spec) []string {
	return []string{g.Input(InClean, graph.Float, bl.InputShape(s))}
}

// Loss is L_o between the reconstruction and the input: MSE, L1, or
// DRAEM's L2 + SSIM loss (model.recon_loss).
func (bl *Baseline) Loss(g *graph.Graph, _ method.Spec, f method.Forward, targets []string) method.Loss {
	return reconLoss(g, bl.loss, f.Outputs[0], targets[0])
}

// Scores are the error maps of teacher and student against the data
// input (the graph's first input).
func (*Baseline) Scores(g *graph.Graph, _ method.Spec, teacher, student *method.Forward) ([]string, []string, error) {
	if len(g.Inputs) == 0 {
		return nil, nil, fmt.Errorf("reconstruction scores: the graph has no input")
	}
	in := g.Inputs[0]
	for _, f := range []*method.Forward{teacher, student} {
		if f != nil && !slicesEqual(g.Shape(f.Outputs[0]), g.Shape(in)) {
			return nil, nil, fmt.Errorf("model.arch %s: the output %s has shape %v, the input %s %v; an autoencoder reconstructs its input (a next-frame predictor: task: video)", Arch, f.Outputs[0], g.Shape(f.Outputs[0]), in, g.Shape(in))
		}
	}
	outs := []string{method.Rename(g, method.ErrorMap(g, teacher.Outputs[0], in), draem.OutTeacherMap)}
	if student != nil {
		outs = append(outs, method.Rename(g, method.ErrorMap(g, student.Outputs[0], in), draem.OutStudentMap))
	}
	return nil, outs, g.Err()
}

func slicesEqual(a, b graph.Shape) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (*Baseline) MimicImage(_ *graph.Graph, _ method.Spec, input string) string { return input }

func (*Baseline) TeacherMeta(method.Spec) map[string]string { return nil }

// CheckTeacher checks the reconstruction's shape against the input's.
func (*Baseline) CheckTeacher(t *method.Teacher, _ method.Spec) error {
	g := t.Orig
	if got, want := g.Shape(t.Outputs[0]), g.Shape(t.Input); !slicesEqual(got, want) {
		return fmt.Errorf("model.arch %s: the first output %s has shape %v but the input %s %v; an autoencoder reconstructs its input (a next-frame predictor: task: video)", Arch, t.Outputs[0], got, t.Input, want)
	}
	return nil
}

func (*Baseline) BenchShape() (frames, channels int) { return 0, 3 }

func (*Baseline) BenchLoss(g *graph.Graph, _ method.Spec, f method.Forward, input string) (string, []string) {
	return loss.MSE(g, f.Outputs[0], input), []string{input}
}

// Source yields normal training images and themselves as the target.
func (*Baseline) Source(ctx context.Context, u *baseline.Unit, seed uint64) (train.Source, error) {
	ds, err := u.ImageSet(ctx)
	if err != nil {
		return nil, err
	}
	same := func(_ *rand.Rand, smp *data.Sample) error {
		smp.Clean = smp.Image
		return nil
	}
	b, err := data.NewImageBatcher(ds.Train, data.ImageBatchConfig{
		Decode: baseline.Decode(u.Cfg), BatchSize: u.Cfg.Train.Batch,
		Shuffle: true, Seed: seed, DropLast: len(ds.Train) >= u.Cfg.Train.Batch, Augment: same, Workers: u.Cfg.Data.Workers,
	})
	if err != nil {
		return nil, fmt.Errorf("category %s: %w", ds.Name, err)
	}
	return pair{baseline.ImageSource(b)}, nil
}

// pair passes on the image and its target, not the (empty) masks.
type pair struct{ train.Source }

func (p pair) Next(ctx context.Context) ([][]float32, error) {
	b, err := p.Source.Next(ctx)
	if err != nil {
		return nil, err
	}
	return b[:2], nil
}

// ScoreRule says how the model's outputs become the raw scores.
func (*Baseline) ScoreRule() string {
	return "s_map = squared reconstruction error averaged over channels; S_o = mean of s_map (the per-sample reconstruction error); S_fea = s_fea"
}

// PostScore is S_o inside the model: the mean of s_map (t_map).
func (*Baseline) PostScore(a *graph.Appender, teacher bool) string {
	m := draem.OutStudentMap
	if teacher {
		m = draem.OutTeacherMap
	}
	return a.Op(graph.OpReduceMean, []string{m}, graph.Attrs{"axes": []int64{1, 2}, "keepdims": int64(0)})
}
