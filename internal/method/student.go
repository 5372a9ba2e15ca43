package method

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/rng"
	"github.com/fmam/fmam/internal/train"
)

// Built is a graph with what the trainer needs to know about it.
type Built struct {
	Spec *train.Spec
	// Terms names the logged loss terms, in Spec.Report order.
	Terms []string
}

// TeacherTrain builds stage one: the built-in baseline trained alone on
// its own loss, optionally mimicking a frozen backbone at its bottleneck.
func TeacherTrain(s Spec) (*Built, error) {
	if err := s.Net.Check(s); err != nil {
		return nil, err
	}
	g := graph.New(s.Net.Arch() + "-teacher-train")
	in := s.input(g)
	targets := s.Net.Targets(g, s)
	b := nn.New(g, true, rng.Stream(s.Seed, rng.Teacher, rng.Init))
	var bottleneck string
	f := s.build(b, in, func(name, feat string) string {
		if name == "bottleneck" {
			bottleneck = feat
		}
		return feat
	})
	lo := s.Net.Loss(g, s, f, targets)
	total, terms, names := lo.Total, lo.Terms, lo.Names
	if s.Mimic.Backbone != nil {
		if bottleneck == "" {
			return nil, fmt.Errorf("model.mimic: %s has no bottleneck tap to mimic the backbone at", s.Net.Arch())
		}
		lm, err := s.mimicLoss(g, b, in, bottleneck)
		if err != nil {
			return nil, err
		}
		w := g.Scalar(float32(s.Mimic.Weight))
		total = g.Op(graph.OpAdd, []string{total, g.Op(graph.OpMul, []string{lm, w}, nil)}, nil)
		terms, names = append(terms, lm), append(names, "l_mimic")
	}
	if err := g.Err(); err != nil {
		return nil, err
	}
	return &Built{Spec: &train.Spec{Graph: g, Batch: append([]string{in}, targets...), Loss: total, Report: terms,
		Trainable: b.Registry().Trainable, States: b.Registry().States()}, Terms: names}, nil
}

// mimicLoss is the paper's teacher recipe: a 1x1 adapter maps the
// bottleneck to the backbone layer's channels, and the backbone feature of
// the (last) input frame, resized to the bottleneck's size, is the target.
func (s Spec) mimicLoss(g *graph.Graph, b *nn.Builder, in, bottleneck string) (string, error) {
	bb, err := s.Mimic.Backbone.Cut(s.Mimic.Layer)
	if err != nil {
		return "", fmt.Errorf("mimic backbone: %w (its outputs are %v)", err, s.Mimic.Backbone.Outputs)
	}
	if len(bb.Inputs) != 1 {
		return "", fmt.Errorf("mimic backbone needs one image input, has %v", bb.Inputs)
	}
	bin := bb.Inputs[0]
	bs := bb.Shape(bin)
	if len(bs) != 4 || bs[1] != 3 {
		return "", fmt.Errorf("mimic backbone input %q has shape %v; want [N,3,H,W]", bin, bs)
	}
	x := s.Net.MimicImage(g, s, in)
	if g.Shape(x)[1] == 1 {
		x = g.Op(graph.OpConcat, []string{x, x, x}, graph.Attrs{"axis": int64(1)})
	}
	sizes := g.Const1D(int64(s.Batch), 3, bs[2], bs[3])
	x = g.Op(graph.OpResize, []string{x, "", "", sizes}, graph.Attrs{"mode": "linear"})
	// Re-import the backbone at this batch size, renamed and frozen.
	m, err := bb.Model()
	if err != nil {
		return "", err
	}
	bg, err := graph.Import(m, graph.ImportOptions{InputShapes: map[string]graph.Shape{bin: {int64(s.Batch), 3, bs[2], bs[3]}}})
	if err != nil {
		return "", fmt.Errorf("mimic backbone: %w", err)
	}
	bg = bg.Rename("backbone/")
	g.Merge(bg)
	g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: "backbone_in", Inputs: []string{x}, Outputs: []string{"backbone/" + bin + ".in"}})
	g.ReplaceUses("backbone/"+bin, "backbone/"+bin+".in", nil)
	if err := g.RemoveInput("backbone/" + bin); err != nil {
		return "", err
	}
	if err := g.SortNodes(); err != nil {
		return "", err
	}
	feat := "backbone/" + s.Mimic.Layer
	fs := g.Shape(feat)
	bshape := g.Shape(bottleneck)
	target := g.Op(graph.OpResize, []string{feat, "", "", g.Const1D(fs[0], fs[1], bshape[2], bshape[3])}, graph.Attrs{"mode": "linear"})
	adapted := b.Scope("mimic").Conv2D(bottleneck, "adapter", int(fs[1]), nn.ConvOpts{Kernel: 1, Bias: true})
	return mse(g, adapted, target), g.Err()
}

