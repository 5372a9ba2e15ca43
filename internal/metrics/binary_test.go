package metrics

import (
	"errors"
	"github.com/fmam/fmam/internal/metrics/metricstest"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gonum.org/v1/gonum/integrate"
	"gonum.org/v1/gonum/stat"
)

// The expected values are worked out by hand in each comment. They agree with
// scikit-learn 1.2's roc_auc_score and average_precision_score, and the F1
// column with the best 2PR/(P+R) over precision_recall_curve (all rechecked
// with scikit-learn 1.2.1).
func TestBinaryMetricsHandComputed(t *testing.T) {
	tests := []struct {
		name      string
		scores    []float64
		labels    []bool
		auc, ap   float64
		f1, f1Thr float64
	}{
		{
			// scikit-learn's docstring example. Descending: .8 P, .4 N, .35 P, .1 N.
			// ROC: (0,.5) (.5,.5) (.5,1) (1,1): area .5*.5 + .5*1 = .75.
			// AP: R=.5 at P=1, then R=1 at P=2/3: .5 + .5*2/3 = 5/6.
			// F1 = 2TP/(TP+FP+P): .8 -> 2/3, .4 -> 1/2, .35 -> 4/5, .1 -> 2/3.
			name: "sklearn docstring", scores: []float64{0.1, 0.4, 0.35, 0.8}, labels: metricstest.Labels(0, 0, 1, 1),
			auc: 0.75, ap: 5.0 / 6, f1: 0.8, f1Thr: 0.35,
		},
		{
			// Ties: threshold .5 holds 2 P and 1 N: ROC (0,0)->(.5,1)->(1,1): .25 + .5.
			// AP: one step to R=1 with P=2/3. F1 at .5: 4/(3+2) = .8.
			name: "tie across classes", scores: []float64{0.5, 0.5, 0.5, 0.2}, labels: metricstest.Labels(1, 0, 1, 0),
			auc: 0.75, ap: 2.0 / 3, f1: 0.8, f1Thr: 0.5,
		},
		{
			// By hand: both anomalous scores lie above both normal ones, so every
			// pair is ranked right and the top threshold holding both (.8) is exact.
			name: "perfect", scores: []float64{0.2, 0.1, 0.9, 0.8}, labels: metricstest.Labels(0, 0, 1, 1),
			auc: 1, ap: 1, f1: 1, f1Thr: 0.8,
		},
		{
			// Inverted: AUC 0. AP: positives at ranks 3 and 4: (1/3 + 2/4)/2 = 5/12.
			// F1: .9 -> 0, .8 -> 0, .2 -> 2/(3+2), .1 -> 4/(4+2) = 2/3.
			name: "inverted", scores: []float64{0.9, 0.8, 0.2, 0.1}, labels: metricstest.Labels(0, 0, 1, 1),
			auc: 0, ap: 5.0 / 12, f1: 2.0 / 3, f1Thr: 0.1,
		},
		{
			// One threshold: ROC is the diagonal; AP = precision = 2/5; F1 = 4/(5+2).
			name: "all tied", scores: []float64{0.3, 0.3, 0.3, 0.3, 0.3}, labels: metricstest.Labels(1, 0, 0, 1, 0),
			auc: 0.5, ap: 0.4, f1: 4.0 / 7, f1Thr: 0.3,
		},
		{
			// P = {3,2,2}, N = {1,2,0,5}. Pairs: 3 beats 1,2,0 (3); each 2 beats 1,0
			// and ties 2 (2.5 each): 8/12. Thresholds 5,3,2,1,0 have (TP,FP) =
			// (0,1),(1,1),(3,2),(3,3),(3,4): AP = 1/3*1/2 + 2/3*3/5 = 17/30;
			// F1 = 0, 2/5, 6/8, 6/9, 6/10.
			name: "mixed ties", scores: []float64{3, 1, 2, 2, 0, 2, 5}, labels: metricstest.Labels(1, 0, 1, 0, 0, 1, 0),
			auc: 8.0 / 12, ap: 17.0 / 30, f1: 0.75, f1Thr: 2,
		},
		{
			// -0 and +0 are one threshold, as in NumPy: same as "tie across classes".
			name: "signed zeros", scores: []float64{0, math.Copysign(0, -1), 0, -1}, labels: metricstest.Labels(1, 0, 1, 0),
			auc: 0.75, ap: 2.0 / 3, f1: 0.8, f1Thr: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auc, err := ROCAUC(tt.scores, tt.labels)
			if err != nil || !metricstest.Near(auc, tt.auc, 1e-12) {
				t.Errorf("ROCAUC = %v, %v; want %v", auc, err, tt.auc)
			}
			ap, err := AveragePrecision(tt.scores, tt.labels)
			if err != nil || !metricstest.Near(ap, tt.ap, 1e-12) {
				t.Errorf("AveragePrecision = %v, %v; want %v", ap, err, tt.ap)
			}
			f1, thr, err := F1Max(tt.scores, tt.labels)
			if err != nil || !metricstest.Near(f1, tt.f1, 1e-12) || thr != tt.f1Thr {
				t.Errorf("F1Max = %v at %v, %v; want %v at %v", f1, thr, err, tt.f1, tt.f1Thr)
			}
		})
	}
}

