package metrics

import (
	"context"
	"math/rand/v2"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"
)

// mvtecScaleMaps makes n synthetic w x h anomaly maps: uniform noise, and in
// 70% of the images (MVTec AD's test sets are mostly defective) one to three
// elliptic defects whose scores are shifted up.
func mvtecScaleMaps(n, w, h int) ([][]float32, [][]bool) {
	r := rand.New(rand.NewPCG(13, 14))
	maps, masks := make([][]float32, n), make([][]bool, n)
	for i := range n {
		m, mask := make([]float32, w*h), make([]bool, w*h)
		if r.Float64() < 0.7 {
			for range 1 + r.IntN(3) {
				cx, cy := r.Float64()*float64(w), r.Float64()*float64(h)
				rx, ry := 3+r.Float64()*30, 3+r.Float64()*30
				for y := range h {
					for x := range w {
						dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
						if dx*dx+dy*dy <= 1 {
							mask[y*w+x] = true
						}
					}
				}
			}
		}
		for p := range m {
			m[p] = r.Float32()
			if mask[p] {
				m[p] = 0.4 + 0.8*r.Float32()
			}
		}
		maps[i], masks[i] = m, mask
	}
	return maps, masks
}

// peakMemory samples the Go runtime's memory every few milliseconds until
// stop is called, which returns the peaks in bytes: live heap objects and
// all memory the runtime holds from the OS.
func peakMemory() (stop func() (heap, total uint64)) {
	samples := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/total:bytes"},
	}
	var heap, total uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(samples)
			heap = max(heap, samples[0].Value.Uint64())
			total = max(total, samples[1].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() (uint64, uint64) {
		close(done)
		wg.Wait()
		return heap, total
	}
}

// BenchmarkPixelMetricsMVTecScale evaluates 1,725 maps of 256x256 (MVTec
// AD's whole test set, 113 M pixels). The memory peaks include the 565 MB of
// input maps and masks.
func BenchmarkPixelMetricsMVTecScale(b *testing.B) {
	const n, w, h = 1725, 256, 256
	maps, masks := mvtecScaleMaps(n, w, h)
	ctx := context.Background()
	for _, bb := range []struct {
		name string
		run  func() error
	}{
		{"auroc-ap", func() error { _, _, err := PixelMetrics(ctx, maps, masks, w, h); return err }},
		{"auroc-ap-aupro", func() error { _, err := EvaluatePixels(ctx, maps, masks, w, h, DefaultMaxFPR); return err }},
	} {
		b.Run(bb.name, func(b *testing.B) {
			// Memory: one run after a collection, so that garbage of earlier
			// runs does not count; it is the peak a program evaluating once sees.
			runtime.GC()
			stop := peakMemory()
			if err := bb.run(); err != nil {
				b.Fatal(err)
			}
			heap, total := stop()
			b.ReportAllocs()
			for b.Loop() {
				if err := bb.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MB")
			b.ReportMetric(float64(total)/(1<<20), "peak-runtime-MB")
			b.ReportMetric(float64(n*w*h*5)/(1<<20), "input-MB")
		})
	}
}
