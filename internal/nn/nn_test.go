package nn_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
)

// Training-mode BatchNorm normalises with the batch statistics and moves
// the running statistics the way PyTorch does (momentum 0.1, unbiased
// running variance); checked against the same arithmetic in Go.
func TestBatchNormTrainingStatistics(t *testing.T) {
	rt := gradcheck.Runtime(t)
	const n, c, hw = 3, 2, 4
	g := graph.New("bn")
	x := g.Input("x", graph.Float, graph.Shape{n, c, 2, 2})
	b := nn.New(g, true, 1)
	y := b.BatchNorm(x, "bn")
	st := b.Registry().States
	if len(st) != 2 {
		t.Fatalf("%d states, want running mean and variance", len(st))
	}
	outs := []string{y, st[0].Next, st[1].Next}
	g.Output(outs...)
	mb, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(mb, []string{x}, outs, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, n*c*hw)
	for i := range data {
		data[i] = float32(rng.NormFloat64()*2 + 1)
	}
	in, _ := ort.NewTensor(graph.Shape{n, c, 2, 2}, data)
	yo, _ := ort.ZerosTensor(graph.Shape{n, c, 2, 2})
	mo, _ := ort.ZerosTensor(graph.Shape{c})
	vo, _ := ort.ZerosTensor(graph.Shape{c})
	defer ort.DestroyAll(in, yo, mo, vo)
	if err := s.Run([]*ort.Tensor{in}, []*ort.Tensor{yo, mo, vo}); err != nil {
		t.Fatal(err)
	}
	for ch := 0; ch < c; ch++ {
		var vals []float64
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				vals = append(vals, float64(data[(i*c+ch)*hw+j]))
			}
		}
		mean, ss := 0.0, 0.0
		for _, v := range vals {
			mean += v
		}
		mean /= float64(len(vals))
		for _, v := range vals {
			ss += (v - mean) * (v - mean)
		}
		biased, unbiased := ss/float64(len(vals)), ss/float64(len(vals)-1)
		if got := float64(mo.GetData()[ch]); math.Abs(got-0.1*mean) > 1e-5 {
			t.Errorf("channel %d running mean %v, want %v", ch, got, 0.1*mean)
		}
		if got := float64(vo.GetData()[ch]); math.Abs(got-(0.9+0.1*unbiased)) > 1e-4 {
			t.Errorf("channel %d running var %v, want %v", ch, got, 0.9+0.1*unbiased)
		}
		for i := 0; i < n; i++ {
			k := (i*c + ch) * hw
			want := (float64(data[k]) - mean) / math.Sqrt(biased+1e-5)
			if got := float64(yo.GetData()[k]); math.Abs(got-want) > 1e-4 {
				t.Errorf("y[%d] = %v, want %v", k, got, want)
			}
		}
	}
}
