// Package loss builds training losses as nodes of a graph.Graph.
//
// Every builder takes tensor names, appends ops that have gradient rules in
// internal/autodiff, and returns the name of a [1]-shaped float tensor (the
// engine's scalar convention), so a train-step graph can call
// autodiff.Backward on the result directly. Builders follow the graph's
// sticky-error style: bad inputs are recorded with g.Fail and reported by
// g.Err, and the builder returns "".
//
// Definitions follow the reference code the compared methods train with,
// so that a loss value here means what it means there:
//
//   - MSE and L1 are the means over all elements (PyTorch's MSELoss and
//     L1Loss with reduction "mean").
//   - BCEWithLogits is PyTorch's BCEWithLogitsLoss: the mean of
//     max(x, 0) - x*t + log(1 + exp(-|x|)), written as softplus(x) - x*t.
//   - CrossEntropy takes class probabilities (one-hot or soft) laid out like
//     the logits, [N, C, ...], and is the mean over N and positions of
//     -sum_c t_c log_softmax(x)_c.
//   - Focal is the FocalLoss of DRAEM (Zavrtanik et al. 2021, loss.py,
//     copied there from Loss_ToolBox-PyTorch) applied, as DRAEM applies it,
//     to the softmax over channels; see Focal for the exact formula.
//   - SSIM is DRAEM's pytorch-ssim: an 11x11 Gaussian window (sigma 1.5),
//     zero padding of window/2, C1 = (0.01 L)^2, C2 = (0.03 L)^2, and the
//     mean of the SSIM map; SSIMLoss is 1 - SSIM.
//   - Gradient is the image gradient loss of PKG-Net's and HF2VAD's
//     Gradient_Loss (loss.py); see Gradient for the exact form.
//   - CosineDistance is the mean of 1 - F.cosine_similarity over channels
//     (PyTorch's eps 1e-8 on each norm), PKG-Net's Feature_Loss.
package loss

import (
	"fmt"
	"math"
	"slices"

	"github.com/fmam/fmam/internal/graph"
)

// sameShape checks that two float tensors have one shape, naming what
// the loss expected.
func sameShape(g *graph.Graph, what, a, b string) bool {
	if g.Err() != nil {
		return false
	}
	for _, x := range []string{a, b} {
		if !g.Has(x) {
			g.Fail(fmt.Errorf("%s: tensor %q is not in graph %s", what, x, g.Name))
			return false
		}
		if g.DType(x) != graph.Float {
			g.Fail(fmt.Errorf("%s: tensor %q is %v; want float32", what, x, g.DType(x)))
			return false
		}
	}
	if !slices.Equal(g.Shape(a), g.Shape(b)) {
		g.Fail(fmt.Errorf("%s: %q has shape %v and %q has shape %v; they must be equal (no broadcasting)", what, a, g.Shape(a), b, g.Shape(b)))
		return false
	}
	return true
}

// classShape checks logits and target for the class losses: equal shapes
// [N, C, ...] with at least minC classes.
func classShape(g *graph.Graph, what, logits, target string, minC int64) bool {
	if !sameShape(g, what, logits, target) {
		return false
	}
	s := g.Shape(logits)
	if len(s) < 2 || s[1] < minC {
		g.Fail(fmt.Errorf("%s: logits %q have shape %v; want [N, C, ...] with at least %d classes on axis 1 and a target of the same shape (one-hot or class probabilities)", what, logits, s, minC))
		return false
	}
	return true
}

// Mean returns the mean of all elements of x as a [1] tensor.
func Mean(g *graph.Graph, x string) string {
	return g.Op(graph.OpReshape, []string{g.ReduceMean(x, nil, true), g.Const1D(1)}, nil)
}

// Sum returns the sum of all elements of x as a [1] tensor.
func Sum(g *graph.Graph, x string) string {
	return g.Op(graph.OpReshape, []string{g.ReduceSum(x, nil, true), g.Const1D(1)}, nil)
}

// MSE is the mean squared difference of a and b.
func MSE(g *graph.Graph, a, b string) string {
	if !sameShape(g, "MSE", a, b) {
		return ""
	}
	d := g.Sub(a, b)
	return Mean(g, g.Mul(d, d))
}

