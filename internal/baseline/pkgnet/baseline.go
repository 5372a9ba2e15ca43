package pkgnet

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
)

// Baseline is PKG-Net as an fmam baseline: the student U-Net on STC
// cubes of data.frames (5) frames of data.size (32) pixels, with the
// frozen ImageNet backbone (model.pkgnet.backbone) inside the network as
// its prior knowledge; L_o is the official loss; S_o is the official
// hybrid of z-scored per-object scores through the official frame chain.
//
// New returns it unconfigured (k 1, no backbone): enough for `fmam bench`
// (Variant picks k) and for listing. Configure, which registry.Lookup
// calls, returns the baseline of a configuration with its backbone loaded.
type Baseline struct {
	k int
	// bb is the backbone as imported (any batch), cut to its layers; nil
	// builds the network without it (the bench, whose loss takes the
	// teacher features as inputs as scripts/bench_torch.py does).
	bb     *graph.Graph
	bbIn   string
	layers []string
	// size is the backbone's input side; bgr feeds it B, G, R.
	size int
	bgr  bool
}

// Baseline is a baseline.Baseline.
var _ baseline.Baseline = (*Baseline)(nil)

// New returns the PKG-Net baseline, unconfigured.
func New() *Baseline { return &Baseline{k: 1} }

// Names of the network's input and outputs.
const (
	// InCubes is the STC cube batch [N, Frames*3, S, S]: channel 3f + c
	// holds colour c of frame f (oldest first); the last three channels
	// are the target frame.
	InCubes = "cubes"
	// OutPrediction is the predicted target patch and OutTarget the target
	// patch itself (the cube's last frame, passed through so that the
	// exported network carries what its scores compare with).
	OutPrediction = "prediction"
	OutTarget     = "target"
)

// Per-object outputs of the evaluation graph, [N]: the prediction MSE and
// each block's mean (1 - cos), of the teacher (t_) and the student (s_).
func objectOutputs(prefix string, k int) []string {
	out := []string{prefix + "mse"}
	for i := range k {
		out = append(out, prefix+"cos"+strconv.Itoa(i+1))
	}
	return out
}

// Metadata of exported teachers.
const (
	metaK      = "fmam.pkgnet.k"
	metaLayers = "fmam.pkgnet.layers"
	metaSize   = "fmam.pkgnet.backbone_size"
	metaBGR    = "fmam.pkgnet.bgr"
)

// priorPrefix names the backbone's tensors inside the network.
const priorPrefix = "prior/"

func (bl *Baseline) Arch() string             { return config.ArchPKGNet }
func (*Baseline) Taps() []string              { return Taps }
func (*Baseline) Input() string               { return InCubes }
func (*Baseline) Task() baseline.Task         { return baseline.VideoTask() }
func (*Baseline) Title(*config.Config) string { return "PKG-Net" }

// K is the student variant the baseline builds.
func (bl *Baseline) K() int { return bl.k }

// Outputs are the prediction, the target, then per block the student's
// (adapted) feature and the backbone's (resized) feature.
func (bl *Baseline) Outputs() []string {
	out := []string{OutPrediction, OutTarget}
	for i := range bl.k {
		n := strconv.Itoa(i + 1)
		out = append(out, "feature"+n, "prior"+n)
	}
	return out
}

// Variant returns the unconfigured baseline of student variant k, for
// `fmam bench --k`.
func (bl *Baseline) Variant(k int) (method.Net, error) {
	if k != 1 && k != 2 {
		return nil, fmt.Errorf("pkgnet: k %d; use 1 or 2", k)
	}
	c := *bl
	c.k = k
	return &c, nil
}

// netConfig is the student of a spec: Frames-1 input frames.
func (bl *Baseline) netConfig(s method.Spec) Config {
	return Config{K: bl.k, Width: s.Width, Frames: s.Frames - 1, Channels: s.Channels, Size: s.Size, EvalBatchNorm: true}
}

func (bl *Baseline) Check(s method.Spec) error {
	if s.Memory {
		return fmt.Errorf("model.memory is MNAD's memory module; PKG-Net has none: set model.memory: false")
	}
	if s.Channels != 3 {
		return fmt.Errorf("data.channels %d: PKG-Net's cubes are RGB; set data.channels: 3", s.Channels)
	}
	if s.Frames != 5 {
		return fmt.Errorf("data.frames %d: a PKG-Net cube is 5 frames (4 before the target and the target); set data.frames: 5", s.Frames)
	}
	return bl.netConfig(s).Check()
}

func (bl *Baseline) InputShape(s method.Spec) graph.Shape {
	return graph.Shape{int64(s.Batch), int64(s.Frames * s.Channels), int64(s.Size), int64(s.Size)}
}

// channels slices channels [from, to) of x [N, C, H, W].
func channels(g *graph.Graph, x string, from, to int64) string {
	return g.Slice(x, []int64{from}, []int64{to}, []int64{1}, nil)
}

