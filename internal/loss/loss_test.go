package loss_test

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/loss"
	"github.com/fmam/fmam/internal/ort"
)

// evalLoss builds a graph with float inputs of the given shapes, applies
// build and runs it through ONNX Runtime, returning the [1] result.
func evalLoss(t *testing.T, shapes []graph.Shape, data [][]float32, build func(g *graph.Graph, in []string) string) float64 {
	t.Helper()
	r := gradcheck.Runtime(t)
	g := graph.New("loss")
	var names []string
	for i, s := range shapes {
		names = append(names, g.Input(string(rune('a'+i)), graph.Float, s))
	}
	out := build(g, names)
	if err := g.Err(); err != nil {
		t.Fatalf("build: %v", err)
	}
	if s := g.Shape(out); len(s) != 1 || s[0] != 1 {
		t.Fatalf("loss has shape %v, want [1]", s)
	}
	g.Output(out)
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.NewSession(b, names, []string{out}, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	var ins []*ort.Tensor
	for i, d := range data {
		x, err := ort.NewTensor(shapes[i], d)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, x)
	}
	res, err := ort.ZerosTensor([]int64{1})
	if err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyAll(append(ins, res)...)
	if err := s.Run(context.Background(), ins, []*ort.Tensor{res}); err != nil {
		t.Fatal(err)
	}
	return float64(res.GetData()[0])
}

func uniform(rng *rand.Rand, n int, lo, hi float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo + (hi-lo)*rng.Float64())
	}
	return out
}

// oneHot draws a class per position of [N, C, rest] and returns the
// one-hot target and the classes.
func oneHot(rng *rand.Rand, n, c, rest int) ([]float32, []int) {
	t := make([]float32, n*c*rest)
	cls := make([]int, n*rest)
	for i := range n {
		for p := range rest {
			k := rng.IntN(c)
			cls[i*rest+p] = k
			t[(i*c+k)*rest+p] = 1
		}
	}
	return t, cls
}

func assertClose(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.IsNaN(got) || math.Abs(got-want) > tol*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.8g, want %.8g", what, got, want)
	}
}

func TestElementwiseLossValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := graph.Shape{2, 3, 4}
	n := int(s.Size())
	a, b := uniform(rng, n, -2, 2), uniform(rng, n, -2, 2)
	var mse, l1 float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		mse += d * d
		l1 += math.Abs(d)
	}
	shapes := []graph.Shape{s, s}
	assertClose(t, "MSE", evalLoss(t, shapes, [][]float32{a, b}, func(g *graph.Graph, in []string) string { return loss.MSE(g, in[0], in[1]) }), mse/float64(n), 1e-5)
	assertClose(t, "L1", evalLoss(t, shapes, [][]float32{a, b}, func(g *graph.Graph, in []string) string { return loss.L1(g, in[0], in[1]) }), l1/float64(n), 1e-5)
}

func bceRef(x, t []float32) float64 {
	sum := 0.0
	for i := range x {
		v, y := float64(x[i]), float64(t[i])
		sum += math.Max(v, 0) - v*y + math.Log1p(math.Exp(-math.Abs(v)))
	}
	return sum / float64(len(x))
}

func TestBCEWithLogitsValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	s := graph.Shape{2, 1, 3, 3}
	x, tg := uniform(rng, 18, -4, 4), uniform(rng, 18, 0, 1)
	build := func(g *graph.Graph, in []string) string { return loss.BCEWithLogits(g, in[0], in[1]) }
	assertClose(t, "BCE random", evalLoss(t, []graph.Shape{s, s}, [][]float32{x, tg}, build), bceRef(x, tg), 1e-5)
	// Saturated logits must stay finite: a naive log(sigmoid(x)) gives inf.
	x = []float32{100, -100, 0, 30}
	tg = []float32{0, 1, 0.5, 1}
	want := (100 + 100 + math.Ln2 + math.Log1p(math.Exp(-30))) / 4
	assertClose(t, "BCE saturated", evalLoss(t, []graph.Shape{{4}, {4}}, [][]float32{x, tg}, build), want, 1e-6)
}

