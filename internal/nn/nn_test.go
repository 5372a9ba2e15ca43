package nn_test

import (
	"context"
	"fmt"
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
	st := b.Registry().States()
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
	if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{yo, mo, vo}); err != nil {
		t.Fatal(err)
	}
	for ch := 0; ch < c; ch++ {
		mean, ss, cnt := channelStats(data, n, c, hw, ch)
		biased, unbiased := ss/cnt, ss/(cnt-1)
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

// Running statistics of several BatchNorms are updated in one batched
// computation; each layer must still get its own momentum and its own
// unbiasing factor.
func TestBatchNormRunningStatisticsOfSeveralLayers(t *testing.T) {
	rt := gradcheck.Runtime(t)
	layers := []struct {
		shape    graph.Shape
		momentum float32
	}{{graph.Shape{3, 2, 2, 2}, 0.1}, {graph.Shape{5, 3}, 0.3}, {graph.Shape{2, 4, 3}, 0.5}}
	g := graph.New("bns")
	b := nn.New(g, true, 1)
	var ins []string
	for i, l := range layers {
		x := g.Input(fmt.Sprintf("x%d", i), graph.Float, l.shape)
		s := b.Scope(fmt.Sprintf("l%d", i))
		s.Momentum = l.momentum
		s.BatchNorm(x, "bn")
		ins = append(ins, x)
	}
	st := b.Registry().States()
	var outs []string
	for _, s := range st {
		outs = append(outs, s.Next)
	}
	g.Output(outs...)
	mb, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(mb, ins, outs, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	rng := rand.New(rand.NewPCG(3, 4))
	var inT, outT []*ort.Tensor
	var data [][]float32
	for _, l := range layers {
		d := make([]float32, l.shape.Size())
		for i := range d {
			d[i] = float32(rng.NormFloat64()*3 - 1)
		}
		data = append(data, d)
		x, _ := ort.NewTensor(l.shape, d)
		m, _ := ort.ZerosTensor(graph.Shape{l.shape[1]})
		v, _ := ort.ZerosTensor(graph.Shape{l.shape[1]})
		inT, outT = append(inT, x), append(outT, m, v)
	}
	defer ort.DestroyAll(append(inT, outT...)...)
	if err := s.Run(context.Background(), inT, outT); err != nil {
		t.Fatal(err)
	}
	for li, l := range layers {
		n, c := l.shape[0], l.shape[1]
		inner := l.shape.Size() / (n * c)
		m := float64(l.momentum)
		for ch := int64(0); ch < c; ch++ {
			mean, ss, cnt := channelStats(data[li], int(n), int(c), int(inner), int(ch))
			wantMean, wantVar := m*mean, (1-m)+m*ss/(cnt-1)
			if got := float64(outT[2*li].GetData()[ch]); math.Abs(got-wantMean) > 1e-5 {
				t.Errorf("layer %d channel %d running mean %v, want %v", li, ch, got, wantMean)
			}
			if got := float64(outT[2*li+1].GetData()[ch]); math.Abs(got-wantVar) > 1e-4*math.Max(1, wantVar) {
				t.Errorf("layer %d channel %d running var %v, want %v", li, ch, got, wantVar)
			}
		}
	}
}

// channelStats is the mean, the sum of squared deviations and the count of
// channel ch of data laid out as [n, c, inner], in float64.
func channelStats(data []float32, n, c, inner, ch int) (mean, ss, cnt float64) {
	for i := range n {
		for j := range inner {
			mean += float64(data[(i*c+ch)*inner+j])
		}
	}
	cnt = float64(n * inner)
	mean /= cnt
	for i := range n {
		for j := range inner {
			d := float64(data[(i*c+ch)*inner+j]) - mean
			ss += d * d
		}
	}
	return mean, ss, cnt
}
