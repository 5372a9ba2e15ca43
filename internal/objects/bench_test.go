package objects

import (
	"math/rand/v2"
	"testing"

	"github.com/fmam/fmam/internal/imageio"
)

// One Ped2-sized cube: 7 RGB frames of 360x240, a 20x40 px box, 64x64.
func BenchmarkCubeROIAlign(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	img := imageio.Image{C: 3, H: 240, W: 360, Pix: make([]float32, 3*240*360)}
	for i := range img.Pix {
		img.Pix[i] = rng.Float32()
	}
	cfg := CubeConfig{T: 7, Size: 64}
	cube := make([]float32, cfg.Len())
	box := Box{X1: 100.3, Y1: 120.7, X2: 120.9, Y2: 161.2}
	plane := cfg.Size * cfg.Size
	for b.Loop() {
		for t := range cfg.T {
			roiAlign(cube[t*plane:], cfg.T*plane, img, box, cfg.Size, 0, false)
		}
	}
}

// The foreground detector on one 360x240 frame with a moving blob.
func BenchmarkForegroundFrame(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	frames := make([]imageio.Image, 3)
	for k := range frames {
		frames[k] = imageio.Image{C: 1, H: 240, W: 360, Pix: make([]float32, 240*360)}
		for i := range frames[k].Pix {
			frames[k].Pix[i] = rng.Float32() * 0.05
		}
		for y := 100; y < 140; y++ {
			for x := 50 + 5*k; x < 70+5*k; x++ {
				frames[k].Pix[y*360+x] = 0.5 + rng.Float32()*0.5
			}
		}
	}
	f, _ := NewForeground(DefaultForegroundConfig())
	for b.Loop() {
		f.FrameBoxes(&frames[0], &frames[1], &frames[2])
	}
}
