// Package method assembles feature mimicking with attention: the
// teacher's training graph, the frozen teacher and its trainable student
// side by side in one train-step graph (mimicking loss and attention at the
// taps), and the evaluation graph that yields per-sample scores. Teachers
// are either built-in baselines (internal/baseline/...) or ONNX files users
// exported from their own framework.
package method

import (
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/membudget"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/rng"
)

// Spec is what the graphs are built for.
type Spec struct {
	// Net is the baseline's network.
	Net   Net
	Width float64
	Init  nn.Init
	Seed  uint64
	Batch int
	// Size is the input height and width; Frames and Channels shape video
	// clips and object cubes (Frames frames of Channels channels).
	Size, Frames, Channels int
	Taps                   []string
	Attention              nn.AttentionConfig
	WFea                   float64
	StudentInit            string
	// Control marks the control student: the student network trained on
	// L_o alone (WFea 0, attention none) from the control's random streams
	// (rng.Control), beside the student that mimics.
	Control bool
	Mimic   Mimic
	// Memory switches on MNAD's memory module in the built-in MNAD, for
	// teacher and student alike; other networks refuse it.
	Memory bool
	// Input is the data input's format as metadata (MetaRange, MetaMean,
	// MetaStd, MetaFilter; "none" for no normalisation): exported teachers
	// record it, and a teacher fmam exported is refused when it differs.
	Input map[string]string
}

// Mimic is the optional teacher pre-training against a frozen backbone.
type Mimic struct {
	Backbone *graph.Graph // imported, any batch
	Layer    string
	Weight   float64
}

// OutFea is the evaluation graphs' per-sample feature inconsistency S_fea:
// the mean squared inconsistency, summed over taps.
const OutFea = "s_fea"

// Per-pixel anomaly maps of the evaluation graphs that have them ([N, H,
// W]): the teacher's and the student's. `fmam predict` writes the
// student's (the teacher's for a run without one) as maps and overlays.
const (
	OutTeacherMap = "t_map"
	OutStudentMap = "s_map"
)

// Metadata keys of the teachers fmam exports: the network, its taps, and
// the input it was trained on (shape and value format), which `fmam
// inspect` shows and LoadTeacher checks.
const (
	MetaArch     = "fmam.arch"
	MetaTaps     = "fmam.taps"
	MetaWidth    = "fmam.width"
	MetaChannels = "fmam.input.channels"
	MetaFrames   = "fmam.input.frames"
	MetaSize     = "fmam.input.size"
	MetaRange    = "fmam.input.range"
	MetaMean     = "fmam.input.mean"
	MetaStd      = "fmam.input.std"
	MetaFilter   = "fmam.input.filter"
)

// inputMetaKeys are the Spec.Input keys a teacher must agree on, with the
// config key that sets each; a filter differs only by a level here and
// there, so it is not among them.
var inputMetaKeys = []struct{ meta, key string }{{MetaRange, "data.range"}, {MetaMean, "data.mean"}, {MetaStd, "data.std"}}

// input declares the built-in network's data input.
func (s Spec) input(g *graph.Graph) string {
	return g.Input(s.Net.Input(), graph.Float, s.Net.InputShape(s))
}

// Built-in graphs name their outputs like the shared exports do, through
// an Identity, so built-in and imported teachers look alike.
func nameOutputs(g *graph.Graph, outs, names []string) []string {
	var res []string
	for i, o := range outs {
		g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: names[i], Inputs: []string{o}, Outputs: []string{names[i]}})
		res = append(res, names[i])
	}
	return res
}

// build runs the built-in network with the spec's initialisation.
func (s Spec) build(b *nn.Builder, input string, hook arch.Tap) Forward {
	b.Init = s.Init
	return s.Net.Build(b, s, input, hook)
}