// logSoftmax over classes of [N, C, rest] at one (n, p), in float64.
func logSoftmax(x []float32, n, c, rest, i, p int) []float64 {
	out := make([]float64, c)
	m := math.Inf(-1)
	for k := range c {
		m = math.Max(m, float64(x[(i*c+k)*rest+p]))
	}
	sum := 0.0
	for k := range c {
		sum += math.Exp(float64(x[(i*c+k)*rest+p]) - m)
	}
	for k := range c {
		out[k] = float64(x[(i*c+k)*rest+p]) - m - math.Log(sum)
	}
	return out
}

func TestCrossEntropyValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	n, c, h, w := 2, 3, 2, 3
	rest := h * w
	s := graph.Shape{int64(n), int64(c), int64(h), int64(w)}
	x := uniform(rng, n*c*rest, -5, 5)
	tg, cls := oneHot(rng, n, c, rest)
	want := 0.0
	for i := range n {
		for p := range rest {
			want -= logSoftmax(x, n, c, rest, i, p)[cls[i*rest+p]]
		}
	}
	want /= float64(n * rest)
	build := func(g *graph.Graph, in []string) string { return loss.CrossEntropy(g, in[0], in[1]) }
	assertClose(t, "CE one-hot", evalLoss(t, []graph.Shape{s, s}, [][]float32{x, tg}, build), want, 1e-5)

	// Soft targets, 2-D logits, and logits large enough to overflow exp.
	x2 := []float32{200, 100, -50, 0, 1, 2}
	t2 := []float32{0.5, 0.25, 0.25, 0.2, 0.3, 0.5}
	want = 0
	for i := range 2 {
		lsm := logSoftmax(x2, 2, 3, 1, i, 0)
		for k := range 3 {
			want -= float64(t2[i*3+k]) * lsm[k]
		}
	}
	want /= 2
	assertClose(t, "CE soft", evalLoss(t, []graph.Shape{{2, 3}, {2, 3}}, [][]float32{x2, t2}, build), want, 1e-5)
}

// focalRef follows DRAEM's FocalLoss line by line on softmax(x).
func focalRef(x, tg []float32, n, c, rest int, cfg loss.FocalConfig) float64 {
	sum := 0.0
	for i := range n {
		for p := range rest {
			lsm := logSoftmax(x, n, c, rest, i, p)
			pt, a := 0.0, 1.0
			if cfg.Alpha != nil {
				a = 0
			}
			for k := range c {
				key := float64(tg[(i*c+k)*rest+p])
				if cfg.Alpha != nil {
					a += cfg.Alpha[k] * key
				}
				if cfg.Smooth > 0 {
					key = math.Min(math.Max(key, cfg.Smooth/float64(c-1)), 1-cfg.Smooth)
				}
				pt += key * math.Exp(lsm[k])
			}
			pt += cfg.Smooth
			sum += -a * math.Pow(1-pt, cfg.Gamma) * math.Log(pt)
		}
	}
	return sum / float64(n*rest)
}

func TestFocalValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	cases := []struct {
		name       string
		n, c, rest int
		shape      graph.Shape
		cfg        loss.FocalConfig
	}{
		{"DRAEM", 2, 2, 12, graph.Shape{2, 2, 3, 4}, loss.DRAEMFocal()},
		{"ThreeClassesAlpha", 2, 3, 5, graph.Shape{2, 3, 5}, loss.FocalConfig{Gamma: 2, Smooth: 1e-5, Alpha: []float64{0.2, 0.3, 0.5}}},
		{"GammaHalfNoSmooth", 3, 2, 1, graph.Shape{3, 2}, loss.FocalConfig{Gamma: 0.5}},
		{"Gamma3", 1, 4, 6, graph.Shape{1, 4, 2, 3}, loss.FocalConfig{Gamma: 3, Smooth: 1e-3}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			x := uniform(rng, tc.n*tc.c*tc.rest, -3, 3)
			tg, _ := oneHot(rng, tc.n, tc.c, tc.rest)
			got := evalLoss(t, []graph.Shape{tc.shape, tc.shape}, [][]float32{x, tg}, func(g *graph.Graph, in []string) string {
				return loss.Focal(g, in[0], in[1], tc.cfg)
			})
			assertClose(t, "Focal", got, focalRef(x, tg, tc.n, tc.c, tc.rest, tc.cfg), 1e-5)
		})
	}
	// DRAEM's mask form: a [N, 1, H, W] mask made one-hot in the graph.
	m := []float32{0, 1, 1, 0, 0, 0}
	x2 := uniform(rng, 12, -3, 3)
	oh := []float32{1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 0, 0}
	got := evalLoss(t, []graph.Shape{{1, 2, 2, 3}, {1, 1, 2, 3}}, [][]float32{x2, m}, func(g *graph.Graph, in []string) string {
		return loss.Focal(g, in[0], loss.BinaryOneHot(g, in[1]), loss.DRAEMFocal())
	})
	assertClose(t, "Focal with BinaryOneHot", got, focalRef(x2, oh, 1, 2, 6, loss.DRAEMFocal()), 1e-5)

	// With gamma 0 and no smoothing the focal loss is the cross-entropy.
	s := graph.Shape{2, 3, 4}
	x := uniform(rng, 24, -3, 3)
	tg, _ := oneHot(rng, 2, 3, 4)
	fl := evalLoss(t, []graph.Shape{s, s}, [][]float32{x, tg}, func(g *graph.Graph, in []string) string {
		return loss.Focal(g, in[0], in[1], loss.FocalConfig{})
	})
	ce := evalLoss(t, []graph.Shape{s, s}, [][]float32{x, tg}, func(g *graph.Graph, in []string) string {
		return loss.CrossEntropy(g, in[0], in[1])
	})
	assertClose(t, "Focal(gamma 0) vs CrossEntropy", fl, ce, 1e-5)
}

// ssimRef is pytorch-ssim computed directly: a KxK window (outer product
// of the 1-D Gaussian) slid over zero-padded images, in float64.
func ssimRef(a, b []float32, n, c, h, w int, cfg loss.SSIMConfig) float64 {
	k := cfg.Window
	g1 := make([]float64, k)
	sum := 0.0
	for i := range k {
		d := float64(i - k/2)
		g1[i] = math.Exp(-d * d / (2 * cfg.Sigma * cfg.Sigma))
		sum += g1[i]
	}
	pad := k / 2
	oh, ow := h, w
	if cfg.Valid {
		pad, oh, ow = 0, h-k+1, w-k+1
	}
	c1, c2 := math.Pow(0.01*cfg.Range, 2), math.Pow(0.03*cfg.Range, 2)
	at := func(x []float32, img, y, xx int) float64 {
		if y < 0 || y >= h || xx < 0 || xx >= w {
			return 0
		}
		return float64(x[img*h*w+y*w+xx])
	}
	total := 0.0
	for img := range n * c {
		for y := range oh {
			for xx := range ow {
				var m1, m2, s11, s22, s12 float64
				for u := range k {
					for v := range k {
						wt := g1[u] * g1[v] / (sum * sum)
						p, q := at(a, img, y+u-pad, xx+v-pad), at(b, img, y+u-pad, xx+v-pad)
						m1 += wt * p
						m2 += wt * q
						s11 += wt * p * p
						s22 += wt * q * q
						s12 += wt * p * q
					}
				}
				v1, v2, v12 := s11-m1*m1, s22-m2*m2, s12-m1*m2
				total += (2*m1*m2 + c1) * (2*v12 + c2) / ((m1*m1 + m2*m2 + c1) * (v1 + v2 + c2))
			}
		}
	}
	return total / float64(n*c*oh*ow)
}