// L1 is the mean absolute difference of a and b.
func L1(g *graph.Graph, a, b string) string {
	if !sameShape(g, "L1", a, b) {
		return ""
	}
	return Mean(g, g.Abs(g.Sub(a, b)))
}

// BCEWithLogits is the mean binary cross-entropy of sigmoid(logits)
// against targets in [0, 1]. Softplus keeps it finite for any logit and,
// unlike the max/abs form, has the exact gradient sigmoid(x) - t at x = 0
// too (where a zero-initialised head starts).
func BCEWithLogits(g *graph.Graph, logits, target string) string {
	if !sameShape(g, "BCEWithLogits", logits, target) {
		return ""
	}
	sp := g.Softplus(logits)
	return Mean(g, g.Sub(sp, g.Mul(logits, target)))
}

// CrossEntropy is the mean over N and positions of -sum_c t_c
// log_softmax(logits)_c, for logits and class probabilities [N, C, ...].
// With one-hot targets it equals PyTorch's cross_entropy with class
// indices.
func CrossEntropy(g *graph.Graph, logits, target string) string {
	if !classShape(g, "CrossEntropy", logits, target, 1) {
		return ""
	}
	s := g.Shape(logits)
	z, _, sum := classExp(g, logits)
	lsm := g.Sub(z, g.Log(sum))
	total := Sum(g, g.Mul(target, lsm))
	count := s.Size() / s[1]
	return g.Mul(total, g.Scalar(float32(-1/float64(count))))
}

// classExp returns, for logits [N, C, ...], z = x - max_c x, e = exp(z)
// and sum_c e (kept as [N, 1, ...]): the pieces of a stable softmax over
// axis 1. ONNX Runtime runs Softmax and LogSoftmax on an axis other than
// the last through two transposes, about 10x slower than these reductions
// over axis 1 at [8, 2, 256, 256]. The max gets a gradient too, which is
// zero up to rounding because the result does not depend on the shift.
func classExp(g *graph.Graph, x string) (z, e, sum string) {
	m := g.ReduceMax(x, []int64{1}, true)
	z = g.Sub(x, m)
	e = g.Exp(z)
	sum = g.ReduceSum(e, []int64{1}, true)
	return z, e, sum
}

// FocalConfig parameterises Focal.
type FocalConfig struct {
	// Gamma is the focusing exponent (DRAEM: 2).
	Gamma float64
	// Alpha, when set, weights each pixel by sum_c Alpha[c] t_c (for a
	// one-hot target, the weight of its class). It is used as given; the
	// reference normalises a list of weights to sum 1, so pass normalised
	// weights to match it. Nil weights every pixel by 1, as DRAEM does.
	Alpha []float64
	// Smooth is the reference's label smoothing and log guard (DRAEM:
	// 1e-5); 0 turns both off.
	Smooth float64
}

// DRAEMFocal is the configuration DRAEM trains its segmentation head with.
func DRAEMFocal() FocalConfig { return FocalConfig{Gamma: 2, Smooth: 1e-5} }