// Build slices the cube into the student's input (frames t-4..t-1) and
// the target, builds the student, and, when the baseline has a backbone,
// the frozen backbone on the target with a 1x1 adapter per block where
// the channel counts differ.
func (bl *Baseline) Build(b *nn.Builder, s method.Spec, input string, hook arch.Tap) method.Forward {
	g := b.G
	cfg := bl.netConfig(s)
	c := int64(s.Channels)
	in := channels(g, input, 0, int64(cfg.Frames)*c)
	target := channels(g, input, int64(cfg.Frames)*c, int64(s.Frames)*c)
	out := Build(b, cfg, in, hook)
	if g.Err() != nil {
		return method.Forward{}
	}
	f := method.Forward{Outputs: []string{out.Prediction, target}, Extra: out}
	if bl.bb == nil {
		return f
	}
	priors, err := bl.backbone(g, int64(s.Batch), target)
	if err != nil {
		g.Fail(err)
		return method.Forward{}
	}
	for i, feat := range out.Features {
		fs, ps := g.Shape(feat), g.Shape(priors[i])
		if fs[1] != ps[1] {
			feat = b.Scope("adapter").Conv2D(feat, strconv.Itoa(i+1), int(ps[1]), nn.ConvOpts{Kernel: 1, Bias: true})
		}
		p := priors[i]
		if fs[2] != ps[2] || fs[3] != ps[3] {
			p = resize(g, p, float32(fs[2])/float32(ps[2]), float32(fs[3])/float32(ps[3]))
		}
		f.Outputs = append(f.Outputs, feat, p)
	}
	return f
}

// resize scales the last two axes of x bilinearly. Scales, not sizes, so
// that the exported network runs at any batch size.
func resize(g *graph.Graph, x string, sh, sw float32) string {
	scales := g.Init("scales", graph.Floats(graph.Shape{4}, []float32{1, 1, sh, sw}))
	return g.Op("Resize", []string{x, "", scales}, graph.Attrs{"mode": "linear"})
}

// backbone merges the frozen backbone, imported at batch n, fed the
// target patch (B, G, R when bgr; resized to its input size), and returns
// its layers' tensors.
func (bl *Baseline) backbone(g *graph.Graph, n int64, target string) ([]string, error) {
	x := target
	if bl.bgr {
		x = g.Concat(1, channels(g, target, 2, 3), channels(g, target, 1, 2), channels(g, target, 0, 1))
	}
	if ts := g.Shape(target); ts[2] != int64(bl.size) || ts[3] != int64(bl.size) {
		x = resize(g, x, float32(bl.size)/float32(ts[2]), float32(bl.size)/float32(ts[3]))
	}
	m, err := bl.bb.Model()
	if err != nil {
		return nil, err
	}
	sz := int64(bl.size)
	bg, err := graph.Import(m, graph.ImportOptions{InputShapes: map[string]graph.Shape{bl.bbIn: {n, 3, sz, sz}}})
	if err != nil {
		return nil, fmt.Errorf("model.pkgnet.backbone: %w", err)
	}
	g.Merge(bg.Rename(priorPrefix))
	in := priorPrefix + bl.bbIn
	g.AddNode(&graph.Node{Op: "Identity", Name: priorPrefix + "input", Inputs: []string{x}, Outputs: []string{in + ".in"}})
	g.ReplaceUses(in, in+".in", nil)
	if err := g.RemoveInput(in); err != nil {
		return nil, err
	}
	if err := g.SortNodes(); err != nil {
		return nil, err
	}
	var out []string
	for _, l := range bl.layers {
		out = append(out, priorPrefix+l)
	}
	return out, g.Err()
}

// pair splits a forward pass's outputs into the network outputs Loss and
// ObjectScores take, the target and the backbone's features.
func pair(f method.Forward) (out Outputs, target string, priors []string) {
	out.Prediction, target = f.Outputs[0], f.Outputs[1]
	for i := 2; i+1 < len(f.Outputs); i += 2 {
		out.Features = append(out.Features, f.Outputs[i])
		priors = append(priors, f.Outputs[i+1])
	}
	return out, target, priors
}

// Targets: none; the target is the cube's last frame.
func (*Baseline) Targets(*graph.Graph, method.Spec) []string { return nil }

// Loss is the official loss (OfficialLoss).
func (*Baseline) Loss(g *graph.Graph, _ method.Spec, f method.Forward, _ []string) method.Loss {
	out, target, priors := pair(f)
	total, terms := Loss(g, OfficialLoss(), out, target, priors)
	return method.Loss{Total: total, Terms: terms, Names: LossTerms}
}