func TestSSIMValues(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	cases := []struct {
		name       string
		n, c, h, w int
		cfg        loss.SSIMConfig
		scale      float64
	}{
		{"DRAEMGray", 2, 1, 12, 10, loss.DRAEMSSIM(), 1},
		{"ThreeChannelsSmallerThanWindow", 1, 3, 8, 9, loss.DRAEMSSIM(), 1},
		{"Valid", 1, 2, 9, 8, loss.SSIMConfig{Window: 5, Sigma: 1, Range: 1, Valid: true}, 1},
		{"Range255", 1, 1, 7, 7, loss.SSIMConfig{Window: 7, Sigma: 1.5, Range: 255}, 255},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			size := tc.n * tc.c * tc.h * tc.w
			a := uniform(rng, size, 0, tc.scale)
			// b is a noisy copy of a, so SSIM is well inside (0, 1).
			b := make([]float32, size)
			for i := range b {
				b[i] = a[i] + float32(0.2*tc.scale*(rng.Float64()-0.5))
			}
			s := graph.Shape{int64(tc.n), int64(tc.c), int64(tc.h), int64(tc.w)}
			want := ssimRef(a, b, tc.n, tc.c, tc.h, tc.w, tc.cfg)
			got := evalLoss(t, []graph.Shape{s, s}, [][]float32{a, b}, func(g *graph.Graph, in []string) string {
				return loss.SSIM(g, in[0], in[1], tc.cfg)
			})
			assertClose(t, "SSIM", got, want, 2e-5)
			if want < 0.1 || want > 0.99 {
				t.Errorf("reference SSIM %g is not in a useful range for the test", want)
			}
			gotLoss := evalLoss(t, []graph.Shape{s, s}, [][]float32{a, b}, func(g *graph.Graph, in []string) string {
				return loss.SSIMLoss(g, in[0], in[1], tc.cfg)
			})
			assertClose(t, "SSIMLoss", gotLoss, 1-want, 2e-5)
			self := evalLoss(t, []graph.Shape{s, s}, [][]float32{a, a}, func(g *graph.Graph, in []string) string {
				return loss.SSIM(g, in[0], in[1], tc.cfg)
			})
			assertClose(t, "SSIM(a, a)", self, 1, 1e-5)
		})
	}
}

func TestGaussianWindow(t *testing.T) {
	w := loss.GaussianWindow(11, 1.5)
	sum := 0.0
	for i, v := range w {
		sum += v
		if math.Abs(v-w[10-i]) > 1e-15 {
			t.Errorf("window not symmetric at %d", i)
		}
	}
	assertClose(t, "sum", sum, 1, 1e-12)
	// Centre weight 1/sum_d exp(-d^2/4.5), d = -5..5.
	z := 0.0
	for d := -5; d <= 5; d++ {
		z += math.Exp(-float64(d*d) / 4.5)
	}
	assertClose(t, "centre", w[5], 1/z, 1e-12)
}

func TestLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	s := graph.Shape{2, 3, 4}
	// a and b at least 0.2 apart, so |a-b| has no kink within a step.
	a := uniform(rng, 24, -1, 1)
	b := make([]float32, 24)
	for i := range b {
		b[i] = a[i] + float32(0.2+0.5*rng.Float64())*float32(1-2*rng.IntN(2))
	}
	seg := graph.Shape{2, 2, 3, 4}
	tg, _ := oneHot(rng, 2, 2, 12)
	tg3, _ := oneHot(rng, 2, 3, 4)
	img := graph.Shape{2, 1, 9, 8}
	cases := []gradcheck.GradCase{
		{Name: "MSE", Inputs: []gradcheck.In{{Name: "a", Shape: s}, {Name: "b", Shape: s}},
			Build: func(g *graph.Graph, in []string) string { return loss.MSE(g, in[0], in[1]) }},
		{Name: "L1", Inputs: []gradcheck.In{{Name: "a", Shape: s, Data: a}, {Name: "b", Shape: s, Data: b}},
			Build: func(g *graph.Graph, in []string) string { return loss.L1(g, in[0], in[1]) }},
		{Name: "BCEWithLogits", Inputs: []gradcheck.In{{Name: "x", Shape: s, Lo: -4, Hi: 4}, {Name: "t", Shape: s, Lo: 0, Hi: 1, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string { return loss.BCEWithLogits(g, in[0], in[1]) }},
		{Name: "BCEWithLogitsAtZero", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{4}, Data: []float32{0, 0, 0, 0}}, {Name: "t", Shape: graph.Shape{4}, Data: []float32{0, 1, 0.3, 1}, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string { return loss.BCEWithLogits(g, in[0], in[1]) }},
		{Name: "CrossEntropy", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 4}, Lo: -3, Hi: 3}, {Name: "t", Shape: graph.Shape{2, 3, 4}, Data: tg3, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string { return loss.CrossEntropy(g, in[0], in[1]) }},
		{Name: "FocalDRAEM", Inputs: []gradcheck.In{{Name: "x", Shape: seg, Lo: -3, Hi: 3}, {Name: "t", Shape: seg, Data: tg, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string { return loss.Focal(g, in[0], in[1], loss.DRAEMFocal()) }},
		{Name: "FocalAlphaGamma1.5", Inputs: []gradcheck.In{{Name: "x", Shape: graph.Shape{2, 3, 4}, Lo: -2, Hi: 2}, {Name: "t", Shape: graph.Shape{2, 3, 4}, Data: tg3, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string {
				return loss.Focal(g, in[0], in[1], loss.FocalConfig{Gamma: 1.5, Smooth: 1e-5, Alpha: []float64{0.5, 1, 2}})
			}},
		{Name: "SSIMLoss", Inputs: []gradcheck.In{{Name: "a", Shape: img, Lo: 0, Hi: 1}, {Name: "b", Shape: img, Lo: 0, Hi: 1}},
			Build: func(g *graph.Graph, in []string) string { return loss.SSIMLoss(g, in[0], in[1], loss.DRAEMSSIM()) }},
		{Name: "SSIMValid", Inputs: []gradcheck.In{{Name: "a", Shape: graph.Shape{1, 2, 8, 7}, Lo: 0, Hi: 1}, {Name: "b", Shape: graph.Shape{1, 2, 8, 7}, Lo: 0, Hi: 1, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string {
				return loss.SSIM(g, in[0], in[1], loss.SSIMConfig{Window: 5, Sigma: 1.5, Range: 1, Valid: true})
			}},
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}

func TestBadInputs(t *testing.T) {
	cases := []struct {
		name  string
		a, b  graph.Shape
		build func(g *graph.Graph, a, b string) string
		want  string
	}{
		{"MSEShapes", graph.Shape{2, 3}, graph.Shape{3}, loss.MSE, "must be equal"},
		{"FocalOneClass", graph.Shape{2, 1, 4}, graph.Shape{2, 1, 4}, func(g *graph.Graph, a, b string) string {
			return loss.Focal(g, a, b, loss.DRAEMFocal())
		}, "at least 2 classes"},
		{"FocalAlphaLength", graph.Shape{2, 3}, graph.Shape{2, 3}, func(g *graph.Graph, a, b string) string {
			return loss.Focal(g, a, b, loss.FocalConfig{Gamma: 2, Alpha: []float64{1, 2}})
		}, "2 alpha weights for 3 classes"},
		{"BinaryOneHotChannels", graph.Shape{2, 2, 4}, graph.Shape{2, 2, 4}, func(g *graph.Graph, a, b string) string {
			return loss.BinaryOneHot(g, a)
		}, "want float32 [N, 1, ...]"},
		{"SSIMRank", graph.Shape{2, 8, 8}, graph.Shape{2, 8, 8}, func(g *graph.Graph, a, b string) string {
			return loss.SSIM(g, a, b, loss.DRAEMSSIM())
		}, "[N, C, H, W]"},
		{"SSIMValidTooSmall", graph.Shape{1, 1, 8, 12}, graph.Shape{1, 1, 8, 12}, func(g *graph.Graph, a, b string) string {
			return loss.SSIM(g, a, b, loss.SSIMConfig{Window: 11, Sigma: 1.5, Range: 1, Valid: true})
		}, "smaller than the 11x11 window"},
		{"GradientRank", graph.Shape{2, 8, 8}, graph.Shape{2, 8, 8}, func(g *graph.Graph, a, b string) string {
			return loss.Gradient(g, a, b, 3)
		}, "[N, C, H, W]"},
		{"GradientAlpha", graph.Shape{1, 1, 2, 2}, graph.Shape{1, 1, 2, 2}, func(g *graph.Graph, a, b string) string {
			return loss.Gradient(g, a, b, 0)
		}, "alpha 0 must be positive"},
		{"CosineShapes", graph.Shape{2, 4}, graph.Shape{2, 5}, loss.CosineDistance, "must be equal"},
		{"SSIMZeroConfig", graph.Shape{1, 1, 8, 8}, graph.Shape{1, 1, 8, 8}, func(g *graph.Graph, a, b string) string {
			return loss.SSIMLoss(g, a, b, loss.SSIMConfig{})
		}, "must be positive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("bad")
			a := g.Input("a", graph.Float, tc.a)
			b := g.Input("b", graph.Float, tc.b)
			if out := tc.build(g, a, b); out != "" {
				t.Errorf("builder returned %q after an error", out)
			}
			if err := g.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// gradientRef is PKG-Net's Gradient_Loss written out: per image the
// channel sums of the left and upper differences (zero outside the image),
// |dx_a - dx_b|^alpha + |dy_a - dy_b|^alpha averaged over N*H*W.
func gradientRef(a, b []float32, n, c, h, w int, alpha float64) float64 {
	sum := func(x []float32, img, i, j int) float64 {
		if i < 0 || j < 0 {
			return 0
		}
		s := 0.0
		for k := range c {
			s += float64(x[((img*c+k)*h+i)*w+j])
		}
		return s
	}
	total := 0.0
	for img := range n {
		for i := range h {
			for j := range w {
				dxa, dxb := sum(a, img, i, j)-sum(a, img, i, j-1), sum(b, img, i, j)-sum(b, img, i, j-1)
				dya, dyb := sum(a, img, i, j)-sum(a, img, i-1, j), sum(b, img, i, j)-sum(b, img, i-1, j)
				total += math.Pow(math.Abs(dxa-dxb), alpha) + math.Pow(math.Abs(dya-dyb), alpha)
			}
		}
	}
	return total / float64(n*h*w)
}

func TestGradientValues(t *testing.T) {
	// By hand: a has channels [[1 2] [3 4]] and [[0 1] [1 0]], b = 0. The
	// channel sum is [[1 3] [4 4]]; dx = [[1 2] [4 0]] (the first column
	// keeps the pixel), dy = [[1 3] [3 1]]. alpha 1: (7 + 8)/4; alpha 2:
	// (21 + 20)/4; alpha 3: (73 + 56)/4.
	a := []float32{1, 2, 3, 4, 0, 1, 1, 0}
	zero := make([]float32, 8)
	s := graph.Shape{1, 2, 2, 2}
	for _, tc := range []struct{ alpha, want float64 }{{1, 3.75}, {2, 10.25}, {3, 32.25}} {
		got := evalLoss(t, []graph.Shape{s, s}, [][]float32{a, zero}, func(g *graph.Graph, in []string) string {
			return loss.Gradient(g, in[0], in[1], tc.alpha)
		})
		assertClose(t, "Gradient by hand", got, tc.want, 1e-6)
		swapped := evalLoss(t, []graph.Shape{s, s}, [][]float32{zero, a}, func(g *graph.Graph, in []string) string {
			return loss.Gradient(g, in[0], in[1], tc.alpha)
		})
		assertClose(t, "Gradient swapped", swapped, tc.want, 1e-6)
	}
	rng := rand.New(rand.NewPCG(13, 14))
	for _, sh := range [][4]int{{2, 3, 5, 4}, {1, 1, 1, 6}, {3, 3, 4, 1}} {
		n, c, h, w := sh[0], sh[1], sh[2], sh[3]
		s := graph.Shape{int64(n), int64(c), int64(h), int64(w)}
		x, y := uniform(rng, n*c*h*w, 0, 1), uniform(rng, n*c*h*w, 0, 1)
		got := evalLoss(t, []graph.Shape{s, s}, [][]float32{x, y}, func(g *graph.Graph, in []string) string {
			return loss.Gradient(g, in[0], in[1], 3)
		})
		assertClose(t, "Gradient random", got, gradientRef(x, y, n, c, h, w, 3), 1e-5)
	}
}

func TestCosineDistanceValues(t *testing.T) {
	build := func(g *graph.Graph, in []string) string { return loss.CosineDistance(g, in[0], in[1]) }
	// By hand, features [1, 3, 1, 2]: at position 0 a = (1, 2, 2) and b =
	// (2, 0, 1), cos = 4 / (3 sqrt 5); at position 1 a = (1, 0, 0) and b =
	// (-1, 0, 0), cos = -1.
	a := []float32{1, 1, 2, 0, 2, 0}
	b := []float32{2, -1, 0, 0, 1, 0}
	s := graph.Shape{1, 3, 1, 2}
	want := ((1 - 4/(3*math.Sqrt(5))) + 2) / 2
	assertClose(t, "CosineDistance by hand", evalLoss(t, []graph.Shape{s, s}, [][]float32{a, b}, build), want, 1e-6)
	// Each norm is clamped at 1e-8 on its own, as F.cosine_similarity in
	// PyTorch 1.13: cos((1e-9, 0), (1, 0)) = 0.1 there, and 0 for a zero
	// vector.
	s2 := graph.Shape{2, 2}
	tiny := evalLoss(t, []graph.Shape{s2, s2}, [][]float32{{1e-9, 0, 0, 0}, {1, 0, 1, 0}}, build)
	assertClose(t, "CosineDistance at the clamp", tiny, ((1-0.1)+1)/2, 1e-6)

	// Random [N, C, H, W] against the formula.
	rng := rand.New(rand.NewPCG(15, 16))
	n, c, h, w := 2, 5, 3, 2
	x, y := uniform(rng, n*c*h*w, -1, 1), uniform(rng, n*c*h*w, -1, 1)
	ref := 0.0
	for i := range n {
		for p := range h * w {
			var dot, nx, ny float64
			for k := range c {
				u, v := float64(x[(i*c+k)*h*w+p]), float64(y[(i*c+k)*h*w+p])
				dot, nx, ny = dot+u*v, nx+u*u, ny+v*v
			}
			ref += 1 - dot/(math.Sqrt(nx)*math.Sqrt(ny))
		}
	}
	s4 := graph.Shape{int64(n), int64(c), int64(h), int64(w)}
	assertClose(t, "CosineDistance random", evalLoss(t, []graph.Shape{s4, s4}, [][]float32{x, y}, build), ref/float64(n*h*w), 1e-5)
}

func TestPKGNetLossGradients(t *testing.T) {
	img := graph.Shape{2, 3, 5, 4}
	feat := graph.Shape{2, 6, 2, 3}
	cases := []gradcheck.GradCase{
		{Name: "Gradient3", Inputs: []gradcheck.In{{Name: "a", Shape: img, Lo: 0, Hi: 1}, {Name: "b", Shape: img, Lo: 0, Hi: 1}},
			Build: func(g *graph.Graph, in []string) string { return loss.Gradient(g, in[0], in[1], 3) }},
		{Name: "Gradient2", Inputs: []gradcheck.In{{Name: "a", Shape: img, Lo: 0, Hi: 1}, {Name: "b", Shape: img, Lo: 0, Hi: 1, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string { return loss.Gradient(g, in[0], in[1], 2) }},
		{Name: "CosineDistance", Inputs: []gradcheck.In{{Name: "a", Shape: feat}, {Name: "b", Shape: feat}},
			Build: func(g *graph.Graph, in []string) string { return loss.CosineDistance(g, in[0], in[1]) }},
		{Name: "CosineDistanceMap", Inputs: []gradcheck.In{{Name: "a", Shape: feat, Lo: 0, Hi: 1}, {Name: "b", Shape: feat, Lo: 0, Hi: 1, NoGrad: true}},
			Build: func(g *graph.Graph, in []string) string { return loss.CosineDistanceMap(g, in[0], in[1]) }},
	}
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) { gradcheck.Check(t, tc) })
	}
}

// An all-zero feature (a dead ReLU position) has cosine 0 and a finite
// gradient.
func TestCosineDistanceZeroFeature(t *testing.T) {
	gradcheck.Check(t, gradcheck.GradCase{Name: "CosineZero",
		Inputs: []gradcheck.In{{Name: "a", Shape: graph.Shape{1, 3}, Data: []float32{0, 0, 0}, NoGrad: true}, {Name: "b", Shape: graph.Shape{1, 3}}},
		Build:  func(g *graph.Graph, in []string) string { return loss.CosineDistance(g, in[0], in[1]) }})
	got := evalLoss(t, []graph.Shape{{1, 3}, {1, 3}}, [][]float32{{0, 0, 0}, {1, 2, 3}}, func(g *graph.Graph, in []string) string {
		return loss.CosineDistance(g, in[0], in[1])
	})
	assertClose(t, "CosineDistance of a zero feature", got, 1, 1e-6)
}
