package synth

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// img1 makes a 1-channel 1×n image from 8-bit levels.
func img1(levels ...int) Image {
	m := NewImage(1, 1, len(levels))
	for i, l := range levels {
		m.Pix[i] = float32(l) / 255
	}
	return m
}

func levels(m Image) []int {
	out := make([]int, len(m.Pix))
	for i, v := range m.Pix {
		out[i] = int(to8(v))
	}
	return out
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

func TestPointAugmentations(t *testing.T) {
	tests := []struct {
		name string
		in   []int
		op   func(Image)
		want []int
	}{
		// 255*(v/255)^2: 64 -> 16.06, 128 -> 64.25, 255 -> 255.
		{"gamma 2", []int{0, 64, 128, 255}, func(m Image) { gammaContrast(m, []float64{2}) }, []int{0, 16, 64, 255}},
		{"gamma 0.5", []int{64, 100}, func(m Image) { gammaContrast(m, []float64{0.5}) }, []int{128, 160}},
		{"solarize at 128", []int{10, 127, 128, 200}, func(m Image) { solarize(m, 128.0/255) }, []int{10, 127, 127, 55}},
		// Keep the top bits: 200 = 11001000b.
		{"posterize 1 bit", []int{100, 127, 128, 200}, func(m Image) { posterize(m, 1) }, []int{0, 0, 128, 128}},
		{"posterize 3 bits", []int{200, 31, 32}, func(m Image) { posterize(m, 3) }, []int{192, 0, 32}},
		{"posterize 8 bits", []int{200, 31}, func(m Image) { posterize(m, 8) }, []int{200, 31}},
		{"invert", []int{0, 55, 255}, invert, []int{255, 200, 0}},
		// lo 50, hi 150: scale 2.55, offset -127.5; int(100*2.55-127.5) = int(127.5) = 127.
		{"autocontrast", []int{50, 100, 150}, func(m Image) { autocontrast(m, 0) }, []int{0, 127, 255}},
		{"autocontrast flat", []int{90, 90}, func(m Image) { autocontrast(m, 0) }, []int{90, 90}},
		// 1-channel brightness: v*1.2 + 30/255.
		{"brightness", []int{100, 250}, func(m Image) { multiplyAddBrightness(m, 1.2, 30.0/255) }, []int{150, 255}},
	}
	for _, tc := range tests {
		m := img1(tc.in...)
		tc.op(m)
		if got := levels(m); !slices.Equal(got, tc.want) {
			t.Errorf("%s(%v) = %v, want %v", tc.name, tc.in, got, tc.want)
		}
	}
}

func TestAutocontrastCutoff(t *testing.T) {
	// 100 pixels: 10 at 0, 40 at 100, 40 at 150, 10 at 255. A 10% cutoff
	// drops the 0s and 255s from the range: lo 100, hi 150, scale 5.1.
	var in []int
	for _, g := range []struct{ level, n int }{{0, 10}, {100, 40}, {150, 40}, {255, 10}} {
		for range g.n {
			in = append(in, g.level)
		}
	}
	m := img1(in...)
	autocontrast(m, 10)
	got := levels(m)
	for i, l := range in {
		want := map[int]int{0: 0, 100: 0, 150: 255, 255: 255}[l]
		if got[i] != want {
			t.Fatalf("pixel %d: level %d -> %d, want %d", i, l, got[i], want)
		}
	}
}

func TestEqualize(t *testing.T) {
	// 1024 pixels, half at 10 and half at 20: PIL's step = (1024-512)/255 = 2,
	// lut[10] = (1+0)/2 = 0, lut[20] = (1+512)/2 = 256 -> 255.
	var in []int
	for i := range 1024 {
		in = append(in, 10+10*(i%2))
	}
	m := img1(in...)
	equalize(m)
	got := levels(m)
	for i := range got {
		want := 0
		if in[i] == 20 {
			want = 255
		}
		if got[i] != want {
			t.Fatalf("pixel %d: %d -> %d, want %d", i, in[i], got[i], want)
		}
	}
	// Too few pixels for a step: PIL leaves the image alone.
	small := img1(10, 20, 30)
	equalize(small)
	if got := levels(small); !slices.Equal(got, []int{10, 20, 30}) {
		t.Errorf("small image changed to %v", got)
	}
}

func TestEnhanceSharpness(t *testing.T) {
	// 3×3, 0.2 around a 0.5 centre. SMOOTH centre = (8*0.2 + 5*0.5)/13.
	mk := func() Image {
		m := NewImage(1, 3, 3)
		for i := range m.Pix {
			m.Pix[i] = 0.2
		}
		m.Pix[4] = 0.5
		return m
	}
	smooth := (8*0.2 + 5*0.5) / 13
	tests := []struct {
		factor float32
		centre float64
	}{
		{0, smooth},
		{1, 0.5},
		{2, smooth + 2*(0.5-smooth)},
	}
	for _, tc := range tests {
		m := mk()
		enhanceSharpness(m, tc.factor)
		if !near(float64(m.Pix[4]), tc.centre, 1e-6) {
			t.Errorf("factor %v: centre %v, want %v", tc.factor, m.Pix[4], tc.centre)
		}
		if m.Pix[0] != 0.2 || m.Pix[8] != 0.2 {
			t.Errorf("factor %v: border changed to %v, %v; PIL keeps it", tc.factor, m.Pix[0], m.Pix[8])
		}
	}
}

func TestBrightnessShiftsLuma(t *testing.T) {
	// One RGB pixel (0.2, 0.4, 0.6): Y = 0.363; Y' = 1.1*Y + 0.05 = 0.4493,
	// every channel moves by Y'-Y = 0.0863.
	m := NewImage(3, 1, 1)
	copy(m.Pix, []float32{0.2, 0.4, 0.6})
	multiplyAddBrightness(m, 1.1, 0.05)
	for k, want := range []float64{0.2863, 0.4863, 0.6863} {
		if !near(float64(m.Pix[k]), want, 1e-5) {
			t.Errorf("channel %d = %v, want %v", k, m.Pix[k], want)
		}
	}
}

func TestHueSaturation(t *testing.T) {
	tests := []struct {
		name       string
		rgb        [3]float32
		dHue, dSat float64
		want       [3]float32
	}{
		{"red +1/3 turn is green", [3]float32{1, 0, 0}, 1.0 / 3, 0, [3]float32{0, 1, 0}},
		{"red -1/3 turn is blue", [3]float32{1, 0, 0}, -1.0 / 3, 0, [3]float32{0, 0, 1}},
		{"no saturation is gray", [3]float32{0.8, 0.4, 0.2}, 0, -1, [3]float32{0.8, 0.8, 0.8}},
		{"half saturation", [3]float32{1, 0, 0}, 0, -0.5, [3]float32{1, 0.5, 0.5}},
	}
	for _, tc := range tests {
		m := NewImage(3, 1, 1)
		copy(m.Pix, tc.rgb[:])
		addHueSaturation(m, tc.dHue, tc.dSat)
		for k := range 3 {
			if !near(float64(m.Pix[k]), float64(tc.want[k]), 1e-6) {
				t.Errorf("%s: got %v, want %v", tc.name, m.Pix, tc.want)
				break
			}
		}
	}
	gray := img1(10, 200)
	addHueSaturation(gray, 0.3, 0.3)
	if got := levels(gray); !slices.Equal(got, []int{10, 200}) {
		t.Errorf("one-channel image changed to %v", got)
	}
}

func TestHSVRoundTrip(t *testing.T) {
	for r := 0.0; r <= 1; r += 0.25 {
		for g := 0.0; g <= 1; g += 0.25 {
			for b := 0.0; b <= 1; b += 0.25 {
				h, s, v := rgbToHSV(r, g, b)
				r2, g2, b2 := hsvToRGB(h, s, v)
				if !near(r, r2, 1e-9) || !near(g, g2, 1e-9) || !near(b, b2, 1e-9) {
					t.Errorf("(%v,%v,%v) -> hsv (%v,%v,%v) -> (%v,%v,%v)", r, g, b, h, s, v, r2, g2, b2)
				}
			}
		}
	}
}

func TestAugmentersStayInRange(t *testing.T) {
	names := AugmentationNames()
	if len(names) != 10 {
		t.Fatalf("%d augmentations, the DRAEM reference has 10", len(names))
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("augmentation %q listed twice", n)
		}
		seen[n] = true
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, a := range sourceAugmenters {
		for range 20 {
			m := NewImage(3, 9, 11)
			for i := range m.Pix {
				m.Pix[i] = rng.Float32()
			}
			a.apply(m, rng)
			for i, v := range m.Pix {
				if !(v >= 0 && v <= 1) {
					t.Fatalf("%s: value %d is %v, outside [0, 1]", a.name, i, v)
				}
			}
		}
	}
}
