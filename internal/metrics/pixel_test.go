package metrics

import (
	"context"
	"errors"
	"github.com/fmam/fmam/internal/metrics/metricstest"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

func bools(xs ...int) []bool { return metricstest.Labels(xs...) }

// Region sizes by hand; scipy.ndimage.label(mask, structure=np.ones((3, 3)))
// gives the same regions and sizes for every case (scipy 1.10.1).
func TestLabelerRegions(t *testing.T) {
	tests := []struct {
		name  string
		w, h  int
		mask  []bool
		sizes []int
	}{
		{"empty", 3, 2, bools(0, 0, 0, 0, 0, 0), nil},
		// 8-connectivity joins diagonal neighbours (4-connectivity would give 3).
		{"diagonal", 3, 3, bools(1, 0, 0, 0, 1, 0, 0, 0, 1), []int{3}},
		{"anti-diagonal", 3, 3, bools(0, 0, 1, 0, 1, 0, 1, 0, 0), []int{3}},
		{"checkerboard", 3, 3, bools(1, 0, 1, 0, 1, 0, 1, 0, 1), []int{5}},
		// A blank column separates; numbering follows the first pixel in raster order.
		{"gap column", 5, 2, bools(1, 1, 0, 1, 0, 1, 0, 0, 1, 1), []int{3, 3}},
		// No wrap-around between the end of one row and the start of the next.
		{"row ends", 3, 2, bools(0, 0, 1, 1, 0, 0), []int{1, 1}},
		{"full", 2, 2, bools(1, 1, 1, 1), []int{4}},
	}
	var l labeler
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := l.label(tt.mask, tt.w, tt.h)
			if n != len(tt.sizes) || !slices.Equal(l.sizes, tt.sizes) {
				t.Errorf("label: %d regions of sizes %v; want %v", n, l.sizes, tt.sizes)
			}
			for i, on := range tt.mask {
				if on != (l.labels[i] != 0) {
					t.Errorf("pixel %d: mask %v but label %d", i, on, l.labels[i])
				}
			}
		})
	}
}

func TestPixelMetricsHandComputed(t *testing.T) {
	// Two 2x1 images; each has one anomalous pixel, i.e. one region:
	// anomalous scores {.9, .3}, normal scores {.8, .1}.
	// AUROC: .9 beats both normals, .3 beats .1 only: 3/4.
	// AP: thresholds .9 (R=1/2, P=1) and .3 (R=1, P=2/3): 1/2 + 1/3.
	// (roc_auc_score and average_precision_score on the four pixels agree.)
	// PRO curve (FPR, PRO) from the top: (0,0) start, .9 -> (0, 1/2),
	// .8 -> (1/2, 1/2), .3 -> (1/2, 1), .1 -> (1, 1).
	//   maxFPR .3: the (0,1/2)-(1/2,1/2) segment interpolates to 1/2 at .3:
	//     area .3 * 1/2 = .15, normalised .5.
	//   maxFPR .5: .5 is a curve point, so no interpolation: area .25 -> .5.
	//   maxFPR 1: .25 + 0 + .5 * 1 = .75.
	maps := [][]float32{{0.9, 0.8}, {0.3, 0.1}}
	masks := [][]bool{bools(1, 0), bools(1, 0)}
	ctx := context.Background()
	auroc, ap, err := PixelMetrics(ctx, maps, masks, 2, 1)
	if err != nil || !metricstest.Near(auroc, 0.75, 1e-15) || !metricstest.Near(ap, 5.0/6, 1e-15) {
		t.Errorf("PixelMetrics = %v, %v, %v; want 0.75, 5/6", auroc, ap, err)
	}
	for _, tt := range []struct{ maxFPR, want float64 }{{0.3, 0.5}, {0.5, 0.5}, {1, 0.75}} {
		got, err := AUPRO(ctx, maps, masks, 2, 1, tt.maxFPR)
		if err != nil || !metricstest.Near(got, tt.want, 1e-15) {
			t.Errorf("AUPRO(maxFPR=%v) = %v, %v; want %v", tt.maxFPR, got, err, tt.want)
		}
	}

	// PRO averages over regions, not pixels: a 3-pixel region found in full
	// counts as much as a 1-pixel region missed. 4x2 image:
	//   scores  .9 .9 .1 .5      mask 1 1 0 1
	//           .9 .2 .2 .0           0 0 0 0
	// Region A = {(0,0), (1,0)} of size 2, region B = {(3,0)} of size 1 (not
	// adjacent to A). Normal scores .1 .9 .2 .2 0 (N=5). Thresholds: .9: FP 1,
	// A found in full -> PRO 1/2, point (.2, .5); .5: B found -> (.2, 1);
	// .2: (.6, 1); .1: (.8, 1); 0: (1, 1).
	// maxFPR .3: area of (0,0)-(.2,.5) = .05, then (.2,1)-(.3,1) = .1: .15/.3 = .5.
	// maxFPR 1: .05 + .8 = .85. (The 8 pixels and both regions are counted
	// off the mask.)
	maps = [][]float32{{0.9, 0.9, 0.1, 0.5, 0.9, 0.2, 0.2, 0}}
	masks = [][]bool{bools(1, 1, 0, 1, 0, 0, 0, 0)}
	for _, tt := range []struct{ maxFPR, want float64 }{{0.3, 0.5}, {1, 0.85}} {
		r, err := EvaluatePixels(ctx, maps, masks, 4, 2, tt.maxFPR)
		if err != nil || !metricstest.Near(r.AUPRO, tt.want, 1e-15) || r.Regions != 2 || r.AnomalousPixels != 3 || r.Pixels != 8 {
			t.Errorf("EvaluatePixels(maxFPR=%v) = %+v, %v; want AUPRO %v, 2 regions, 3 of 8 pixels", tt.maxFPR, r, err, tt.want)
		}
	}
}

