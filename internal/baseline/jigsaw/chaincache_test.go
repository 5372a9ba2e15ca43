package jigsaw

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestChainCache: the chain of the rows Score holds in memory equals, bit
// for bit, the chain of the rows read back from the file it wrote them to
// (so Results may take Score's chain from the cache); a second call is
// served from the cache as a copy the caller may change; a rewritten file
// is chained again.
func TestChainCache(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	ts := &testSet{}
	var rows []objectRow
	for v, name := range []string{"01", "02"} {
		frames := 30 + 10*v
		ts.videos = append(ts.videos, Video{Name: name, Frames: frames, Width: 40, Height: 30})
		labels := make([]bool, frames)
		for f := range labels {
			labels[f] = f >= 12 && f < 20
		}
		ts.labels = append(ts.labels, labels)
		for f := range frames {
			for range 2 {
				x, y := rng.Float64()*30, rng.Float64()*20
				// float32 outputs of the network, as Score has them.
				rows = append(rows, objectRow{Object: Object{Video: name, Frame: f, Box: [4]float64{x, y, x + 8, y + 9},
					Temporal: float64(rng.Float32()), Spatial: float64(rng.Float32())}, Fea: float64(rng.Float32())})
			}
		}
	}
	p := Protocol{Maps: true, BlockScale: 1, MapFilter: 5}
	path := filepath.Join(t.TempDir(), "objects.csv")
	if err := writeObjects(path, rows); err != nil {
		t.Fatal(err)
	}
	var c chainCache
	for _, lambda := range []float64{0, 0.5, 1} {
		got, gauc, err := c.chain(ts, path, rows, lambda, p)
		if err != nil {
			t.Fatal(err)
		}
		back, err := readObjects(path)
		if err != nil {
			t.Fatal(err)
		}
		want, wauc, err := ts.chain(back, lambda, p)
		if err != nil {
			t.Fatal(err)
		}
		sameScores(t, lambda, got, want)
		if gauc != wauc {
			t.Errorf("λ=%g: AUC %+v from memory, %+v from the file", lambda, gauc, wauc)
		}
		got[0].Anomaly[0] = math.NaN()                     // the caller's copy
		again, _, err := c.chain(ts, path, nil, lambda, p) // nil rows: must come from the cache
		if err != nil {
			t.Fatal(err)
		}
		sameScores(t, lambda, again, want)
	}
	// A rewritten file (other scores, a later modification time) is chained anew.
	for i := range rows {
		rows[i].Temporal = 1 - rows[i].Temporal
	}
	if err := writeObjects(path, rows); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Second)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	got, _, err := c.chain(ts, path, rows, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := ts.chain(rows, 0, p)
	if err != nil {
		t.Fatal(err)
	}
	sameScores(t, 0, got, want)
	if len(c.m) != 1 {
		t.Errorf("%d chains kept after the file was rewritten, want the new one only", len(c.m))
	}
}

func sameScores(t *testing.T, lambda float64, got, want []FrameScores) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("λ=%g: %d videos, want %d", lambda, len(got), len(want))
	}
	for v := range want {
		for f := range want[v].Anomaly {
			if math.Float64bits(got[v].Anomaly[f]) != math.Float64bits(want[v].Anomaly[f]) ||
				math.Float64bits(got[v].Combined[f]) != math.Float64bits(want[v].Combined[f]) {
				t.Fatalf("λ=%g video %s frame %d: %v/%v, want %v/%v", lambda, want[v].Video, f,
					got[v].Anomaly[f], got[v].Combined[f], want[v].Anomaly[f], want[v].Combined[f])
			}
		}
	}
}
