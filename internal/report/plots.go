package report

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/results"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// plotDPI fixes the scale of text and lines relative to pixels: at 96 dpi a
// 10 pt label is about 13 px high, legible in an 800 px wide picture.
const plotDPI = 96

// PlotOptions sets a picture's title and size in pixels; zero fields take
// the defaults of the function drawing it.
type PlotOptions struct {
	Title         string
	Width, Height int
	// Formats are the forms written besides the PNG: "svg", "pdf" (see
	// FigureFormats; "png" is always written).
	Formats []string
}

func (o PlotOptions) withDefaults(title string, w, h int) PlotOptions {
	if o.Title == "" {
		o.Title = title
	}
	if o.Width <= 0 {
		o.Width = w
	}
	if o.Height <= 0 {
		o.Height = h
	}
	return o
}

// seriesColor returns the i-th colour of the Okabe-Ito palette, which stays
// distinguishable for colour-blind readers and on the light red bands of
// score plots.
func seriesColor(i int) color.Color {
	pal := []color.RGBA{
		{0, 114, 178, 255},   // blue
		{213, 94, 0, 255},    // vermillion
		{0, 158, 115, 255},   // bluish green
		{230, 159, 0, 255},   // orange
		{204, 121, 167, 255}, // reddish purple
		{86, 180, 233, 255},  // sky blue
		{0, 0, 0, 255},       // black
	}
	return pal[i%len(pal)]
}

// bandColor shades ground-truth anomalous frames; opaque so that it sits
// under the curves without tinting them.
func bandColor() color.RGBA { return color.RGBA{255, 205, 205, 255} }

func newPlot(title, xLabel, yLabel string) *plot.Plot {
	p := plot.New()
	h := newSubHandler()
	p.Title.TextStyle.Handler = h
	p.X.Label.TextStyle.Handler = h
	p.Y.Label.TextStyle.Handler = h
	p.Legend.TextStyle.Handler = h
	p.Title.Text = subscripts(title)
	p.X.Label.Text = subscripts(xLabel)
	p.Y.Label.Text = subscripts(yLabel)
	return p
}

// renderPlot draws p as savePlot does, on a white image of w x h pixels
// at plotDPI (printPixels of each at printDPI). It also returns the canvas
// the plot was drawn on, from which p.DataCanvas gives where data
// coordinates land.
func renderPlot(p *plot.Plot, w, h int) (image.Image, draw.Canvas) {
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, printPixels(w), printPixels(h)))), vgimg.UseDPI(printDPI))
	dc := draw.New(c)
	fillWhite(dc)
	pc := drawWithLegendBelow(p, dc)
	return c.Image(), pc
}

func fillWhite(dc draw.Canvas) {
	dc.SetColor(color.White)
	dc.Fill(dc.Rectangle.Path())
}

// savePlot writes p as a w x h figure (pixels at plotDPI), its legend
// under the data: path as PNG, and the formats opt names beside it.
func savePlot(path string, p *plot.Plot, w, h int, formats []string) error {
	return writeFigure(path, w, h, formats, func(dc draw.Canvas) { drawWithLegendBelow(p, dc) })
}

func addLine(p *plot.Plot, name string, xys plotter.XYs, i int, points bool) error {
	return addLineTo(p, &p.Legend, name, xys, i, points)
}

// addLineTo adds a series to p and its entry to leg.
func addLineTo(p *plot.Plot, leg *plot.Legend, name string, xys plotter.XYs, i int, points bool) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("series %q: %w", name, err)
	}
	l.Color = seriesColor(i)
	l.Width = vg.Points(1.5)
	p.Add(l)
	name = subscripts(name)
	if !points {
		leg.Add(name, l)
		return nil
	}
	s, err := plotter.NewScatter(xys)
	if err != nil {
		return fmt.Errorf("series %q: %w", name, err)
	}
	s.Color = seriesColor(i)
	s.Shape = draw.CircleGlyph{}
	p.Add(s)
	leg.Add(name, l, s)
	return nil
}

// ROCCurve is one method's ROC curve: false- and true-positive rates of
// matching thresholds, and its AUC (a fraction; NaN leaves it out of the
// legend).
type ROCCurve struct {
	Name     string
	FPR, TPR []float64
	AUC      float64
}

