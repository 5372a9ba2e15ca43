package score

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"github.com/fmam/fmam/internal/metrics/metricstest"
	"image"
	"image/png"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio"
	"gonum.org/v1/gonum/mat"

	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/sharedtest"
)

// writeNPY writes a little-endian float32 .npy file (format 1.0) of the
// given shape; data is in C order unless fortran is set.
func writeNPY(t *testing.T, path string, data []float32, shape []int, fortran bool) {
	t.Helper()
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	shapeStr := strings.Join(dims, ", ")
	if len(shape) == 1 {
		shapeStr += ","
	}
	order := "False"
	if fortran {
		order = "True"
	}
	header := fmt.Sprintf("{'descr': '<f4', 'fortran_order': %s, 'shape': (%s), }", order, shapeStr)
	// Magic (6) + version (2) + header length (2) + header + '\n' is a multiple of 64.
	pad := 64 - (10+len(header)+1)%64
	header += strings.Repeat(" ", pad%64) + "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	binary.Write(&b, binary.LittleEndian, uint16(len(header)))
	b.WriteString(header)
	binary.Write(&b, binary.LittleEndian, data)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeMaskPNG(t *testing.T, path string, mask []bool, w, h int, on uint8) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, m := range mask {
		if m {
			img.Pix[i] = on
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadMapNPY(t *testing.T) {
	dir := t.TempDir()
	// 2x3 map: rows (1 2 3), (4 5 6).
	want := []float32{1, 2, 3, 4, 5, 6}
	tests := []struct {
		name    string
		write   func(path string)
		wantErr string
	}{
		{"C order", func(p string) { writeNPY(t, p, want, []int{2, 3}, false) }, ""},
		{"leading ones", func(p string) { writeNPY(t, p, want, []int{1, 1, 2, 3}, false) }, ""},
		{"Fortran order", func(p string) { writeNPY(t, p, []float32{1, 4, 2, 5, 3, 6}, []int{2, 3}, true) }, ""},
		{"float64", func(p string) {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if err := npyio.Write(f, mat.NewDense(2, 3, []float64{1, 2, 3, 4, 5, 6})); err != nil {
				t.Fatal(err)
			}
		}, ""},
		{"1-D", func(p string) { writeNPY(t, p, want, []int{6}, false) }, "shape [6], want (H, W)"},
		{"batch of 2", func(p string) { writeNPY(t, p, append(want, want...), []int{2, 2, 3}, false) }, "shape [2 2 3]"},
		{"truncated", func(p string) {
			writeNPY(t, p, want, []int{2, 3}, false)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, b[:len(b)-8], 0o644)
		}, "reading 2x3 values"},
		{"int64", func(p string) {
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			npyio.Write(f, mat.NewDense(1, 2, nil))
			f.Seek(0, 0)
			b, _ := io.ReadAll(f)
			os.WriteFile(p, bytes.Replace(b, []byte("<f8"), []byte("<i8"), 1), 0o644)
		}, `dtype '<i8'`},
		{"not npy", func(p string) { os.WriteFile(p, []byte("hello"), 0o644) }, "load map"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".npy")
			tt.write(path)
			m, w, h, err := LoadMapNPY(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
					t.Errorf("error %v; want one naming the file and containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if w != 3 || h != 2 || fmt.Sprint(m) != fmt.Sprint(want) {
				t.Errorf("LoadMapNPY = %v %dx%d; want %v 3x2", m, w, h, want)
			}
		})
	}
}

// TestLoadMaskPNGPed2 reads real UCSD Ped2 masks: 360x240, 0/255, with
// video 01 anomalous from frame 61 and video 06 from frame 1 (README facts).
func TestLoadMaskPNGPed2(t *testing.T) {
	masks := filepath.Join(sharedtest.Path(t), "data", "ped2", "testing", "pixel_masks")
	tests := []struct {
		file      string
		anomalous bool
	}{
		{"Test001_gt/001.png", false},
		{"Test001_gt/060.png", false},
		{"Test001_gt/061.png", true},
		{"Test006_gt/frame001.png", true},
		{"Test006_gt/frame180.png", false},
	}
	for _, tt := range tests {
		m, w, h, err := LoadMaskPNG(filepath.Join(masks, tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if w != 360 || h != 240 {
			t.Errorf("%s: %dx%d, want 360x240", tt.file, w, h)
		}
		var n int
		for _, on := range m {
			if on {
				n++
			}
		}
		if (n > 0) != tt.anomalous {
			t.Errorf("%s: %d anomalous pixels; want anomalous = %v", tt.file, n, tt.anomalous)
		}
	}
}

// testMapsDir writes n random w x h maps with disc-shaped anomalies and
// their masks (named as in MVTec AD, X_mask.png, for odd X) and returns
// them in memory too.
func testMapsDir(t *testing.T, n, w, h int) (mapsDir, masksDir string, maps [][]float32, masks [][]bool) {
	t.Helper()
	mapsDir, masksDir = t.TempDir(), t.TempDir()
	r := rand.New(rand.NewPCG(11, 12))
	for i := range n {
		m, mask := make([]float32, w*h), make([]bool, w*h)
		cx, cy := r.IntN(w), r.IntN(h)
		for p := range m {
			x, y := p%w, p/w
			mask[p] = i%2 == 0 && (x-cx)*(x-cx)+(y-cy)*(y-cy) <= 4
			m[p] = float32(r.Float64())
			if mask[p] {
				m[p] += 0.3
			}
		}
		maps, masks = append(maps, m), append(masks, mask)
		writeNPY(t, filepath.Join(mapsDir, fmt.Sprintf("%03d.npy", i)), m, []int{h, w}, false)
		name := fmt.Sprintf("%03d.png", i)
		if i%2 == 1 {
			name = fmt.Sprintf("%03d_mask.png", i)
		}
		writeMaskPNG(t, filepath.Join(masksDir, name), mask, w, h, 255)
	}
	return mapsDir, masksDir, maps, masks
}

func TestEvaluateMapsDir(t *testing.T) {
	const n, w, h = 5, 9, 7
	mapsDir, masksDir, maps, masks := testMapsDir(t, n, w, h)
	ctx := context.Background()
	for _, sigma := range []float64{0, 1.5} {
		got, err := EvaluateMapsDir(ctx, slog.New(slog.DiscardHandler), mapsDir, masksDir, PixelOptions{Sigma: sigma})
		if err != nil {
			t.Fatal(err)
		}
		in := maps
		if sigma > 0 {
			in = make([][]float32, n)
			for i := range maps {
				if in[i], err = metrics.GaussianBlur(maps[i], w, h, sigma); err != nil {
					t.Fatal(err)
				}
			}
		}
		want := metricstest.PRO(in, masks, w, h, metrics.DefaultMaxFPR)
		var flat []float64
		var labels []bool
		for i := range in {
			for p, v := range in[i] {
				flat, labels = append(flat, float64(v)), append(labels, masks[i][p])
			}
		}
		if !metricstest.Near(got.AUPRO, want, 1e-9) || !metricstest.Near(got.AUROC, metricstest.AUC(flat, labels), 1e-9) || !metricstest.Near(got.AP, metricstest.AP(flat, labels), 1e-9) {
			t.Errorf("sigma %v: %+v; brute force AUROC %v AP %v AUPRO %v", sigma, got, metricstest.AUC(flat, labels), metricstest.AP(flat, labels), want)
		}
		if got.Images != n || got.Width != w || got.Height != h || got.MaxFPR != metrics.DefaultMaxFPR || got.Regions != 3 {
			t.Errorf("sigma %v: %+v; want %d images of %dx%d, max FPR %v, 3 regions", sigma, got, n, w, h, metrics.DefaultMaxFPR)
		}
	}
}

func TestEvaluateMapsDirErrors(t *testing.T) {
	const w, h = 6, 4
	tests := []struct {
		name    string
		breakIt func(t *testing.T, mapsDir, masksDir string) string // returns the path the error must name
		wantErr string
	}{
		{"missing mask", func(t *testing.T, mapsDir, masksDir string) string {
			os.Remove(filepath.Join(masksDir, "002.png"))
			return filepath.Join(mapsDir, "002.npy")
		}, "has no mask 002.png or 002_mask.png"},
		{"mask without map", func(t *testing.T, mapsDir, masksDir string) string {
			os.Remove(filepath.Join(mapsDir, "001.npy"))
			return filepath.Join(masksDir, "001_mask.png")
		}, "has no anomaly map 001.npy"},
		{"two masks for one map", func(t *testing.T, mapsDir, masksDir string) string {
			writeMaskPNG(t, filepath.Join(masksDir, "000_mask.png"), make([]bool, w*h), w, h, 255)
			return filepath.Join(mapsDir, "000.npy")
		}, "matches both 000.png and 000_mask.png"},
		{"mask of another size", func(t *testing.T, mapsDir, masksDir string) string {
			path := filepath.Join(masksDir, "002.png")
			writeMaskPNG(t, path, make([]bool, (w+1)*h), w+1, h, 255)
			return path
		}, "is 7x4 but its map"},
		{"map of another size", func(t *testing.T, mapsDir, masksDir string) string {
			path := filepath.Join(mapsDir, "003.npy")
			writeNPY(t, path, make([]float32, w*(h+1)), []int{h + 1, w}, false)
			writeMaskPNG(t, filepath.Join(masksDir, "003_mask.png"), make([]bool, w*(h+1)), w, h+1, 255)
			return path
		}, "all maps must have one size"},
		{"grey mask value", func(t *testing.T, mapsDir, masksDir string) string {
			path := filepath.Join(masksDir, "000.png")
			writeMaskPNG(t, path, []bool{true}, w, h, 128)
			return path
		}, "pixel (x=0, y=0) is 128; want 0 (normal) or 255"},
		{"broken map", func(t *testing.T, mapsDir, masksDir string) string {
			path := filepath.Join(mapsDir, "001.npy")
			os.WriteFile(path, []byte("not npy"), 0o644)
			return path
		}, "load map"},
		{"no maps", func(t *testing.T, mapsDir, masksDir string) string {
			for i := range 4 {
				os.Remove(filepath.Join(mapsDir, fmt.Sprintf("%03d.npy", i)))
			}
			return mapsDir
		}, "no .npy anomaly maps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mapsDir, masksDir, _, _ := testMapsDir(t, 4, w, h)
			path := tt.breakIt(t, mapsDir, masksDir)
			_, err := EvaluateMapsDir(context.Background(), slog.New(slog.DiscardHandler), mapsDir, masksDir, PixelOptions{})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v; want one naming %s and containing %q", err, path, tt.wantErr)
			}
		})
	}
	mapsDir, masksDir, _, _ := testMapsDir(t, 2, w, h)
	for _, opts := range []PixelOptions{{Sigma: -1}, {MaxFPR: 2}} {
		if _, err := EvaluateMapsDir(context.Background(), slog.New(slog.DiscardHandler), mapsDir, masksDir, opts); err == nil {
			t.Errorf("options %+v accepted", opts)
		}
	}
}

// A NaN in a map names the map's file, not its index (issue 22).
func TestEvaluateMapsDirNamesNaNMap(t *testing.T) {
	const n, w, h = 5, 9, 7
	mapsDir, masksDir, maps, _ := testMapsDir(t, n, w, h)
	bad := slices.Clone(maps[3])
	bad[w+2] = float32(math.NaN())
	writeNPY(t, filepath.Join(mapsDir, "003.npy"), bad, []int{h, w}, false)
	_, err := EvaluateMapsDir(context.Background(), slog.New(slog.DiscardHandler), mapsDir, masksDir, PixelOptions{})
	for _, want := range []string{filepath.Join(mapsDir, "003.npy"), "pixel (x=2, y=1) is NaN", "run 'fmam eval' again"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
