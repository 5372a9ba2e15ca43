package datacheck_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/datacheck"
)

// write encodes a w x h gray noise image as PNG or JPEG (by the extension)
// and returns its path.
func write(t *testing.T, dir, name string, w, h int) string {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	x := uint32(w*h + 1)
	for i := range img.Pix {
		x = x*1664525 + 1013904223 // noise: files well over SmallFile
		img.Pix[i] = uint8(x >> 24)
	}
	var b bytes.Buffer
	var err error
	if strings.HasSuffix(name, ".jpg") {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 90})
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func truncate(t *testing.T, p string) {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b[:len(b)*3/4], 0o644); err != nil {
		t.Fatal(err)
	}
}

// Large truncated files are found without asking for a full decode (the
// end probe), masks of the wrong size and sizes other than asked for are
// problems, and a good plan has none.
func TestRun(t *testing.T) {
	dir := t.TempDir()
	bigJPG := write(t, dir, "big.jpg", 200, 200)
	bigPNG := write(t, dir, "big.png", 200, 200)
	for _, p := range []string{bigJPG, bigPNG} {
		if st, _ := os.Stat(p); st.Size() <= datacheck.SmallFile {
			t.Fatalf("%s is %d bytes, want over SmallFile to test the probe", p, st.Size())
		}
	}
	good := write(t, dir, "good.png", 32, 24)
	mask := write(t, dir, "mask.png", 32, 24)
	wrongMask := write(t, dir, "wrong_mask.png", 16, 24)
	ok := &datacheck.Plan{}
	ok.Add(datacheck.File{Path: bigJPG, What: "train frame"}, datacheck.File{Path: bigPNG, What: "train frame"},
		datacheck.File{Path: good, What: "test image", Full: true, Width: 32, Height: 24},
		datacheck.File{Path: mask, What: "mask", SizeOf: good})
	rep, err := datacheck.Run(context.Background(), ok, datacheck.Options{Workers: 3})
	if err != nil || rep.Err() != nil {
		t.Fatalf("good plan: %v %v", err, rep.Err())
	}
	if rep.Files != 4 || rep.Decoded != 2 { // good (Full) and the small mask
		t.Errorf("report %+v: want 4 files, 2 decoded", rep)
	}

	truncate(t, bigJPG)
	truncate(t, bigPNG)
	bad := &datacheck.Plan{}
	bad.Add(datacheck.File{Path: bigJPG, What: "train frame"}, datacheck.File{Path: bigPNG, What: "train frame"},
		datacheck.File{Path: good, What: "train image", Width: 64, Height: 64, SizeHint: "; see data.size"},
		datacheck.File{Path: wrongMask, What: "mask", SizeOf: good},
		datacheck.File{Path: filepath.Join(dir, "missing.png"), What: "test image"})
	bad.Models = []datacheck.Model{{Path: good, Key: "model.teacher"}}
	bad.Problem(fmt.Errorf("layout: %w", fmt.Errorf("two:\n%w", errorsJoin("a", "b"))))
	rep, err = datacheck.Run(context.Background(), bad, datacheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	msg := rep.Err().Error()
	t.Log(msg)
	for _, w := range []string{"data check: 8 problems in the 6 files", bigJPG + ": the header is jpeg 200x200 but the image does not decode",
		bigPNG + ": the header is png 200x200", "is 32x24, want 64x64; see data.size", wrongMask + " is 16x24 but its image " + good,
		"missing.png", "model.teacher: read model " + good} {
		if !strings.Contains(msg, w) {
			t.Errorf("error lacks %q", w)
		}
	}
}

func errorsJoin(msgs ...string) error {
	var errs []error
	for _, m := range msgs {
		errs = append(errs, fmt.Errorf("%s", m))
	}
	return joined(errs)
}

type joined []error

func (j joined) Error() string   { return fmt.Sprint([]error(j)) }
func (j joined) Unwrap() []error { return j }

// A long list stops at MaxListed with the count of the rest.
func TestErrCaps(t *testing.T) {
	var p datacheck.Plan
	for i := range datacheck.MaxListed + 5 {
		p.Problem(fmt.Errorf("problem %d", i))
	}
	rep, err := datacheck.Run(context.Background(), &p, datacheck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	msg := rep.Err().Error()
	if !strings.Contains(msg, "25 problems") || !strings.Contains(msg, "problem 19") || strings.Contains(msg, "problem 20") || !strings.HasSuffix(msg, "... and 5 more") {
		t.Errorf("capped list: %s", msg)
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 2550: "2,550", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := datacheck.Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}
