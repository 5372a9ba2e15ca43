package synth

import (
	"math"
	"math/rand/v2"
)

// augmenter is one of the random image operations DRAEM applies to the
// anomaly source texture. apply works in place on a 3-channel image.
type augmenter struct {
	name  string
	apply func(m Image, rng *rand.Rand)
}

// sourceAugmenters mirrors the list in DRAEM's MVTecDRAEMTrainDataset (imgaug
// augmenters) with pure-Go equivalents; parameter ranges are the reference's.
// The set and its order are fixed because the draw of three of them indexes
// into it.
var sourceAugmenters = [...]augmenter{
	// iaa.GammaContrast((0.5, 2.0), per_channel=True)
	{"gamma_contrast", func(m Image, rng *rand.Rand) {
		g := make([]float64, m.C)
		for k := range g {
			g[k] = uniform(rng, 0.5, 2)
		}
		gammaContrast(m, g)
	}},
	// iaa.MultiplyAndAddToBrightness(mul=(0.8, 1.2), add=(-30, 30))
	{"multiply_add_brightness", func(m Image, rng *rand.Rand) {
		mul := uniform(rng, 0.8, 1.2)
		add := uniform(rng, -30, 30) / 255
		multiplyAddBrightness(m, float32(mul), float32(add))
	}},
	// iaa.pillike.EnhanceSharpness() with its default factor range (0, 2)
	{"enhance_sharpness", func(m Image, rng *rand.Rand) {
		enhanceSharpness(m, float32(uniform(rng, 0, 2)))
	}},
	// iaa.AddToHueAndSaturation((-50, 50), per_channel=True): hue and
	// saturation get independent shifts, on imgaug's 0..255 scales.
	{"add_hue_saturation", func(m Image, rng *rand.Rand) {
		dh := math.Round(uniform(rng, -50, 50))
		ds := math.Round(uniform(rng, -50, 50))
		addHueSaturation(m, dh/255, ds/255)
	}},
	// iaa.Solarize(0.5, threshold=(32, 128)): with probability 0.5, invert
	// the values at or above the threshold.
	{"solarize", func(m Image, rng *rand.Rand) {
		t := uniform(rng, 32, 128) / 255
		if rng.Float64() < 0.5 {
			solarize(m, float32(t))
		}
	}},
	// iaa.Posterize() with its default nb_bits=(1, 8)
	{"posterize", func(m Image, rng *rand.Rand) {
		posterize(m, 1+rng.IntN(8))
	}},
	// iaa.Invert() (p=1)
	{"invert", func(m Image, _ *rand.Rand) { invert(m) }},
	// iaa.pillike.Autocontrast() with its default cutoff=(0, 20) percent
	{"autocontrast", func(m Image, rng *rand.Rand) {
		autocontrast(m, rng.IntN(21))
	}},
	// iaa.pillike.Equalize()
	{"equalize", func(m Image, _ *rand.Rand) { equalize(m) }},
	// iaa.Affine(rotate=(-45, 45))
	{"affine_rotate", func(m Image, rng *rand.Rand) {
		copy(m.Pix, rotatePlanes(m.Pix, m.C, m.H, m.W, uniform(rng, -45, 45)))
	}},
}

// AugmentationNames lists the anomaly-source augmentations in the order the
// synthesizer indexes them; three distinct ones are applied per sample.
func AugmentationNames() []string {
	names := make([]string, len(sourceAugmenters))
	for i, a := range sourceAugmenters {
		names[i] = a.name
	}
	return names
}

