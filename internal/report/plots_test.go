package report

import (
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/results"

	"gonum.org/v1/plot/plotter"
)

func decodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return img
}

func rgbaAt(img image.Image, x, y int) color.RGBA {
	return color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
}

func closeColor(a, b color.RGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B)
}

// countNear counts the pixels within tol of c in every channel.
func countNear(img image.Image, c color.RGBA, tol int) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if closeColor(rgbaAt(img, x, y), c, tol) {
				n++
			}
		}
	}
	return n
}

// checkPicture checks a PNG's size and that it shows more than a blank page:
// many non-white pixels and every colour in want drawn somewhere.
func checkPicture(t *testing.T, path string, w, h int, want ...color.Color) image.Image {
	t.Helper()
	img := decodePNG(t, path)
	// Sizes are given at screen resolution; the PNG is at print resolution.
	w, h = printPixels(w), printPixels(h)
	if got := img.Bounds().Size(); got != image.Pt(w, h) {
		t.Fatalf("%s is %v pixels, want %dx%d", filepath.Base(path), got, w, h)
	}
	white := color.RGBA{255, 255, 255, 255}
	if n := w*h - countNear(img, white, 0); n < w*h/100 {
		t.Errorf("%s has only %d non-white pixels", filepath.Base(path), n)
	}
	for _, c := range want {
		rgba := color.RGBAModel.Convert(c).(color.RGBA)
		if n := countNear(img, rgba, 8); n < 30 {
			t.Errorf("%s has %d pixels of colour %v, want a drawn series (>= 30)", filepath.Base(path), n, rgba)
		}
	}
	// Axis labels and tick numbers are black text.
	if n := countNear(img, color.RGBA{0, 0, 0, 255}, 40); n < 100 {
		t.Errorf("%s has %d near-black pixels; labels missing?", filepath.Base(path), n)
	}
	return img
}

func TestWriteROCPlot(t *testing.T) {
	dir := t.TempDir()
	fpr := []float64{0, 0.1, 0.4, 1}
	curves := []ROCCurve{
		{Name: "DRAEM", FPR: fpr, TPR: []float64{0, 0.7, 0.9, 1}, AUC: 0.87},
		{Name: "DRAEM+CA", FPR: fpr, TPR: []float64{0, 0.5, 0.95, 1}, AUC: nan},
	}
	path := filepath.Join(dir, "roc.png")
	if err := WriteROCPlot(path, curves, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	checkPicture(t, path, 640, 560, seriesColor(0), seriesColor(1))

	small := filepath.Join(dir, "small.png")
	if err := WriteROCPlot(small, curves[:1], PlotOptions{Title: "one", Width: 300, Height: 200}); err != nil {
		t.Fatal(err)
	}
	checkPicture(t, small, 300, 200, seriesColor(0))

	var legend []string
	for _, c := range curves {
		legend = append(legend, rocLegendName(c))
	}
	if want := []string{"DRAEM (AUC 87.0%)", "DRAEM+CA"}; !slices.Equal(legend, want) {
		t.Errorf("legend = %q, want %q", legend, want)
	}
}

func TestScorePlotShadesAnomalousFrames(t *testing.T) {
	const w, h = 800, 400
	scores := make([]float64, 100)
	scores[99] = 1 // the curve runs along 0, clear of the middle of the plot
	v := VideoScores{Video: "01", Series: []ScoreSeries{{"teacher", scores}}, Anomalous: []FrameRange{{40, 60}}}
	path := filepath.Join(t.TempDir(), "score.png")
	if err := WriteScorePlot(path, v, PlotOptions{Width: w, Height: h}); err != nil {
		t.Fatal(err)
	}
	img := checkPicture(t, path, w, h, seriesColor(0), bandColor())

	// Where data coordinates land, from the same plot drawn again.
	p, _, err := scorePlot(v, PlotOptions{Width: w, Height: h})
	if err != nil {
		t.Fatal(err)
	}
	_, dc := renderPlot(p, w, h)
	da := p.DataCanvas(dc)
	trX, trY := p.Transforms(&da)
	pixel := func(frame, score float64) (int, int) {
		const perPoint = float64(printDPI) / 72 // vg lengths are in points
		return int(float64(trX(frame)) * perPoint), printPixels(h) - int(float64(trY(score))*perPoint)
	}
	tests := []struct {
		frame  float64
		inside bool
	}{
		{30, false}, {39, false}, {40, true}, {50, true}, {59, true}, {60, false}, {70, false},
	}
	for _, tc := range tests {
		x, y := pixel(tc.frame, 0.5)
		got := rgbaAt(img, x, y)
		want := color.RGBA{255, 255, 255, 255}
		if tc.inside {
			want = bandColor()
		}
		if !closeColor(got, want, 2) {
			t.Errorf("frame %v (pixel %d,%d): colour %v, want %v (inside band: %v)", tc.frame, x, y, got, want, tc.inside)
		}
	}
}

func TestWriteLambdaPlot(t *testing.T) {
	dir := t.TempDir()
	both := filepath.Join(dir, "both.png")
	pts := []results.LambdaPoint{{Lambda: 0, MicroAUC: 0.80, MacroAUC: 0.70}, {Lambda: 0.5, MicroAUC: 0.90, MacroAUC: 0.85}, {Lambda: 1, MicroAUC: 0.85, MacroAUC: 0.80}}
	if err := WriteLambdaPlot(both, FrameMeasure(), pts, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	checkPicture(t, both, 640, 420, seriesColor(0), seriesColor(1))

	micro := filepath.Join(dir, "micro.png")
	pts = []results.LambdaPoint{{Lambda: 0, MicroAUC: 0.80, MacroAUC: nan}, {Lambda: 1, MicroAUC: 0.85, MacroAUC: nan}}
	if err := WriteLambdaPlot(micro, FrameMeasure(), pts, PlotOptions{Width: 400, Height: 300}); err != nil {
		t.Fatal(err)
	}
	img := checkPicture(t, micro, 400, 300, seriesColor(0))
	if n := countNear(img, color.RGBAModel.Convert(seriesColor(1)).(color.RGBA), 8); n != 0 {
		t.Errorf("macro series drawn (%d pixels) though no point has a macro AUC", n)
	}
}

func TestPlotErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "x.png")
	tests := []struct {
		name    string
		write   func() error
		wantErr string
	}{
		{"no curves", func() error { return WriteROCPlot(path, nil, PlotOptions{}) }, "no curves"},
		{"ragged ROC", func() error {
			return WriteROCPlot(path, []ROCCurve{{Name: "a", FPR: []float64{0, 1}, TPR: []float64{0}, AUC: nan}}, PlotOptions{})
		}, "as many FPR as TPR"},
		{"ROC outside unit square", func() error {
			return WriteROCPlot(path, []ROCCurve{{Name: "a", FPR: []float64{0, 2}, TPR: []float64{0, 1}, AUC: nan}}, PlotOptions{})
		}, "outside [0, 1]"},
		{"ROC AUC in percent", func() error {
			return WriteROCPlot(path, []ROCCurve{{Name: "a", FPR: []float64{0, 1}, TPR: []float64{0, 1}, AUC: 50}}, PlotOptions{})
		}, "not a fraction"},
		{"no series", func() error { return WriteScorePlot(path, VideoScores{Video: "v"}, PlotOptions{}) }, "no score series"},
		{"infinite score", func() error {
			return WriteScorePlot(path, VideoScores{Video: "v", Series: []ScoreSeries{{"s", []float64{0, math.Inf(1)}}}}, PlotOptions{})
		}, "frame 1"},
		{"no frame with a score", func() error {
			return WriteScorePlot(path, VideoScores{Video: "v", Series: []ScoreSeries{{"s", []float64{nan, nan}}}}, PlotOptions{})
		}, "no frame with a score"},
		{"range past the end", func() error {
			return WriteScorePlot(path, VideoScores{Video: "v", Series: []ScoreSeries{{"s", []float64{0, 1}}}, Anomalous: []FrameRange{{1, 3}}}, PlotOptions{})
		}, "outside the 2 frames"},
		{"empty range", func() error {
			return WriteScorePlot(path, VideoScores{Video: "v", Series: []ScoreSeries{{"s", []float64{0, 1}}}, Anomalous: []FrameRange{{1, 1}}}, PlotOptions{})
		}, "is empty"},
		{"lambda duplicate", func() error {
			return WriteLambdaPlot(path, FrameMeasure(), []results.LambdaPoint{{Lambda: 1, MicroAUC: 0.5, MacroAUC: nan}, {Lambda: 1, MicroAUC: 0.6, MacroAUC: nan}}, PlotOptions{})
		}, "appears twice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.write()
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %v, want one naming %s and containing %q", err, path, tc.wantErr)
			}
		})
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed plot left %s behind", path)
	}
}

