package data

import (
	"fmt"
	"testing"

	"github.com/fmam/fmam/internal/imageio"
)

// BenchmarkDecodeResizePed2 measures decoding real Ped2 JPEG frames
// (360x240) and resizing them, one goroutine.
func BenchmarkDecodeResizePed2(b *testing.B) {
	ds, err := LoadPed2(ped2Dir(b), Train, FrameLabels{})
	if err != nil {
		b.Fatal(err)
	}
	frames := ds.Videos[0].Frames
	for _, size := range []int{64, 256} {
		for _, c := range []int{1, 3} {
			for _, f := range []imageio.Filter{imageio.Bilinear, imageio.PILBilinear} {
				name := fmt.Sprintf("%dx%d_C%d", size, size, c)
				if f != imageio.Bilinear {
					name += "_" + f.String()
				}
				b.Run(name, func(b *testing.B) {
					benchDecode(b, frames, imageio.DecodeOptions{C: c, H: size, W: size, Range: imageio.RangeSigned, Filter: f})
				})
			}
		}
	}
}

func benchDecode(b *testing.B, frames []string, opt imageio.DecodeOptions) {
	dec, err := imageio.NewDecoder(opt)
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		if _, err := dec.Decode(frames[i%len(frames)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkVideoBatchesPed2 measures one shuffled training epoch of
// MNAD-style clips (T=4, 256x256 RGB, batch 4) over the first Ped2 training
// video (116 clips), with and without the frame cache. Each iteration starts
// from an empty cache.
func BenchmarkVideoBatchesPed2(b *testing.B) {
	ds, err := LoadPed2(ped2Dir(b), Train, FrameLabels{})
	if err != nil {
		b.Fatal(err)
	}
	ds.Videos = ds.Videos[:1]
	for _, cache := range []int64{-1, 0} {
		b.Run(fmt.Sprintf("cache=%v", cache == 0), func(b *testing.B) {
			clips := 0
			for b.Loop() {
				bt, err := NewVideoBatcher(ds, VideoBatchConfig{Clip: ClipSpec{T: 4},
					Decode:    imageio.DecodeOptions{C: 3, H: 256, W: 256, Range: imageio.RangeSigned},
					BatchSize: 4, Shuffle: true, CacheBytes: cache})
				if err != nil {
					b.Fatal(err)
				}
				for batch, err := range bt.Epoch(b.Context(), Position{}) {
					if err != nil {
						b.Fatal(err)
					}
					clips += batch.N
				}
			}
			b.ReportMetric(float64(clips)/b.Elapsed().Seconds(), "clips/s")
		})
	}
}
