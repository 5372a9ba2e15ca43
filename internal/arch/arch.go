// Package arch holds the built-in baseline networks (MNAD's frame
// predictor, DRAEM's reconstructive and discriminative subnetworks) built
// on internal/nn, with named tap points where feature mimicking attaches.
package arch

import (
	"fmt"
	"math"
	"slices"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
)

// Tap is called at each named tap point with the feature there; it returns
// the tensor the rest of the network continues with (the feature itself,
// or the attention-refined one in a student).
type Tap func(name, feature string) string

// TapName is the tensor name a tap's feature gets, so an exported model's
// taps can be found again by name.
func TapName(tap string) string { return "tap." + tap }

// tapAt names the feature (an Identity to a fixed name) and calls the hook.
func tapAt(b *nn.Builder, name, x string, hook Tap) string {
	g := b.G
	named := b.Name(TapName(name))
	g.AddNode(&graph.Node{Op: "Identity", Name: named, Inputs: []string{x}, Outputs: []string{named}})
	if hook == nil {
		return named
	}
	return hook(name, named)
}

// Scale applies a width multiplier to a channel count.
func Scale(c int, w float64) int {
	return max(1, int(math.Round(float64(c)*w)))
}

// MNADTaps are the tap points of the MNAD predictor, shallow to deep:
// encoder = output of the third encoder block (the last skip), bottleneck
// = encoder output, decoder = output of the decoder's first block after
// the first up-sampling and skip concatenation.
var MNADTaps = []string{"encoder", "bottleneck", "decoder"}

// DRAEMTaps are the tap points of DRAEM's reconstructive subnetwork:
// encoder = output of its third encoder block, bottleneck = encoder
// output, decoder = output of its second decoder stage.
var DRAEMTaps = []string{"encoder", "bottleneck", "decoder"}

// CheckTaps validates tap names against an architecture's list.
func CheckTaps(taps, known []string) error {
	if len(taps) == 0 {
		return fmt.Errorf("no tap given: use one or more of %v", known)
	}
	for _, t := range taps {
		if !slices.Contains(known, t) {
			return fmt.Errorf("unknown tap %q: use one or more of %v", t, known)
		}
	}
	return nil
}

// MNADConfig sizes the predictor.
type MNADConfig struct {
	Width    float64
	Frames   int // input frames T (4)
	Channels int // channels per frame (3)
	// MemoryItems switches on the memory module between encoder and
	// decoder with that many items (MNAD uses MemoryItems); 0 builds the
	// predictor without memory.
	MemoryItems int
}

// MemoryItems is the size of MNAD's memory (its msize default).
const MemoryItems = 10

// Names of the memory's tensors in the built-in MNAD built on an unscoped
// builder (nn.Memory under the scope "memory"): the normalised queries and
// the items.
const (
	MemoryQuery  = "memory.query"
	MemoryTensor = "memory.items"
)

// MNADOut is what MNADNet built.
type MNADOut struct {
	// Prediction is the next frame in [-1, 1].
	Prediction string
	// Memory is the memory module, nil without one.
	Memory *nn.Memory
}

// MNAD builds MNAD's prediction network: T frames stacked on channels ->
// the next frame in [-1, 1].
func MNAD(b *nn.Builder, frames string, c MNADConfig, hook Tap) string {
	return MNADNet(b, frames, c, hook).Prediction
}

