package synth

import (
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/sharedtest"
)

// writeTextures writes n small noise textures (alternately gray and RGB,
// in nested folders like DTD) and returns their root.
func writeTextures(t testing.TB, n int) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(99, 1))
	for i := range n {
		var img image.Image
		if i%2 == 0 {
			g := image.NewGray(image.Rect(0, 0, 40, 30))
			for j := range g.Pix {
				g.Pix[j] = uint8(rng.IntN(256))
			}
			img = g
		} else {
			c := image.NewNRGBA(image.Rect(0, 0, 50, 50))
			for y := range 50 {
				for x := range 50 {
					c.Set(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(x * 5), 255})
				}
			}
			img = c
		}
		path := filepath.Join(dir, "class"+string(rune('a'+i%3)), "t"+string(rune('0'+i))+".png")
		if err := writePNG(path, img); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// testImage is a smooth gradient, so every pixel differs from a noise texture.
func testImage(c, h, w int) Image {
	m := NewImage(c, h, w)
	for k := range c {
		for y := range h {
			for x := range w {
				m.Pix[(k*h+y)*w+x] = float32(x+y+k) / float32(h+w+c)
			}
		}
	}
	return m
}

func TestNewSynthesizerErrors(t *testing.T) {
	empty := t.TempDir()
	onlyText := t.TempDir()
	os.WriteFile(filepath.Join(onlyText, "readme.txt"), []byte("x"), 0o644)
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "bad.png"), []byte("not a png"), 0o644)
	file := filepath.Join(onlyText, "readme.txt")
	missing := filepath.Join(empty, "nope")
	tests := []struct {
		name, dir string
		h, w      int
		opts      Options
		wantIn    string
	}{
		{"missing dir", missing, 8, 8, Options{}, missing},
		{"empty dir", empty, 8, 8, Options{}, empty},
		{"no images", onlyText, 8, 8, Options{}, onlyText},
		{"not a dir", file, 8, 8, Options{}, file},
		{"broken image", broken, 8, 8, Options{}, filepath.Join(broken, "bad.png")},
		{"broken image, lazy", broken, 8, 8, Options{MaxCachedTextures: -1}, "MaxCachedTextures"},
		{"zero size", empty, 0, 8, Options{}, "0x8"},
	}
	for _, tc := range tests {
		_, err := NewSynthesizer(tc.dir, tc.h, tc.w, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.wantIn) {
			t.Errorf("%s: error %v, want one naming %q", tc.name, err, tc.wantIn)
		}
	}
}

func TestSynthesizeDeterministic(t *testing.T) {
	s, err := NewSynthesizer(writeTextures(t, 3), 24, 32, Options{RotateInput: true})
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(3, 24, 32)
	run := func(seed uint64) []Sample {
		rng := rand.New(rand.NewPCG(seed, 0))
		var out []Sample
		for range 20 {
			smp, err := s.Synthesize(img, rng)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, smp)
		}
		return out
	}
	equal := func(a, b Sample) bool {
		return a.Label == b.Label && a.Beta == b.Beta && slices.Equal(a.Aug.Pix, b.Aug.Pix) &&
			slices.Equal(a.Mask, b.Mask) && slices.Equal(a.Input.Pix, b.Input.Pix)
	}
	a, b, c := run(1), run(1), run(2)
	differ := false
	for i := range a {
		if !equal(a[i], b[i]) {
			t.Fatalf("draw %d differs between two runs with seed 1", i)
		}
		differ = differ || !equal(a[i], c[i])
	}
	if !differ {
		t.Error("seeds 1 and 2 gave the same 20 samples")
	}
}

