package recon

import (
	"context"
	"fmt"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/draem"
	"github.com/fmam/fmam/internal/baseline/mnad"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/train"
)

// The modes of an imported video network (model.recon_mode).
const (
	ModeAuto        = "auto"
	ModePredictor   = "predictor"
	ModeAutoencoder = "autoencoder"
)

// Video is the generic reconstruction baseline on a video task: any
// imported ONNX network fed a clip of T frames stacked on channels,
// [N, T*C, H, W], that either predicts the clip's next frame ([N, C, H, W],
// a predictor like MNAD's) or reconstructs the clip itself (an
// autoencoder). L_o is model.recon_loss between the output and its target
// (the next frame, or the clip); S_o is scored as MNAD's is: the PSNR of
// the per-frame mean squared error, min-max normalised per video in the
// results (and with the stored statistics by predict), lower is
// anomalous. The per-pixel error map (squared error averaged over
// channels) is an output of the evaluation model. Batches, scoring,
// results and predict are MNAD's video code (internal/baseline/mnad).
type Video struct {
	*mnad.Baseline
	// loss is model.recon_loss.
	loss string
	// mode is ModePredictor or ModeAutoencoder once Configure resolved
	// it; why says how it was chosen. modeErr is why it could not be.
	mode, why string
	modeErr   error
}

// Video is a baseline.Baseline that predicts.
var (
	_ baseline.Baseline      = (*Video)(nil)
	_ baseline.Predictor     = (*Video)(nil)
	_ baseline.PostProcessor = (*Video)(nil)
)

// NewVideo returns the generic reconstruction baseline of video tasks.
func NewVideo() *Video { return &Video{Baseline: mnad.New()} }

// Mode is the resolved mode (ModePredictor or ModeAutoencoder) and how it
// was chosen; "" before Configure or when model.teacher could not be read.
func (v *Video) Mode() (mode, why string) { return v.mode, v.why }

// Configure returns the baseline with the configuration's L_o and mode:
// model.recon_mode when it names one, else told from model.teacher's
// shapes (ResolveMode). A teacher that cannot be read leaves the mode
// unresolved: commands that only re-read scores (metrics) still work,
// and training says why.
func (v *Video) Configure(cfg *config.Config) (baseline.Baseline, error) {
	c := *v
	c.loss = cfg.Model.ReconLoss
	c.mode, c.why, c.modeErr = ResolveMode(cfg)
	c.Baseline = &mnad.Baseline{MapOnClip: c.mode == ModeAutoencoder}
	return &c, nil
}

// ResolveMode says whether the imported video network of cfg is a
// predictor or an autoencoder: model.recon_mode when set, else from the
// teacher's shapes. With input [N, T*C, H, W] (C = data.channels, T =
// data.frames), an output of C channels with T > 1 is the next frame (a
// predictor), an output of the input's shape the clip (an autoencoder).
// With T = 1 both look alike and the network is taken for an
// autoencoder; set model.recon_mode: predictor to say otherwise.
func ResolveMode(cfg *config.Config) (mode, why string, err error) {
	switch m := cfg.Model.ReconMode; m {
	case ModePredictor, ModeAutoencoder:
		return m, "model.recon_mode", nil
	}
	g, err := graph.LoadFile(cfg.Model.Teacher, graph.ImportOptions{Batch: 1})
	if err != nil {
		return "", "", fmt.Errorf("model.arch %s tells a predictor from an autoencoder by the teacher's shapes: %w; or set model.recon_mode: predictor or autoencoder", Arch, err)
	}
	if len(g.Inputs) != 1 || len(g.Outputs) == 0 {
		return "", "", fmt.Errorf("model.arch %s: teacher %s has inputs %v and outputs %v; it needs one clip input and an output", Arch, cfg.Model.Teacher, g.Inputs, g.Outputs)
	}
	in, out := g.Shape(g.Inputs[0]), g.Shape(g.Outputs[0])
	t, c := int64(cfg.Data.Frames), int64(cfg.Data.Channels)
	switch {
	case len(in) == 4 && len(out) == 4 && slicesEqual(in[1:], out[1:]):
		return ModeAutoencoder, fmt.Sprintf("the output %s %v has the input's shape %v", g.Outputs[0], out[1:], in[1:]), nil
	case len(in) == 4 && len(out) == 4 && t > 1 && in[1] == t*c && out[1] == c && slicesEqual(in[2:], out[2:]):
		return ModePredictor, fmt.Sprintf("the input %s has %d = %d frames x %d channels, the output %s %d: the next frame", g.Inputs[0], in[1], t, c, g.Outputs[0], out[1]), nil
	}
	return "", "", fmt.Errorf("model.arch %s on video: teacher %s maps %v to %v, neither an autoencoder (output of the input's shape) nor a next-frame predictor (input data.frames %d x data.channels %d = %d channels, output %d); check data.frames and data.channels", Arch, cfg.Model.Teacher, in, out, t, c, t*c, c)
}

