package metrics

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
)

// ErrOneClass is returned (wrapped) when the labels hold only normal or only
// anomalous samples, where ROC AUC and AP are undefined.
var ErrOneClass = errors.New("labels hold only one class; need both normal and anomalous samples")

// curve holds the cumulative confusion counts at each distinct score, from the
// highest score down: tps[k] and fps[k] count the positives and negatives
// whose score is >= thresholds[k]. It is scikit-learn's _binary_clf_curve.
type curve struct {
	thresholds []float64
	tps, fps   []int
}

func (c curve) pos() int { return c.tps[len(c.tps)-1] }
func (c curve) neg() int { return c.fps[len(c.fps)-1] }

func checkBinary(scores []float64, labels []bool) error {
	if len(scores) != len(labels) {
		return fmt.Errorf("%d scores but %d labels: need one label per score", len(scores), len(labels))
	}
	if len(scores) == 0 {
		return errors.New("no scores to evaluate")
	}
	for i, s := range scores {
		if math.IsNaN(s) {
			return fmt.Errorf("score %d is NaN", i)
		}
	}
	return nil
}

// binaryCurve validates its input and builds the threshold curve; it fails
// with ErrOneClass when the labels do not hold both classes.
func binaryCurve(scores []float64, labels []bool) (curve, error) {
	if err := checkBinary(scores, labels); err != nil {
		return curve{}, err
	}
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	// Stable so that the order of tied samples never matters for anyone
	// reading the sorted order; the counts do not depend on it.
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(scores[b], scores[a]) })

	var c curve
	tp, fp := 0, 0
	for k, i := range idx {
		if labels[i] {
			tp++
		} else {
			fp++
		}
		// A threshold ends where the next score differs; -0 == +0 here, as in NumPy.
		if k == len(idx)-1 || scores[idx[k+1]] != scores[i] {
			c.thresholds = append(c.thresholds, scores[i])
			c.tps = append(c.tps, tp)
			c.fps = append(c.fps, fp)
		}
	}
	if tp == 0 || fp == 0 {
		return curve{}, fmt.Errorf("%d anomalous and %d normal samples: %w", tp, fp, ErrOneClass)
	}
	return c, nil
}

// ROCAUC returns the area under the ROC curve of scores (higher = more
// anomalous) against labels (true = anomalous), as scikit-learn's
// roc_auc_score: tied scores form one threshold and the curve is integrated
// with trapezoids, so a tie between a positive and a negative counts one half.
func ROCAUC(scores []float64, labels []bool) (float64, error) {
	c, err := binaryCurve(scores, labels)
	if err != nil {
		return 0, fmt.Errorf("roc auc: %w", err)
	}
	return c.auc(), nil
}

// auc integrates in integers: twice the area in units of one positive times
// one negative, so the only rounding is the final division.
func (c curve) auc() float64 {
	var twice int64
	prevTP, prevFP := 0, 0
	for k := range c.tps {
		twice += int64(c.fps[k]-prevFP) * int64(c.tps[k]+prevTP)
		prevTP, prevFP = c.tps[k], c.fps[k]
	}
	return float64(twice) / (2 * float64(c.pos()) * float64(c.neg()))
}

// AveragePrecision returns scikit-learn's average_precision_score:
// sum over thresholds n (highest first) of (R_n - R_{n-1}) * P_n with R_0 = 0,
// where P_n and R_n are precision and recall of "score >= threshold n".
// It does not interpolate the precision-recall curve.
func AveragePrecision(scores []float64, labels []bool) (float64, error) {
	c, err := binaryCurve(scores, labels)
	if err != nil {
		return 0, fmt.Errorf("average precision: %w", err)
	}
	return c.ap(), nil
}

func (c curve) ap() float64 {
	var sum compensated
	p := float64(c.pos())
	prevTP := 0
	for k, tp := range c.tps {
		if tp != prevTP {
			sum.add(float64(tp-prevTP) / p * float64(tp) / float64(tp+c.fps[k]))
		}
		prevTP = tp
	}
	return sum.value()
}

// F1Max returns the best F1 score over all thresholds "score >= t" and the
// threshold t that reaches it (the highest such t when several do). Only the
// distinct scores are candidate thresholds, as in a precision-recall curve.
func F1Max(scores []float64, labels []bool) (f1, threshold float64, err error) {
	c, err := binaryCurve(scores, labels)
	if err != nil {
		return 0, 0, fmt.Errorf("f1 max: %w", err)
	}
	p := c.pos()
	f1 = -1
	for k, tp := range c.tps {
		// 2PR/(P+R) written with counts: 2TP / (TP+FP + TP+FN); never 0/0
		// because there is at least one positive.
		v := 2 * float64(tp) / float64(tp+c.fps[k]+p)
		if v > f1 {
			f1, threshold = v, c.thresholds[k]
		}
	}
	return f1, threshold, nil
}

// ROCCurve returns the ROC curve for plotting: fpr[k] and tpr[k] are the
// rates of "score >= thresholds[k]". The first point is (0, 0) with threshold
// +Inf and then every distinct score from the highest down follows, as
// scikit-learn's roc_curve with drop_intermediate=False (so a score of +Inf
// shares its threshold with the starting point, as there).
func ROCCurve(scores []float64, labels []bool) (fpr, tpr, thresholds []float64, err error) {
	c, err := binaryCurve(scores, labels)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("roc curve: %w", err)
	}
	n := len(c.tps) + 1
	fpr, tpr, thresholds = make([]float64, n), make([]float64, n), make([]float64, n)
	thresholds[0] = math.Inf(1)
	p, q := float64(c.pos()), float64(c.neg())
	for k := range c.tps {
		fpr[k+1] = float64(c.fps[k]) / q
		tpr[k+1] = float64(c.tps[k]) / p
		thresholds[k+1] = c.thresholds[k]
	}
	return fpr, tpr, thresholds, nil
}

// PRCurve returns precision and recall of "score >= thresholds[k]" for every
// distinct score from the highest down. This is scikit-learn's
// precision_recall_curve in the opposite order and without its final (R=0,
// P=1) point, which plots add if they want it.
func PRCurve(scores []float64, labels []bool) (precision, recall, thresholds []float64, err error) {
	c, err := binaryCurve(scores, labels)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("precision-recall curve: %w", err)
	}
	n := len(c.tps)
	precision, recall = make([]float64, n), make([]float64, n)
	p := float64(c.pos())
	for k, tp := range c.tps {
		precision[k] = float64(tp) / float64(tp+c.fps[k])
		recall[k] = float64(tp) / p
	}
	return precision, recall, slices.Clone(c.thresholds), nil
}

// compensated is a Neumaier sum: pixel metrics add up to 10^8 terms, and plain
// float64 accumulation could drift by more than the 1e-9 the tests ask for.
type compensated struct{ sum, c float64 }

func (s *compensated) add(x float64) {
	t := s.sum + x
	if math.Abs(s.sum) >= math.Abs(x) {
		s.c += (s.sum - t) + x
	} else {
		s.c += (x - t) + s.sum
	}
	s.sum = t
}

func (s compensated) value() float64 { return s.sum + s.c }
