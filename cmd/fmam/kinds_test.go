package main

import (
	"encoding/csv"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// checkKindAUCsByHand recomputes the student's S_fea AUC of every anomaly
// kind from the run's scores.csv and the data set's frame_kinds.csv (per
// video min-max normalisation, then the share of (kind frame, normal frame)
// pairs ranked right, ties half) and compares it with results-kinds.json.
func checkKindAUCsByHand(t *testing.T, rd, method string) {
	t.Helper()
	readCSV := func(path string) [][]string {
		t.Helper()
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		if err != nil || len(recs) < 2 {
			t.Fatalf("%s: %d records, %v", path, len(recs), err)
		}
		return recs
	}
	kindOf := map[[2]string]string{} // (video, frame) -> kind
	for _, r := range readCSV(filepath.Join(rd, "data", "synth-video", "frame_kinds.csv"))[1:] {
		kindOf[[2]string{r[0], r[1]}] = r[2]
	}
	type frame struct {
		video, kind string
		fea         float64
	}
	var frames []frame
	lo, hi := map[string]float64{}, map[string]float64{}
	scores := readCSV(filepath.Join(rd, "student", "scores.csv"))
	if h := scores[0]; h[1] != "video" || h[2] != "frame" || h[5] != "s_fea" {
		t.Fatalf("scores.csv header %v", h)
	}
	for _, r := range scores[1:] {
		v, err := strconv.ParseFloat(r[5], 64)
		if err != nil {
			t.Fatal(err)
		}
		k, ok := kindOf[[2]string{r[1], r[2]}]
		if !ok || (k == "normal") != (r[3] == "0") {
			t.Fatalf("video %s frame %s: label %s, kind %q", r[1], r[2], r[3], k)
		}
		if _, seen := lo[r[1]]; !seen {
			lo[r[1]], hi[r[1]] = v, v
		}
		lo[r[1]], hi[r[1]] = min(lo[r[1]], v), max(hi[r[1]], v)
		frames = append(frames, frame{r[1], k, v})
	}
	norm := func(f frame) float64 { return (f.fea - lo[f.video]) / (hi[f.video] - lo[f.video]) }
	byHand := map[string]float64{}
	pairs := map[string]float64{}
	for _, a := range frames {
		if a.kind == "normal" {
			continue
		}
		for _, n := range frames {
			if n.kind != "normal" {
				continue
			}
			pairs[a.kind]++
			switch sa, sn := norm(a), norm(n); {
			case sa > sn:
				byHand[a.kind]++
			case sa == sn:
				byHand[a.kind] += 0.5
			}
		}
	}
	if len(pairs) < 2 {
		t.Fatalf("the test set has %d anomaly kinds with scored frames, want several", len(pairs))
	}
	b, err := os.ReadFile(filepath.Join(rd, "student", "results-kinds.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Rows []map[string]any `json:"rows"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var row map[string]any
	for _, r := range doc.Rows {
		if r["Method"] == method {
			row = r
		}
	}
	if row == nil {
		t.Fatalf("results-kinds.json has no row %q: %v", method, doc.Rows)
	}
	for k, n := range pairs {
		got, ok := row[k+" AUC"].(float64)
		if want := 100 * byHand[k] / n; !ok || math.Abs(got-want) > 1e-9 {
			t.Errorf("%s AUC of kind %s: results-kinds.json %v, by hand %v", method, k, row[k+" AUC"], want)
		}
	}
}