// The wanted strings are fmam's own error messages; one class only follows
// roc_auc_score, which refuses it too.
func TestPixelMetricsErrors(t *testing.T) {
	ctx := context.Background()
	ok := [][]float32{{1, 0}}
	okMask := [][]bool{bools(1, 0)}
	tests := []struct {
		name    string
		maps    [][]float32
		masks   [][]bool
		w, h    int
		maxFPR  float64
		wantErr string
	}{
		{"no maps", nil, nil, 2, 1, 0.3, "no anomaly maps"},
		{"count mismatch", ok, nil, 2, 1, 0.3, "1 anomaly maps but 0 masks"},
		{"short map", [][]float32{{1}}, okMask, 2, 1, 0.3, "anomaly map 0 has 1 values"},
		{"short mask", ok, [][]bool{bools(1)}, 2, 1, 0.3, "mask 0 has 1 values"},
		{"NaN", [][]float32{{1, float32(math.NaN())}}, okMask, 2, 1, 0.3, "pixel (x=1, y=0) is NaN"},
		{"no anomaly", ok, [][]bool{bools(0, 0)}, 2, 1, 0.3, "only one class"},
		{"all anomalous", ok, [][]bool{bools(1, 1)}, 2, 1, 0.3, "only one class"},
		{"max FPR 0", ok, okMask, 2, 1, 0, "outside (0, 1]"},
		{"max FPR > 1", ok, okMask, 2, 1, 1.5, "outside (0, 1]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EvaluatePixels(ctx, tt.maps, tt.masks, tt.w, tt.h, tt.maxFPR)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v; want one containing %q", err, tt.wantErr)
			}
		})
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := EvaluatePixels(cancelled, ok, okMask, 2, 1, 0.3); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: error %v", err)
	}
}

// randomPixels draws maps whose values repeat (ties), include -0 and +0 and
// crowd into one sort bucket (1 + k*2^-20 share their top 16 key bits), and
// masks of random pixels that form regions of many shapes.
func randomPixels(r *rand.Rand) (maps [][]float32, masks [][]bool, w, h int) {
	w, h = 2+r.IntN(8), 1+r.IntN(8)
	values := []float32{float32(math.Copysign(0, -1)), 0, 0.5, 3, -1.5, 1e-30, -2e-38}
	for k := range 6 {
		values = append(values, 1+float32(k)/(1<<20))
	}
	for {
		n := 1 + r.IntN(5)
		maps, masks = make([][]float32, n), make([][]bool, n)
		var pos, neg int
		density := r.Float64() * 0.6
		for i := range n {
			maps[i] = make([]float32, w*h)
			masks[i] = make([]bool, w*h)
			for p := range maps[i] {
				masks[i][p] = r.Float64() < density
				v := values[r.IntN(len(values))]
				if masks[i][p] && r.IntN(2) == 0 {
					v = values[len(values)-1-r.IntN(4)] // anomalous pixels score higher on average
				}
				maps[i][p] = v
				if masks[i][p] {
					pos++
				} else {
					neg++
				}
			}
		}
		if pos > 0 && neg > 0 {
			return maps, masks, w, h
		}
	}
}

func TestPixelMetricsAgainstBruteForce(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	for trial := range 120 {
		maps, masks, w, h := randomPixels(r)
		var flat []float64
		var flatLabels []bool
		for i := range maps {
			for p, v := range maps[i] {
				flat = append(flat, float64(v))
				flatLabels = append(flatLabels, masks[i][p])
			}
		}
		wantAUC, wantAP := metricstest.AUC(flat, flatLabels), metricstest.AP(flat, flatLabels)
		maxFPR := []float64{0.3, 0.05, 0.5, 1}[trial%4]
		wantPRO := metricstest.PRO(maps, masks, w, h, maxFPR)
		// countMin 1 counts every bucket, a huge one sorts every bucket.
		for _, countMin := range []int{1, countMinDefault, math.MaxInt} {
			got, err := evaluatePixels(ctx, maps, masks, w, h, maxFPR, countMin, nil)
			if err != nil {
				t.Fatalf("trial %d: %v", trial, err)
			}
			if !metricstest.Near(got.AUROC, wantAUC, 1e-9) || !metricstest.Near(got.AP, wantAP, 1e-9) || !metricstest.Near(got.AUPRO, wantPRO, 1e-9) {
				t.Errorf("trial %d (%d maps %dx%d, countMin %d, maxFPR %v): AUROC %v AP %v AUPRO %v; brute force %v %v %v",
					trial, len(maps), w, h, countMin, maxFPR, got.AUROC, got.AP, got.AUPRO, wantAUC, wantAP, wantPRO)
			}
		}
	}
}