// Scores are the per-object components of the teacher and the student.
func (bl *Baseline) Scores(g *graph.Graph, _ method.Spec, teacher, student *method.Forward) ([]string, []string, error) {
	var outs []string
	add := func(f *method.Forward, prefix string) {
		out, target, priors := pair(*f)
		gen, fea := ObjectScores(g, out, target, priors)
		if g.Err() != nil {
			return
		}
		names := objectOutputs(prefix, len(fea))
		for i, x := range append([]string{gen}, fea...) {
			outs = append(outs, method.Rename(g, x, names[i]))
		}
	}
	add(teacher, "t_")
	if student != nil {
		add(student, "s_")
	}
	return nil, outs, g.Err()
}

// MimicImage is the target patch.
func (*Baseline) MimicImage(g *graph.Graph, s method.Spec, input string) string {
	c := int64(s.Channels)
	return channels(g, input, int64(s.Frames-1)*c, int64(s.Frames)*c)
}

func (bl *Baseline) TeacherMeta(method.Spec) map[string]string {
	return map[string]string{metaK: strconv.Itoa(bl.k), metaLayers: strings.Join(bl.layers, ","),
		metaSize: strconv.Itoa(bl.size), metaBGR: strconv.FormatBool(bl.bgr)}
}

// CheckTeacher refuses teachers fmam did not export (the student is built
// beside the teacher's own network) and exports of other settings.
func (bl *Baseline) CheckTeacher(t *method.Teacher, _ method.Spec) error {
	if !t.BuiltIn {
		return fmt.Errorf("a PKG-Net teacher must be one fmam trained (its backbone and outputs are part of it)")
	}
	want := bl.TeacherMeta(method.Spec{})
	for _, k := range []struct{ meta, key string }{{metaK, "model.pkgnet.k"}, {metaLayers, "model.pkgnet.layers"}, {metaSize, "model.pkgnet.backbone_size"}, {metaBGR, "model.pkgnet.bgr"}} {
		if got := t.Orig.Meta(k.meta); got != want[k.meta] {
			return fmt.Errorf("it was trained with %s %q, the config has %q", k.key, got, want[k.meta])
		}
	}
	return nil
}

// BenchShape is the cube of `fmam bench`: 5 RGB frames.
func (*Baseline) BenchShape() (frames, channels int) { return 5, 3 }

// BenchLoss is the official loss against teacher features given as
// inputs of the distilled shapes, as scripts/bench_torch.py times it (the
// frozen backbone is not part of the timing).
func (bl *Baseline) BenchLoss(g *graph.Graph, s method.Spec, f method.Forward, input string) (string, []string) {
	out := f.Extra.(Outputs)
	batch := []string{input}
	var teacher []string
	for i, sh := range bl.netConfig(s).FeatureShapes(int64(s.Batch)) {
		teacher = append(teacher, g.Input("teacher"+strconv.Itoa(i+1), graph.Float, sh))
	}
	total, _ := Loss(g, OfficialLoss(), out, f.Outputs[1], teacher)
	return total, append(batch, teacher...)
}

// Configure returns the baseline of cfg: its k (model.pkgnet.k, or the
// data set's official one) and its backbone, loaded and checked.
func (bl *Baseline) Configure(cfg *config.Config) (baseline.Baseline, error) {
	p := cfg.Model.PKGNet
	c := &Baseline{k: p.K, layers: slices.Clone(p.Layers), size: p.BackboneSize, bgr: p.BGR}
	if c.k == 0 {
		c.k = 1
		if d, err := OfficialDataset(cfg.Data.Kind); err == nil {
			c.k = d.K
		}
	}
	if p.Backbone == "" {
		return nil, fmt.Errorf("model.pkgnet.backbone is empty: give the ONNX file of the frozen ImageNet backbone (configs/ped2-pkgnet.yaml uses the shared MobileNetV2)")
	}
	bb, err := graph.LoadFile(p.Backbone, graph.ImportOptions{Batch: 1})
	if err != nil {
		return nil, fmt.Errorf("model.pkgnet.backbone: %w", err)
	}
	if len(bb.Inputs) != 1 || len(bb.Shape(bb.Inputs[0])) != 4 || bb.Shape(bb.Inputs[0])[1] != 3 {
		return nil, fmt.Errorf("model.pkgnet.backbone %s: want one image input [N, 3, H, W], has %v", p.Backbone, bb.Inputs)
	}
	if len(c.layers) != c.k {
		return nil, fmt.Errorf("model.pkgnet.layers %v: k %d needs %d backbone output names (block 1 first; its outputs are %v)", c.layers, c.k, c.k, bb.Outputs)
	}
	for _, l := range c.layers {
		if !slices.Contains(bb.Outputs, l) {
			return nil, fmt.Errorf("model.pkgnet.layers: the backbone %s has no output %q; its outputs are %v", p.Backbone, l, bb.Outputs)
		}
	}
	c.bbIn = bb.Inputs[0]
	cut := bb.Clone()
	cut.Outputs = slices.Clone(c.layers)
	cut.Prune()
	c.bb = cut
	return c, nil
}