// WriteROCPlot draws several ROC curves on one plot with the AUC of each in
// the legend and the chance diagonal dashed, and writes it to path as PNG
// (default 640 x 560 pixels).
func WriteROCPlot(path string, curves []ROCCurve, opt PlotOptions) error {
	p, opt, err := rocPlot(curves, opt)
	if err != nil {
		return fmt.Errorf("ROC plot %s: %w", path, err)
	}
	return savePlot(path, p, opt.Width, opt.Height, opt.Formats)
}

func rocPlot(curves []ROCCurve, opt PlotOptions) (*plot.Plot, PlotOptions, error) {
	opt = opt.withDefaults("ROC", 640, 560)
	if len(curves) == 0 {
		return nil, opt, fmt.Errorf("no curves")
	}
	p := newPlot(opt.Title, "false positive rate", "true positive rate")
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	diag, err := plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: 1, Y: 1}})
	if err != nil {
		return nil, opt, err
	}
	diag.Color = color.Gray{Y: 160}
	diag.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(diag)
	for i, c := range curves {
		if len(c.FPR) != len(c.TPR) || len(c.FPR) < 2 {
			return nil, opt, fmt.Errorf("curve %q: want at least 2 points and as many FPR as TPR values, got %d FPR and %d TPR", c.Name, len(c.FPR), len(c.TPR))
		}
		xys := make(plotter.XYs, len(c.FPR))
		for j := range c.FPR {
			x, y := c.FPR[j], c.TPR[j]
			if !(x >= 0 && x <= 1 && y >= 0 && y <= 1) {
				return nil, opt, fmt.Errorf("curve %q: point %d (%v, %v) is outside [0, 1]", c.Name, j, x, y)
			}
			xys[j] = plotter.XY{X: x, Y: y}
		}
		if err := checkFraction(c.AUC); err != nil {
			return nil, opt, fmt.Errorf("curve %q AUC: %w", c.Name, err)
		}
		// Pixel-level curves can have a threshold per pixel of the test set;
		// points closer than half a pixel add nothing to the picture.
		xys = thinCurve(xys, 0.5/float64(max(opt.Width, opt.Height)))
		if err := addLine(p, rocLegendName(c), xys, i, false); err != nil {
			return nil, opt, err
		}
	}
	return p, opt, nil
}

// thinCurve drops points within eps (in both coordinates) of the last point
// kept; the first and last points are always kept.
func thinCurve(xys plotter.XYs, eps float64) plotter.XYs {
	if len(xys) <= 2 {
		return xys
	}
	out := plotter.XYs{xys[0]}
	for _, q := range xys[1 : len(xys)-1] {
		last := out[len(out)-1]
		if math.Abs(q.X-last.X) >= eps || math.Abs(q.Y-last.Y) >= eps {
			out = append(out, q)
		}
	}
	return append(out, xys[len(xys)-1])
}

// rocLegendName appends the AUC in percent, when known, to the curve's name.
func rocLegendName(c ROCCurve) string {
	if math.IsNaN(c.AUC) {
		return c.Name
	}
	return fmt.Sprintf("%s (AUC %.1f%%)", c.Name, 100*c.AUC)
}

// ScoreSeries is one per-frame anomaly score sequence of a video, frame 0
// first.
type ScoreSeries struct {
	Name   string
	Scores []float64
}

// FrameRange is the half-open range [Start, End) of frame indices.
type FrameRange struct {
	Start, End int
}

// RangesFromLabels returns the maximal runs of true labels as frame ranges.
func RangesFromLabels(labels []bool) []FrameRange {
	var out []FrameRange
	for i := 0; i < len(labels); i++ {
		if !labels[i] {
			continue
		}
		j := i
		for j < len(labels) && labels[j] {
			j++
		}
		out = append(out, FrameRange{i, j})
		i = j
	}
	return out
}

// VideoScores is what a score plot shows for one video: its scores under
// one or more methods and its ground-truth anomalous frames.
type VideoScores struct {
	Video     string
	Series    []ScoreSeries
	Anomalous []FrameRange
}

// WriteScorePlot draws the frame-level scores of one video against the frame
// index, with ground-truth anomalous frames shaded light red (a frame i
// covers [i-0.5, i+0.5)), and writes it to path as PNG (default 960 x 360
// pixels).
func WriteScorePlot(path string, v VideoScores, opt PlotOptions) error {
	p, opt, err := scorePlot(v, opt)
	if err != nil {
		return fmt.Errorf("score plot %s: %w", path, err)
	}
	return savePlot(path, p, opt.Width, opt.Height, opt.Formats)
}

