package baseline

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/score"
)

// Calibration is what turns a model's raw scores into decisions outside
// the test set: the normalisation of S_o and S_fea (min and max over
// normal reference data, not the test set's per-video or per-category
// min-max), the fusion weight, and the thresholds on S_total. Eval writes
// it to the stage's thresholds.json, its results.json and the exported
// model's metadata; `fmam predict` applies it.
type Calibration struct {
	// Lambda is eval.lambda: S_total = Lambda*n(S_fea) + (1-Lambda)*n(S_o).
	Lambda float64 `json:"lambda"`
	SO     Norm    `json:"s_o"`
	SFea   Norm    `json:"s_fea"`
	// Reference says which normal data the statistics come from:
	// "held-out" (data.val_fraction of the training normals, never
	// trained on) or "train" (training normals, in-sample).
	Reference string `json:"reference"`
	// References is the number of reference items (images or frames).
	References int `json:"references"`
	// Thresholds on S_total; Default names the one predict uses.
	Thresholds []Threshold `json:"thresholds"`
	Default    string      `json:"default"`
}

// Norm is a min-max normalisation oriented so that 1 is anomalous (see
// Apply). Values outside the reference range go beyond [0, 1].
type Norm struct {
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
	Direction string  `json:"direction"`
}

// Threshold is one decision threshold on S_total: an item is anomalous
// when S_total >= Value.
type Threshold struct {
	// Name is ThresholdQuantile or ThresholdF1.
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Labels says what labels chose it: "none" (label-free) or "test"
	// (the test set's labels: optimistic on that set).
	Labels string `json:"labels"`
	// Quantile of the reference scores (ThresholdQuantile); F1 at the
	// threshold on the test set (ThresholdF1).
	Quantile float64 `json:"quantile,omitempty"`
	F1       float64 `json:"f1,omitempty"`
}

// The thresholds eval stores.
const (
	// ThresholdQuantile is label-free: eval.quantile of S_total over the
	// normal reference data.
	ThresholdQuantile = "normal-quantile"
	// ThresholdF1 maximises F1 on the test set (anomalib's adaptive
	// threshold): it needs labels and is tuned on the data it is
	// reported on.
	ThresholdF1 = "test-f1max"
)

// NewNorm is the normalisation of the reference scores xs.
func NewNorm(xs []float64, d score.Direction) (Norm, error) {
	if len(xs) == 0 {
		return Norm{}, fmt.Errorf("normalisation: no reference scores")
	}
	n := Norm{Min: math.Inf(1), Max: math.Inf(-1), Direction: d.String()}
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return Norm{}, fmt.Errorf("normalisation: reference score %d is %v", i, x)
		}
		n.Min, n.Max = min(n.Min, x), max(n.Max, x)
	}
	return n, nil
}

// Apply normalises x: (x - Min)/(Max - Min), or (Max - x)/(Max - Min)
// for lower-is-anomalous; a constant reference divides by 1.
func (n Norm) Apply(x float64) float64 {
	span := n.Max - n.Min
	if !(span > 0) {
		span = 1
	}
	if n.Direction == score.LowerIsAnomalous.String() {
		return (n.Max - x) / span
	}
	return (x - n.Min) / span
}

// Total is S_total of raw scores.
func (c *Calibration) Total(so, sfea float64) float64 {
	return c.Lambda*c.SFea.Apply(sfea) + (1-c.Lambda)*c.SO.Apply(so)
}

// Threshold returns the named threshold.
func (c *Calibration) Threshold(name string) (Threshold, bool) {
	i := slices.IndexFunc(c.Thresholds, func(t Threshold) bool { return t.Name == name })
	if i < 0 {
		return Threshold{}, false
	}
	return c.Thresholds[i], true
}

