// Package method assembles feature mimicking with attention: the
// teacher's training graph, the frozen teacher and its trainable student
// side by side in one train-step graph (mimicking loss and attention at the
// taps), and the evaluation graph that yields per-sample scores. Teachers
// are either built-in baselines (internal/arch) or ONNX files users
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
	"github.com/fmam/fmam/internal/nn"
)

// Spec is what the graphs are built for.
type Spec struct {
	Task  string // video | image
	Arch  string // mnad | draem
	Width float64
	Init  nn.Init
	Seed  uint64
	Batch int
	// Size is the input height and width; Frames and Channels shape video
	// clips (input has Frames*Channels channels).
	Size, Frames, Channels int
	Taps                   []string
	Attention              nn.AttentionConfig
	WFea                   float64
	StudentInit            string
	Mimic                  Mimic
	// Memory switches on MNAD's memory module (arch.MemoryItems items) in
	// the built-in MNAD, for teacher and student alike.
	Memory bool
}

// Mimic is the optional teacher pre-training against a frozen backbone.
type Mimic struct {
	Backbone *graph.Graph // imported, any batch
	Layer    string
	Weight   float64
}

// Tensor names of the graphs' data inputs.
const (
	InFrames = "frames"
	InTarget = "target"
	InImage  = "image"
	InClean  = "clean"
	InMask   = "mask"
)

// Outputs of evaluation graphs, one value per sample or map.
const (
	OutTeacherErr = "t_err" // video: per-sample MSE of the teacher's prediction
	OutStudentErr = "s_err"
	OutTeacherMap = "t_map" // image: per-pixel anomaly map
	OutStudentMap = "s_map"
	OutFea        = "s_fea" // mean squared feature inconsistency over taps
	// With memory (video): per-sample mean squared distance between the
	// queries and their nearest memory items, MNAD's feature distance.
	OutTeacherMem = "t_mem"
	OutStudentMem = "s_mem"
)

// metaMemory records in an exported built-in teacher how many memory
// items it has.
const metaMemory = "fmam.memory"

// checkMemory refuses the memory module where MNAD has none.
func (s Spec) checkMemory() error {
	if s.Memory && (s.Task != "video" || s.Arch != "mnad") {
		return fmt.Errorf("model.memory is MNAD's memory module: it needs task video and arch mnad (this run is %s with %s); set model.memory: false", s.Task, s.Arch)
	}
	return nil
}

func (s Spec) memoryItems() int {
	if s.Memory {
		return arch.MemoryItems
	}
	return 0
}

func (s Spec) inputShape() graph.Shape {
	c := s.Channels
	if s.Task == "video" {
		c = s.Frames * s.Channels
	}
	return graph.Shape{int64(s.Batch), int64(c), int64(s.Size), int64(s.Size)}
}

func (s Spec) imageShape(c int) graph.Shape {
	return graph.Shape{int64(s.Batch), int64(c), int64(s.Size), int64(s.Size)}
}

// InputName is the data input of the baseline.
func (s Spec) InputName() string {
	if s.Task == "video" {
		return InFrames
	}
	return InImage
}

// knownTaps lists the built-in architecture's taps.
func (s Spec) knownTaps() []string {
	if s.Arch == "draem" {
		return arch.DRAEMTaps
	}
	return arch.MNADTaps
}

// build runs the built-in architecture; outputs are the baseline's, mem
// its memory module (nil without).
func (s Spec) build(b *nn.Builder, input string, hook arch.Tap) (outs []string, mem *nn.Memory) {
	b.Init = s.Init
	switch s.Arch {
	case "draem":
		r, l := arch.DRAEM(b, input, arch.DRAEMConfig{Width: s.Width}, hook)
		return []string{r, l}, nil
	default:
		o := arch.MNADNet(b, input, arch.MNADConfig{Width: s.Width, Frames: s.Frames, Channels: s.Channels, MemoryItems: s.memoryItems()}, hook)
		return []string{o.Prediction}, o.Memory
	}
}

// outputNames are the exported baseline's output names.
func (s Spec) outputNames() []string {
	if s.Arch == "draem" {
		return []string{"reconstruction", "mask_logits"}
	}
	return []string{"prediction"}
}