// Focal is DRAEM's focal loss on logits [N, C, ...] and a target of the
// same shape (one-hot, or class probabilities). With p = softmax(logits)
// over axis 1, s = Smooth and C classes:
//
//	t'  = clamp(t, s/(C-1), 1-s)
//	pt  = sum_c t'_c p_c + s
//	a   = sum_c Alpha_c t_c        (1 when Alpha is nil)
//	FL  = -a (1 - pt)^Gamma log(pt)
//
// and the loss is the mean of FL over N and positions. DRAEM passes the
// softmax of its two-channel head and the anomaly mask as class indices;
// the one-hot of that mask is the target here.
func Focal(g *graph.Graph, logits, target string, cfg FocalConfig) string {
	if !classShape(g, "Focal", logits, target, 2) {
		return ""
	}
	if cfg.Gamma < 0 || cfg.Smooth < 0 || cfg.Smooth > 1 {
		g.Fail(fmt.Errorf("Focal: gamma %g and smooth %g must be >= 0 (smooth at most 1)", cfg.Gamma, cfg.Smooth))
		return ""
	}
	s := g.Shape(logits)
	c := s[1]
	if cfg.Alpha != nil && int64(len(cfg.Alpha)) != c {
		g.Fail(fmt.Errorf("Focal: %d alpha weights for %d classes", len(cfg.Alpha), c))
		return ""
	}
	_, e, sum := classExp(g, logits)
	t := target
	if cfg.Smooth > 0 {
		t = g.Op(graph.OpClip, []string{target, g.Scalar(float32(cfg.Smooth / float64(c-1))), g.Scalar(float32(1 - cfg.Smooth))}, nil)
	}
	axis1 := g.Const1D(1)
	// sum_c t_c softmax_c = sum_c t_c e_c / sum_c e_c.
	pt := g.Div(g.Op(graph.OpReduceSum, []string{g.Mul(t, e), axis1}, graph.Attrs{"keepdims": int64(1)}), sum)
	if cfg.Smooth > 0 {
		pt = g.Add(pt, g.Scalar(float32(cfg.Smooth)))
	}
	q := g.Sub(g.Scalar(1), pt)
	fl := g.Mul(power(g, q, cfg.Gamma), g.Log(pt))
	if cfg.Alpha != nil {
		ws := make([]float32, c)
		for i, a := range cfg.Alpha {
			ws[i] = float32(a)
		}
		wshape := make(graph.Shape, len(s))
		for i := range wshape {
			wshape[i] = 1
		}
		wshape[1] = c
		w := g.Init("focal_alpha", graph.Floats(wshape, ws))
		aw := g.Op(graph.OpReduceSum, []string{g.Mul(target, w), axis1}, graph.Attrs{"keepdims": int64(1)})
		fl = g.Mul(fl, aw)
	}
	return g.Neg(Mean(g, fl))
}

// BinaryOneHot turns a binary mask [N, 1, ...] (1 = anomalous, DRAEM's
// anomaly_mask) into the two-class target [N, 2, ...] = [1 - m, m] that
// Focal and CrossEntropy take with a two-channel head.
func BinaryOneHot(g *graph.Graph, mask string) string {
	s := g.Shape(mask)
	if g.Err() != nil {
		return ""
	}
	if len(s) < 2 || s[1] != 1 || g.DType(mask) != graph.Float {
		g.Fail(fmt.Errorf("BinaryOneHot: mask %q is %v %v; want float32 [N, 1, ...]", mask, g.DType(mask), s))
		return ""
	}
	return g.Concat(1, g.Sub(g.Scalar(1), mask), mask)
}

// power raises q (in [0, 1] up to rounding) to gamma: small integer powers
// as products, which are exact and have a finite gradient at q = 0;
// others through Pow of max(q, 0), so rounding below zero cannot give NaN.
func power(g *graph.Graph, q string, gamma float64) string {
	if gamma == math.Trunc(gamma) && gamma <= 4 {
		if gamma == 0 {
			return g.Scalar(1)
		}
		out := q
		for range int(gamma) - 1 {
			out = g.Mul(out, q)
		}
		return out
	}
	return g.Pow(g.Relu(q), g.Scalar(float32(gamma)))
}

// SSIMConfig parameterises SSIM.
type SSIMConfig struct {
	// Window is the side of the Gaussian window (DRAEM: 11).
	Window int
	// Sigma is the Gaussian's standard deviation in pixels (1.5).
	Sigma float64
	// Range is the dynamic range L of the data (1 for images in [0, 1];
	// pytorch-ssim guesses 255 or 2 from the data, fmam asks).
	Range float64
	// Valid computes the map only where the window fits inside the image;
	// the default is pytorch-ssim's zero padding of Window/2.
	Valid bool
}

// DRAEMSSIM is the SSIM DRAEM trains its reconstruction with.
func DRAEMSSIM() SSIMConfig { return SSIMConfig{Window: 11, Sigma: 1.5, Range: 1} }

