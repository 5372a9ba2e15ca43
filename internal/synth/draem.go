package synth

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
)

// The DRAEM recipe's constants, from the reference implementation.
const (
	// anomalyProb is the chance a sample gets an anomaly (the reference
	// returns the image unchanged when a uniform draw exceeds 0.5).
	anomalyProb = 0.5
	// perlinScaleLog2Max bounds the Perlin resolution: 2^a cells per axis,
	// a uniform in [0, perlinScaleLog2Max).
	perlinScaleLog2Max = 6
	// perlinThreshold turns the rotated noise into the binary mask.
	perlinThreshold = 0.5
	// betaMax bounds the blend opacity beta, uniform in [0, betaMax).
	betaMax = 0.8
	// rotateInputProb is the chance the input is rotated first, when enabled.
	rotateInputProb = 0.3
	// augmentationsPerSample source augmentations are drawn without
	// replacement for each sample.
	augmentationsPerSample = 3
)

// DefaultMaxCachedTextures is the default Options.MaxCachedTextures.
const DefaultMaxCachedTextures = 64

// Options tunes a Synthesizer. The zero value is the DRAEM recipe without
// input rotation.
type Options struct {
	// Log receives the textures found and the samples that fall back to
	// normal because a texture became unreadable; nil discards them.
	Log *slog.Logger
	// RotateInput enables DRAEM's rotation of the input image before
	// synthesis: with probability 0.3, by an angle uniform in [-90, 90]
	// degrees, black outside (the reference's iaa.Affine(rotate=(-90, 90)),
	// an arbitrary angle, not a multiple of 90). The rotated image is then
	// also the sample's clean Input.
	RotateInput bool
	// MaxCachedTextures: texture sets up to this size are decoded and
	// resized once, up front; larger ones (DTD has 5,640 images) are decoded
	// per sample, as the reference does. 0 means DefaultMaxCachedTextures.
	MaxCachedTextures int
}

// Synthesizer makes DRAEM-style anomalous samples from normal images of one
// size. It is safe for concurrent use; each goroutine passes its own rng.
type Synthesizer struct {
	h, w     int
	opts     Options
	paths    []string
	textures []Image // resized 3-channel textures, nil when decoded per sample
}

// Sample is one synthesis result.
type Sample struct {
	// Input is the clean image the anomaly was pasted on: the input itself,
	// or its rotation when Options.RotateInput fired.
	Input Image
	// Aug is Input with the anomaly blended in (a copy of Input for normal
	// samples).
	Aug Image
	// Mask is H×W, 1 where the anomaly was blended in, else 0.
	Mask []float32
	// Label is 1 when Mask is not empty, else 0.
	Label uint8
	// Beta is the blend opacity of the input inside the mask (0 for normal
	// samples).
	Beta float32
}

// NewSynthesizer prepares synthesis for h×w images with the anomaly source
// textures found under textureDir (recursively: .png, .jpg, .jpeg, .bmp,
// .tif, .tiff).
func NewSynthesizer(textureDir string, h, w int, opts Options) (*Synthesizer, error) {
	if h <= 0 || w <= 0 {
		return nil, fmt.Errorf("synthesizer image size %dx%d must be positive", h, w)
	}
	if opts.MaxCachedTextures < 0 {
		return nil, fmt.Errorf("MaxCachedTextures is %d, must not be negative", opts.MaxCachedTextures)
	}
	if opts.MaxCachedTextures == 0 {
		opts.MaxCachedTextures = DefaultMaxCachedTextures
	}
	paths, err := findTextures(textureDir)
	if err != nil {
		return nil, err
	}
	s := &Synthesizer{h: h, w: w, opts: opts, paths: paths}
	if len(paths) <= opts.MaxCachedTextures {
		s.textures = make([]Image, len(paths))
		for i, p := range paths {
			if s.textures[i], err = loadTexture(p, h, w); err != nil {
				return nil, err
			}
		}
	} else {
		for _, p := range paths {
			if err := checkTexture(p); err != nil {
				return nil, err
			}
		}
	}
	logOrDiscard(opts.Log).Debug("anomaly textures ready", "dir", textureDir, "count", len(paths), "cached", s.textures != nil)
	return s, nil
}

// NumTextures is the number of anomaly source images found.
func (s *Synthesizer) NumTextures() int { return len(s.paths) }