func TestThinCurve(t *testing.T) {
	// A staircase of 10,001 points from (0,0) to (1,1) in steps of 1e-4.
	var xys plotter.XYs
	for i := range 10001 {
		xys = append(xys, plotter.XY{X: float64(i) / 10000, Y: float64(i) / 10000})
	}
	got := thinCurve(xys, 0.001)
	if got[0] != xys[0] || got[len(got)-1] != xys[len(xys)-1] {
		t.Errorf("end points not kept: %v ... %v", got[0], got[len(got)-1])
	}
	// One point per 0.001 step (10 input steps), plus the last one.
	if len(got) < 990 || len(got) > 1002 {
		t.Errorf("kept %d points, want about 1,001", len(got))
	}
	for i := 1; i < len(got)-1; i++ {
		if d := got[i].X - got[i-1].X; d < 0.001-1e-12 {
			t.Fatalf("points %d and %d only %v apart", i-1, i, d)
		}
	}
	short := plotter.XYs{{X: 0, Y: 0}, {X: 1e-9, Y: 0}}
	if got := thinCurve(short, 0.1); len(got) != 2 {
		t.Errorf("two-point curve thinned to %d points", len(got))
	}
}

func TestRangesFromLabels(t *testing.T) {
	tests := []struct {
		labels []bool
		want   []FrameRange
	}{
		{nil, nil},
		{[]bool{false, false}, nil},
		{[]bool{true, true, true}, []FrameRange{{0, 3}}},
		{[]bool{false, true, true, false, true}, []FrameRange{{1, 3}, {4, 5}}},
		{[]bool{true, false, true}, []FrameRange{{0, 1}, {2, 3}}},
	}
	for _, tc := range tests {
		if got := RangesFromLabels(tc.labels); !slices.Equal(got, tc.want) {
			t.Errorf("RangesFromLabels(%v) = %v, want %v", tc.labels, got, tc.want)
		}
	}
}