// MNADNet builds MNAD's prediction network and returns its memory module
// too. The memory reads the bottleneck after its tap, so the tap stays the
// encoder output and a student's attention-refined feature is what its
// memory reads; the decoder's first block then takes twice the
// bottleneck's channels (query and read item), as in MNAD.
func MNADNet(b *nn.Builder, frames string, c MNADConfig, hook Tap) MNADOut {
	w := c.Width
	ch := func(n int) int { return Scale(n, w) }
	basic := func(x, name string, out int, last bool) string {
		s := b.Scope(name)
		x = s.ConvBNRelu(x, "c1", out)
		x = s.Conv2D(x, "c2.conv", out, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})
		if last {
			return x
		}
		return s.Relu(s.BatchNorm(x, "c2.bn"))
	}
	up := func(x, name string, out int) string {
		s := b.Scope(name)
		return s.Relu(s.BatchNorm(s.ConvTranspose2D(x, "deconv", out, nn.ConvOpts{Kernel: 3, Stride: 2, Pad: 1, OutPad: 1, Bias: true}), "bn"))
	}
	e1 := basic(frames, "enc1", ch(64), false)
	e2 := basic(b.MaxPool2(e1), "enc2", ch(128), false)
	e3 := basic(b.MaxPool2(e2), "enc3", ch(256), false)
	e3 = tapAt(b, "encoder", e3, hook)
	bott := basic(b.MaxPool2(e3), "enc4", ch(512), true)
	bott = tapAt(b, "bottleneck", bott, hook)
	var mem *nn.Memory
	if c.MemoryItems > 0 {
		mem = b.Memory(bott, "memory", c.MemoryItems)
		bott = mem.Out
	}

	d := basic(bott, "dec1", ch(512), false)
	d = basic(b.Concat(e3, up(d, "up4", ch(256))), "dec2", ch(256), false)
	d = tapAt(b, "decoder", d, hook)
	d = basic(b.Concat(e2, up(d, "up3", ch(128))), "dec3", ch(128), false)
	d = b.Concat(e1, up(d, "up2", ch(64)))
	s := b.Scope("gen")
	d = s.ConvBNRelu(d, "c1", ch(64))
	d = s.ConvBNRelu(d, "c2", ch(64))
	return MNADOut{Prediction: b.Tanh(s.Conv2D(d, "out", c.Channels, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})), Memory: mem}
}

// DRAEMConfig sizes DRAEM.
type DRAEMConfig struct {
	Width float64
}

// DRAEM builds both subnetworks: image -> reconstruction, and
// (reconstruction ++ image) -> 2-channel mask logits.
func DRAEM(b *nn.Builder, image string, c DRAEMConfig, hook Tap) (recon, logits string) {
	w := c.Width
	block := func(s *nn.Builder, x, name string, mid, out int) string {
		s = s.Scope(name)
		x = s.ConvBNRelu(x, "c1", mid)
		return s.ConvBNRelu(x, "c2", out)
	}
	// Reconstructive subnetwork, base width 128.
	r := b.Scope("rec")
	base := Scale(128, w)
	encOut := []int{base, 2 * base, 4 * base, 8 * base, 8 * base}
	x := image
	for i, o := range encOut {
		if i > 0 {
			x = r.MaxPool2(x)
		}
		x = block(r, x, fmt.Sprintf("enc%d", i+1), o, o)
		if i == 2 {
			x = tapAt(r, "encoder", x, hook)
		}
	}
	x = tapAt(r, "bottleneck", x, hook)
	decIO := [][2]int{{8 * base, 4 * base}, {4 * base, 2 * base}, {2 * base, base}, {base, base}}
	for i, io := range decIO {
		s := r.Scope(fmt.Sprintf("dec%d", i+1))
		x = s.ConvBNRelu(s.Upsample2(x), "up", io[0])
		x = block(s, x, "db", io[0], io[1])
		if i == 1 {
			x = tapAt(r, "decoder", x, hook)
		}
	}
	recon = r.Conv2D(x, "out", 3, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})

	// Discriminative subnetwork, base width 64, U-Net.
	d := b.Scope("disc")
	db := Scale(64, w)
	dOut := []int{db, 2 * db, 4 * db, 8 * db, 8 * db, 8 * db}
	y := b.Concat(recon, image)
	var skips []string
	for i, o := range dOut {
		if i > 0 {
			y = d.MaxPool2(y)
		}
		y = block(d, y, fmt.Sprintf("enc%d", i+1), o, o)
		skips = append(skips, y)
	}
	upOut := []int{8 * db, 4 * db, 2 * db, db, db}
	for i, o := range upOut {
		s := d.Scope(fmt.Sprintf("dec%d", i+1))
		u := s.ConvBNRelu(s.Upsample2(y), "up", o)
		y = block(s, s.Concat(u, skips[len(skips)-2-i]), "db", o, o)
	}
	logits = d.Conv2D(y, "out", 2, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})
	return recon, logits
}