// TestPixelMetricsManyThresholds mixes both ways of walking a bucket in one
// run (countMin 64: large buckets counted, small ones sorted) over a few
// thousand distinct scores, some repeated, in regions of realistic shape.
func TestPixelMetricsManyThresholds(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const w, h, n = 32, 32, 8
	maps, masks := make([][]float32, n), make([][]bool, n)
	var flat []float64
	var labels []bool
	for i := range n {
		maps[i], masks[i] = make([]float32, w*h), make([]bool, w*h)
		for p := range maps[i] {
			x, y := p%w, p/w
			masks[i][p] = i%3 != 0 && (x-10-i)*(x-10-i)+(y-15)*(y-15) < 10+i*5
			v := float32(r.NormFloat64()) * 0.1
			if masks[i][p] {
				v += 0.15
			}
			if r.IntN(4) != 0 {
				v = float32(math.Round(float64(v)*256) / 256) // ties
			}
			maps[i][p] = v
			flat = append(flat, float64(v))
			labels = append(labels, masks[i][p])
		}
	}
	wantAUC, wantAP := metricstest.AUC(flat, labels), metricstest.AP(flat, labels)
	wantPRO := metricstest.PRO(maps, masks, w, h, 0.3)
	for _, countMin := range []int{64, countMinDefault, math.MaxInt} {
		got, err := evaluatePixels(context.Background(), maps, masks, w, h, 0.3, countMin, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !metricstest.Near(got.AUROC, wantAUC, 1e-9) || !metricstest.Near(got.AP, wantAP, 1e-9) || !metricstest.Near(got.AUPRO, wantPRO, 1e-9) {
			t.Errorf("countMin %d: AUROC %v AP %v AUPRO %v; brute force %v %v %v",
				countMin, got.AUROC, got.AP, got.AUPRO, wantAUC, wantAP, wantPRO)
		}
		if got.Regions != 5 {
			t.Errorf("countMin %d: %d regions, want 5 (one disc in each of images 1, 2, 4, 5, 7)", countMin, got.Regions)
		}
	}
}

// The values are in increasing float order (IEEE 754), so their keys must be
// too; -0 and +0 compare equal, so they are one key.
func TestPixelKeyOrder(t *testing.T) {
	values := []float32{float32(math.Inf(-1)), -3, -1e-40, 0, 1e-45, 1e-40, 1, 1.0000001, float32(math.MaxFloat32), float32(math.Inf(1))}
	for i := 1; i < len(values); i++ {
		a, _ := pixelKey(values[i-1])
		b, _ := pixelKey(values[i])
		if a >= b {
			t.Errorf("key(%v) = %#x >= key(%v) = %#x", values[i-1], a, values[i], b)
		}
	}
	negZero, _ := pixelKey(float32(math.Copysign(0, -1)))
	zero, _ := pixelKey(0)
	if negZero != zero {
		t.Errorf("key(-0) = %#x, key(+0) = %#x; want one threshold", negZero, zero)
	}
	if _, ok := pixelKey(float32(math.NaN())); ok {
		t.Error("key(NaN) accepted")
	}
}

// EvaluatePixelsProgress counts every image of both passes and the walk,
// one call at a time with done increasing to PixelSteps, even with the
// images spread over several goroutines, and gives EvaluatePixels' result.
func TestEvaluatePixelsProgress(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	const n, w, h = 37, 9, 7
	maps := make([][]float32, n)
	masks := make([][]bool, n)
	for i := range maps {
		maps[i] = make([]float32, w*h)
		masks[i] = make([]bool, w*h)
		for j := range maps[i] {
			maps[i][j] = rng.Float32()
			masks[i][j] = i%3 == 0 && j%w < 3 && j/w < 2
		}
	}
	var got []int
	res, err := EvaluatePixelsProgress(context.Background(), maps, masks, w, h, DefaultMaxFPR, func(done, total int) {
		if total != PixelSteps(n) {
			t.Errorf("total %d, want %d", total, PixelSteps(n))
		}
		got = append(got, done)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != PixelSteps(n) {
		t.Fatalf("%d progress calls, want %d", len(got), PixelSteps(n))
	}
	for i, d := range got {
		if d != i+1 {
			t.Fatalf("progress call %d: done %d, want %d (calls %v)", i, d, i+1, got)
		}
	}
	want, err := EvaluatePixels(context.Background(), maps, masks, w, h, DefaultMaxFPR)
	if err != nil {
		t.Fatal(err)
	}
	if res != want {
		t.Errorf("with progress %+v, without %+v", res, want)
	}
}
