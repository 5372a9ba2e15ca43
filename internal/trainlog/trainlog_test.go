package trainlog_test

import (
	"errors"
	"github.com/fmam/fmam/internal/trainlog/trainlogtest"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/trainlog"
)

func TestRead(t *testing.T) {
	tl, err := trainlog.Read(trainlogtest.Write(t, 200))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"loss", "l_o", "l_separate"}; !slices.Equal(tl.Terms, want) {
		t.Errorf("terms %q, want %q", tl.Terms, want)
	}
	if len(tl.Steps) != 200 || tl.Steps[0] != 1 || tl.Steps[199] != 200 || len(tl.GradNorm) != 200 || len(tl.Values[1]) != 200 {
		t.Fatalf("steps %d (%v..%v), grad norms %d", len(tl.Steps), tl.Steps[0], tl.Steps[len(tl.Steps)-1], len(tl.GradNorm))
	}
	if got, want := tl.Values[1][99], 1000*math.Exp(-100.0/30); math.Abs(got-want) > 1e-4*want {
		t.Errorf("l_o at step 100 = %v, want %v", got, want)
	}
	if tl.LR[0] != 0.01 || tl.GradNorm[3] != 0.25 {
		t.Errorf("lr[0] %v grad_norm[3] %v", tl.LR[0], tl.GradNorm[3])
	}
}

func TestReadMissing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope", "log.csv")
	if _, err := trainlog.Read(missing); err == nil || !strings.Contains(err.Error(), missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing log: %v", err)
	}
}

// What the writer writes, the reader reads back: the header, the terms in
// order, and a resumed log keeps only the steps up to the resume point.
func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.csv")
	terms := []string{"l_o", "l_fea"}
	write := func(from, to int) {
		w, err := trainlog.Create(path, terms, from)
		if err != nil {
			t.Fatal(err)
		}
		for s := from + 1; s <= to; s++ {
			if err := w.Write(trainlog.Row{Step: s, LR: 0.5, Loss: float64(s), Terms: []float64{float64(s) / 2, float64(s) / 4}, GradNorm: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
	write(0, 8)
	write(5, 7) // resumed at 5: steps 6-8 of the first run are dropped
	tl, err := trainlog.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"loss", "l_o", "l_fea"}; !slices.Equal(tl.Terms, want) {
		t.Errorf("terms %q, want %q", tl.Terms, want)
	}
	if want := []float64{1, 2, 3, 4, 5, 6, 7}; !slices.Equal(tl.Steps, want) {
		t.Errorf("steps %v, want %v", tl.Steps, want)
	}
	if tl.Values[2][6] != 7.0/4 || tl.GradNorm[6] != 1 || tl.LR[0] != 0.5 {
		t.Errorf("step 7: l_fea %v grad_norm %v lr %v", tl.Values[2][6], tl.GradNorm[6], tl.LR[0])
	}
}