func uniform(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

// gammaContrast maps v to v^gamma per channel. Like imgaug, which works on
// uint8 images, it maps the 8-bit level of each value through a table.
func gammaContrast(m Image, gamma []float64) {
	plane := m.H * m.W
	var lut [256]float32
	for k := range m.C {
		for l := range lut {
			lut[l] = float32(math.Pow(float64(l)/255, gamma[k]))
		}
		applyLUT8(m.Pix[k*plane:(k+1)*plane], &lut)
	}
}

// multiplyAddBrightness scales and shifts the luma Y of a YCbCr view of the
// image, keeping the chroma: in YCbCr that moves every RGB channel by the
// same amount, the change of Y. imgaug does the same through a colour space
// round trip.
func multiplyAddBrightness(m Image, mul, add float32) {
	plane := m.H * m.W
	for i := range plane {
		var y float32
		if m.C == 3 {
			y = 0.299*m.Pix[i] + 0.587*m.Pix[plane+i] + 0.114*m.Pix[2*plane+i]
		} else {
			y = m.Pix[i]
		}
		d := y*mul + add - y
		for k := range m.C {
			m.Pix[k*plane+i] = clamp01(m.Pix[k*plane+i] + d)
		}
	}
}

// enhanceSharpness is PIL's ImageEnhance.Sharpness: blend between the image
// smoothed with PIL's SMOOTH kernel (1 1 1 / 1 5 1 / 1 1 1, /13; border
// pixels unchanged) and the image itself. factor 0 gives the smoothed image,
// 1 the original, 2 a sharpened one.
func enhanceSharpness(m Image, factor float32) {
	plane := m.H * m.W
	smooth := make([]float32, plane)
	for k := range m.C {
		p := m.Pix[k*plane : (k+1)*plane]
		copy(smooth, p)
		for y := 1; y < m.H-1; y++ {
			for x := 1; x < m.W-1; x++ {
				i := y*m.W + x
				s := p[i-m.W-1] + p[i-m.W] + p[i-m.W+1] +
					p[i-1] + 5*p[i] + p[i+1] +
					p[i+m.W-1] + p[i+m.W] + p[i+m.W+1]
				smooth[i] = s / 13
			}
		}
		for i := range p {
			p[i] = clamp01(smooth[i] + factor*(p[i]-smooth[i]))
		}
	}
}

// addHueSaturation shifts hue (a fraction of the colour circle) and adds to
// saturation in HSV. A one-channel image has no hue or saturation and is
// left unchanged.
func addHueSaturation(m Image, dHue, dSat float64) {
	if m.C != 3 {
		return
	}
	plane := m.H * m.W
	for i := range plane {
		h, s, v := rgbToHSV(float64(m.Pix[i]), float64(m.Pix[plane+i]), float64(m.Pix[2*plane+i]))
		h = math.Mod(h+dHue, 1)
		if h < 0 {
			h++
		}
		s = math.Min(1, math.Max(0, s+dSat))
		r, g, b := hsvToRGB(h, s, v)
		m.Pix[i], m.Pix[plane+i], m.Pix[2*plane+i] = float32(r), float32(g), float32(b)
	}
}

// rgbToHSV returns hue in [0,1), saturation and value in [0,1].
func rgbToHSV(r, g, b float64) (h, s, v float64) {
	v = math.Max(r, math.Max(g, b))
	mn := math.Min(r, math.Min(g, b))
	d := v - mn
	if v > 0 {
		s = d / v
	}
	if d == 0 {
		return 0, s, v
	}
	switch v {
	case r:
		h = (g - b) / d
	case g:
		h = 2 + (b-r)/d
	default:
		h = 4 + (r-g)/d
	}
	h /= 6
	if h < 0 {
		h++
	}
	return h, s, v
}

func hsvToRGB(h, s, v float64) (r, g, b float64) {
	h6 := h * 6
	i := math.Floor(h6)
	f := h6 - i
	p := v * (1 - s)
	q := v * (1 - s*f)
	t := v * (1 - s*(1-f))
	switch int(i) % 6 {
	case 0:
		return v, t, p
	case 1:
		return q, v, p
	case 2:
		return p, v, t
	case 3:
		return p, q, v
	case 4:
		return t, p, v
	default:
		return v, p, q
	}
}

// solarize inverts values at or above the threshold.
func solarize(m Image, threshold float32) {
	for i, v := range m.Pix {
		if v >= threshold {
			m.Pix[i] = 1 - v
		}
	}
}

// posterize keeps the top bits of each 8-bit value, as PIL's posterize does.
func posterize(m Image, bits int) {
	mask := uint8(0xFF << (8 - bits))
	for i, v := range m.Pix {
		m.Pix[i] = float32(to8(v)&mask) / 255
	}
}

func invert(m Image) {
	for i, v := range m.Pix {
		m.Pix[i] = 1 - v
	}
}

// histogram8 counts the 8-bit values of one plane.
func histogram8(p []float32) (h [256]int) {
	for _, v := range p {
		h[to8(v)]++
	}
	return h
}

// applyLUT8 replaces each value by lut of its 8-bit level.
func applyLUT8(p []float32, lut *[256]float32) {
	for i, v := range p {
		p[i] = lut[to8(v)]
	}
}

// autocontrast is PIL's ImageOps.autocontrast per channel: drop cutoff
// percent of the pixels at each end of the histogram, then stretch the
// remaining range linearly to 0..255.
func autocontrast(m Image, cutoffPercent int) {
	plane := m.H * m.W
	for k := range m.C {
		p := m.Pix[k*plane : (k+1)*plane]
		h := histogram8(p)
		cut := plane * cutoffPercent / 100
		// Remove cut pixels from the low end, then from the high end.
		for lo, left := 0, cut; lo < 256 && left > 0; lo++ {
			take := min(h[lo], left)
			h[lo] -= take
			left -= take
		}
		for hi, left := 255, cut; hi >= 0 && left > 0; hi-- {
			take := min(h[hi], left)
			h[hi] -= take
			left -= take
		}
		lo, hi := 0, 255
		for lo < 256 && h[lo] == 0 {
			lo++
		}
		for hi >= 0 && h[hi] == 0 {
			hi--
		}
		if hi <= lo {
			continue // PIL leaves a flat channel as it is
		}
		scale := 255 / float64(hi-lo)
		offset := -float64(lo) * scale
		var lut [256]float32
		for ix := range lut {
			v := math.Trunc(float64(ix)*scale + offset)
			lut[ix] = float32(math.Min(255, math.Max(0, v))) / 255
		}
		applyLUT8(p, &lut)
	}
}

// equalize is PIL's ImageOps.equalize per channel (histogram equalization
// with PIL's step rounding).
func equalize(m Image) {
	plane := m.H * m.W
	for k := range m.C {
		p := m.Pix[k*plane : (k+1)*plane]
		h := histogram8(p)
		total, last := 0, 0
		for _, c := range h {
			if c > 0 {
				total += c
				last = c
			}
		}
		step := (total - last) / 255
		if step == 0 {
			continue
		}
		var lut [256]float32
		n := step / 2
		for i := range lut {
			lut[i] = float32(min(255, n/step)) / 255
			n += h[i]
		}
		applyLUT8(p, &lut)
	}
}
