package draem_test

import (
	"context"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/draem"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/sharedtest"
	"github.com/fmam/fmam/internal/synth"
)

// Training batches in another input format are the [0, 1] batches mapped
// linearly: anomalies are pasted into [0, 1] images whatever data.range
// and data.mean/std say, so with the same seed a [-1, 1] batch, and a
// [0, 1] batch normalised with mean 0.5 and std 0.5, are 2x - 1 of the
// default one, image, clean target and mask alike.
func TestSourceInputFormats(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	root := filepath.Join(t.TempDir(), "mvtec")
	if _, err := synth.GenerateMVTec(context.Background(), synth.MVTecOptions{Out: root, Size: 64, Categories: []string{synth.CategoryObject}, Train: 4, TestGood: 1, TestDefect: 1}); err != nil {
		t.Fatal(err)
	}
	batch := func(input string) [][]float32 {
		t.Helper()
		cfg, err := config.Load("", []byte(`
name: fmt
task: image
data: {kind: mvtec, root: `+root+`, size: 64, categories: [`+synth.CategoryObject+`], textures: `+tex+input+`}
model: {arch: draem}
train: {batch: 4}
`), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		u := &baseline.Unit{Name: synth.CategoryObject, Cfg: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		src, err := draem.New().Source(context.Background(), u, 7)
		if err != nil {
			t.Fatal(err)
		}
		b, err := src.Next(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	unit := batch("")
	lo := float32(1)
	for _, v := range unit[0] {
		lo = min(lo, v)
	}
	if lo < 0 || lo > 0.3 {
		t.Fatalf("default batch minimum %v: want [0, 1] images with dark pixels", lo)
	}
	for _, input := range []string{`, range: "-1,1"`, `, mean: [0.5], std: [0.5]`} {
		got := batch(input)
		for k, name := range []string{"image", "clean", "mask"} {
			for i, u := range unit[k] {
				want := 2*u - 1
				if k == 2 {
					want = u // masks are 0/1 in any format
				}
				if math.Abs(float64(got[k][i]-want)) > 1e-5 {
					t.Fatalf("%s: %s value %d is %v, want %v (from %v)", input, name, i, got[k][i], want, u)
				}
			}
		}
	}
}
