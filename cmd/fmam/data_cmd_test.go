package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/objects"
)

// writeMovingFrames writes a frames-layout training split: one video of n
// 64x48 gray frames, a static noise background (0..99) and a bright
// textured 10x8 rectangle whose top-left corner is (4 + 3t, 20) at frame t.
func writeMovingFrames(t *testing.T, root string, n int) {
	t.Helper()
	dir := filepath.Join(root, "training", "frames", "01")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for f := range n {
		img := image.NewGray(image.Rect(0, 0, 64, 48))
		for y := range 48 {
			for x := range 64 {
				v := uint8((x*37 + y*101 + x*y*13) % 100)
				if ox, oy := x-(4+3*f), y-20; ox >= 0 && ox < 10 && oy >= 0 && oy < 8 {
					v = uint8(150 + (ox*53+oy*29+ox*oy*7)%100)
				}
				img.SetGray(x, y, color.Gray{Y: v})
			}
		}
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%03d.png", f)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestDataBoxesForeground(t *testing.T) {
	root := t.TempDir()
	writeMovingFrames(t, root, 6)
	out := filepath.Join(root, "boxes.csv")
	log, err := run(t, "data", "boxes", "--data-kind", "frames", "--root", root, "--split", "train",
		"--foreground", "--fg-min-area", "30", "--out", out)
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	if !strings.Contains(log, `level=INFO msg="detecting boxes" video=01 index=1/1 frame=6/6`) || !strings.Contains(log, "wrote "+out) {
		t.Errorf("output lacks progress or summary:\n%s", log)
	}
	s, err := objects.ReadCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	if s.NumFrames("01") != 6 {
		t.Fatalf("boxes for %d frames, want 6", s.NumFrames("01"))
	}
	// Inner frames: one box, the rectangle, within 2 px.
	for f := 1; f < 5; f++ {
		boxes := s.Frame("01", f)
		if len(boxes) != 1 {
			t.Errorf("frame %d: %d boxes %v, want 1", f, len(boxes), boxes)
			continue
		}
		b, x := boxes[0], float64(4+3*f)
		if math.Abs(b.X1-x) > 2 || math.Abs(b.X2-(x+10)) > 2 || math.Abs(b.Y1-20) > 2 || math.Abs(b.Y2-28) > 2 || b.Class != -1 {
			t.Errorf("frame %d: box %v, want about [%g 20 %g 28]", f, b, x, x+10)
		}
	}

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--root", root, "--split", "train", "--out", out}, "exactly one of --detector"},
		{[]string{"--root", root, "--split", "train", "--out", out, "--foreground", "--detector", "m.onnx"}, "exactly one of --detector"},
		{[]string{"--root", root, "--split", "val", "--out", out, "--foreground"}, "--split"},
		{[]string{"--root", root, "--split", "train", "--out", out, "--foreground", "--fg-threshold", "3"}, "threshold"},
		{[]string{"--root", root, "--split", "train", "--out", out, "--detector", filepath.Join(root, "none.onnx")}, "none.onnx"},
		{[]string{"--root", root, "--split", "train", "--out", out, "--detector", "m.onnx", "--input-size", "64x"}, "--input-size"},
		{[]string{"--data-kind", "ucf", "--root", root, "--split", "train", "--out", out, "--foreground"}, "--data-kind"},
	} {
		_, err := run(t, append([]string{"data", "boxes"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("data boxes %v: error %v, want one mentioning %q", c.args, err, c.want)
		}
	}
}