// Apply is Synthesize for callers that only need the augmented image, its
// mask and label. It panics if img does not fit the Synthesizer (size,
// channels), a programming error; Synthesize returns that as an error. A
// texture that cannot be read any more (it was readable when the Synthesizer
// was made) is logged and yields img unchanged as a normal sample, so that a
// long training run does not stop on it.
func (s *Synthesizer) Apply(img Image, rng *rand.Rand) (aug Image, mask []float32, label uint8) {
	smp, err := s.Synthesize(img, rng)
	var texErr *textureError
	switch {
	case errors.As(err, &texErr):
		logOrDiscard(s.opts.Log).Warn("anomaly synthesis failed; using the sample as normal", "err", err)
		return img.Clone(), make([]float32, img.H*img.W), 0
	case err != nil:
		panic(err)
	}
	return smp.Aug, smp.Mask, smp.Label
}

// textureError marks a failure to read an anomaly source during synthesis.
type textureError struct{ err error }

func (e *textureError) Error() string { return e.err.Error() }
func (e *textureError) Unwrap() error { return e.err }

// Synthesize draws one DRAEM training sample from img (1 or 3 channels, the
// Synthesizer's size). With probability 0.5 the sample stays normal.
// Otherwise a Perlin noise map with 2^a×2^b cells (a, b uniform in 0..5) is
// rotated by an angle uniform in [-90, 90] degrees and thresholded at 0.5
// into the mask M; a random texture, resized and given 3 distinct random
// augmentations (AugmentationNames), is blended in:
// aug = img*(1-M) + (1-beta)*src*M + beta*img*M, beta uniform in [0, 0.8).
func (s *Synthesizer) Synthesize(img Image, rng *rand.Rand) (Sample, error) {
	smp, _, err := s.synthesize(img, rng)
	return smp, err
}

// synthesize also returns the augmented source texture (for tests).
func (s *Synthesizer) synthesize(img Image, rng *rand.Rand) (Sample, Image, error) {
	if err := img.check(); err != nil {
		return Sample{}, Image{}, fmt.Errorf("synthesize: %w", err)
	}
	if img.H != s.h || img.W != s.w {
		return Sample{}, Image{}, fmt.Errorf("synthesize: image is %dx%d, the synthesizer was made for %dx%d (resize first)", img.H, img.W, s.h, s.w)
	}
	if img.C != 1 && img.C != 3 {
		return Sample{}, Image{}, fmt.Errorf("synthesize: image has %d channels, want 1 or 3", img.C)
	}
	plane := s.h * s.w

	input := img.Clone()
	if s.opts.RotateInput && rng.Float64() < rotateInputProb {
		input.Pix = rotatePlanes(img.Pix, img.C, img.H, img.W, uniform(rng, -90, 90))
	}
	// Deciding first lets normal samples skip the work; the reference draws
	// this last, which only changes which random numbers are used.
	if rng.Float64() >= anomalyProb {
		return Sample{Input: input, Aug: input.Clone(), Mask: make([]float32, plane)}, Image{}, nil
	}

	return s.anomalous(input, rng)
}

// anomalous pastes one Perlin-masked texture anomaly onto input.
func (s *Synthesizer) anomalous(input Image, rng *rand.Rand) (Sample, Image, error) {
	plane := s.h * s.w
	src, err := s.source(rng)
	if err != nil {
		return Sample{}, Image{}, err
	}
	for _, k := range rng.Perm(len(sourceAugmenters))[:augmentationsPerSample] {
		sourceAugmenters[k].apply(src, rng)
	}
	if input.C == 1 {
		src = toGray(src)
	}

	resY := 1 << rng.IntN(perlinScaleLog2Max)
	resX := 1 << rng.IntN(perlinScaleLog2Max)
	noise := Perlin2D(s.h, s.w, resY, resX, rng)
	noise = rotatePlanes(noise, 1, s.h, s.w, uniform(rng, -90, 90))
	beta := float32(betaMax * rng.Float64())

	aug := input.Clone()
	mask := make([]float32, plane)
	var label uint8
	for i, v := range noise {
		if v <= perlinThreshold {
			continue
		}
		mask[i] = 1
		label = 1
		for k := range input.C {
			j := k*plane + i
			// input + (1-beta)*(src-input) is the reference's blend
			// rearranged so that a pixel where src equals input stays
			// bit-identical.
			aug.Pix[j] = input.Pix[j] + (1-beta)*(src.Pix[j]-input.Pix[j])
		}
	}
	return Sample{Input: input, Aug: aug, Mask: mask, Label: label, Beta: beta}, src, nil
}

// source draws a texture and returns a private copy to augment.
func (s *Synthesizer) source(rng *rand.Rand) (Image, error) {
	i := rng.IntN(len(s.paths))
	if s.textures != nil {
		return s.textures[i].Clone(), nil
	}
	m, err := loadTexture(s.paths[i], s.h, s.w)
	if err != nil {
		return Image{}, &textureError{fmt.Errorf("synthesize: %w", err)}
	}
	return m, nil
}

// logOrDiscard is log, or a logger that drops everything for nil.
func logOrDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}
