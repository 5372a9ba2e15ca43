package imageio

import (
	"image"
	"image/color"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseRange(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Range
		ok   bool
	}{
		{"0,1", RangeUnit, true}, {"[0, 1]", RangeUnit, true}, {" -1,1 ", RangeSigned, true}, {"[-1.0,1.0]", RangeSigned, true},
		{"0,255", RangeByte, true}, {"(0,255)", RangeByte, true},
		{"0,2", 0, false}, {"1", 0, false}, {"", 0, false}, {"a,b", 0, false}, {"1,0", 0, false},
	} {
		got, err := ParseRange(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseRange(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if !tc.ok {
			wantErr(t, err, tc.in, "want 0,1 or -1,1 or 0,255")
		}
	}
	for _, r := range []Range{RangeUnit, RangeSigned, RangeByte} {
		if got, err := ParseRange(r.String()); err != nil || got != r {
			t.Errorf("%v does not read back: %v, %v", r, got, err)
		}
	}
}

func TestParseFilter(t *testing.T) {
	for _, f := range []Filter{Bilinear, CatmullRom, PILBilinear} {
		if got, err := ParseFilter(f.String()); err != nil || got != f {
			t.Errorf("%v does not read back: %v, %v", f, got, err)
		}
	}
	if f, err := ParseFilter(" PIL-Bilinear"); err != nil || f != PILBilinear {
		t.Errorf("case and spaces: %v, %v", f, err)
	}
	_, err := ParseFilter("lanczos")
	wantErr(t, err, "lanczos", "pil-bilinear")
}

func TestParseInput(t *testing.T) {
	in, err := ParseInput(3, "0,1", "0.485, 0.456, 0.406", "[0.229,0.224,0.225]")
	if err != nil {
		t.Fatal(err)
	}
	want := Input{C: 3, Range: RangeUnit, Mean: []float64{0.485, 0.456, 0.406}, Std: []float64{0.229, 0.224, 0.225}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("got %+v, want %+v", in, want)
	}
	if s := in.String(); s != "channels=3 range=0,1 mean=0.485,0.456,0.406 std=0.229,0.224,0.225" {
		t.Errorf("String %q", s)
	}
	if in, err := ParseInput(1, "-1,1", "", ""); err != nil || !reflect.DeepEqual(in, Input{C: 1, Range: RangeSigned}) {
		t.Errorf("no normalisation: %+v, %v", in, err)
	}
	if in, err := ParseInput(3, "0,255", "127.5", "127.5"); err != nil || len(in.Mean) != 1 {
		t.Errorf("one value for every channel: %+v, %v", in, err)
	}
	for _, tc := range []struct {
		c                int
		rng, mean, std   string
		parts            []string
		notAlsoMentioned string
	}{
		{2, "0,1", "", "", []string{"channels must be 1 or 3, got 2"}, ""},
		{3, "0,1", "0.5,0.5", "1,1", []string{"mean has 2 values but the input has 3 channels; give 1 or 3", "std has 2 values"}, ""},
		{1, "0,1", "0.5,0.5,0.5", "1", []string{"mean has 3 values but the input has 1 channels"}, "std has"},
		{3, "0,1", "0.5", "0", []string{"std [0]", "finite and positive"}, ""},
		{3, "0,1", "0.5", "-1,1,1", []string{"std [-1 1 1]", "positive"}, ""},
		{3, "0,1", "NaN", "1", []string{"mean [NaN]", "finite"}, ""},
		{3, "0,1", "0.5", "", []string{"give both or neither"}, ""},
		{3, "0,1", "0.5;0.4", "1", []string{`"0.5;0.4" is not a number`}, ""},
		{3, "0..1", "x", "1", []string{`value range "0..1"`, `"x" is not a number`}, ""},
	} {
		_, err := ParseInput(tc.c, tc.rng, tc.mean, tc.std)
		wantErr(t, err, append([]string{"input format"}, tc.parts...)...)
		if err != nil && tc.notAlsoMentioned != "" && strings.Contains(err.Error(), tc.notAlsoMentioned) {
			t.Errorf("error %q mentions %q", err, tc.notAlsoMentioned)
		}
	}
	// DecodeOptions carries the same checks.
	_, err = NewDecoder(DecodeOptions{C: 3, Mean: []float64{0, 0}, Std: []float64{1}})
	wantErr(t, err, "mean has 2 values")
	_, err = NewDecoder(DecodeOptions{C: 3, Range: Range(7), Filter: Filter(9)})
	wantErr(t, err, "unknown value range 7", "unknown resize filter 9")
}

// TestDecodeInputFormats checks each range and torchvision-style
// normalisation against values computed by hand from the 8-bit pixels.
func TestDecodeInputFormats(t *testing.T) {
	dir := t.TempDir()
	rgb := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	rgb.SetNRGBA(0, 0, color.NRGBA{255, 0, 0, 255})
	rgb.SetNRGBA(1, 0, color.NRGBA{10, 200, 50, 255})
	path := filepath.Join(dir, "rgb.png")
	writeImagePNG(t, path, rgb)
	px := [3][2]float64{{255, 10}, {0, 200}, {0, 50}} // [channel][x]
	mean, std := []float64{0.485, 0.456, 0.406}, []float64{0.229, 0.224, 0.225}

	for _, tc := range []struct {
		name string
		in   Input
		want func(c int, v float64) float64
	}{
		{"0,1", Input{C: 3, Range: RangeUnit}, func(_ int, v float64) float64 { return v / 255 }},
		{"-1,1", Input{C: 3, Range: RangeSigned}, func(_ int, v float64) float64 { return v/127.5 - 1 }},
		{"0,255", Input{C: 3, Range: RangeByte}, func(_ int, v float64) float64 { return v }},
		{"imagenet", Input{C: 3, Range: RangeUnit, Mean: mean, Std: std}, func(c int, v float64) float64 { return (v/255 - mean[c]) / std[c] }},
		{"mmcv 0,255", Input{C: 3, Range: RangeByte, Mean: []float64{123.675, 116.28, 103.53}, Std: []float64{58.395, 57.12, 57.375}},
			func(c int, v float64) float64 {
				return (v - []float64{123.675, 116.28, 103.53}[c]) / []float64{58.395, 57.12, 57.375}[c]
			}},
		{"one mean for all", Input{C: 3, Range: RangeSigned, Mean: []float64{0.5}, Std: []float64{2}}, func(_ int, v float64) float64 { return (v/127.5 - 1 - 0.5) / 2 }},
	} {
		for _, f := range []Filter{Bilinear, PILBilinear} {
			t.Run(tc.name+" "+f.String(), func(t *testing.T) {
				img, err := Decode(path, DecodeOptions{Filter: f}.WithInput(tc.in))
				if err != nil {
					t.Fatal(err)
				}
				for c := range 3 {
					for x := range 2 {
						want := tc.want(c, px[c][x])
						if got := float64(img.Pix[c*2+x]); math.Abs(got-want) > 1e-5*math.Max(1, math.Abs(want)) {
							t.Errorf("channel %d x %d: got %v, want %v", c, x, got, want)
						}
					}
				}
				// ToUnit undoes range and normalisation.
				u := tc.in.ToUnit(img)
				for c := range 3 {
					for x := range 2 {
						if got, want := float64(u.Pix[c*2+x]), px[c][x]/255; math.Abs(got-want) > 1e-5 {
							t.Errorf("ToUnit channel %d x %d: got %v, want %v", c, x, got, want)
						}
					}
				}
				// FromUnit maps [0, 1] values back to the hand-computed ones.
				back := tc.in.FromUnit(u)
				for c := range 3 {
					for x := range 2 {
						want := tc.want(c, px[c][x])
						if got := float64(back.Pix[c*2+x]); math.Abs(got-want) > 1e-4*math.Max(1, math.Abs(want)) {
							t.Errorf("FromUnit channel %d x %d: got %v, want %v", c, x, got, want)
						}
					}
				}
			})
		}
	}
	// Gray with a normalisation of one channel: PIL's luma of (10, 200, 50)
	// is (10*19595 + 200*38470 + 50*7471 + 32768) >> 16 = 126.
	g, err := Decode(path, DecodeOptions{C: 1, Range: RangeUnit, Mean: []float64{0.45}, Std: []float64{0.225}, Filter: PILBilinear})
	if err != nil {
		t.Fatal(err)
	}
	if want := (126.0/255 - 0.45) / 0.225; math.Abs(float64(g.Pix[1])-want) > 1e-5 {
		t.Errorf("gray normalised: got %v, want %v", g.Pix[1], want)
	}
}