// Built-in graphs name their outputs like the shared exports do, through
// an Identity, so built-in and imported teachers look alike.
func nameOutputs(g *graph.Graph, outs, names []string) []string {
	var res []string
	for i, o := range outs {
		g.AddNode(&graph.Node{Op: "Identity", Name: names[i], Inputs: []string{o}, Outputs: []string{names[i]}})
		res = append(res, names[i])
	}
	return res
}

// TeacherInference builds the built-in baseline for export, with trained
// values to be applied by the caller (train.ApplyState). Memory items are
// constants named as in training (arch.MemoryTensor), so the trained items
// are applied with the parameters; the memory is not updated at test time.
func TeacherInference(s Spec, batch int) (*graph.Graph, error) {
	if err := s.checkMemory(); err != nil {
		return nil, err
	}
	s.Batch = batch
	g := graph.New(s.Arch + "-teacher")
	in := g.Input(s.InputName(), graph.Float, s.inputShape())
	b := nn.New(g, false, s.Seed)
	built, _ := s.build(b, in, nil)
	outs := nameOutputs(g, built, s.outputNames())
	g.Output(outs...)
	g.DynamicBatch = true
	g.SetMeta("fmam.arch", s.Arch)
	g.SetMeta("fmam.taps", strings.Join(s.knownTaps(), ","))
	if s.Memory {
		g.SetMeta(metaMemory, strconv.Itoa(arch.MemoryItems))
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
	if err := s.checkMemory(); err != nil {
		return nil, err
	}
	g, err := graph.LoadFile(path, graph.ImportOptions{Batch: int64(s.Batch)})
	if err != nil {
		return nil, err
	}
	t := &Teacher{Orig: g, Outputs: slices.Clone(g.Outputs), TapTensors: map[string]string{}}
	if len(g.Inputs) != 1 {
		return nil, fmt.Errorf("teacher %s has %d inputs %v; fmam needs one image or clip input", path, len(g.Inputs), g.Inputs)
	}
	t.Input = g.Inputs[0]
	want := s.inputShape()
	if got := g.Shape(t.Input); !slices.Equal(got, want) {
		return nil, fmt.Errorf("teacher %s expects input %q of shape %v but the data gives %v (batch, frames x channels, size, size): set data.size, data.frames and data.channels to match the teacher", path, t.Input, got, want)
	}
	wantOuts := 1
	if s.Task == "image" {
		wantOuts = 2
	}
	if len(t.Outputs) != wantOuts {
		return nil, fmt.Errorf("teacher %s has outputs %v; a %s baseline needs %d (%s)", path, t.Outputs, s.Task, wantOuts, strings.Join(s.outputNames(), ", "))
	}
	if g.Meta("fmam.arch") != "" {
		t.BuiltIn = true
		if g.Meta("fmam.arch") != s.Arch {
			return nil, fmt.Errorf("teacher %s is a %s network, the config asks for %s", path, g.Meta("fmam.arch"), s.Arch)
		}
	}
	if err := t.checkMemory(path, s); err != nil {
		return nil, err
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

// checkMemory matches the teacher's memory module with the config's: a
// student with memory needs a built-in teacher that has one (its scores
// use the teacher's feature distance), and the other way round.
func (t *Teacher) checkMemory(path string, s Spec) error {
	has := t.Orig.Meta(metaMemory) != ""
	switch {
	case s.Memory && !t.BuiltIn:
		return fmt.Errorf("model.memory: teacher %s is an imported ONNX model, which carries no memory module; leave model.teacher empty so fmam trains an MNAD teacher with memory, or set model.memory: false", path)
	case s.Memory && !has:
		return fmt.Errorf("model.memory: teacher %s was trained without memory; train a new teacher (a new run folder) or set model.memory: false", path)
	case !s.Memory && has:
		return fmt.Errorf("teacher %s has a memory module but model.memory is false; set model.memory: true", path)
	}
	if has {
		for _, n := range []string{arch.MemoryQuery, arch.MemoryTensor} {
			if !t.Orig.Has(n) {
				return fmt.Errorf("teacher %s says it has a memory but has no tensor %s; export it again", path, n)
			}
		}
	}
	return nil
}

func (t *Teacher) resolveTap(tap string, s Spec) (string, error) {
	g := t.Orig
	if t.BuiltIn {
		if err := arch.CheckTaps([]string{tap}, s.knownTaps()); err != nil {
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
		if n.Op == "Conv" {
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
			if n.Op == "Conv" {
				for _, c := range cons[o] {
					if c.Op == "Conv" {
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