// resolved returns the mode, or why it is unknown.
func (v *Video) resolved() (string, error) {
	if v.mode == "" {
		if v.modeErr != nil {
			return "", v.modeErr
		}
		return "", fmt.Errorf("model.arch %s: the mode is not resolved (the baseline was not configured)", Arch)
	}
	return v.mode, nil
}

func (*Video) Arch() string   { return Arch }
func (*Video) Taps() []string { return []string{"bottleneck"} }

func (v *Video) Outputs() []string {
	if v.mode == ModeAutoencoder {
		return []string{"reconstruction"}
	}
	return []string{"prediction"}
}

func (*Video) Title(*config.Config) string { return "Reconstruction" }

func (*Video) Check(s method.Spec) error {
	if s.Memory {
		return fmt.Errorf("model.memory is MNAD's memory module; set model.memory: false")
	}
	return nil
}

// CheckConfig asks for an imported network and refuses what only the
// built-in MNAD has.
func (*Video) CheckConfig(cfg *config.Config) error {
	if cfg.Model.Teacher == "" {
		return fmt.Errorf("model.arch %s boosts a network you exported: set model.teacher to its ONNX file (a clip autoencoder, or a next-frame predictor fed data.frames frames stacked on channels)", Arch)
	}
	if cfg.Model.Mimic.Backbone != "" {
		return fmt.Errorf("model.mimic pre-trains a built-in teacher; model.arch %s imports its teacher: leave model.mimic unset", Arch)
	}
	if cfg.Model.Memory {
		return fmt.Errorf("model.memory is MNAD's memory module, which an imported network does not carry; set model.memory: false")
	}
	return nil
}

// Build is never reached: CheckConfig asks for model.teacher.
func (*Video) Build(b *nn.Builder, _ method.Spec, _ string, _ arch.Tap) method.Forward {
	b.G.Fail(fmt.Errorf("model.arch %s has no built-in network; set model.teacher", Arch))
	return method.Forward{}
}

// clipShape is the shape of a clip input.
func (v *Video) clipShape(s method.Spec) graph.Shape { return v.InputShape(s) }

// Targets are the next frame (predictor) or the clip itself
// (autoencoder, fed as its own input InClean).
func (v *Video) Targets(g *graph.Graph, s method.Spec) []string {
	if v.mode == ModeAutoencoder {
		return []string{g.Input(InClean, graph.Float, v.clipShape(s))}
	}
	return v.Baseline.Targets(g, s)
}

// Loss is L_o between the output and its target: MSE, L1, or DRAEM's
// L2 + SSIM loss (model.recon_loss).
func (v *Video) Loss(g *graph.Graph, _ method.Spec, f method.Forward, targets []string) method.Loss {
	return reconLoss(g, v.loss, f.Outputs[0], targets[0])
}

func reconLoss(g *graph.Graph, kind, rec, target string) method.Loss {
	switch kind {
	case "l1":
		l := loss.L1(g, rec, target)
		return method.Loss{Total: l, Terms: []string{l}, Names: []string{"l1"}}
	case "ssim":
		l2, ss := loss.MSE(g, rec, target), loss.SSIMLoss(g, rec, target, loss.DRAEMSSIM())
		return method.Loss{Total: g.Op(graph.OpAdd, []string{l2, ss}, nil), Terms: []string{l2, ss}, Names: []string{"l2", "ssim"}}
	}
	l := loss.MSE(g, rec, target)
	return method.Loss{Total: l, Terms: []string{l}, Names: []string{"l2"}}
}