func scorePlot(v VideoScores, opt PlotOptions) (*plot.Plot, PlotOptions, error) {
	opt = opt.withDefaults("video "+v.Video, 960, 360)
	if len(v.Series) == 0 {
		return nil, opt, fmt.Errorf("video %q: no score series", v.Video)
	}
	frames := 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range v.Series {
		if len(s.Scores) == 0 {
			return nil, opt, fmt.Errorf("video %q: series %q has no scores", v.Video, s.Name)
		}
		frames = max(frames, len(s.Scores))
		for i, x := range s.Scores {
			if math.IsNaN(x) {
				continue // no prediction (the first frames of a predictor)
			}
			if math.IsInf(x, 0) {
				return nil, opt, fmt.Errorf("video %q: series %q frame %d: score %v is not finite", v.Video, s.Name, i, x)
			}
			lo, hi = min(lo, x), max(hi, x)
		}
		if math.IsInf(lo, 1) {
			return nil, opt, fmt.Errorf("video %q: series %q has no frame with a score", v.Video, s.Name)
		}
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	span := hi - lo
	lo, hi = lo-0.05*span, hi+0.05*span

	p := newPlot(opt.Title, "frame", "anomaly score")
	for _, r := range v.Anomalous {
		if r.Start < 0 || r.End > frames || r.Start >= r.End {
			return nil, opt, fmt.Errorf("video %q: anomalous range [%d, %d) is empty or outside the %d frames", v.Video, r.Start, r.End, frames)
		}
	}
	if len(v.Anomalous) > 0 {
		rings := make([]plotter.XYer, len(v.Anomalous))
		for i, r := range v.Anomalous {
			x0, x1 := float64(r.Start)-0.5, float64(r.End)-0.5
			rings[i] = plotter.XYs{{X: x0, Y: lo}, {X: x1, Y: lo}, {X: x1, Y: hi}, {X: x0, Y: hi}}
		}
		band, err := plotter.NewPolygon(rings...)
		if err != nil {
			return nil, opt, err
		}
		band.Color = bandColor()
		band.LineStyle.Width = 0
		p.Add(band)
		p.Legend.Add("anomalous (ground truth)", band)
	}
	for i, s := range v.Series {
		// Frames without a score (NaN) are left out: the line starts at
		// the first frame with a prediction and breaks at any gap.
		var runs []plotter.XYs
		var cur plotter.XYs
		for j, x := range s.Scores {
			if math.IsNaN(x) {
				if len(cur) > 0 {
					runs = append(runs, cur)
				}
				cur = nil
				continue
			}
			cur = append(cur, plotter.XY{X: float64(j), Y: x})
		}
		if len(cur) > 0 {
			runs = append(runs, cur)
		}
		for k, xys := range runs {
			if k == 0 {
				if err := addLine(p, s.Name, xys, i, false); err != nil {
					return nil, opt, err
				}
				continue
			}
			l, err := plotter.NewLine(xys)
			if err != nil {
				return nil, opt, err
			}
			l.Color, l.Width = seriesColor(i), vg.Points(1.5)
			p.Add(l)
		}
	}
	// Fixed after Add, which would otherwise widen the axes to the bands.
	p.X.Min, p.X.Max = -0.5, float64(frames)-0.5
	p.Y.Min, p.Y.Max = lo, hi
	p.X.Tick.Marker = integerTicks{}
	return p, opt, nil
}

// WriteLambdaPlot draws the micro AUC (and the macro AUC where present)
// against lambda and writes it to path as PNG (default 640 x 420 pixels).
func WriteLambdaPlot(path string, m LambdaMeasure, points []results.LambdaPoint, opt PlotOptions) error {
	p, opt, err := lambdaPlot(m, points, opt)
	if err != nil {
		return fmt.Errorf("lambda plot %s: %w", path, err)
	}
	return savePlot(path, p, opt.Width, opt.Height, opt.Formats)
}

func lambdaPlot(m LambdaMeasure, points []results.LambdaPoint, opt PlotOptions) (*plot.Plot, PlotOptions, error) {
	what := m.What
	if what == "" {
		what = "AUC"
	}
	opt = opt.withDefaults(what+" against λ", 640, 420)
	ps, err := sortedLambdaPoints("lambda plot", points)
	if err != nil {
		return nil, opt, err
	}
	p := newPlot(opt.Title, "λ", what+" (%)")
	series := []struct {
		name string
		get  func(results.LambdaPoint) float64
	}{
		{m.Micro, func(q results.LambdaPoint) float64 { return q.MicroAUC }},
		{m.Macro, func(q results.LambdaPoint) float64 { return q.MacroAUC }},
	}
	for i, s := range series {
		var xys plotter.XYs
		for _, q := range ps {
			if y := s.get(q); !math.IsNaN(y) {
				xys = append(xys, plotter.XY{X: q.Lambda, Y: 100 * y})
			}
		}
		if len(xys) == 0 {
			continue
		}
		if err := addLine(p, s.name, xys, i, true); err != nil {
			return nil, opt, err
		}
	}
	return p, opt, nil
}

// rocFile is the JSON form of ROC curves (AUC null when unknown).
type rocFile struct {
	Curves []rocEntry `json:"curves"`
}

type rocEntry struct {
	Name string    `json:"name"`
	AUC  *float64  `json:"auc"`
	FPR  []float64 `json:"fpr"`
	TPR  []float64 `json:"tpr"`
}

// WriteROCCurves saves ROC curves as JSON beside their picture, so that
// pictures over several runs ('fmam compare') can redraw them. Curves are
// thinned to what a 2000 px picture can show.
func WriteROCCurves(path string, curves []ROCCurve) error {
	var f rocFile
	for _, c := range curves {
		if len(c.FPR) != len(c.TPR) {
			return fmt.Errorf("ROC curves %s: curve %q has %d FPR and %d TPR values", path, c.Name, len(c.FPR), len(c.TPR))
		}
		xys := make(plotter.XYs, len(c.FPR))
		for j := range c.FPR {
			xys[j] = plotter.XY{X: c.FPR[j], Y: c.TPR[j]}
		}
		xys = thinCurve(xys, 0.5/2000)
		e := rocEntry{Name: c.Name}
		if !math.IsNaN(c.AUC) {
			a := c.AUC
			e.AUC = &a
		}
		for _, q := range xys {
			e.FPR = append(e.FPR, q.X)
			e.TPR = append(e.TPR, q.Y)
		}
		f.Curves = append(f.Curves, e)
	}
	b, err := json.Marshal(f)
	if err != nil {
		return fmt.Errorf("ROC curves %s: %w", path, err)
	}
	return atomicfile.Write(path, b)
}

// ReadROCCurves reads curves WriteROCCurves saved.
func ReadROCCurves(path string) ([]ROCCurve, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f rocFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("ROC curves %s: %w", path, err)
	}
	var out []ROCCurve
	for _, c := range f.Curves {
		r := ROCCurve{Name: c.Name, FPR: c.FPR, TPR: c.TPR, AUC: math.NaN()}
		if c.AUC != nil {
			r.AUC = *c.AUC
		}
		out = append(out, r)
	}
	return out, nil
}