// GaussianWindow is pytorch-ssim's 1-D window: exp(-(i - size/2)^2 /
// (2 sigma^2)) normalised to sum 1 (integer division, as in the
// reference). The 2-D window is its outer product with itself.
func GaussianWindow(size int, sigma float64) []float64 {
	w := make([]float64, size)
	sum := 0.0
	for i := range w {
		d := float64(i - size/2)
		w[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += w[i]
	}
	for i := range w {
		w[i] /= sum
	}
	return w
}

// SSIM is the mean structural similarity of images a and b [N, C, H, W],
// each channel on its own. The local means of a, b, a^2, b^2 and ab are
// separable Gaussian blurs (a 1xK then a Kx1 depthwise convolution, equal
// to the KxK outer-product window up to rounding).
func SSIM(g *graph.Graph, a, b string, cfg SSIMConfig) string {
	if !sameShape(g, "SSIM", a, b) {
		return ""
	}
	s := g.Shape(a)
	k := int64(cfg.Window)
	if len(s) != 4 {
		g.Fail(fmt.Errorf("SSIM: %q has shape %v; want [N, C, H, W]", a, s))
		return ""
	}
	if k < 1 || cfg.Sigma <= 0 || cfg.Range <= 0 {
		g.Fail(fmt.Errorf("SSIM: window %d, sigma %g and range %g must be positive", k, cfg.Sigma, cfg.Range))
		return ""
	}
	pad := k / 2
	if cfg.Valid {
		pad = 0
		if s[2] < k || s[3] < k {
			g.Fail(fmt.Errorf("SSIM: images %v are smaller than the %dx%d window of valid-mode SSIM", s, k, k))
			return ""
		}
	}
	win := GaussianWindow(cfg.Window, cfg.Sigma)
	blur := func(xs ...string) []string { return gaussianBlur(g, xs, s[1], win, pad) }
	// The statistics of a, of b, and the cross term are blurred in three
	// groups so the backward pass only runs through those that depend on a
	// trained image (a reconstruction, usually, not its target).
	sa := blur(a, g.Mul(a, a))
	sb := blur(b, g.Mul(b, b))
	e12 := blur(g.Mul(a, b))[0]
	mu1, e11, mu2, e22 := sa[0], sa[1], sb[0], sb[1]

	mu11, mu22, mu12 := g.Mul(mu1, mu1), g.Mul(mu2, mu2), g.Mul(mu1, mu2)
	var11, var22, cov := g.Sub(e11, mu11), g.Sub(e22, mu22), g.Sub(e12, mu12)
	c1 := g.Scalar(float32(math.Pow(0.01*cfg.Range, 2)))
	c2 := g.Scalar(float32(math.Pow(0.03*cfg.Range, 2)))
	two := g.Scalar(2)
	num := g.Mul(g.Add(g.Mul(two, mu12), c1), g.Add(g.Mul(two, cov), c2))
	den := g.Mul(g.Add(g.Add(mu11, mu22), c1), g.Add(g.Add(var11, var22), c2))
	return Mean(g, g.Div(num, den))
}

// SSIMLoss is 1 - SSIM(a, b), DRAEM's reconstruction term.
func SSIMLoss(g *graph.Graph, a, b string, cfg SSIMConfig) string {
	s := SSIM(g, a, b, cfg)
	if s == "" {
		return ""
	}
	return g.Sub(g.Scalar(1), s)
}

// gaussianBlur blurs tensors [N, C, H, W] with the separable window win
// and zero padding pad. They are stacked on the channel axis and blurred
// by one depthwise Conv per direction: ONNX Runtime's depthwise kernel ran
// the 1x11 pass 3-4x faster than a single-channel Conv over the same data
// folded into the batch.
func gaussianBlur(g *graph.Graph, xs []string, ch int64, win []float64, pad int64) []string {
	k := int64(len(win))
	m := int64(len(xs)) * ch
	taps := make([]float32, 0, m*k)
	for range m {
		for _, v := range win {
			taps = append(taps, float32(v))
		}
	}
	row := g.Init("ssim_window_row", graph.Floats(graph.Shape{m, 1, 1, k}, taps))
	col := g.Init("ssim_window_col", graph.Floats(graph.Shape{m, 1, k, 1}, taps))
	x := g.Concat(1, xs...)
	x = g.Op(graph.OpConv, []string{x, row}, graph.Attrs{"pads": []int64{0, pad, 0, pad}, "group": m})
	x = g.Op(graph.OpConv, []string{x, col}, graph.Attrs{"pads": []int64{pad, 0, pad, 0}, "group": m})
	sizes := make([]int64, len(xs))
	for i := range sizes {
		sizes[i] = ch
	}
	return g.Split(x, 1, sizes...)
}

// Gradient is the image gradient loss of PKG-Net (and HF2VAD, whose
// Gradient_Loss PKG-Net copies) for images a, b [N, C, H, W]:
//
//	dx_a[n, i, j] = sum_c (a[n, c, i, j] - a[n, c, i, j-1])
//	dy_a[n, i, j] = sum_c (a[n, c, i, j] - a[n, c, i-1, j])
//	loss = mean over n, i, j of |dx_a - dx_b|^alpha + |dy_a - dy_b|^alpha
//
// with a[.., -1] = 0: the reference convolves with a [-1, 1] filter that
// spans all C channels (one output channel, so the channels are summed
// before the absolute value) after zero-padding one column on the left
// (one row on the top), so the first column's "difference" is the pixel
// itself. The mean runs over N*H*W, not N*C*H*W. PKG-Net trains with
// alpha 3 (Gradient_Loss(3, 3, device)). The loss is symmetric in a and b.
func Gradient(g *graph.Graph, a, b string, alpha float64) string {
	if !sameShape(g, "Gradient", a, b) {
		return ""
	}
	s := g.Shape(a)
	if len(s) != 4 {
		g.Fail(fmt.Errorf("Gradient: %q has shape %v; want [N, C, H, W]", a, s))
		return ""
	}
	if alpha <= 0 {
		g.Fail(fmt.Errorf("Gradient: alpha %g must be positive (PKG-Net: 3)", alpha))
		return ""
	}
	// The differences are linear, so dx_a - dx_b is dx of a - b.
	d := g.ReduceSum(g.Sub(a, b), []int64{1}, true)
	diff := func(axis int64) string {
		n := s[axis]
		first := g.Slice(d, []int64{0}, []int64{1}, []int64{axis}, nil)
		if n == 1 {
			return first
		}
		rest := g.Sub(g.Slice(d, []int64{1}, []int64{n}, []int64{axis}, nil), g.Slice(d, []int64{0}, []int64{n - 1}, []int64{axis}, nil))
		return g.Concat(axis, first, rest)
	}
	dx, dy := diff(3), diff(2)
	return Mean(g, g.Add(power(g, g.Abs(dx), alpha), power(g, g.Abs(dy), alpha)))
}

// CosineEps is PyTorch's default eps of F.cosine_similarity.
const CosineEps = 1e-8

// CosineDistanceMap is 1 - cos(a, b) over the channel axis for features
// a, b [N, C, ...]: shape [N, 1, ...]. As F.cosine_similarity in PyTorch
// 1.13 (measured there), each norm is clamped at CosineEps on its own:
// cos = a.b / (max(|a|, eps) max(|b|, eps)). The clamp is taken on the
// squared norm (sqrt(max(|a|^2, eps^2)), the same value), so that an
// all-zero position, which ReLU features can have, gets a finite gradient.
func CosineDistanceMap(g *graph.Graph, a, b string) string {
	if !sameShape(g, "CosineDistance", a, b) {
		return ""
	}
	if s := g.Shape(a); len(s) < 2 {
		g.Fail(fmt.Errorf("CosineDistance: %q has shape %v; want [N, C, ...]", a, s))
		return ""
	}
	axis := []int64{1}
	eps2 := g.Scalar(float32(CosineEps * CosineEps))
	norm := func(x string) string { return g.Sqrt(g.Max(g.ReduceSumSquare(x, axis, true), eps2)) }
	dot := g.ReduceSum(g.Mul(a, b), axis, true)
	return g.Sub(g.Scalar(1), g.Div(dot, g.Mul(norm(a), norm(b))))
}

// CosineDistance is the mean over N and positions of 1 - cos(a, b) over
// channels: PKG-Net's Feature_Loss for one block, torch.mean(1 -
// F.cosine_similarity(a, b)).
func CosineDistance(g *graph.Graph, a, b string) string {
	m := CosineDistanceMap(g, a, b)
	if m == "" {
		return ""
	}
	return Mean(g, m)
}
