package nn_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
)

// tensor makes an ONNX Runtime tensor or stops the test.
func tensor(t *testing.T, shape graph.Shape, data []float32) *ort.Tensor {
	t.Helper()
	x, err := ort.NewTensor(shape, data)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// zeros makes a zero ONNX Runtime tensor or stops the test.
func zeros(t *testing.T, shape graph.Shape) *ort.Tensor {
	t.Helper()
	x, err := ort.ZerosTensor(shape)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

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
	in := tensor(t, graph.Shape{n, c, 2, 2}, data)
	yo := zeros(t, graph.Shape{n, c, 2, 2})
	mo := zeros(t, graph.Shape{c})
	vo := zeros(t, graph.Shape{c})
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
		x := tensor(t, l.shape, d)
		m := zeros(t, graph.Shape{l.shape[1]})
		v := zeros(t, graph.Shape{l.shape[1]})
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

// ConvOpts reaches the node and the parameters as PyTorch's Conv2d and
// ConvTranspose2d take their arguments: output sizes from PyTorch's
// formulas, (H + 2p - k)/s + 1 and (H - 1)s - 2p + k + output_padding, on
// an 8x8 input with 3 channels; the zero value is a 1x1 conv without bias.
func TestConvOpts(t *testing.T) {
	cases := []struct {
		name      string
		transpose bool
		o         nn.ConvOpts
		wantOut   graph.Shape
		wantW     graph.Shape
		bias      bool
	}{
		{"zero value", false, nn.ConvOpts{}, graph.Shape{2, 5, 8, 8}, graph.Shape{5, 3, 1, 1}, false},
		{"3x3 same", false, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true}, graph.Shape{2, 5, 8, 8}, graph.Shape{5, 3, 3, 3}, true},
		{"5x5 stride 2", false, nn.ConvOpts{Kernel: 5, Stride: 2, Pad: 1}, graph.Shape{2, 5, 3, 3}, graph.Shape{5, 3, 5, 5}, false},
		{"transposed, MNAD's up-sampling", true, nn.ConvOpts{Kernel: 3, Stride: 2, Pad: 1, OutPad: 1, Bias: true}, graph.Shape{2, 5, 16, 16}, graph.Shape{3, 5, 3, 3}, true},
		{"transposed, zero value", true, nn.ConvOpts{}, graph.Shape{2, 5, 8, 8}, graph.Shape{3, 5, 1, 1}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := graph.New("conv")
			x := g.Input("x", graph.Float, graph.Shape{2, 3, 8, 8})
			b := nn.New(g, true, 1)
			var y string
			if tc.transpose {
				y = b.ConvTranspose2D(x, "c", 5, tc.o)
			} else {
				y = b.Conv2D(x, "c", 5, tc.o)
			}
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			if s := g.Shape(y); !slices.Equal(s, tc.wantOut) {
				t.Errorf("output %v, want %v", s, tc.wantOut)
			}
			if s := g.Shape("c.w"); !slices.Equal(s, tc.wantW) {
				t.Errorf("weight %v, want %v", s, tc.wantW)
			}
			if _, ok := g.Const("c.b"); ok != tc.bias {
				t.Errorf("bias present: %v, want %v", ok, tc.bias)
			}
			want := []string{"c.w"}
			if tc.bias {
				want = append(want, "c.b")
			}
			if got := b.Registry().Trainable; !slices.Equal(got, want) {
				t.Errorf("trainable %v, want %v", got, want)
			}
		})
	}
	g := graph.New("conv")
	x := g.Input("x", graph.Float, graph.Shape{2, 3, 8, 8})
	nn.New(g, true, 1).Conv2D(x, "c", 5, nn.ConvOpts{Kernel: 3, OutPad: 1})
	if err := g.Err(); err == nil || !strings.Contains(err.Error(), "transposed") {
		t.Errorf("Conv2D with output padding: %v", err)
	}
}
