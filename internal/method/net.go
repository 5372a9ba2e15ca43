package method

import (
	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
)

// Net is what a baseline tells the method about its network, in four
// parts: the network itself (Network), what it is trained and scored
// against (Objective), how its teachers are exported and checked
// (TeacherFormat), and what `fmam bench` times (Bench). The method does the
// rest (teacher training and export, the frozen teacher beside its student
// with mimicking and attention at the taps, the evaluation graph) the same
// way for every baseline.
type Net interface {
	Network
	Objective
	TeacherFormat
	Bench
}

// Network is the built-in network: its name, its input, its taps and how
// it is appended to a graph.
type Network interface {
	// Arch names the network in config (model.arch) and in the metadata of
	// the teachers fmam exports.
	Arch() string
	// Taps lists the built-in network's tap points, shallow to deep.
	Taps() []string
	// Check refuses settings the network cannot build.
	Check(s Spec) error
	// Input names the built-in network's data input; InputShape is its
	// shape at batch size s.Batch.
	Input() string
	InputShape(s Spec) graph.Shape
	// Outputs names the exported network's outputs, in Build's order.
	Outputs() []string
	// Build appends the network reading input and calls hook at every tap
	// (arch.TapAt).
	Build(b *nn.Builder, s Spec, input string, hook arch.Tap) Forward
}

// Objective is what a forward pass is trained and scored against: the
// baseline's own loss L_o and the per-sample outputs scoring needs.
type Objective interface {
	// Targets declares the graph inputs L_o is computed against.
	Targets(g *graph.Graph, s Spec) []string
	// Loss is L_o of one forward pass.
	Loss(g *graph.Graph, s Spec, f Forward, targets []string) Loss
	// Scores adds the evaluation graph's outputs, one value (or map) per
	// sample, from the frozen teacher's forward pass and the student's
	// (nil when the teacher is scored alone). It returns the inputs it
	// declared besides the data input, and the outputs.
	Scores(g *graph.Graph, s Spec, teacher, student *Forward) (inputs, outputs []string, err error)
}

// TeacherFormat is what a baseline adds to the teachers fmam exports and
// imports.
type TeacherFormat interface {
	// MimicImage is what the teacher pre-training's ImageNet backbone
	// sees of an input: [N, 1 or 3, H, W] in [0, 1].
	MimicImage(g *graph.Graph, s Spec, input string) string
	// TeacherMeta is metadata written into exported built-in teachers;
	// CheckTeacher compares an imported teacher (built-in tells whether
	// fmam wrote it) with the settings.
	TeacherMeta(s Spec) map[string]string
	CheckTeacher(t *Teacher, s Spec) error
}

// Bench is what `fmam bench` builds and times, the same as the PyTorch
// reference script does (scripts/bench_torch.py).
type Bench interface {
	// BenchShape is the frames and channels of the bench's input
	// (Spec.Frames and Spec.Channels).
	BenchShape() (frames, channels int)
	// BenchLoss is the loss the bench times; it declares its own target
	// inputs and returns them after the data input.
	BenchLoss(g *graph.Graph, s Spec, f Forward, input string) (loss string, batch []string)
}

// Forward is one pass of a network through a graph.
type Forward struct {
	// Outputs are the network's outputs, in Network.Outputs' order.
	Outputs []string
	// Extra is what else a network hands to its own Loss and Scores (MNAD's
	// memory module); nil for most.
	Extra any
}

// Loss is a baseline loss: the total and the unweighted terms that are
// logged, with their log names.
type Loss struct {
	Total string
	Terms []string
	Names []string
}