// LambdaCurve is one run's or method's measure against lambda, fractions.
type LambdaCurve struct {
	Name           string
	Lambda, Values []float64
}

// WriteLambdaCurves draws several measures against lambda on one plot
// (yLabel names the measure) and writes it to path as PNG (default 640 x
// 420 pixels).
func WriteLambdaCurves(path, yLabel string, curves []LambdaCurve, opt PlotOptions) error {
	opt = opt.withDefaults(yLabel+" against λ", 640, 420)
	if len(curves) == 0 {
		return fmt.Errorf("lambda plot %s: no curves", path)
	}
	p := newPlot(opt.Title, "λ", yLabel+" (%)")
	for i, c := range curves {
		if len(c.Lambda) != len(c.Values) {
			return fmt.Errorf("lambda plot %s: curve %q has %d lambdas and %d values", path, c.Name, len(c.Lambda), len(c.Values))
		}
		var xys plotter.XYs
		for j, l := range c.Lambda {
			if !math.IsNaN(c.Values[j]) {
				xys = append(xys, plotter.XY{X: l, Y: 100 * c.Values[j]})
			}
		}
		if len(xys) == 0 {
			continue
		}
		if err := addLine(p, c.Name, xys, i, true); err != nil {
			return fmt.Errorf("lambda plot %s: %w", path, err)
		}
	}
	return savePlot(path, p, opt.Width, opt.Height, opt.Formats)
}