// TeacherInference builds the built-in baseline for export, with trained
// values to be applied by the caller (train.ApplyState). States such as
// MNAD's memory items are constants named as in training, so the trained
// values are applied with the parameters.
func TeacherInference(s Spec, batch int) (*graph.Graph, error) {
	if err := s.Net.Check(s); err != nil {
		return nil, err
	}
	s.Batch = batch
	g := graph.New(s.Net.Arch() + "-teacher")
	in := s.input(g)
	b := nn.New(g, false, s.Seed)
	f := s.build(b, in, nil)
	outs := nameOutputs(g, f.Outputs, s.Net.Outputs())
	g.Output(outs...)
	g.DynamicBatch = true
	g.SetMeta(MetaArch, s.Net.Arch())
	g.SetMeta(MetaTaps, strings.Join(s.Net.Taps(), ","))
	g.SetMeta(MetaWidth, strconv.FormatFloat(s.Width, 'g', -1, 64))
	g.SetMeta(MetaChannels, strconv.Itoa(s.Channels))
	g.SetMeta(MetaFrames, strconv.Itoa(s.Frames))
	g.SetMeta(MetaSize, strconv.Itoa(s.Size))
	for k, v := range s.Input {
		g.SetMeta(k, v)
	}
	for k, v := range s.Net.TeacherMeta(s) {
		g.SetMeta(k, v)
	}
	return g, g.Err()
}

// Teacher is a frozen teacher network ready to be merged into a student's
// graph: its tensors carry the "teacher/" prefix except the data input.
type Teacher struct {
	// Orig is the model as imported (no prefix); a student of an imported
	// teacher is cloned from it.
	Orig *graph.Graph
	// Input is the data input name; Outputs the baseline outputs.
	Input   string
	Outputs []string
	// TapTensors maps each tap to its tensor name in Orig.
	TapTensors map[string]string
	// BuiltIn is set for teachers fmam trained (arch known).
	BuiltIn bool
}

// TeacherPrefix marks the frozen teacher's tensors in merged graphs.
const TeacherPrefix = "teacher/"

// LoadTeacher imports a teacher ONNX file for batch size s.Batch and
// resolves the taps: built-in tap names for fmam's own exports, or tensor
// names ("bottleneck" is found automatically) for user models.
func LoadTeacher(path string, s Spec, log *slog.Logger) (*Teacher, error) {
	if err := s.Net.Check(s); err != nil {
		return nil, err
	}
	g, err := graph.LoadFile(path, graph.ImportOptions{Batch: int64(s.Batch)})
	if err != nil {
		return nil, err
	}
	t := &Teacher{Orig: g, Outputs: slices.Clone(g.Outputs), TapTensors: map[string]string{}}
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("teacher %s has %d inputs %v; fmam needs one image, clip or cube input", path, len(g.Inputs), g.Inputs)
	}
	t.Input = g.Inputs[0]
	if err := checkInputShape(path, t.Input, g.Shape(t.Input), s); err != nil {
		return nil, err
	}
	if names := s.Net.Outputs(); len(t.Outputs) != len(names) {
		return nil, fmt.Errorf("teacher %s has outputs %v; a %s teacher needs %d (%s)", path, t.Outputs, s.Net.Arch(), len(names), strings.Join(names, ", "))
	}
	if a := g.Meta(MetaArch); a != "" {
		t.BuiltIn = true
		if a != s.Net.Arch() {
			return nil, fmt.Errorf("teacher %s is a %s network, the config asks for %s", path, a, s.Net.Arch())
		}
		if err := checkInputMeta(path, g, s, log); err != nil {
			return nil, err
		}
	} else if log != nil && !slices.ContainsFunc(inputMetaKeys, func(k struct{ meta, key string }) bool { return g.Meta(k.meta) != "" }) {
		// Nothing says what the network was trained on: a wrong range
		// scores noise without any error.
		log.Warn("the teacher records no input format; its input is assumed to be what the config gives: set data.range, data.mean and data.std to its training code's normalisation",
			"teacher", path, "data.range", s.Input[MetaRange], "data.mean", s.Input[MetaMean], "data.std", s.Input[MetaStd])
	}
	if err := s.Net.CheckTeacher(t, s); err != nil {
		return nil, fmt.Errorf("teacher %s: %w", path, err)
	}
	for _, tap := range s.Taps {
		name, err := t.resolveTap(tap, s)
		if err != nil {
			return nil, fmt.Errorf("teacher %s: %w", path, err)
		}
		t.TapTensors[tap] = name
		if log != nil {
			log.Debug("tap", "name", tap, "tensor", name, "shape", g.Shape(name))
		}
	}
	return t, nil
}