// Scores are the per-sample errors of teacher and student (MNAD's t_err
// and s_err, which Score turns into PSNR) and their per-pixel error maps
// (t_map, s_map: [N, H, W]). Both modes declare MNAD's next-frame input
// (mnad.InTarget) so that MNAD's Score and Predict feed them alike; an
// autoencoder compares its output with the clip and leaves it unused.
func (v *Video) Scores(g *graph.Graph, s method.Spec, teacher, student *method.Forward) ([]string, []string, error) {
	mode, err := v.resolved()
	if err != nil {
		return nil, nil, err
	}
	if len(g.Inputs) == 0 {
		return nil, nil, fmt.Errorf("reconstruction scores: the graph has no input")
	}
	clip := g.Inputs[0]
	next := g.Input(mnad.InTarget, graph.Float, graph.Shape{int64(s.Batch), int64(s.Channels), int64(s.Size), int64(s.Size)})
	target := next
	if mode == ModeAutoencoder {
		target = clip
	}
	var errs, maps []string
	for _, p := range []struct {
		f              *method.Forward
		errOut, mapOut string
	}{{teacher, mnad.OutTeacherErr, draem.OutTeacherMap}, {student, mnad.OutStudentErr, draem.OutStudentMap}} {
		if p.f == nil {
			continue
		}
		out := p.f.Outputs[0]
		if got, want := g.Shape(out), g.Shape(target); !slicesEqual(got, want) {
			return nil, nil, fmt.Errorf("model.arch %s (%s): the output %s has shape %v, its target %v", Arch, mode, out, got, want)
		}
		errs = append(errs, method.Rename(g, method.PerSampleMSE(g, out, target), p.errOut))
		maps = append(maps, method.Rename(g, method.ErrorMap(g, out, target), p.mapOut))
	}
	return []string{next}, append(errs, maps...), g.Err()
}

func (*Video) TeacherMeta(method.Spec) map[string]string { return nil }

// CheckTeacher checks the output's shape against the mode's target.
func (v *Video) CheckTeacher(t *method.Teacher, s method.Spec) error {
	mode, err := v.resolved()
	if err != nil {
		return err
	}
	g := t.Orig
	in, out := g.Shape(t.Input), g.Shape(t.Outputs[0])
	want := in
	if mode == ModePredictor {
		want = graph.Shape{in[0], int64(s.Channels), in[2], in[3]}
	}
	if !slicesEqual(out, want) {
		return fmt.Errorf("model.arch %s as %s: the first output %s has shape %v, want %v (input %s %v); set model.recon_mode to what the network does", Arch, mode, t.Outputs[0], out, want, t.Input, in)
	}
	return nil
}

// Source yields clips and their targets: the next frame, or the clip.
func (v *Video) Source(ctx context.Context, u *baseline.Unit, seed uint64) (train.Source, error) {
	mode, err := v.resolved()
	if err != nil {
		return nil, err
	}
	u.Log.Info("model.arch reconstruction: the imported network is a "+mode, "mode", mode, "why", v.why)
	src, err := v.Baseline.Source(ctx, u, seed)
	if err != nil || mode == ModePredictor {
		return src, err
	}
	return clipTarget{src}, nil
}

// clipTarget passes on the clip as its own target.
type clipTarget struct{ train.Source }

func (c clipTarget) Next(ctx context.Context) ([][]float32, error) {
	b, err := c.Source.Next(ctx)
	if err != nil {
		return nil, err
	}
	return [][]float32{b[0], b[0]}, nil
}

// Score is MNAD's (PSNR of the per-frame error), after saying which mode
// scores.
func (v *Video) Score(ctx context.Context, u *baseline.Unit, m baseline.EvalModel) error {
	if _, err := v.resolved(); err != nil {
		return err
	}
	u.Log.Info("model.arch reconstruction: scoring as a "+v.mode, "mode", v.mode, "why", v.why)
	return v.Baseline.Score(ctx, u, m)
}

// Results writes the frame-level AUC table, ROC and score curves.
func (v *Video) Results(_ context.Context, u *baseline.Unit, st baseline.Stage, r baseline.ResultsSpec) (*baseline.Eval, error) {
	return v.RawScoring().FrameResults(u, st, v.Title(u.Cfg), r)
}

// ScoreRule says how the model's outputs become the raw scores.
func (v *Video) ScoreRule() string {
	target := "target (the next frame)"
	if v.mode == ModeAutoencoder {
		target = "the clip itself (the target input is declared for a uniform interface and unused)"
	}
	return "inputs: frames (the clip) and target (the next frame); s_err = mean squared error against " + target +
		"; s_map = squared error averaged over channels; S_o = min(10*log10(4/s_err), 100), the PSNR (lower is anomalous); S_fea = s_fea"
}
