package method

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/train"
)

// Built is a graph with what the trainer needs to know about it.
type Built struct {
	Spec *train.Spec
	// Terms names the logged loss terms, in Spec.Report order.
	Terms []string
}

// addTargets declares the supervision inputs of the task.
func (s Spec) addTargets(g *graph.Graph) []string {
	if s.Task == "video" {
		return []string{g.Input(InTarget, graph.Float, s.imageShape(s.Channels))}
	}
	return []string{g.Input(InClean, graph.Float, s.imageShape(3)), g.Input(InMask, graph.Float, s.imageShape(1))}
}

// baselineLoss is L_o: the next-frame MSE for the predictor (plus MNAD's
// weighted compactness and separateness losses when it has a memory);
// DRAEM's L2 + SSIM + focal for the image model. It returns the total and
// the unweighted terms with their log names.
func (s Spec) baselineLoss(g *graph.Graph, outs, targets []string, mem *nn.Memory) (string, []string, []string) {
	if s.Task == "video" {
		l := mse(g, outs[0], targets[0])
		if mem == nil {
			return l, []string{l}, []string{"l_o"}
		}
		return memoryLoss(g, l, mem)
	}
	return draemLoss(g, outs, targets)
}

// TeacherTrain builds stage one: the built-in baseline trained alone on
// its own loss, optionally mimicking a frozen backbone at its bottleneck.
func TeacherTrain(s Spec) (*Built, error) {
	if err := s.checkMemory(); err != nil {
		return nil, err
	}
	g := graph.New(s.Arch + "-teacher-train")
	in := g.Input(s.InputName(), graph.Float, s.inputShape())
	targets := s.addTargets(g)
	b := nn.New(g, true, s.Seed)
	var bottleneck string
	outs, mem := s.build(b, in, func(name, f string) string {
		if name == "bottleneck" {
			bottleneck = f
		}
		return f
	})
	total, terms, names := s.baselineLoss(g, outs, targets, mem)
	if s.Mimic.Backbone != nil {
		lm, err := s.mimicLoss(g, b, in, bottleneck)
		if err != nil {
			return nil, err
		}
		w := g.Scalar(float32(s.Mimic.Weight))
		total = g.Op("Add", []string{total, g.Op("Mul", []string{lm, w}, nil)}, nil)
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
	// The frame the backbone sees: the last of the clip, from [-1,1] to [0,1], RGB.
	x := in
	if s.Task == "video" {
		c := int64(s.Channels)
		k := int64(s.Frames)
		x = g.Op("Slice", []string{in, g.Const1D((k - 1) * c), g.Const1D(k * c), g.Const1D(1)}, nil)
		x = g.Op("Mul", []string{g.Op("Add", []string{x, g.Scalar(1)}, nil), g.Scalar(0.5)}, nil)
	}
	if g.Shape(x)[1] == 1 {
		x = g.Op("Concat", []string{x, x, x}, graph.Attrs{"axis": int64(1)})
	}
	sizes := g.Const1D(int64(s.Batch), 3, bs[2], bs[3])
	x = g.Op("Resize", []string{x, "", "", sizes}, graph.Attrs{"mode": "linear"})
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
	g.AddNode(&graph.Node{Op: "Identity", Name: "backbone_in", Inputs: []string{x}, Outputs: []string{"backbone/" + bin + ".in"}})
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
	target := g.Op("Resize", []string{feat, "", "", g.Const1D(fs[0], fs[1], bshape[2], bshape[3])}, graph.Attrs{"mode": "linear"})
	adapted := b.Scope("mimic").Conv2D(bottleneck, "adapter", int(fs[1]), nn.ConvOpts{Kernel: 1, Bias: true})
	return mse(g, adapted, target), g.Err()
}

// perSampleMSE is mean((a-b)^2) over all but the batch axis: shape [N].
func perSampleMSE(g *graph.Graph, a, b string) string {
	d := g.Op("Sub", []string{a, b}, nil)
	axes := []int64{}
	for i := 1; i < g.Rank(a); i++ {
		axes = append(axes, int64(i))
	}
	return g.Op("ReduceMean", []string{g.Op("Mul", []string{d, d}, nil)}, graph.Attrs{"axes": axes, "keepdims": int64(0)})
}

// student assembles teacher and student in one graph. train selects the
// student's BatchNorm form; the teacher is always frozen in inference form.
// It returns the builder registry, the student outputs, the per-tap
// (teacher, raw student) features and the data input name.
type assembled struct {
	g        *graph.Graph
	input    string
	tOuts    []string
	sOuts    []string
	feats    [][2]string
	reg      *nn.Registry
	imported []string   // trainable parameters of an imported student
	mem      *nn.Memory // the student's memory module, nil without
}

func (s Spec) assemble(t *Teacher, trainMode bool) (*assembled, error) {
	g := graph.New(s.Arch + "-student")
	if !trainMode {
		g.Name += "-eval"
	}
	tg := t.prefixed()
	g.Merge(tg)
	a := &assembled{g: g, input: t.Input}
	for _, o := range t.Outputs {
		a.tOuts = append(a.tOuts, TeacherPrefix+o)
	}
	b := nn.New(g, trainMode, s.Seed+1)
	b.Init = s.Init
	if t.BuiltIn {
		tapped := map[string]bool{}
		a.sOuts, a.mem = s.build(b, a.input, func(name, f string) string {
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
				return nil, fmt.Errorf("tap %q was never reached while building %s", tap, s.Arch)
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
	rng := rand.New(rand.NewPCG(s.Seed+7, 11))
	for _, p := range trainable {
		if s.StudentInit != "teacher" {
			if err := sg.SetInit(p, reinit(sg, p, rng)); err != nil {
				return err
			}
		}
	}
	g.Merge(sg)
	for _, o := range t.Outputs {
		a.sOuts = append(a.sOuts, StudentPrefix+o)
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
		case "Conv", "ConvTranspose", "Gemm":
			add(n.In(1))
			add(n.In(2))
		case "MatMul":
			add(n.In(1))
		case "BatchNormalization", "InstanceNormalization":
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
			case "BatchNormalization", "InstanceNormalization":
				norm, isScale = true, i == 1
			case "Conv":
				w := g.Shape(n.In(1))
				fan = w.Size() / w[0]
			case "ConvTranspose":
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
	return g.Op("Sum", parts, nil)
}

// StudentTrain builds stage two: frozen teacher and trainable student in
// one graph, L_total = w_fea * L_fea + L_o.
func StudentTrain(s Spec, t *Teacher) (*Built, error) {
	a, err := s.assemble(t, true)
	if err != nil {
		return nil, err
	}
	g := a.g
	targets := s.addTargets(g)
	lo, terms, names := s.baselineLoss(g, a.sOuts, targets, a.mem)
	lf := feaLoss(g, a.feats)
	total := g.Op("Add", []string{lo, g.Op("Mul", []string{lf, g.Scalar(float32(s.WFea))}, nil)}, nil)
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
		Report: append(terms, lf), Trainable: trainable, States: a.reg.States()}, Terms: append(names, "l_fea")}, nil
}

// StudentEval builds the evaluation graph with the trained student
// values applied: per-sample teacher and student errors (video) or maps
// (image), and the per-sample feature inconsistency S_fea; with memory
// also the per-sample memory distances of teacher and student (t_mem,
// s_mem), which the video scores combine with the PSNR as MNAD does.
func StudentEval(s Spec, t *Teacher, state map[string][]float32) (*graph.Graph, error) {
	a, err := s.assemble(t, false)
	if err != nil {
		return nil, err
	}
	g := a.g
	if _, err := train.ApplyState(g, state); err != nil {
		return nil, err
	}
	var outs []string
	if s.Task == "video" {
		target := g.Input(InTarget, graph.Float, s.imageShape(s.Channels))
		outs = append(outs, rename(g, perSampleMSE(g, a.tOuts[0], target), OutTeacherErr), rename(g, perSampleMSE(g, a.sOuts[0], target), OutStudentErr))
	} else {
		outs = append(outs, rename(g, anomalyMap(g, a.tOuts[1]), OutTeacherMap), rename(g, anomalyMap(g, a.sOuts[1]), OutStudentMap))
	}
	var fea []string
	for _, f := range a.feats {
		fea = append(fea, perSampleMSE(g, f[1], f[0]))
	}
	total := fea[0]
	if len(fea) > 1 {
		total = g.Op("Sum", fea, nil)
	}
	outs = append(outs, rename(g, total, OutFea))
	if s.Memory {
		if a.mem == nil {
			return nil, fmt.Errorf("model.memory is set but the student has no memory module")
		}
		tq, ti := TeacherPrefix+arch.MemoryQuery, TeacherPrefix+arch.MemoryTensor
		if !g.Has(tq) || !g.Has(ti) {
			return nil, fmt.Errorf("model.memory is set but the teacher has no memory tensors %s, %s", arch.MemoryQuery, arch.MemoryTensor)
		}
		outs = append(outs, rename(g, nn.MemoryDistance(g, tq, ti), OutTeacherMem), rename(g, nn.MemoryDistance(g, a.mem.Query, a.mem.Items), OutStudentMem))
	}
	g.SetOutputs(outs...)
	g.Prune()
	return g, g.Err()
}

// anomalyMap is softmax channel 1 of DRAEM's mask logits: [N, H, W].
func anomalyMap(g *graph.Graph, logits string) string {
	sm := g.Op("Softmax", []string{logits}, graph.Attrs{"axis": int64(1)})
	ch1 := g.Op("Slice", []string{sm, g.Const1D(1), g.Const1D(2), g.Const1D(1)}, nil)
	return g.Op("Squeeze", []string{ch1, g.Const1D(1)}, nil)
}

func rename(g *graph.Graph, t, name string) string {
	g.AddNode(&graph.Node{Op: "Identity", Name: name, Inputs: []string{t}, Outputs: []string{name}})
	return name
}

// TapNames returns the taps of a built-in architecture.
func TapNames(archName string) []string {
	if archName == "draem" {
		return arch.DRAEMTaps
	}
	return arch.MNADTaps
}

// BenchTrain builds the benchmark train step of a built-in network: MNAD
// with next-frame MSE; DRAEM with MSE(reconstruction, image) plus
// cross-entropy of the mask logits against a random mask.
func BenchTrain(s Spec) (*Built, error) {
	g := graph.New(s.Arch + "-bench")
	in := g.Input(s.InputName(), graph.Float, s.inputShape())
	b := nn.New(g, true, s.Seed)
	outs, _ := s.build(b, in, nil)
	var total string
	var batch []string
	if s.Task == "video" {
		t := g.Input(InTarget, graph.Float, s.imageShape(s.Channels))
		total, batch = mse(g, outs[0], t), []string{in, t}
	} else {
		m := g.Input(InMask, graph.Float, s.imageShape(1))
		onehot := g.Op("Concat", []string{g.Op("Sub", []string{g.Scalar(1), m}, nil), m}, graph.Attrs{"axis": int64(1)})
		total = g.Op("Add", []string{mse(g, outs[0], in), crossEntropy(g, outs[1], onehot)}, nil)
		batch = []string{in, m}
	}
	if err := g.Err(); err != nil {
		return nil, err
	}
	return &Built{Spec: &train.Spec{Graph: g, Batch: batch, Loss: total, Trainable: b.Registry().Trainable, States: b.Registry().States()}}, nil
}
