package mnad

import (
	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/nn"
)

// Taps are the tap points of the MNAD predictor, shallow to deep:
// encoder = output of the third encoder block (the last skip), bottleneck
// = encoder output, decoder = output of the decoder's first block after
// the first up-sampling and skip concatenation.
var Taps = []string{"encoder", "bottleneck", "decoder"}

// Config sizes the predictor.
type Config struct {
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

// Net is what Build built.
type Net struct {
	// Prediction is the next frame in [-1, 1].
	Prediction string
	// Memory is the memory module, nil without one.
	Memory *nn.Memory
}

// Build builds MNAD's prediction network, T frames stacked on channels
// -> the next frame in [-1, 1], and returns its memory module too. The memory reads the bottleneck after its tap, so the tap stays the
// encoder output and a student's attention-refined feature is what its
// memory reads; the decoder's first block then takes twice the
// bottleneck's channels (query and read item), as in MNAD.
func Build(b *nn.Builder, frames string, c Config, hook arch.Tap) Net {
	w := c.Width
	ch := func(n int) int { return arch.Scale(n, w) }
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
	e3 = arch.TapAt(b, "encoder", e3, hook)
	bott := basic(b.MaxPool2(e3), "enc4", ch(512), true)
	bott = arch.TapAt(b, "bottleneck", bott, hook)
	var mem *nn.Memory
	if c.MemoryItems > 0 {
		mem = b.Memory(bott, "memory", c.MemoryItems)
		bott = mem.Out
	}

	d := basic(bott, "dec1", ch(512), false)
	d = basic(b.Concat(e3, up(d, "up4", ch(256))), "dec2", ch(256), false)
	d = arch.TapAt(b, "decoder", d, hook)
	d = basic(b.Concat(e2, up(d, "up3", ch(128))), "dec3", ch(128), false)
	d = b.Concat(e1, up(d, "up2", ch(64)))
	s := b.Scope("gen")
	d = s.ConvBNRelu(d, "c1", ch(64))
	d = s.ConvBNRelu(d, "c2", ch(64))
	return Net{Prediction: b.Tanh(s.Conv2D(d, "out", c.Channels, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})), Memory: mem}
}