// perSampleMSE is mean((a-b)^2) over all but the batch axis: shape [N].
func perSampleMSE(g *graph.Graph, a, b string) string {
	d := g.Op(graph.OpSub, []string{a, b}, nil)
	axes := []int64{}
	for i := 1; i < g.Rank(a); i++ {
		axes = append(axes, int64(i))
	}
	return g.Op(graph.OpReduceMean, []string{g.Op(graph.OpMul, []string{d, d}, nil)}, graph.Attrs{"axes": axes, "keepdims": int64(0)})
}

// student assembles teacher and student in one graph. train selects the
// student's BatchNorm form; the teacher is always frozen in inference form.
// It returns the builder registry, the student outputs, the per-tap
// (teacher, raw student) features and the data input name.
type assembled struct {
	g        *graph.Graph
	input    string
	teacher  Forward
	student  Forward
	feats    [][2]string
	reg      *nn.Registry
	imported []string // trainable parameters of an imported student
}

func (s Spec) assemble(t *Teacher, trainMode bool) (*assembled, error) {
	g := graph.New(s.Net.Arch() + "-student")
	if !trainMode {
		g.Name += "-eval"
	}
	tg := t.prefixed()
	g.Merge(tg)
	a := &assembled{g: g, input: t.Input}
	for _, o := range t.Outputs {
		a.teacher.Outputs = append(a.teacher.Outputs, TeacherPrefix+o)
	}
	// A built-in student's attention modules are built with the network,
	// from its init stream; a cloned imported student is re-drawn from the
	// init stream (cloneImported) and its attention from a stream of its own.
	use := rng.Init
	if !t.BuiltIn {
		use = rng.Attention
	}
	b := nn.New(g, trainMode, rng.Stream(s.Seed, s.StudentStage(), use))
	b.Init = s.Init
	if t.BuiltIn {
		tapped := map[string]bool{}
		a.student = s.build(b, a.input, func(name, f string) string {
			if !slices.Contains(s.Taps, name) {
				return f
			}
			tapped[name] = true
			tf := TeacherPrefix + t.TapTensors[name]
			a.feats = append(a.feats, [2]string{tf, f})
			refined, _ := b.Attention(tf, f, "attn."+name, s.Attention)
			return refined
		})
		for _, tap := range s.Taps {
			if !tapped[tap] {
				return nil, fmt.Errorf("tap %q was never reached while building %s", tap, s.Net.Arch())
			}
		}
		a.reg = b.Registry()
	} else {
		if err := s.cloneImported(a, t, b); err != nil {
			return nil, err
		}
	}
	if err := g.Err(); err != nil {
		return nil, err
	}
	return a, nil
}

// StudentPrefix marks a cloned imported student's tensors.
const StudentPrefix = "student/"

