package report

import (
	"math"
	"path/filepath"
	"testing"
)

// BenchmarkWriteScorePlot times one score picture of a long video (Avenue and
// ShanghaiTech test videos run to about 1,000 frames) with two methods.
func BenchmarkWriteScorePlot(b *testing.B) {
	const n = 1000
	a, s := make([]float64, n), make([]float64, n)
	labels := make([]bool, n)
	for i := range n {
		a[i] = math.Sin(float64(i) / 13)
		s[i] = math.Cos(float64(i) / 17)
		labels[i] = i%200 > 150
	}
	v := VideoScores{Video: "01", Series: []ScoreSeries{{"teacher", a}, {"student", s}}, Anomalous: RangesFromLabels(labels)}
	path := filepath.Join(b.TempDir(), "score.png")
	for b.Loop() {
		if err := WriteScorePlot(path, v, PlotOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWritePanels times one Figure-3 style row at MVTec AD's usual 256
// px input: image, mask, two 64x64 maps shown at 256 px, and an overlay.
func BenchmarkWritePanels(b *testing.B) {
	const n, m = 256, 64
	img := ImageCHW{Data: make([]float32, 3*n*n), C: 3, H: n, W: n}
	mask := Map{Data: make([]float32, n*n), H: n, W: n}
	amap := Map{Data: make([]float32, m*m), H: m, W: m}
	for i := range img.Data {
		img.Data[i] = float32(i%n) / n
	}
	for i := range amap.Data {
		amap.Data[i] = float32(i%m) / m
	}
	r := JointRange(amap)
	p := Panel{Tiles: []Tile{ImageTile("image", img), MaskTile("mask", mask), HeatTile("teacher", amap, r), HeatTile("student", amap, r), OverlayTile("overlay", img, amap, r)}}
	path := filepath.Join(b.TempDir(), "panel.png")
	for b.Loop() {
		if err := WritePanels(path, p); err != nil {
			b.Fatal(err)
		}
	}
}
