package score

import (
	"math"
	"slices"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name    string
		in      []float64
		dir     Direction
		want    []float64
		wantErr string
	}{
		{"higher", []float64{2, 4, 6, 3}, HigherIsAnomalous, []float64{0, 0.5, 1, 0.25}, ""},
		// PSNR: the worst prediction (lowest PSNR, 20 dB) is the most anomalous.
		{"PSNR inverted", []float64{20, 30, 40, 25}, LowerIsAnomalous, []float64{1, 0.5, 0, 0.75}, ""},
		{"constant higher", []float64{3, 3}, HigherIsAnomalous, []float64{0, 0}, ""},
		{"constant lower", []float64{3, 3}, LowerIsAnomalous, []float64{0, 0}, ""},
		{"empty", nil, HigherIsAnomalous, []float64{}, ""},
		{"NaN", []float64{1, math.NaN()}, HigherIsAnomalous, nil, "score 1 is NaN"},
		{"Inf", []float64{math.Inf(1), 1}, LowerIsAnomalous, nil, "score 0 is +Inf"},
		{"bad direction", []float64{1}, Direction(7), nil, "unknown Direction(7)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in, tt.dir)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %v; want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("Normalize = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestFuse(t *testing.T) {
	fea, o := []float64{1, 0, 0.5}, []float64{0, 1, 0.5}
	tests := []struct {
		lambda float64
		want   []float64
	}{
		{1, []float64{1, 0, 0.5}},
		{0, []float64{0, 1, 0.5}},
		{0.25, []float64{0.25, 0.75, 0.5}},
	}
	for _, tt := range tests {
		got, err := Fuse(tt.lambda, fea, o)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Fuse(%v) = %v, %v; want %v", tt.lambda, got, err, tt.want)
		}
	}
	for _, lambda := range []float64{-0.1, 1.0000001, math.NaN(), math.Inf(1)} {
		if _, err := Fuse(lambda, fea, o); err == nil || !strings.Contains(err.Error(), "outside [0, 1]") {
			t.Errorf("Fuse(%v): error %v; want outside [0, 1]", lambda, err)
		}
	}
	if _, err := Fuse(0.5, fea, o[:2]); err == nil {
		t.Error("Fuse accepted 3 feature scores and 2 base scores")
	}
}

func TestParseGrid(t *testing.T) {
	var twenty []float64
	for i := range 21 {
		twenty = append(twenty, float64(i)/20) // i/20 is the float64 nearest i*0.05
	}
	tests := []struct {
		in      string
		want    []float64
		wantErr string
	}{
		{"0:1:0.05", twenty, ""},
		{" 0 : 1 : 0.05 ", twenty, ""},
		{"0:1:0.25", []float64{0, 0.25, 0.5, 0.75, 1}, ""},
		{"0:1:0.3", []float64{0, 0.3, 0.6, 0.9}, ""},  // stop not on a step: not included
		{"0.1:0.3:0.1", []float64{0.1, 0.2, 0.3}, ""}, // (0.3-0.1)/0.1 = 1.9999999999999998
		{"0.5:0.5:0.1", []float64{0.5}, ""},
		{"0:3e-3:1e-3", []float64{0, 0.001, 0.002, 0.003}, ""},
		{"0,0.5,1", []float64{0, 0.5, 1}, ""},
		{"0.7", []float64{0.7}, ""},
		{"", nil, "empty"},
		{"0:1", nil, "want start:stop:step"},
		{"0:1:0.1:2", nil, "want start:stop:step"},
		{"0:1:0", nil, "step 0 must be positive"},
		{"0:1:-0.1", nil, "step -0.1 must be positive"},
		{"1:0:0.1", nil, "stop 0 is below start 1"},
		{"0:x:0.1", nil, `"x" is not a finite number`},
		{"0:1:NaN", nil, `"NaN" is not a finite number`},
		{"0,,1", nil, `"" is not a finite number`},
		{"0:1:0.00001", nil, "more than the 10000 allowed"},
	}
	for _, tt := range tests {
		got, err := ParseGrid(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseGrid(%q) error %v; want %q", tt.in, err, tt.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("ParseGrid(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestPSNR(t *testing.T) {
	tests := []struct {
		mse, maxVal, want float64
	}{
		{0.01, 1, 20},                       // 10*log10(1/0.01)
		{0.001, 1, 30},                      // 10*log10(1000)
		{1, 1, 0},                           // error as large as the signal
		{0.04, 2, 20},                       // MSE on [-1, 1] is 4x the MSE on [0, 1]: same PSNR as 0.01 on [0, 1]
		{0.1, 255, 10 * math.Log10(650250)}, // 8-bit frames: 255^2/0.1
	}
	for _, tt := range tests {
		if got := PSNR(tt.mse, tt.maxVal); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("PSNR(%v, %v) = %v, want %v", tt.mse, tt.maxVal, got, tt.want)
		}
	}
	if got := PSNR(0, 1); !math.IsInf(got, 1) {
		t.Errorf("PSNR(0, 1) = %v, want +Inf", got)
	}
	for _, mse := range []float64{-1, math.NaN()} {
		if got := PSNR(mse, 1); !math.IsNaN(got) {
			t.Errorf("PSNR(%v, 1) = %v, want NaN", mse, got)
		}
	}
}
