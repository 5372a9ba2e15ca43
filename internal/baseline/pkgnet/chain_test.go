package pkgnet_test

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/fmam/fmam/internal/baseline/pkgnet"
)

// The chain on hand-made objects: z-scores, hybrid, top-1, the empty
// frame's score, S_fea fusion and the median filter of kernel 1 (none).
func TestChainByHand(t *testing.T) {
	c := pkgnet.Chain{Stats: []pkgnet.Stats{{Mean: 1, Std: 2}, {Mean: 0, Std: 1}}, Fea: pkgnet.Stats{Mean: 10, Std: 5},
		Hybrid: []float64{0.5, 0.5}, NumObj: 1, Median: 1}
	rows := []pkgnet.ObjectRow{
		{Video: "a", Frame: 0, Comps: []float64{3, 1}, Fea: 20}, // z 1, 1: S_o 1; z(S_fea) 2
		{Video: "a", Frame: 0, Comps: []float64{1, 0}, Fea: 10}, // S_o 0; 0
		{Video: "a", Frame: 2, Comps: []float64{5, -1}, Fea: 0}, // z 2, -1: S_o 0.5; -2
	}
	videos := []pkgnet.Video{{Name: "a", Labels: []bool{true, false, false}}}
	for _, tc := range []struct {
		lambda float64
		want   []float64
	}{
		{0, []float64{1, -1, 0.5}},
		{1, []float64{2, -1, -2}},
		{0.5, []float64{1.5, -1, -0.75}},
	} {
		vs, err := c.Frames(videos, rows, tc.lambda)
		if err != nil {
			t.Fatal(err)
		}
		for i, w := range tc.want {
			if math.Abs(vs[0].Scores[i]-w) > 1e-12 {
				t.Errorf("lambda %g: frame scores %v, want %v", tc.lambda, vs[0].Scores, tc.want)
				break
			}
		}
	}
	auc, _, err := c.AUC(videos, rows, 0)
	if err != nil || auc.Micro != 1 {
		t.Errorf("micro AUC %v (%v), want 1: frame 0 is the anomalous one and scores highest", auc.Micro, err)
	}
	if _, err := c.Frames(videos, []pkgnet.ObjectRow{{Video: "b", Comps: []float64{0, 0}}}, 0); err == nil {
		t.Error("an object of an unknown video was accepted")
	}
	if _, err := c.Objects([]pkgnet.ObjectRow{{Video: "a", Comps: []float64{0, 0}, Fea: math.NaN()}}, 0.5); err == nil {
		t.Error("fusion without S_fea was accepted")
	}
}

func TestObjectsCSVRoundTrip(t *testing.T) {
	p := filepath.Join(t.TempDir(), "objects.csv")
	rows := []pkgnet.ObjectRow{{Video: "01", Frame: 3, Box: [4]float64{1, 2.5, 3, 4}, Comps: []float64{0.1, 0.2, 0.3}, Fea: math.NaN()},
		{Video: "02", Frame: 0, Comps: []float64{1, 2, 3}, Fea: 4}}
	if err := pkgnet.WriteObjects(p, rows, 2); err != nil {
		t.Fatal(err)
	}
	got, err := pkgnet.ReadObjects(p, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Box != rows[0].Box || !math.IsNaN(got[0].Fea) || got[1].Fea != 4 || got[1].Comps[2] != 3 {
		t.Errorf("read back %+v", got)
	}
	if _, err := pkgnet.ReadObjects(p, 1); err == nil {
		t.Error("a k=2 file read as k=1")
	}
}
