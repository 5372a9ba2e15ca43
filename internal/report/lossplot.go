package report

import (
	"fmt"
	"image"
	"math"
	"slices"
	"strconv"

	"github.com/fmam/fmam/internal/trainlog"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// WriteLossPlot reads the training log at logPath and writes pngPath: every
// loss term against the step, on a log scale when all its values are
// positive (terms that reach zero or below get a linear panel of their
// own), and the learning rate below. Panels are 800 x 300 pixels by
// default; PlotOptions.Height is the height of the whole picture.
func WriteLossPlot(logPath, pngPath string, opt PlotOptions) error {
	tl, err := trainlog.Read(logPath)
	if err != nil {
		return fmt.Errorf("loss plot %s: %w", pngPath, err)
	}
	ps, opt, err := lossPlots(tl, opt)
	if err != nil {
		return fmt.Errorf("loss plot %s from %s: %w", pngPath, logPath, err)
	}
	return writeFigure(pngPath, opt.Width, opt.Height, opt.Formats, func(dc draw.Canvas) { drawStack(ps, dc) })
}

// lossPlots builds the panels of a loss plot, top to bottom.
func lossPlots(tl *trainlog.Log, opt PlotOptions) ([]*plot.Plot, PlotOptions, error) {
	var pos, other []int
	for i, v := range tl.Values {
		if slices.Min(v) > 0 {
			pos = append(pos, i)
		} else {
			other = append(other, i)
		}
	}
	panels := 1
	for _, g := range [][]int{pos, other} {
		if len(g) > 0 {
			panels++
		}
	}
	opt = opt.withDefaults("training loss", 800, 300*panels)
	// One legend for every term, drawn under the panels (see drawStack);
	// the last panel carries it.
	leg := plot.NewLegend()
	leg.TextStyle.Handler = newSubHandler()
	var ps []*plot.Plot
	if len(pos) > 0 {
		p, err := termPlot(tl, &leg, pos, "loss (log scale)", true, opt.Width)
		if err != nil {
			return nil, opt, err
		}
		ps = append(ps, p)
	}
	if len(other) > 0 {
		p, err := termPlot(tl, &leg, other, "loss (values ≤ 0: linear)", false, opt.Width)
		if err != nil {
			return nil, opt, err
		}
		ps = append(ps, p)
	}
	lr := newPlot("", "step", "learning rate")
	var none plot.Legend // the axis label names the one series
	if err := addStepLine(lr, &none, "learning rate", tl.Steps, tl.LR, 0, opt.Width); err != nil {
		return nil, opt, err
	}
	lr.Legend = leg
	if v := tl.LR[0]; slices.Min(tl.LR) == slices.Max(tl.LR) && v > 0 {
		// A constant rate would get gonum's ±1 range, far wider than it.
		lr.Y.Min, lr.Y.Max = 0, 2*v
	}
	ps = append(ps, lr)
	ps[0].Title.Text = opt.Title
	for _, p := range ps {
		p.X.Min, p.X.Max = tl.Steps[0], tl.Steps[len(tl.Steps)-1]
		p.X.Tick.Marker = integerTicks{}
	}
	return ps, opt, nil
}

// termPlot draws the loss terms listed in which; a term keeps the colour of
// its column index in every panel.
func termPlot(tl *trainlog.Log, leg *plot.Legend, which []int, yLabel string, logY bool, width int) (*plot.Plot, error) {
	p := newPlot("", "", yLabel)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, i := range which {
		if err := addStepLine(p, leg, tl.Terms[i], tl.Steps, tl.Values[i], i, width); err != nil {
			return nil, err
		}
		lo, hi = min(lo, slices.Min(tl.Values[i])), max(hi, slices.Max(tl.Values[i]))
	}
	if !logY {
		return p, nil
	}
	p.Y.Scale = plot.LogScale{}
	if lo == hi {
		// The linear default would widen the range by ±1, below zero.
		lo, hi = lo/2, hi*2
	}
	p.Y.Min, p.Y.Max = lo, hi
	if hi/lo >= 10 {
		// Within one decade there may be no power of ten to label, hence
		// the default ticks there.
		p.Y.Tick.Marker = decadeTicks{}
	}
	return p, nil
}

// decadeTicks labels powers of ten, every k-th decade so that a loss falling
// over many decades still gets at most about six labels.
type decadeTicks struct{}

func (decadeTicks) Ticks(lo, hi float64) []plot.Tick {
	a, b := int(math.Ceil(math.Log10(lo))), int(math.Floor(math.Log10(hi)))
	stride := max(1, (b-a+6)/6)
	var ts []plot.Tick
	for k := a; k <= b; k++ {
		t := plot.Tick{Value: math.Pow10(k)}
		if (k-a)%stride == 0 {
			t.Label = strconv.FormatFloat(t.Value, 'g', -1, 64)
		}
		ts = append(ts, t)
	}
	return ts
}

// addStepLine adds one series; short logs get a marker per point so that a
// single step still shows.
func addStepLine(p *plot.Plot, leg *plot.Legend, name string, steps, ys []float64, colour, width int) error {
	xys := make(plotter.XYs, len(steps))
	for k := range steps {
		xys[k] = plotter.XY{X: steps[k], Y: ys[k]}
	}
	xys = envelope(xys, width)
	return addLineTo(p, leg, name, xys, colour, len(xys) <= 20)
}

// envelope keeps, of a long series, the lowest and highest point of each of
// buckets runs of consecutive points, in their order: a noisy loss of many
// steps then draws as the same band with a few thousand points.
func envelope(xys plotter.XYs, buckets int) plotter.XYs {
	if len(xys) <= 2*buckets {
		return xys
	}
	out := make(plotter.XYs, 0, 2*buckets)
	for b := range buckets {
		run := xys[b*len(xys)/buckets : (b+1)*len(xys)/buckets]
		lo, hi := 0, 0
		for k, q := range run {
			if q.Y < run[lo].Y {
				lo = k
			}
			if q.Y > run[hi].Y {
				hi = k
			}
		}
		out = append(out, run[min(lo, hi)])
		if lo != hi {
			out = append(out, run[max(lo, hi)])
		}
	}
	return out
}

// renderStack draws plots as WriteLossPlot does, on a white image of w x h
// pixels at plotDPI (printPixels of each at printDPI), and returns the
// image and each plot's canvas.
func renderStack(ps []*plot.Plot, w, h int) (image.Image, []draw.Canvas) {
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, printPixels(w), printPixels(h)))), vgimg.UseDPI(printDPI))
	dc := draw.New(c)
	fillWhite(dc)
	return c.Image(), drawStack(ps, dc)
}

// drawStack draws plots one above the other, their data areas aligned, and
// the legends of all of them in one strip under the last (a loss term
// keeps its colour in every panel, so one legend names them all). It
// returns each plot's canvas.
func drawStack(ps []*plot.Plot, dc draw.Canvas) []draw.Canvas {
	last := ps[len(ps)-1]
	leg := last.Legend
	last.Legend = plot.NewLegend()
	defer func() { last.Legend = leg }()
	if h := legendStrip(leg, dc); h > 0 {
		drawLegend(leg, dc, h)
		dc = draw.Crop(dc, 0, 0, h, 0)
	}
	grid := make([][]*plot.Plot, len(ps))
	for i, p := range ps {
		grid[i] = []*plot.Plot{p}
	}
	tiles := draw.Tiles{Rows: len(ps), Cols: 1, PadY: vg.Points(6), PadTop: vg.Points(2), PadBottom: vg.Points(2), PadLeft: vg.Points(2), PadRight: vg.Points(6)}
	canvases := plot.Align(grid, tiles, dc)
	out := make([]draw.Canvas, len(ps))
	for i, p := range ps {
		p.Draw(canvases[i][0])
		out[i] = canvases[i][0]
	}
	return out
}
