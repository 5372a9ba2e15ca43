package score

import (
	"math"
	"testing"
)

// MNAD's score with memory, per video: 0.6*minmax(PSNR) +
// 0.4*(1 - minmax(distance)); hand-computed values.
func TestCombineMemory(t *testing.T) {
	rows := []VideoRow{
		{ID: "a/4", Video: "a", Frame: 4, SO: 30, SFea: 7},
		{ID: "b/4", Video: "b", Frame: 4, SO: 10, SFea: 8},
		{ID: "a/5", Video: "a", Frame: 5, SO: 20, SFea: 7},
		{ID: "b/5", Video: "b", Frame: 5, SO: 12, SFea: 8, Label: true},
		{ID: "a/6", Video: "a", Frame: 6, SO: 25, SFea: 7},
	}
	dist := []float64{0.3, 1, 0.1, 1, 0.2}
	// a: minmax(PSNR) = 1, 0, 0.5; 1 - minmax(dist) = 0, 1, 0.5.
	// b: minmax(PSNR) = 0, 1; a constant distance normalises to 0.
	want := []float64{0.6, 0, 0.4, 0.6, 0.5}
	got, err := CombineMemory(rows, dist, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range got {
		if math.Abs(r.SO-want[i]) > 1e-12 {
			t.Errorf("row %s: s_o %v, want %v", r.ID, r.SO, want[i])
		}
		if r.ID != rows[i].ID || r.SFea != rows[i].SFea || r.Label != rows[i].Label {
			t.Errorf("row %d changed beyond s_o: %+v from %+v", i, r, rows[i])
		}
	}
	if rows[0].SO != 30 {
		t.Error("the input rows were modified")
	}
	if _, err := CombineMemory(rows, dist[:2], 0.6); err == nil {
		t.Error("a distance count that does not match the rows was accepted")
	}
}
