package data

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/imageio"
)

// Masks with values other than 0 and 255 are warned about once per
// batcher (one per category), naming the first file, the values and the
// rule (issue 22: any non-zero pixel counted without a word).
func TestNonBinaryMaskWarnsOnce(t *testing.T) {
	d := t.TempDir()
	var items []ImageItem
	for i, lv := range []uint8{255, 128, 64} {
		img := filepath.Join(d, string(rune('a'+i))+".png")
		mask := filepath.Join(d, string(rune('a'+i))+"_mask.png")
		writeGrayPNG(t, img, 8, 8, func(x, y int) uint8 { return 100 })
		writeGrayPNG(t, mask, 8, 8, func(x, y int) uint8 {
			if x < 4 {
				return lv
			}
			return 0
		})
		items = append(items, ImageItem{Path: img, MaskPath: mask, Label: 1, Defect: "crack"})
	}
	var logged bytes.Buffer
	b, err := NewImageBatcher(items, ImageBatchConfig{Decode: imageio.DecodeOptions{C: 1, H: 8, W: 8}, BatchSize: 3, Workers: 1,
		Log: slog.New(slog.NewTextHandler(&logged, nil))})
	if err != nil {
		t.Fatal(err)
	}
	for batch, err := range b.Epoch(context.Background(), Position{}) {
		if err != nil {
			t.Fatal(err)
		}
		if batch.Masks[0] != 1 || batch.Masks[64] != 1 || batch.Masks[4] != 0 {
			t.Errorf("non-zero pixels must stay anomalous, zero ones normal")
		}
	}
	out := logged.String()
	if n := strings.Count(out, "mask is not binary"); n != 1 {
		t.Fatalf("%d warnings, want 1:\n%s", n, out)
	}
	for _, want := range []string{"b_mask.png", "values=128", "every non-zero pixel counts as anomalous"} {
		if !strings.Contains(out, want) {
			t.Errorf("warning lacks %q:\n%s", want, out)
		}
	}
}