// checkInputShape compares a teacher's input shape with the data's and
// says which config key to change.
func checkInputShape(path, input string, got graph.Shape, s Spec) error {
	want := s.Net.InputShape(s)
	if slices.Equal(got, want) {
		return nil
	}
	if len(got) != len(want) {
		return fmt.Errorf("teacher %s expects input %q of shape %v, a %d-D tensor, but a %s input is %d-D %v", path, input, got, len(got), s.Net.Arch(), len(want), want)
	}
	var why []string
	if got[1] != want[1] {
		// A clip stacks its frames on the channel axis.
		if s.Frames > 1 && want[1] == int64(s.Frames*s.Channels) {
			hint := ""
			if c := got[1] / int64(s.Frames); got[1]%int64(s.Frames) == 0 && (c == 1 || c == 3) {
				hint = fmt.Sprintf("; with data.frames %d that is data.channels: %d", s.Frames, c)
			} else {
				hint = "; " + stackHint(got[1], s.Frames)
			}
			why = append(why, fmt.Sprintf("data.channels %d x data.frames %d gives %d input channels, the teacher takes %d%s", s.Channels, s.Frames, want[1], got[1], hint))
		} else {
			why = append(why, fmt.Sprintf("data.channels: the data gives %d channels, the teacher takes %d", want[1], got[1]))
		}
	}
	for i := 2; i < len(got); i++ {
		if got[i] != want[i] {
			hint := fmt.Sprintf("set data.size: %d", got[i])
			if got[i] < 16 || got[i]%16 != 0 {
				hint = fmt.Sprintf("fmam's data.size is a multiple of 16, so export the teacher at one, e.g. %d", max(16, (got[i]+8)/16*16))
			} else if big := tooBig(s, int(got[i])); big != "" {
				hint = fmt.Sprintf("data.size %d would need %s; export the teacher at the data's size, data.size %d", got[i], big, s.Size)
			}
			why = append(why, fmt.Sprintf("data.size %d: the teacher takes %v images (%s)", s.Size, got[2:], hint))
			break
		}
	}
	if len(why) == 0 {
		why = append(why, fmt.Sprintf("the data gives %v", want))
	}
	return fmt.Errorf("teacher %s expects input %q of shape %v: %s", path, input, got, strings.Join(why, "; "))
}

// stackHint says which data.channels (1 or 3) and data.frames stack to
// a teacher's n input channels, or that none do.
func stackHint(n int64, frames int) string {
	var alt []string
	for _, c := range []int64{1, 3} {
		if n%c == 0 && n/c >= 1 {
			alt = append(alt, fmt.Sprintf("data.channels: %d with data.frames: %d", c, n/c))
		}
	}
	if len(alt) == 0 {
		return fmt.Sprintf("no data.channels (1 or 3) at data.frames %d gives %d; export the teacher for the data's channels", frames, n)
	}
	return "that is " + strings.Join(alt, " or ")
}

// tooBig says how much memory the network needs at data.size size when
// that is more than the machine has ("" when it fits or cannot be told),
// so that a shape mismatch never advises a size that cannot run.
func tooBig(s Spec, size int) string {
	s.Size = size
	est, ok := EstimateMemory(s, s.Batch)
	if !ok {
		return ""
	}
	b, ok := membudget.Read(membudget.System)
	if !ok || est.Bytes <= b.Bytes {
		return ""
	}
	return fmt.Sprintf("about %s for the %s, more than the machine's %s", membudget.GiB(est.Bytes), est.Stage, b)
}

