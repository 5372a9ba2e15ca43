package pkgnet

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Stats are the mean and standard deviation a score component is
// z-scored with.
type Stats struct{ Mean, Std float64 }

// ComputeStats returns the mean and the population standard deviation
// (numpy's default, ddof 0) of xs, for z-scoring with statistics of the
// training objects instead of the official hard-coded ones. It refuses no
// values or a zero spread.
func ComputeStats(xs []float64) (Stats, error) {
	if len(xs) == 0 {
		return Stats{}, errors.New("pkgnet: no scores to compute z-scoring statistics from")
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	s := Stats{Mean: mean, Std: math.Sqrt(v / float64(len(xs)))}
	if !(s.Std > 0) || math.IsInf(s.Std, 0) {
		return Stats{}, fmt.Errorf("pkgnet: %d scores have standard deviation %g; cannot z-score with it", len(xs), s.Std)
	}
	return s, nil
}

// Z is (x - Mean) / Std.
func (s Stats) Z(x float64) float64 { return (x - s.Mean) / s.Std }

// Dataset holds a data set's official constants (config/*.yaml).
type Dataset struct {
	K, Batch, Epochs int
	// Teacher is the torchvision backbone: resnet50 or resnext50_32x4d.
	Teacher string
	// NumObj is how many of a frame's largest object scores its score
	// averages.
	NumObj int
	// Hybrid weights the z-scored components: prediction MSE, then the
	// feature scores of block 1 and (k = 2) block 2.
	Hybrid []float64
	// Stats z-score the components, in Hybrid's order.
	Stats []Stats
}

// Official training schedule, the same for every data set.
const (
	LearningRate = 1e-4
	AdamEps      = 1e-7
	Milestone    = 60 // epoch of the one learning-rate decay
	LRDecay      = 0.8
	// MedianKernel is the per-video median filter's length.
	MedianKernel = 19
)

// OfficialDataset returns the constants of ped2, avenue or shanghaitech.
func OfficialDataset(name string) (Dataset, error) {
	switch name {
	case "ped2":
		return Dataset{K: 2, Batch: 128, Epochs: 120, Teacher: "resnet50", NumObj: 3,
			Hybrid: []float64{0.01, 0.65, 0.35},
			Stats:  []Stats{{0.00049519236, 0.00030447403}, {0.034649044, 0.010666361}, {0.012760395, 0.004660762}}}, nil
	case "avenue":
		return Dataset{K: 1, Batch: 128, Epochs: 120, Teacher: "resnet50", NumObj: 1,
			Hybrid: []float64{0.5, 0.5},
			Stats:  []Stats{{0.00020463768, 0.00023165425}, {0.022847509, 0.011982802}}}, nil
	case "shanghaitech":
		return Dataset{K: 1, Batch: 256, Epochs: 80, Teacher: "resnext50_32x4d", NumObj: 1,
			Hybrid: []float64{0.15, 0.75},
			Stats:  []Stats{{0.0035102654, 0.0032046044}, {0.05668377, 0.023757514}}}, nil
	}
	return Dataset{}, fmt.Errorf("pkgnet: no official constants for dataset %q (ped2, avenue, shanghaitech)", name)
}

// Hybrid z-scores each component of every object with its Stats and sums
// them with the weights: components[c][i] is component c (prediction MSE,
// then block 1, block 2) of object i. It returns one score per object.
func Hybrid(components [][]float64, stats []Stats, weights []float64) ([]float64, error) {
	if len(components) == 0 || len(stats) != len(components) || len(weights) != len(components) {
		return nil, fmt.Errorf("pkgnet: %d score components, %d statistics and %d weights; they must match", len(components), len(stats), len(weights))
	}
	n := len(components[0])
	out := make([]float64, n)
	for c, xs := range components {
		if len(xs) != n {
			return nil, fmt.Errorf("pkgnet: score component %d has %d objects, component 0 has %d", c, len(xs), n)
		}
		for i, x := range xs {
			out[i] += weights[c] * stats[c].Z(x)
		}
	}
	return out, nil
}

// EmptyFrameScore is the official score of a frame without objects
// (eval.py's zero_object, applied to ShanghaiTech): every z-scored
// component of the frame is set to -1, so the hybrid score is minus the
// sum of the weights. For Ped2 and Avenue the official code has no rule
// (such a frame scores NaN there); fmam uses this one for every data set.
func EmptyFrameScore(weights []float64) float64 {
	s := 0.0
	for _, w := range weights {
		s -= w
	}
	return s
}

// FrameScores averages, per frame, the topK largest of its objects'
// scores (all of them when it has fewer): objects holds the frames'
// objects one frame after another, counts[f] of them for frame f. A frame
// without objects scores empty (see EmptyFrameScore).
func FrameScores(objects []float64, counts []int, topK int, empty float64) ([]float64, error) {
	if topK < 1 {
		return nil, fmt.Errorf("pkgnet: top %d objects per frame; it must be at least 1", topK)
	}
	out := make([]float64, len(counts))
	at := 0
	var buf []float64
	for f, c := range counts {
		if c < 0 || at+c > len(objects) {
			return nil, fmt.Errorf("pkgnet: frame %d has %d objects but only %d of %d scores remain", f, c, len(objects)-at, len(objects))
		}
		if c == 0 {
			out[f] = empty
			continue
		}
		buf = append(buf[:0], objects[at:at+c]...)
		at += c
		slices.Sort(buf)
		top := buf[max(0, c-topK):]
		s := 0.0
		for _, x := range top {
			s += x
		}
		out[f] = s / float64(len(top))
	}
	if at != len(objects) {
		return nil, fmt.Errorf("pkgnet: %d object scores for %d objects in %d frames", len(objects), at, len(counts))
	}
	return out, nil
}

// MedFilt is scipy.signal.medfilt(x, kernel): each value replaced by the
// median of the kernel values centred on it, values beyond either end
// counting as 0. kernel must be odd and positive.
func MedFilt(x []float64, kernel int) ([]float64, error) {
	if kernel < 1 || kernel%2 == 0 {
		return nil, fmt.Errorf("pkgnet: median filter kernel %d; it must be odd and positive", kernel)
	}
	h := kernel / 2
	out := make([]float64, len(x))
	win := make([]float64, kernel)
	for i := range x {
		for j := range kernel {
			k := i - h + j
			if k < 0 || k >= len(x) {
				win[j] = 0
			} else {
				win[j] = x[k]
			}
		}
		slices.Sort(win)
		out[i] = win[h]
	}
	return out, nil
}

// SmoothVideos median-filters each video's stretch of the concatenated
// frame scores on its own, as eval.py does with its per-video frame
// offsets: lengths[v] frames of video v, one after another.
func SmoothVideos(scores []float64, lengths []int, kernel int) ([]float64, error) {
	out := make([]float64, 0, len(scores))
	at := 0
	for v, n := range lengths {
		if n < 0 || at+n > len(scores) {
			return nil, fmt.Errorf("pkgnet: video %d has %d frames but only %d of %d scores remain", v, n, len(scores)-at, len(scores))
		}
		m, err := MedFilt(scores[at:at+n], kernel)
		if err != nil {
			return nil, err
		}
		out = append(out, m...)
		at += n
	}
	if at != len(scores) {
		return nil, fmt.Errorf("pkgnet: %d frame scores for videos of %d frames in all", len(scores), at)
	}
	return out, nil
}
