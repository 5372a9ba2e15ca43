package report

import (
	"github.com/fmam/fmam/internal/trainlog/trainlogtest"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/trainlog"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

func TestWriteLossPlot(t *testing.T) {
	logPath := trainlogtest.Write(t, 200)
	png := filepath.Join(t.TempDir(), "loss.png")
	if err := WriteLossPlot(logPath, png, PlotOptions{}); err != nil {
		t.Fatal(err)
	}
	// Three panels: the positive terms on a log scale, l_separate (which
	// reaches 0) on a linear one, the learning rate.
	img := checkPicture(t, png, 800, 900, seriesColor(0), seriesColor(1), seriesColor(2))

	tl, _ := trainlog.Read(logPath)
	ps, opt, err := lossPlots(tl, PlotOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 3 {
		t.Fatalf("%d panels, want 3", len(ps))
	}
	if _, ok := ps[0].Y.Scale.(plot.LogScale); !ok {
		t.Errorf("top panel scale %T, want log", ps[0].Y.Scale)
	}
	if _, ok := ps[1].Y.Scale.(plot.LogScale); ok {
		t.Error("the panel of a term with zeros is on a log scale")
	}
	_, canvases := renderStack(ps, opt.Width, opt.Height)
	pixel := func(panel int, x, y float64) (int, int) {
		da := ps[panel].DataCanvas(canvases[panel])
		trX, trY := ps[panel].Transforms(&da)
		const perPoint = float64(printDPI) / 72
		return int(float64(trX(x)) * perPoint), printPixels(opt.Height) - int(float64(trY(y))*perPoint)
	}
	// On a log axis 10 sits half way between 1 and 100.
	_, y1 := pixel(0, 1, 1)
	_, y10 := pixel(0, 1, 10)
	_, y100 := pixel(0, 1, 100)
	if d := (y1 + y100) / 2; y10 < d-1 || y10 > d+1 {
		t.Errorf("log panel: 1, 10, 100 at rows %d, %d, %d; 10 is not half way", y1, y10, y100)
	}
	// Each series passes through its own values.
	near := func(x, y int, c color.Color) bool {
		want := color.RGBAModel.Convert(c).(color.RGBA)
		for dy := -2; dy <= 2; dy++ {
			for dx := -2; dx <= 2; dx++ {
				if closeColor(rgbaAt(img, x+dx, y+dy), want, 40) {
					return true
				}
			}
		}
		return false
	}
	checks := []struct {
		name   string
		panel  int
		step   float64
		value  float64
		colour int
	}{
		{"l_o", 0, 100, 1000 * math.Exp(-100.0/30), 1},
		{"l_o", 0, 170, 1000 * math.Exp(-170.0/30), 1},
		{"l_separate", 1, 20, 0.3, 2},
		{"l_separate", 1, 150, 0, 2},
		{"lr", 2, 101, 0.005, 0},
	}
	for _, c := range checks {
		x, y := pixel(c.panel, c.step, c.value)
		if !near(x, y, seriesColor(c.colour)) {
			t.Errorf("%s at step %v (pixel %d,%d) is not drawn in its colour %v", c.name, c.step, x, y, seriesColor(c.colour))
		}
	}
	// Not merely anything coloured everywhere: far above l_o at step 170
	// (a decade up) there is no l_o.
	if x, y := pixel(0, 170, 10*1000*math.Exp(-170.0/30)); near(x, y, seriesColor(1)) {
		t.Errorf("l_o drawn a decade above its value at step 170 (pixel %d,%d)", x, y)
	}
}

func TestLossPlotSmallLogs(t *testing.T) {
	dir := t.TempDir()
	// One step, and every term positive: two panels, markers for the point.
	one := filepath.Join(dir, "one.csv")
	os.WriteFile(one, []byte("step,lr,loss,grad_norm\n1,0.001,0.5,2\n"), 0o644)
	png := filepath.Join(dir, "one.png")
	if err := WriteLossPlot(one, png, PlotOptions{Width: 400}); err != nil {
		t.Fatal(err)
	}
	checkPicture(t, png, 400, 600, seriesColor(0))
}

func TestTrainLogErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, text, want string
	}{
		{"empty", "", "empty"},
		{"header only", "step,lr,loss,grad_norm\n", "no steps"},
		{"no loss column", "step,lr,grad_norm\n1,0.1,2\n", `lacks the column "loss"`},
		{"duplicate column", "step,lr,loss,loss\n1,0.1,2,2\n", "appears twice"},
		{"text value", "step,lr,loss\n1,0.1,2\n2,0.1,abc\n", `line 3, column "loss": "abc"`},
		{"NaN value", "step,lr,loss\n1,0.1,NaN\n", "not a finite number"},
		{"ragged row", "step,lr,loss\n1,0.1,2\n2,0.1\n", "wrong number of fields"},
		{"steps go back", "step,lr,loss\n1,0.1,2\n3,0.1,2\n2,0.1,2\n", "step 2 does not follow step 3"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "_")+".csv")
			os.WriteFile(path, []byte(tc.text), 0o644)
			png := path + ".png"
			err := WriteLossPlot(path, png, PlotOptions{})
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("error %v, want one naming %s and containing %q", err, path, tc.want)
			}
			if _, err := os.Stat(png); !os.IsNotExist(err) {
				t.Errorf("a failed plot left %s behind", png)
			}
		})
	}
}

func TestEnvelope(t *testing.T) {
	// 10,000 points of a sawtooth: every bucket of 10 holds its low (0) and
	// high (9) once.
	var xys plotter.XYs
	for i := range 10000 {
		xys = append(xys, plotter.XY{X: float64(i), Y: float64(i % 10)})
	}
	xys[5000].Y = -3 // a spike must survive
	got := envelope(xys, 1000)
	if len(got) != 2000 {
		t.Errorf("kept %d points, want 2 per bucket = 2000", len(got))
	}
	if !slices.IsSortedFunc(got, func(a, b plotter.XY) int { return int(a.X - b.X) }) {
		t.Error("points out of step order")
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, q := range got {
		lo, hi = min(lo, q.Y), max(hi, q.Y)
	}
	if lo != -3 || hi != 9 {
		t.Errorf("range [%v, %v], want [-3, 9]", lo, hi)
	}
	short := xys[:100]
	if got := envelope(short, 1000); len(got) != 100 {
		t.Errorf("short series changed to %d points", len(got))
	}
}

func TestDecadeTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		labels []string
	}{
		{0.05, 967, []string{"0.1", "1", "10", "100"}},
		{1e-69, 967, []string{"1e-69", "1e-57", "1e-45", "1e-33", "1e-21", "1e-09"}},
		{0.5, 20, []string{"1", "10"}},
	}
	for _, tc := range tests {
		var labels []string
		for _, tk := range (decadeTicks{}).Ticks(tc.lo, tc.hi) {
			if tk.Value < tc.lo || tk.Value > tc.hi {
				t.Errorf("[%v, %v]: tick %v outside the range", tc.lo, tc.hi, tk.Value)
			}
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if !slices.Equal(labels, tc.labels) {
			t.Errorf("[%v, %v]: labels %q, want %q", tc.lo, tc.hi, labels, tc.labels)
		}
	}
}