// checkInputMeta refuses a teacher fmam exported whose recorded input
// format differs from the config's: a network fed values in another range
// sees noise.
func checkInputMeta(path string, g *graph.Graph, s Spec, log *slog.Logger) error {
	var why []string
	for _, k := range inputMetaKeys {
		if !slices.Contains(g.MetaKeys(), k.meta) {
			continue // exported before the key existed
		}
		if had, now := g.Meta(k.meta), s.Input[k.meta]; had != now {
			why = append(why, fmt.Sprintf("%s: the teacher was trained with %s, the config gives %s", k.key, had, now))
		}
	}
	if len(why) > 0 {
		return fmt.Errorf("teacher %s: %s", path, strings.Join(why, "; "))
	}
	if had := g.Meta(MetaFilter); had != "" && had != s.Input[MetaFilter] && log != nil {
		log.Warn("the teacher was trained with another resize filter (data.filter)", "teacher", path, "trained", had, "now", s.Input[MetaFilter])
	}
	return nil
}

func (t *Teacher) resolveTap(tap string, s Spec) (string, error) {
	g := t.Orig
	if t.BuiltIn {
		if err := arch.CheckTaps([]string{tap}, s.Net.Taps()); err != nil {
			return "", err
		}
		for _, name := range g.TensorNames() {
			if name == arch.TapName(tap) || strings.HasSuffix(name, "."+arch.TapName(tap)) {
				return name, nil
			}
		}
		return "", fmt.Errorf("tap %q not found in the exported teacher", tap)
	}
	if g.Has(tap) && g.Producer(tap) != nil {
		if len(g.Shape(tap)) != 4 {
			return "", fmt.Errorf("tap tensor %q has shape %v; attention needs a 4-D feature map [N,C,H,W]", tap, g.Shape(tap))
		}
		return tap, nil
	}
	if tap == "bottleneck" {
		if b := FindBottleneck(g, t.Outputs[0]); b != "" {
			return b, nil
		}
		return "", fmt.Errorf("could not find the bottleneck automatically; name the tensor with model.taps (see 'fmam inspect' or Netron)")
	}
	return "", fmt.Errorf("tap %q is not a tensor of the teacher; give a tensor name produced by a node (such as %q), or bottleneck", tap, sampleTensor(g))
}

func sampleTensor(g *graph.Graph) string {
	for _, n := range g.Nodes {
		if n.Op == graph.OpConv {
			return n.Outputs[0]
		}
	}
	return ""
}

// FindBottleneck guesses the bottleneck of an encoder-decoder: among the
// 4-D tensors the first output depends on, those with the smallest spatial
// size; the first Conv output there that feeds another Conv directly (a
// linear bottleneck, as MNAD's), else the last tensor of the first run of
// that size before the decoder starts growing it again.
func FindBottleneck(g *graph.Graph, output string) string {
	anc := g.Ancestors(output)
	minHW := int64(-1)
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			s := g.Shape(o)
			if anc[o] && len(s) == 4 && g.DType(o) == graph.Float {
				if hw := s[2] * s[3]; minHW < 0 || hw < minHW {
					minHW = hw
				}
			}
		}
	}
	if minHW < 0 {
		return ""
	}
	cons := g.Consumers()
	var run []string
	for _, n := range g.Nodes {
		o := n.Outputs[0]
		s := g.Shape(o)
		if !anc[o] || len(s) != 4 {
			continue
		}
		if s[2]*s[3] == minHW {
			if n.Op == graph.OpConv {
				for _, c := range cons[o] {
					if c.Op == graph.OpConv {
						return o
					}
				}
			}
			run = append(run, o)
		} else if len(run) > 0 {
			break
		}
	}
	if len(run) == 0 {
		return ""
	}
	return run[len(run)-1]
}

// prefixed returns the teacher graph renamed for merging.
func (t *Teacher) prefixed() *graph.Graph {
	return t.Orig.Rename(TeacherPrefix, t.Input)
}

// StudentStage is the stage whose random streams the student of s draws
// from: the control's or the student's.
func (s Spec) StudentStage() rng.Stage {
	if s.Control {
		return rng.Control
	}
	return rng.Student
}