// Calibrate computes the calibration from the raw scores of normal
// reference items (ref) and, when testLabels is not nil, the test set's
// raw scores for the F1-max threshold.
func Calibrate(f FrameScoring, lambda, quantile float64, reference string, refSO, refFea []float64, testSO, testFea []float64, testLabels []bool) (*Calibration, error) {
	c := &Calibration{Lambda: lambda, Reference: reference, References: len(refSO), Default: ThresholdQuantile}
	var err error
	if c.SO, err = NewNorm(refSO, f.SO); err != nil {
		return nil, fmt.Errorf("s_o: %w", err)
	}
	if c.SFea, err = NewNorm(refFea, f.SFea); err != nil {
		return nil, fmt.Errorf("s_fea: %w", err)
	}
	tot := make([]float64, len(refSO))
	for i := range tot {
		tot[i] = c.Total(refSO[i], refFea[i])
	}
	c.Thresholds = append(c.Thresholds, Threshold{Name: ThresholdQuantile, Value: Quantile(tot, quantile), Labels: "none", Quantile: quantile})
	if testLabels != nil {
		tt := make([]float64, len(testSO))
		for i := range tt {
			tt[i] = c.Total(testSO[i], testFea[i])
		}
		f1, t, err := metrics.F1Max(tt, testLabels)
		if err != nil {
			return nil, fmt.Errorf("F1-max threshold: %w", err)
		}
		c.Thresholds = append(c.Thresholds, Threshold{Name: ThresholdF1, Value: t, Labels: "test", F1: f1})
	}
	return c, nil
}

// CalibrateTeacher is the calibration of a teacher alone, from its own
// S_o: lambda 0 (S_total = n(S_o)), no S_fea normalisation, and the same
// two thresholds as Calibrate.
func CalibrateTeacher(f FrameScoring, quantile float64, reference string, refSO, testSO []float64, testLabels []bool) (*Calibration, error) {
	c := &Calibration{Reference: reference, References: len(refSO), Default: ThresholdQuantile}
	var err error
	if c.SO, err = NewNorm(refSO, f.SO); err != nil {
		return nil, fmt.Errorf("teacher s_o: %w", err)
	}
	tot := make([]float64, len(refSO))
	for i, x := range refSO {
		tot[i] = c.SO.Apply(x)
	}
	c.Thresholds = append(c.Thresholds, Threshold{Name: ThresholdQuantile, Value: Quantile(tot, quantile), Labels: "none", Quantile: quantile})
	if testLabels != nil {
		tt := make([]float64, len(testSO))
		for i, x := range testSO {
			tt[i] = c.SO.Apply(x)
		}
		f1, t, err := metrics.F1Max(tt, testLabels)
		if err != nil {
			return nil, fmt.Errorf("teacher F1-max threshold: %w", err)
		}
		c.Thresholds = append(c.Thresholds, Threshold{Name: ThresholdF1, Value: t, Labels: "test", F1: f1})
	}
	return c, nil
}

// Quantile is the q-quantile of xs with linear interpolation between
// order statistics (numpy's default).
func Quantile(xs []float64, q float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return math.NaN()
	}
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := min(lo+1, len(s)-1)
	return s[lo] + (pos-float64(lo))*(s[hi]-s[lo])
}

// ReadCalibration reads a thresholds.json.
func ReadCalibration(path string) (*Calibration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var c Calibration
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("read thresholds %s: %w", path, err)
	}
	return &c, nil
}

// Thresholds is the stage's calibration file.
func (s Stage) Thresholds() string { return s.Table("thresholds.json") }

// ThresholdsAt is the calibration `fmam eval --lambda L` writes for
// another fusion weight: thresholds-lambda-L.json.
func (s Stage) ThresholdsAt(lambda float64) string {
	return s.Table("thresholds" + LambdaSuffix(lambda) + ".json")
}

// LambdaSuffix names the files of another lambda's results and
// thresholds: "-lambda-L".
func LambdaSuffix(lambda float64) string {
	return "-lambda-" + strconv.FormatFloat(lambda, 'g', -1, 64)
}

// ReferenceScores is the stage's raw scores of the normal reference data.
func (s Stage) ReferenceScores() string { return s.Table("reference_scores.csv") }