// cloneImported copies the user's teacher as the student: weights of
// Conv, ConvTranspose, Gemm, MatMul and BatchNormalization scale/bias
// become trainable (re-initialised unless student_init is teacher), and
// attention is spliced in after each tap tensor.
func (s Spec) cloneImported(a *assembled, t *Teacher, b *nn.Builder) error {
	g := a.g
	sg := t.Orig.Rename(StudentPrefix, t.Input)
	trainable := trainableInits(sg)
	draw := rand.New(rand.NewPCG(rng.Stream(s.Seed, s.StudentStage(), rng.Init), 11))
	for _, p := range trainable {
		if s.StudentInit != "teacher" {
			if err := sg.SetInit(p, reinit(sg, p, draw)); err != nil {
				return err
			}
		}
	}
	g.Merge(sg)
	for _, o := range t.Outputs {
		a.student.Outputs = append(a.student.Outputs, StudentPrefix+o)
	}
	taps := make([]string, 0, len(t.TapTensors))
	for tap := range t.TapTensors {
		taps = append(taps, tap)
	}
	sort.Strings(taps)
	for _, tap := range taps {
		name := t.TapTensors[tap]
		sf, tf := StudentPrefix+name, TeacherPrefix+name
		before := len(g.Nodes)
		refined, _ := b.Attention(tf, sf, "attn."+sanitize(tap), s.Attention)
		if refined == sf {
			a.feats = append(a.feats, [2]string{tf, sf})
			continue
		}
		skip := map[*graph.Node]bool{}
		for _, n := range g.Nodes[before:] {
			skip[n] = true
		}
		if g.ReplaceUses(sf, refined, skip) == 0 {
			return fmt.Errorf("tap %q (%s) feeds nothing in the student", tap, name)
		}
		a.feats = append(a.feats, [2]string{tf, sf})
	}
	if err := g.SortNodes(); err != nil {
		return err
	}
	a.reg = b.Registry()
	a.imported = trainable
	return nil
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

// trainableInits lists float initializers used as weights: inputs 1 and 2
// of Conv/ConvTranspose/Gemm, the second input of MatMul, BN scale and bias.
func trainableInits(g *graph.Graph) []string {
	seen := map[string]bool{}
	var out []string
	add := func(n string) {
		if v, ok := g.Const(n); ok && v.DType == graph.Float && !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	for _, n := range g.Nodes {
		switch n.Op {
		case graph.OpConv, graph.OpConvTranspose, graph.OpGemm:
			add(n.In(1))
			add(n.In(2))
		case graph.OpMatMul:
			add(n.In(1))
		case graph.OpBatchNormalization, graph.OpInstanceNormalization:
			add(n.In(1))
			add(n.In(2))
		}
	}
	return out
}

// reinit draws fresh values like PyTorch's defaults: uniform with bound
// 1/sqrt(fan_in) for weights and biases, ones and zeros for norm scales
// and biases (told apart by the consumer).
func reinit(g *graph.Graph, name string, rng *rand.Rand) *graph.Value {
	v, _ := g.Const(name)
	shape := v.Shape
	var fan int64 = 1
	norm := false
	isScale := false
	for _, n := range g.Nodes {
		for i, in := range n.Inputs {
			if in != name {
				continue
			}
			switch n.Op {
			case graph.OpBatchNormalization, graph.OpInstanceNormalization:
				norm, isScale = true, i == 1
			case graph.OpConv:
				w := g.Shape(n.In(1))
				fan = w.Size() / w[0]
			case graph.OpConvTranspose:
				w := g.Shape(n.In(1))
				fan = w.Size() / w[0]
			default:
				w := g.Shape(n.In(1))
				fan = w[0]
			}
		}
	}
	d := make([]float32, shape.Size())
	if norm {
		if isScale {
			for i := range d {
				d[i] = 1
			}
		}
		return graph.Floats(shape, d)
	}
	bound := 1 / math.Sqrt(float64(max(fan, 1)))
	for i := range d {
		d[i] = float32((2*rng.Float64() - 1) * bound)
	}
	return graph.Floats(shape, d)
}

// feaLoss is L_fea summed over taps: mean((Fea_T - Fea_S)^2) each.
func feaLoss(g *graph.Graph, feats [][2]string) string {
	var parts []string
	for _, f := range feats {
		parts = append(parts, mse(g, f[1], f[0]))
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return g.Op(graph.OpSum, parts, nil)
}

// StudentTrain builds stage two: frozen teacher and trainable student in
// one graph, L_total = w_fea * L_fea + L_o. A student with w_fea 0 does
// not mimic: it trains on L_o alone and logs no l_fea term (the control,
// see Spec.Control).
func StudentTrain(s Spec, t *Teacher) (*Built, error) {
	if s.Control && (s.WFea != 0 || s.Attention.Kind != nn.AttnNone) {
		return nil, fmt.Errorf("internal error: the control trains on L_o alone, not with w_fea %g and attention %s", s.WFea, s.Attention.Kind)
	}
	a, err := s.assemble(t, true)
	if err != nil {
		return nil, err
	}
	g := a.g
	targets := s.Net.Targets(g, s)
	lo := s.Net.Loss(g, s, a.student, targets)
	total, report, names := lo.Total, lo.Terms, lo.Names
	if s.WFea != 0 {
		lf := feaLoss(g, a.feats)
		total = g.Op(graph.OpAdd, []string{lo.Total, g.Op(graph.OpMul, []string{lf, g.Scalar(float32(s.WFea))}, nil)}, nil)
		report, names = append(slices.Clone(report), lf), append(slices.Clone(names), "l_fea")
	}
	trainable := append(slices.Clone(a.reg.Trainable), a.imported...)
	if s.StudentInit == "teacher" && t.BuiltIn {
		for _, p := range a.reg.Trainable {
			if tv, ok := g.Const(TeacherPrefix + p); ok && slices.Equal(tv.Shape, g.Shape(p)) {
				if err := g.SetInit(p, tv); err != nil {
					return nil, err
				}
			}
		}
		for _, st := range a.reg.States() {
			if tv, ok := g.Const(TeacherPrefix + st.Name); ok {
				if err := g.SetInit(st.Name, tv); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := g.Err(); err != nil {
		return nil, err
	}
	return &Built{Spec: &train.Spec{Graph: g, Batch: append([]string{a.input}, targets...), Loss: total,
		Report: report, Trainable: trainable, States: a.reg.States()}, Terms: names}, nil
}

// StudentEval builds the evaluation graph with the trained student
// values applied: the baseline's per-sample outputs of teacher and student
// (Net.Scores) and the per-sample feature inconsistency S_fea (OutFea).
// It returns the graph and its inputs, the data input first.
func StudentEval(s Spec, t *Teacher, state map[string][]float32) (*graph.Graph, []string, error) {
	a, err := s.assemble(t, false)
	if err != nil {
		return nil, nil, err
	}
	g := a.g
	if _, err := train.ApplyState(g, state); err != nil {
		return nil, nil, err
	}
	ins, outs, err := s.Net.Scores(g, s, &a.teacher, &a.student)
	if err != nil {
		return nil, nil, err
	}
	var fea []string
	for _, f := range a.feats {
		fea = append(fea, perSampleMSE(g, f[1], f[0]))
	}
	total := fea[0]
	if len(fea) > 1 {
		total = g.Op(graph.OpSum, fea, nil)
	}
	outs = append(outs, Rename(g, total, OutFea))
	return finishEval(g, append([]string{a.input}, ins...), outs)
}

// TeacherEval builds the evaluation graph of a teacher alone: the
// baseline's per-sample teacher outputs, for teachers scored without a
// student (imported ones, say).
func TeacherEval(s Spec, t *Teacher) (*graph.Graph, []string, error) {
	g := graph.New(s.Net.Arch() + "-teacher-eval")
	g.Merge(t.prefixed())
	f := Forward{}
	for _, o := range t.Outputs {
		f.Outputs = append(f.Outputs, TeacherPrefix+o)
	}
	ins, outs, err := s.Net.Scores(g, s, &f, nil)
	if err != nil {
		return nil, nil, err
	}
	return finishEval(g, append([]string{t.Input}, ins...), outs)
}

func finishEval(g *graph.Graph, ins, outs []string) (*graph.Graph, []string, error) {
	g.SetOutputs(outs...)
	g.Prune()
	if err := g.Err(); err != nil {
		return nil, nil, err
	}
	return g, ins, nil
}

// Rename gives tensor t the graph-level name name, through an Identity.
func Rename(g *graph.Graph, t, name string) string {
	g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: name, Inputs: []string{t}, Outputs: []string{name}})
	return name
}

// PerSampleMSE is mean((a-b)^2) over all but the batch axis: shape [N].
func PerSampleMSE(g *graph.Graph, a, b string) string { return perSampleMSE(g, a, b) }

// ErrorMap is the per-pixel error map of a reconstruction or prediction
// a of b ([N, C, H, W]): the squared error averaged over channels,
// [N, H, W]. Its mean over the pixels is PerSampleMSE, so a map and the
// per-sample error it belongs to agree.
func ErrorMap(g *graph.Graph, a, b string) string {
	d := g.Op(graph.OpSub, []string{a, b}, nil)
	return g.Op(graph.OpReduceMean, []string{g.Op(graph.OpMul, []string{d, d}, nil)}, graph.Attrs{"axes": []int64{1}, "keepdims": int64(0)})
}

// BenchTrain builds the benchmark train step of a built-in network with
// its bench loss (Net.BenchLoss).
func BenchTrain(s Spec) (*Built, error) {
	g := graph.New(s.Net.Arch() + "-bench")
	in := s.input(g)
	b := nn.New(g, true, s.Seed)
	f := s.build(b, in, nil)
	total, batch := s.Net.BenchLoss(g, s, f, in)
	if err := g.Err(); err != nil {
		return nil, err
	}
	return &Built{Spec: &train.Spec{Graph: g, Batch: batch, Loss: total, Trainable: b.Registry().Trainable, States: b.Registry().States()}}, nil
}
