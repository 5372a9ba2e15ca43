package draem

import (
	"fmt"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/nn"
)

// Taps are the tap points of DRAEM's reconstructive subnetwork:
// encoder = output of its third encoder block, bottleneck = encoder
// output, decoder = output of its second decoder stage.
var Taps = []string{"encoder", "bottleneck", "decoder"}

// Config sizes DRAEM.
type Config struct {
	Width float64
}

// Build builds both subnetworks: image -> reconstruction, and
// (reconstruction ++ image) -> 2-channel mask logits.
func Build(b *nn.Builder, image string, c Config, hook arch.Tap) (recon, logits string) {
	w := c.Width
	block := func(s *nn.Builder, x, name string, mid, out int) string {
		s = s.Scope(name)
		x = s.ConvBNRelu(x, "c1", mid)
		return s.ConvBNRelu(x, "c2", out)
	}
	// Reconstructive subnetwork, base width 128.
	r := b.Scope("rec")
	base := arch.Scale(128, w)
	encOut := []int{base, 2 * base, 4 * base, 8 * base, 8 * base}
	x := image
	for i, o := range encOut {
		if i > 0 {
			x = r.MaxPool2(x)
		}
		x = block(r, x, fmt.Sprintf("enc%d", i+1), o, o)
		if i == 2 {
			x = arch.TapAt(r, "encoder", x, hook)
		}
	}
	x = arch.TapAt(r, "bottleneck", x, hook)
	decIO := [][2]int{{8 * base, 4 * base}, {4 * base, 2 * base}, {2 * base, base}, {base, base}}
	for i, io := range decIO {
		s := r.Scope(fmt.Sprintf("dec%d", i+1))
		x = s.ConvBNRelu(s.Upsample2(x), "up", io[0])
		x = block(s, x, "db", io[0], io[1])
		if i == 1 {
			x = arch.TapAt(r, "decoder", x, hook)
		}
	}
	recon = r.Conv2D(x, "out", 3, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})

	// Discriminative subnetwork, base width 64, U-Net.
	d := b.Scope("disc")
	db := arch.Scale(64, w)
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
