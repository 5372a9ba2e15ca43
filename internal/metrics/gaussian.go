package metrics

import (
	"fmt"
	"math"
)

// gaussianTruncate is scipy.ndimage's default: the kernel reaches 4 sigma.
const gaussianTruncate = 4.0

// gaussianKernel returns the right half of scipy's normalised Gaussian
// kernel (k[0] is the centre tap) with radius int(4*sigma + 0.5).
func gaussianKernel(sigma float64) []float64 {
	radius := int(gaussianTruncate*sigma + 0.5)
	k := make([]float64, radius+1)
	c := -0.5 / (sigma * sigma)
	sum := 0.0
	for i := -radius; i <= radius; i++ {
		sum += math.Exp(c * float64(i*i))
	}
	for i := range k {
		k[i] = math.Exp(c*float64(i*i)) / sum
	}
	return k
}

// reflectIndex maps any index to [0, n) by scipy's "reflect" mode
// (d c b a | a b c d | d c b a): the edge sample is repeated.
func reflectIndex(i, n int) int {
	period := 2 * n
	i %= period
	if i < 0 {
		i += period
	}
	if i >= n {
		i = period - 1 - i
	}
	return i
}

// CheckSigma reports a Gaussian sigma GaussianBlur refuses, so that callers
// can refuse it before loading any map.
func CheckSigma(sigma float64) error {
	if math.IsNaN(sigma) || sigma < 0 || math.IsInf(sigma, 0) {
		return fmt.Errorf("gaussian: sigma %v must be a finite number >= 0", sigma)
	}
	return nil
}

// GaussianBlur returns m (w x h, row-major) smoothed as
// scipy.ndimage.gaussian_filter(m, sigma, mode="reflect", truncate=4) does for
// a float32 array: a separable filter along y and then x, computed in float64
// and stored as float32 after each pass. Taps are summed outermost first, in
// the order of scipy's symmetric correlate1d, so that results agree with it to
// float32 rounding. sigma = 0 returns a copy.
func GaussianBlur(m []float32, w, h int, sigma float64) ([]float32, error) {
	if err := CheckSigma(sigma); err != nil {
		return nil, err
	}
	if w <= 0 || h <= 0 || len(m) != w*h {
		return nil, fmt.Errorf("gaussian blur: %d values for a %dx%d map", len(m), w, h)
	}
	out := make([]float32, len(m))
	if sigma == 0 {
		copy(out, m)
		return out, nil
	}
	k := gaussianKernel(sigma)
	tmp := make([]float32, len(m))
	acc := make([]float64, w)

	// Along y: whole rows at a time so that memory is read in order.
	for y := range h {
		row := m[y*w : (y+1)*w]
		for x, v := range row {
			acc[x] = float64(v) * k[0]
		}
		for j := len(k) - 1; j >= 1; j-- {
			up := m[reflectIndex(y-j, h)*w:][:w]
			down := m[reflectIndex(y+j, h)*w:][:w]
			kj := k[j]
			for x := range acc {
				acc[x] += (float64(up[x]) + float64(down[x])) * kj
			}
		}
		for x, v := range acc {
			tmp[y*w+x] = float32(v)
		}
	}

	// Along x: pad each row by reflection once, then convolve.
	r := len(k) - 1
	line := make([]float64, w+2*r)
	for y := range h {
		row := tmp[y*w : (y+1)*w]
		for i := range line {
			line[i] = float64(row[reflectIndex(i-r, w)])
		}
		for x := range w {
			c := x + r
			s := line[c] * k[0]
			for j := r; j >= 1; j-- {
				s += (line[c-j] + line[c+j]) * k[j]
			}
			out[y*w+x] = float32(s)
		}
	}
	return out, nil
}

// GaussianSmooth1D returns x smoothed as
// scipy.ndimage.gaussian_filter1d(x, sigma, mode="reflect", truncate=4) does
// for a float64 array. sigma = 0 returns a copy.
func GaussianSmooth1D(x []float64, sigma float64) ([]float64, error) {
	if err := CheckSigma(sigma); err != nil {
		return nil, err
	}
	out := make([]float64, len(x))
	if sigma == 0 || len(x) == 0 {
		copy(out, x)
		return out, nil
	}
	k := gaussianKernel(sigma)
	n := len(x)
	for i := range x {
		s := x[i] * k[0]
		for j := len(k) - 1; j >= 1; j-- {
			s += (x[reflectIndex(i-j, n)] + x[reflectIndex(i+j, n)]) * k[j]
		}
		out[i] = s
	}
	return out, nil
}