// TestSynthesizeMaskIsChange checks the blend pixel by pixel: outside the
// mask the image is untouched, inside it is (1-beta)*src + beta*img, and a
// pixel changed exactly where the mask is set and the texture differs.
func TestSynthesizeMaskIsChange(t *testing.T) {
	for _, c := range []int{1, 3} {
		s, err := NewSynthesizer(writeTextures(t, 3), 32, 32, Options{})
		if err != nil {
			t.Fatal(err)
		}
		img := testImage(c, 32, 32)
		rng := rand.New(rand.NewPCG(11, uint64(c)))
		anomalies := 0
		for range 60 {
			smp, src, err := s.anomalous(img.Clone(), rng)
			if err != nil {
				t.Fatal(err)
			}
			if smp.Beta < 0 || smp.Beta >= 0.8 {
				t.Fatalf("beta %v outside [0, 0.8)", smp.Beta)
			}
			if src.C != c || smp.Aug.C != c {
				t.Fatalf("%d-channel input gave source %d, aug %d channels", c, src.C, smp.Aug.C)
			}
			set := 0
			for i, m := range smp.Mask {
				if m != 0 && m != 1 {
					t.Fatalf("mask value %v", m)
				}
				for k := range c {
					j := k*32*32 + i
					changed := smp.Aug.Pix[j] != img.Pix[j]
					if m == 0 && changed {
						t.Fatalf("pixel %d changed outside the mask", j)
					}
					if m == 1 {
						want := (1-smp.Beta)*src.Pix[j] + smp.Beta*img.Pix[j]
						if !near(float64(smp.Aug.Pix[j]), float64(want), 1e-6) {
							t.Fatalf("pixel %d = %v, want (1-beta)*src + beta*img = %v", j, smp.Aug.Pix[j], want)
						}
						if changed != (src.Pix[j] != img.Pix[j]) {
							t.Fatalf("pixel %d: changed %v, but src %v vs img %v", j, changed, src.Pix[j], img.Pix[j])
						}
					}
				}
				if m == 1 {
					set++
				}
			}
			if (set > 0) != (smp.Label == 1) {
				t.Fatalf("label %d with %d mask pixels", smp.Label, set)
			}
			if set > 0 {
				anomalies++
			}
		}
		if anomalies < 40 {
			t.Errorf("%d channels: only %d of 60 anomaly draws have a non-empty mask", c, anomalies)
		}
	}
}

// TestSynthesizeRates checks the recipe's proportions over many draws.
func TestSynthesizeRates(t *testing.T) {
	s, err := NewSynthesizer(writeTextures(t, 2), 32, 32, Options{})
	if err != nil {
		t.Fatal(err)
	}
	img := testImage(1, 32, 32)
	rng := rand.New(rand.NewPCG(2024, 0))
	const n = 1000
	labelled, emptyMask := 0, 0
	var fracSum, fracMax float64
	for range n {
		aug, mask, label := s.Apply(img, rng)
		on := 0
		for _, m := range mask {
			if m == 1 {
				on++
			}
		}
		if label == 0 {
			if on != 0 || !slices.Equal(aug.Pix, img.Pix) {
				t.Fatal("label 0 sample has a mask or a changed image")
			}
			emptyMask++
			continue
		}
		labelled++
		f := float64(on) / float64(len(mask))
		fracSum += f
		fracMax = max(fracMax, f)
	}
	// Half the draws are kept normal; a few anomaly draws find no noise
	// above the threshold (coarse noise is flat), so a bit under 50%.
	if p := float64(labelled) / n; p < 0.4 || p > 0.5 {
		t.Errorf("%.3f of samples anomalous, want a bit under 0.5", p)
	}
	// sqrt(2)-scaled Perlin noise exceeds 0.5 on about 5% of a map; the
	// rotation's black corners and blur take some of that away. A missing
	// sqrt(2) (values up to 0.71) or a lower threshold would leave this range.
	mean := fracSum / float64(labelled)
	if mean < 0.015 || mean > 0.06 {
		t.Errorf("mean mask fraction %.3f of anomalous samples, want 0.015..0.06", mean)
	}
	if fracMax > 0.5 {
		t.Errorf("largest mask covers %.2f of the image", fracMax)
	}
}

func TestRotateInputRate(t *testing.T) {
	dir := writeTextures(t, 1)
	img := testImage(3, 16, 16)
	for _, tc := range []struct {
		rotate bool
		lo, hi float64
	}{{false, 0, 0}, {true, 0.25, 0.35}} {
		s, err := NewSynthesizer(dir, 16, 16, Options{RotateInput: tc.rotate})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(8, 8))
		const n = 2000
		rotated := 0
		for range n {
			smp, err := s.Synthesize(img, rng)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(smp.Input.Pix, img.Pix) {
				rotated++
			}
			if smp.Label == 0 && !slices.Equal(smp.Aug.Pix, smp.Input.Pix) {
				t.Fatal("normal sample differs from its input")
			}
		}
		if p := float64(rotated) / n; p < tc.lo || p > tc.hi {
			t.Errorf("RotateInput %v: %.3f of inputs rotated, want %.2f..%.2f", tc.rotate, p, tc.lo, tc.hi)
		}
	}
}

func TestSynthesizeInputErrors(t *testing.T) {
	s, err := NewSynthesizer(writeTextures(t, 1), 16, 16, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	bad := testImage(3, 16, 16)
	bad.Pix = bad.Pix[:10]
	tests := []struct {
		name   string
		img    Image
		wantIn string
	}{
		{"wrong size", testImage(3, 16, 20), "16x20"},
		{"two channels", testImage(2, 16, 16), "2 channels"},
		{"short buffer", bad, "has 10"},
	}
	for _, tc := range tests {
		if _, err := s.Synthesize(tc.img, rng); err == nil || !strings.Contains(err.Error(), tc.wantIn) {
			t.Errorf("%s: error %v, want one mentioning %q", tc.name, err, tc.wantIn)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Apply did not panic", tc.name)
				}
			}()
			s.Apply(tc.img, rng)
		}()
	}
}

