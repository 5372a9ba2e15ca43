package imageio

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Input is what a network expects of its image input: the number of
// channels, the range 8-bit values are mapped to, and an optional
// per-channel normalisation. An imported teacher states it in its
// training code (torchvision's ToTensor then Normalize(mean, std) is
// {C: 3, Range: RangeUnit, Mean: ..., Std: ...}).
type Input struct {
	// C is 1 (gray) or 3 (RGB).
	C int
	// Range maps 8-bit values linearly: 0 to its low end, 255 to its high.
	Range Range
	// Mean and Std, when set (both or neither), normalise channel c as
	// (x - Mean[c]) / Std[c] after the Range mapping, so they are in the
	// Range's units: with RangeUnit this is torchvision's Normalize, with
	// RangeByte mmcv's mean=[123.675, ...]. One value applies to every
	// channel.
	Mean, Std []float64
}

// ParseInput reads an Input as config files write it: channels 1 or 3,
// valueRange "0,1", "-1,1" or "0,255" (see ParseRange), and mean and std as
// comma-separated lists of 1 or channels numbers ("0.485,0.456,0.406";
// both empty for no normalisation).
func ParseInput(channels int, valueRange, mean, std string) (Input, error) {
	in := Input{C: channels}
	var errs []error
	r, err := ParseRange(valueRange)
	if err != nil {
		errs = append(errs, err)
	}
	in.Range = r
	if in.Mean, err = ParseFloats("mean", mean); err != nil {
		errs = append(errs, err)
	}
	if in.Std, err = ParseFloats("std", std); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		errs = append(errs, in.Validate())
	}
	if err := errors.Join(errs...); err != nil {
		return Input{}, fmt.Errorf("input format: %w", err)
	}
	return in, nil
}

// ParseFloats reads a comma-separated list of numbers, optionally in
// brackets ("0.485,0.456,0.406", "[0.5, 0.5]"); empty is nil. what names
// the list in errors.
func ParseFloats(what, s string) ([]float64, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil {
			return nil, fmt.Errorf("%s %q: %q is not a number; want a comma-separated list such as 0.485,0.456,0.406", what, s, strings.TrimSpace(f))
		}
		out = append(out, v)
	}
	return out, nil
}

// Validate reports an Input that cannot be applied.
func (in Input) Validate() error {
	var errs []error
	if in.C != 1 && in.C != 3 {
		errs = append(errs, fmt.Errorf("channels must be 1 or 3, got %d", in.C))
	}
	if _, _, ok := in.Range.bounds(); !ok {
		errs = append(errs, fmt.Errorf("unknown value range %d", int(in.Range)))
	}
	if (in.Mean == nil) != (in.Std == nil) {
		errs = append(errs, fmt.Errorf("mean %v and std %v go together: give both or neither", in.Mean, in.Std))
	}
	for _, l := range []struct {
		name string
		v    []float64
	}{{"mean", in.Mean}, {"std", in.Std}} {
		if l.v == nil {
			continue
		}
		if len(l.v) != 1 && len(l.v) != in.C {
			errs = append(errs, fmt.Errorf("%s has %d values but the input has %d channels; give 1 or %d", l.name, len(l.v), in.C, in.C))
		}
		want := "finite"
		if l.name == "std" {
			want = "finite and positive"
		}
		for _, v := range l.v {
			if math.IsNaN(v) || math.IsInf(v, 0) || (l.name == "std" && v <= 0) {
				errs = append(errs, fmt.Errorf("%s %v: every value must be %s", l.name, l.v, want))
				break
			}
		}
	}
	return errors.Join(errs...)
}

// String writes in as ParseInput reads it.
func (in Input) String() string {
	lo, hi, _ := in.Range.bounds()
	s := fmt.Sprintf("channels=%d range=%g,%g", in.C, lo, hi)
	if in.Mean != nil {
		s += " mean=" + joinFloats(in.Mean) + " std=" + joinFloats(in.Std)
	}
	return s
}

func joinFloats(v []float64) string {
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}

func pick(v []float64, c int) float64 {
	if len(v) == 1 {
		return v[0]
	}
	return v[c]
}

// ToUnit maps an image decoded with in back to [0, 1] per channel (8-bit
// value / 255): for pictures and for PSNR on [0, 1] frames, whatever the
// network's input format. img.C must be in.C.
func (in Input) ToUnit(img Image) Image {
	return in.perChannel(img, func(v, lo, hi, m, s float64) float64 { return (v*s + m - lo) / (hi - lo) })
}

// FromUnit is ToUnit's inverse: it maps an image in [0, 1] (8-bit value /
// 255) to in's values, for augmentations written for [0, 1] images.
func (in Input) FromUnit(img Image) Image {
	return in.perChannel(img, func(v, lo, hi, m, s float64) float64 { return (v*(hi-lo) + lo - m) / s })
}

// perChannel maps every value of img with f, given in's range bounds and
// the value's channel's mean and std (0 and 1 without normalisation).
func (in Input) perChannel(img Image, f func(v, lo, hi, m, s float64) float64) Image {
	lo, hi, _ := in.Range.bounds()
	out := Image{C: img.C, H: img.H, W: img.W, Pix: make([]float32, len(img.Pix))}
	n := img.H * img.W
	for c := range img.C {
		m, s := 0.0, 1.0
		if in.normalizes() {
			m, s = pick(in.Mean, c), pick(in.Std, c)
		}
		for i, v := range img.Pix[c*n : (c+1)*n] {
			out.Pix[c*n+i] = float32(f(float64(v), lo, hi, m, s))
		}
	}
	return out
}

// normalizes reports whether in has a per-channel normalisation.
func (in Input) normalizes() bool { return in.Mean != nil }

// Normalize applies Mean and Std to pix, an image (or a batch of images)
// of in.C channels of n pixels each, already in Range units. It works in
// float32, subtracting then dividing, as torchvision's Normalize does.
func (in Input) Normalize(pix []float32, n int) {
	if !in.normalizes() {
		return
	}
	for off := 0; off+in.C*n <= len(pix); off += in.C * n {
		for c := range in.C {
			m, s := float32(pick(in.Mean, c)), float32(pick(in.Std, c))
			ch := pix[off+c*n : off+(c+1)*n]
			for i, v := range ch {
				ch[i] = (v - m) / s
			}
		}
	}
}
