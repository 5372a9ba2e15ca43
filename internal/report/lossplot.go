package report

import (
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/fmam/fmam/internal/atomicfile"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// TrainLog is a training log as internal/train writes it (log.csv): a header
// "step,lr,loss,<terms...>,grad_norm", then one row per step.
type TrainLog struct {
	Steps []float64
	LR    []float64
	// Terms names the loss columns in file order, the total "loss" among
	// them; Values[i] holds column Terms[i], one value per step.
	Terms    []string
	Values   [][]float64
	GradNorm []float64 // nil when the log has no grad_norm column
}

// ReadTrainLog reads a training log. It requires the columns step, lr and
// loss, one finite number per field and strictly increasing steps; every
// column other than step, lr and grad_norm is a loss term.
func ReadTrainLog(path string) (*TrainLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read training log %s: %w", path, err)
	}
	defer f.Close()
	tl, err := parseTrainLog(f)
	if err != nil {
		return nil, fmt.Errorf("read training log %s: %w", path, err)
	}
	return tl, nil
}

func parseTrainLog(r io.Reader) (*TrainLog, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty; it gets a header when training starts")
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for j, name := range header {
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("column %q appears twice in the header", name)
		}
		col[name] = j
	}
	for _, need := range []string{"step", "lr", "loss"} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("header %q lacks the column %q; is this a log.csv of fmam train?", header, need)
		}
	}
	tl := &TrainLog{}
	var termCols []int
	for j, name := range header {
		switch name {
		case "step", "lr", "grad_norm":
		default:
			tl.Terms = append(tl.Terms, name)
			termCols = append(termCols, j)
		}
	}
	tl.Values = make([][]float64, len(tl.Terms))
	gradCol, hasGrad := col["grad_norm"]
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		num := func(j int) (float64, error) {
			v, err := strconv.ParseFloat(rec[j], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("line %d, column %q: %q is not a finite number", line, header[j], rec[j])
			}
			return v, nil
		}
		step, err := num(col["step"])
		if err != nil {
			return nil, err
		}
		if n := len(tl.Steps); n > 0 && step <= tl.Steps[n-1] {
			return nil, fmt.Errorf("line %d: step %v does not follow step %v; steps must increase", line, step, tl.Steps[n-1])
		}
		lr, err := num(col["lr"])
		if err != nil {
			return nil, err
		}
		tl.Steps = append(tl.Steps, step)
		tl.LR = append(tl.LR, lr)
		for i, j := range termCols {
			v, err := num(j)
			if err != nil {
				return nil, err
			}
			tl.Values[i] = append(tl.Values[i], v)
		}
		if hasGrad {
			g, err := num(gradCol)
			if err != nil {
				return nil, err
			}
			tl.GradNorm = append(tl.GradNorm, g)
		}
	}
	if len(tl.Steps) == 0 {
		return nil, errors.New("no steps after the header; train at least one step first")
	}
	return tl, nil
}

// WriteLossPlot reads the training log at logPath and writes pngPath: every
// loss term against the step, on a log scale when all its values are
// positive (terms that reach zero or below get a linear panel of their
// own), and the learning rate below. Panels are 800 x 300 pixels by
// default; PlotOptions.Height is the height of the whole picture.
func WriteLossPlot(logPath, pngPath string, opt PlotOptions) error {
	tl, err := ReadTrainLog(logPath)
	if err != nil {
		return fmt.Errorf("loss plot %s: %w", pngPath, err)
	}
	ps, opt, err := lossPlots(tl, opt)
	if err != nil {
		return fmt.Errorf("loss plot %s from %s: %w", pngPath, logPath, err)
	}
	img, _ := renderStack(ps, opt.Width, opt.Height)
	return atomicfile.WriteFunc(pngPath, func(w io.Writer) error { return png.Encode(w, img) })
}

// lossPlots builds the panels of a loss plot, top to bottom.
func lossPlots(tl *TrainLog, opt PlotOptions) ([]*plot.Plot, PlotOptions, error) {
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
	var ps []*plot.Plot
	if len(pos) > 0 {
		p, err := termPlot(tl, pos, "loss (log scale)", true, opt.Width)
		if err != nil {
			return nil, opt, err
		}
		ps = append(ps, p)
	}
	if len(other) > 0 {
		p, err := termPlot(tl, other, "loss (values ≤ 0: linear)", false, opt.Width)
		if err != nil {
			return nil, opt, err
		}
		ps = append(ps, p)
	}
	lr := newPlot("", "step", "learning rate")
	if err := addStepLine(lr, "learning rate", tl.Steps, tl.LR, 0, opt.Width); err != nil {
		return nil, opt, err
	}
	lr.Legend = plot.NewLegend() // the axis label names the one series
	if v := tl.LR[0]; slices.Min(tl.LR) == slices.Max(tl.LR) && v > 0 {
		// A constant rate would get gonum's ±1 range, far wider than it.
		lr.Y.Min, lr.Y.Max = 0, 2*v
	}
	ps = append(ps, lr)
	ps[0].Title.Text = opt.Title
	for _, p := range ps {
		p.X.Min, p.X.Max = tl.Steps[0], tl.Steps[len(tl.Steps)-1]
	}
	return ps, opt, nil
}

// termPlot draws the loss terms listed in which; a term keeps the colour of
// its column index in every panel.
func termPlot(tl *TrainLog, which []int, yLabel string, logY bool, width int) (*plot.Plot, error) {
	p := newPlot("", "", yLabel)
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, i := range which {
		if err := addStepLine(p, tl.Terms[i], tl.Steps, tl.Values[i], i, width); err != nil {
			return nil, err
		}
		lo, hi = min(lo, slices.Min(tl.Values[i])), max(hi, slices.Max(tl.Values[i]))
	}
	p.Legend.Top = true
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
func addStepLine(p *plot.Plot, name string, steps, ys []float64, colour, width int) error {
	xys := make(plotter.XYs, len(steps))
	for k := range steps {
		xys[k] = plotter.XY{X: steps[k], Y: ys[k]}
	}
	xys = envelope(xys, width)
	return addLine(p, name, xys, colour, len(xys) <= 20)
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

// renderStack draws plots one above the other on a white w x h image, their
// data areas aligned, and returns the image and each plot's canvas.
func renderStack(ps []*plot.Plot, w, h int) (image.Image, []draw.Canvas) {
	c := vgimg.NewWith(vgimg.UseImage(image.NewRGBA(image.Rect(0, 0, w, h))), vgimg.UseDPI(plotDPI))
	dc := draw.New(c)
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
	return c.Image(), out
}