// No numbers here: each input must be refused, and oneClas says whether the
// refusal is ErrOneClass (one class present, where roc_auc_score raises
// "Only one class present in y_true") or a malformed input.
func TestBinaryMetricsErrors(t *testing.T) {
	tests := []struct {
		name    string
		scores  []float64
		labels  []bool
		oneClas bool
	}{
		{"only normal", []float64{1, 2, 3}, metricstest.Labels(0, 0, 0), true},
		{"only anomalous", []float64{1, 2}, metricstest.Labels(1, 1), true},
		{"NaN score", []float64{1, math.NaN(), 3}, metricstest.Labels(0, 1, 0), false},
		{"length mismatch", []float64{1, 2, 3}, metricstest.Labels(0, 1), false},
		{"empty", nil, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errAUC := ROCAUC(tt.scores, tt.labels)
			_, errAP := AveragePrecision(tt.scores, tt.labels)
			_, _, errF1 := F1Max(tt.scores, tt.labels)
			_, _, _, errROC := ROCCurve(tt.scores, tt.labels)
			_, _, _, errPR := PRCurve(tt.scores, tt.labels)
			for _, err := range []error{errAUC, errAP, errF1, errROC, errPR} {
				if err == nil {
					t.Fatalf("no error")
				}
				if errors.Is(err, ErrOneClass) != tt.oneClas {
					t.Errorf("error %q: errors.Is(ErrOneClass) = %v, want %v", err, !tt.oneClas, tt.oneClas)
				}
			}
		})
	}
}

func TestROCCurveHandComputed(t *testing.T) {
	// "mixed ties" above: (TP,FP) = (0,1),(1,1),(3,2),(3,3),(3,4) with P=3, N=4,
	// by hand. scikit-learn's roc_curve(drop_intermediate=False) gives the same
	// points (its first threshold is max+1 before 1.3, +Inf since);
	// precision_recall_curve gives the PR points in reverse order, plus its
	// (recall 0, precision 1) end point.
	fpr, tpr, thr, err := ROCCurve([]float64{3, 1, 2, 2, 0, 2, 5}, metricstest.Labels(1, 0, 1, 0, 0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	wantFPR := []float64{0, 0.25, 0.25, 0.5, 0.75, 1}
	wantTPR := []float64{0, 0, 1.0 / 3, 1, 1, 1}
	wantThr := []float64{math.Inf(1), 5, 3, 2, 1, 0}
	if !slices.Equal(fpr, wantFPR) || !slices.Equal(tpr, wantTPR) || !slices.Equal(thr, wantThr) {
		t.Errorf("ROCCurve = %v %v %v; want %v %v %v", fpr, tpr, thr, wantFPR, wantTPR, wantThr)
	}
	prec, rec, thr, err := PRCurve([]float64{3, 1, 2, 2, 0, 2, 5}, metricstest.Labels(1, 0, 1, 0, 0, 1, 0))
	if err != nil {
		t.Fatal(err)
	}
	wantPrec := []float64{0, 0.5, 0.6, 0.5, 3.0 / 7}
	wantRec := []float64{0, 1.0 / 3, 1, 1, 1}
	if !slices.Equal(prec, wantPrec) || !slices.Equal(rec, wantRec) || !slices.Equal(thr, wantThr[1:]) {
		t.Errorf("PRCurve = %v %v %v; want %v %v %v", prec, rec, thr, wantPrec, wantRec, wantThr[1:])
	}
}

// randomBinary draws scores from a few values (many ties) and labels whose
// odds depend on the score, with both classes present.
func randomBinary(r *rand.Rand, n, levels int) ([]float64, []bool) {
	for {
		scores := make([]float64, n)
		labels := make([]bool, n)
		var pos int
		for i := range scores {
			scores[i] = float64(r.IntN(levels)) - float64(levels)/3
			labels[i] = r.Float64() < 0.2+0.6*float64(r.IntN(levels))/float64(levels)
			if labels[i] {
				pos++
			}
		}
		if pos > 0 && pos < n {
			return scores, labels
		}
	}
}

func TestBinaryMetricsAgainstBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 2 + r.IntN(60)
		scores, labels := randomBinary(r, n, 1+r.IntN(12))
		auc, err := ROCAUC(scores, labels)
		if err != nil {
			t.Fatal(err)
		}
		ap, err := AveragePrecision(scores, labels)
		if err != nil {
			t.Fatal(err)
		}
		f1, thr, err := F1Max(scores, labels)
		if err != nil {
			t.Fatal(err)
		}
		if want := metricstest.AUC(scores, labels); !metricstest.Near(auc, want, 1e-12) {
			t.Errorf("trial %d: ROCAUC = %v, brute force %v", trial, auc, want)
		}
		if want := metricstest.AP(scores, labels); !metricstest.Near(ap, want, 1e-12) {
			t.Errorf("trial %d: AveragePrecision = %v, brute force %v", trial, ap, want)
		}
		if want := metricstest.F1(scores, labels); !metricstest.Near(f1, want, 1e-12) {
			t.Errorf("trial %d: F1Max = %v, brute force %v", trial, f1, want)
		}
		if !slices.Contains(scores, thr) {
			t.Errorf("trial %d: F1 threshold %v is not a score", trial, thr)
		}
	}
}

// gonum's stat.ROC (with all distinct scores as cutoffs) integrated with
// trapezoids is an independent implementation of the same curve.
func TestROCAUCAgainstGonum(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for trial := range 50 {
		scores, labels := randomBinary(r, 10+r.IntN(200), 2+r.IntN(30))
		idx := make([]int, len(scores))
		for i := range idx {
			idx[i] = i
		}
		slices.SortFunc(idx, func(a, b int) int { return cmpFloat(scores[a], scores[b]) })
		y := make([]float64, len(scores))
		c := make([]bool, len(scores))
		for k, i := range idx {
			y[k], c[k] = scores[i], labels[i]
		}
		tpr, fpr, _ := stat.ROC(nil, y, c, nil)
		want := integrate.Trapezoidal(fpr, tpr)
		got, err := ROCAUC(scores, labels)
		if err != nil || !metricstest.Near(got, want, 1e-12) {
			t.Errorf("trial %d: ROCAUC = %v, %v; gonum %v", trial, got, err, want)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
