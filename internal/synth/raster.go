package synth

import (
	"hash/fnv"
	"image"
	"math"
	"math/rand/v2"
)

// raster is an 8-bit image with c interleaved channels (1: gray, 3: RGB).
// The generators draw in 8 bits so that "changed" means what a PNG reader
// will see.
type raster struct {
	c, h, w int
	pix     []uint8
}

func newRaster(c, h, w int) *raster {
	return &raster{c: c, h: h, w: w, pix: make([]uint8, c*h*w)}
}

// pixel returns the channels of pixel i (y*w+x).
func (r *raster) pixel(i int) []uint8 { return r.pix[i*r.c : (i+1)*r.c] }

// luma is the BT.601 luma of pixel i, in 0..255.
func (r *raster) luma(i int) float64 {
	p := r.pixel(i)
	if r.c == 1 {
		return float64(p[0])
	}
	return 0.299*float64(p[0]) + 0.587*float64(p[1]) + 0.114*float64(p[2])
}

// paint sets pixel i to col and marks it in mask. If col equals what is
// there already, every channel is pushed 40 levels towards the far end of
// the range, so that a marked pixel is always a changed pixel.
func (r *raster) paint(i int, col []uint8, mask []bool) {
	p := r.pixel(i)
	same := true
	for k := range p {
		same = same && p[k] == col[k]
	}
	copy(p, col)
	if same {
		for k := range p {
			if p[k] < 128 {
				p[k] += 40
			} else {
				p[k] -= 40
			}
		}
	}
	mask[i] = true
}

// image returns r as *image.Gray or opaque *image.NRGBA; the PNG encoder
// writes them as 8-bit gray and 8-bit RGB.
func (r *raster) image() image.Image {
	rect := image.Rect(0, 0, r.w, r.h)
	if r.c == 1 {
		g := image.NewGray(rect)
		copy(g.Pix, r.pix)
		return g
	}
	m := image.NewNRGBA(rect)
	for i := range r.h * r.w {
		copy(m.Pix[4*i:4*i+3], r.pixel(i))
		m.Pix[4*i+3] = 255
	}
	return m
}

// maskImage renders a pixel mask as 0/255 gray, the ground-truth format of
// MVTec AD and UCSD Ped2.
func maskImage(mask []bool, h, w int) *image.Gray {
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i, on := range mask {
		if on {
			g.Pix[i] = 255
		}
	}
	return g
}

// byte8 rounds and clamps v to 0..255.
func byte8(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}

// streamRNG returns a generator for one named item (an image, a video, a
// frame) of a dataset: seeded by the dataset seed and a hash of the name, so
// every item's randomness is independent of how many other items there are
// and of the order they are made in.
func streamRNG(seed uint64, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}