// TestLazyTexturesMatchCached: decoding per sample (large texture sets)
// gives the same samples as decoding up front.
func TestLazyTexturesMatchCached(t *testing.T) {
	dir := writeTextures(t, 3)
	cached, err := NewSynthesizer(dir, 20, 20, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lazy, err := NewSynthesizer(dir, 20, 20, Options{MaxCachedTextures: 2})
	if err != nil {
		t.Fatal(err)
	}
	if cached.textures == nil || lazy.textures != nil {
		t.Fatalf("cached %v, lazy %v: wrong texture mode", cached.textures != nil, lazy.textures != nil)
	}
	if lazy.NumTextures() != 3 {
		t.Fatalf("found %d textures, wrote 3", lazy.NumTextures())
	}
	img := testImage(3, 20, 20)
	r1, r2 := rand.New(rand.NewPCG(4, 4)), rand.New(rand.NewPCG(4, 4))
	for i := range 20 {
		a, err1 := cached.Synthesize(img, r1)
		b, err2 := lazy.Synthesize(img, r2)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !slices.Equal(a.Aug.Pix, b.Aug.Pix) {
			t.Fatalf("draw %d differs between cached and lazy textures", i)
		}
	}
}

// TestApplyTextureGone: a texture that disappears after start makes Apply
// return the image as a normal sample instead of stopping.
func TestApplyTextureGone(t *testing.T) {
	dir := writeTextures(t, 2)
	s, err := NewSynthesizer(dir, 16, 16, Options{MaxCachedTextures: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	img := testImage(3, 16, 16)
	rng := rand.New(rand.NewPCG(1, 1))
	failed := false
	for range 10 {
		if _, err := s.Synthesize(img, rng); err != nil {
			failed = true
			if !strings.Contains(err.Error(), dir) {
				t.Errorf("error %v does not name the texture", err)
			}
		}
		aug, mask, label := s.Apply(img, rng)
		if label != 0 || slices.Contains(mask, 1) || !slices.Equal(aug.Pix, img.Pix) {
			t.Fatal("Apply without textures did not return the image as normal")
		}
	}
	if !failed {
		t.Error("Synthesize never reported the missing textures")
	}
}

// TestSharedTextures uses the project's texture copies; their README states
// three 512x512 8-bit grayscale PNGs.
func TestSharedTextures(t *testing.T) {
	dir := filepath.Join(sharedtest.Path(t), "data", "textures")
	for _, name := range []string{"brick.png", "grass.png", "gravel.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Width != 512 || cfg.Height != 512 || cfg.ColorModel != color.GrayModel {
			t.Errorf("%s: %dx%d %v, README says 512x512 8-bit gray", name, cfg.Width, cfg.Height, cfg.ColorModel)
		}
	}
	s, err := NewSynthesizer(dir, 64, 48, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.NumTextures() != 3 {
		t.Fatalf("found %d textures, want 3 (README.md is not an image)", s.NumTextures())
	}
	for i, tex := range s.textures {
		if tex.C != 3 || tex.H != 64 || tex.W != 48 {
			t.Errorf("texture %d is %dx%dx%d, want 3x64x48", i, tex.C, tex.H, tex.W)
		}
		// Gray files become three equal planes, like cv2.imread(IMREAD_COLOR).
		plane := tex.H * tex.W
		if !slices.Equal(tex.Pix[:plane], tex.Pix[plane:2*plane]) || !slices.Equal(tex.Pix[:plane], tex.Pix[2*plane:]) {
			t.Errorf("texture %d: planes of a gray file differ", i)
		}
	}
	img := testImage(3, 64, 48)
	rng := rand.New(rand.NewPCG(1, 0))
	got := 0
	for range 20 {
		if _, _, label := s.Apply(img, rng); label == 1 {
			got++
		}
	}
	if got == 0 {
		t.Error("no anomalous sample in 20 draws")
	}
}

func benchSynthesizer(b *testing.B) *Synthesizer {
	b.Helper()
	dir := writeTextures(b, 3)
	if shared, err := filepath.Abs("../../../shared/data/textures"); err == nil {
		if _, err := os.Stat(shared); err == nil {
			dir = shared
		}
	}
	s, err := NewSynthesizer(dir, 256, 256, Options{})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkSynthesize256 times one 256x256 RGB sample: "anomalous" always
// pastes an anomaly, "apply" is the recipe's half-normal mix.
func BenchmarkSynthesize256(b *testing.B) {
	s := benchSynthesizer(b)
	img := testImage(3, 256, 256)
	b.Run("anomalous", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			if _, _, err := s.anomalous(img, rng); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("apply", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(1, 2))
		for b.Loop() {
			s.Apply(img, rng)
		}
	})
}
