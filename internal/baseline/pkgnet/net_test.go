package pkgnet_test

import (
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/baseline/pkgnet"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
)

func count(g *graph.Graph, names []string) int64 {
	n := int64(0)
	for _, p := range names {
		n += g.Shape(p).Size()
	}
	return n
}

func tiny(k int) pkgnet.Config {
	return pkgnet.Config{K: k, Width: 0.125, Frames: 4, Channels: 3, Size: 16, EvalBatchNorm: true}
}

func TestBuildShapesTapsAndParameters(t *testing.T) {
	cases := []struct {
		name   string
		cfg    pkgnet.Config
		params int64
		taps   map[string]graph.Shape
	}{
		// 11,665,923 (k=1) and 7,978,627 (k=2) are the official Student_1
		// and Student_2 of networks.py measured with PyTorch by the
		// author of issue 18; the PKGNet module of scripts/bench_torch.py
		// gives the same (/usr/bin/python3, torch 1.13:
		// sum(p.numel() for p in PKGNet(width, k).parameters())), and
		// 184131 (k=1) and 126419 (k=2) at width 0.125.
		{"K1", pkgnet.Official(1), 11665923, map[string]graph.Shape{
			"encoder": {2, 256, 8, 8}, "bottleneck": {2, 512, 4, 4}, "decoder": {2, 256, 8, 8}}},
		{"K2", pkgnet.Official(2), 7978627, map[string]graph.Shape{
			"encoder": {2, 256, 8, 8}, "bottleneck": {2, 512, 4, 4}, "decoder": {2, 256, 8, 8}}},
		{"K1Width0.125", pkgnet.Config{K: 1, Width: 0.125, Frames: 4, Channels: 3, Size: 32}, 184131, map[string]graph.Shape{
			"encoder": {2, 32, 8, 8}, "bottleneck": {2, 64, 4, 4}, "decoder": {2, 32, 8, 8}}},
		{"K2Width0.125Size16", tiny(2), 126419, map[string]graph.Shape{
			"encoder": {2, 32, 4, 4}, "bottleneck": {2, 64, 2, 2}, "decoder": {2, 32, 4, 4}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, train := range []bool{false, true} {
				c := tc.cfg
				g := graph.New("pkgnet")
				x := g.Input("clip", graph.Float, graph.Shape{2, int64(c.InChannels()), int64(c.Size), int64(c.Size)})
				b := nn.New(g, train, 1)
				seen := map[string]graph.Shape{}
				var order []string
				out := pkgnet.Build(b, c, x, func(name, f string) string {
					seen[name] = g.Shape(f)
					order = append(order, name)
					if f != arch.TapName(name) {
						t.Errorf("tap %s tensor %q, want %q", name, f, arch.TapName(name))
					}
					return f
				})
				if err := g.Err(); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(order, pkgnet.Taps) {
					t.Errorf("taps %v, want %v", order, pkgnet.Taps)
				}
				if !maps.EqualFunc(seen, tc.taps, slices.Equal) {
					t.Errorf("tap shapes %v, want %v", seen, tc.taps)
				}
				if s := g.Shape(out.Prediction); !slices.Equal(s, graph.Shape{2, 3, int64(c.Size), int64(c.Size)}) {
					t.Errorf("prediction %v", s)
				}
				want := c.FeatureShapes(2)
				if len(out.Features) != c.K || len(want) != c.K {
					t.Fatalf("%d features, %d shapes for k=%d", len(out.Features), len(want), c.K)
				}
				for i, f := range out.Features {
					if !slices.Equal(g.Shape(f), want[i]) {
						t.Errorf("feature %d %v, want %v", i, g.Shape(f), want[i])
					}
				}
				// Block 1 is the bottleneck tap, block 2 the decoder tap.
				if out.Features[0] != arch.TapName("bottleneck") || (c.K == 2 && out.Features[1] != arch.TapName("decoder")) {
					t.Errorf("features %v", out.Features)
				}
				if n := count(g, b.Registry().Trainable); n != tc.params {
					t.Errorf("%d parameters, PyTorch has %d", n, tc.params)
				}
				// Official BatchNorm never updates running statistics.
				if st := b.Registry().States(); (len(st) > 0) != (train && !c.EvalBatchNorm) {
					t.Errorf("train=%v eval BN=%v: %d states", train, c.EvalBatchNorm, len(st))
				}
			}
		})
	}
}

// The official layer shapes, by name.
func TestParameterNames(t *testing.T) {
	g := graph.New("names")
	x := g.Input("clip", graph.Float, graph.Shape{1, 12, 32, 32})
	b := nn.New(g, false, 1)
	pkgnet.Build(b, pkgnet.Official(1), x, nil)
	got := map[string]graph.Shape{}
	for _, p := range b.Registry().Trainable {
		got[p] = g.Shape(p)
	}
	want := map[string]graph.Shape{
		"enc.inc.c1.conv.w": {64, 12, 3, 3}, "enc.inc.c2.conv.w": {64, 64, 3, 3},
		"enc.down1.down.w": {128, 64, 3, 3}, "enc.down3.c2.conv.w": {512, 512, 3, 3},
		"dec.up1.deconv.w": {512, 256, 3, 3}, "dec.up1.c1.conv.w": {256, 512, 3, 3},
		"dec.up3.c1.conv.w": {64, 128, 3, 3}, "dec.out.w": {3, 64, 1, 1}, "dec.out.b": {3},
		"dec.up2.c2.bn.scale": {128},
	}
	for n, s := range want {
		if !slices.Equal(got[n], s) {
			t.Errorf("%s: %v, want %v", n, got[n], s)
		}
	}
	g2 := graph.New("names2")
	x2 := g2.Input("clip", graph.Float, graph.Shape{1, 12, 32, 32})
	b2 := nn.New(g2, false, 1)
	pkgnet.Build(b2, pkgnet.Official(2), x2, nil)
	if !slices.Equal(g2.Shape("dec.up1.c1.conv.w"), graph.Shape{256, 256, 3, 3}) || g2.Has("enc.down1.down.w") {
		t.Errorf("k=2: up1 conv %v, strided conv present %v", g2.Shape("dec.up1.c1.conv.w"), g2.Has("enc.down1.down.w"))
	}
}

func TestBuildRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   pkgnet.Config
		shape graph.Shape
		want  string
	}{
		{"K", pkgnet.Config{K: 3, Width: 1, Frames: 4, Channels: 3, Size: 32}, graph.Shape{1, 12, 32, 32}, "k 3"},
		{"Size", pkgnet.Config{K: 1, Width: 1, Frames: 4, Channels: 3, Size: 36}, graph.Shape{1, 12, 36, 36}, "multiple of 8"},
		{"Width", pkgnet.Config{K: 1, Frames: 4, Channels: 3, Size: 32}, graph.Shape{1, 12, 32, 32}, "width 0"},
		{"InputShape", pkgnet.Official(1), graph.Shape{1, 15, 32, 32}, "want [N, 12, 32, 32]"},
	} {
		g := graph.New("bad")
		x := g.Input("clip", graph.Float, tc.shape)
		pkgnet.Build(nn.New(g, false, 1), tc.cfg, x, nil)
		if err := g.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

// The inference graph of the network with its per-object
// scores against given teacher features runs through ONNX Runtime with
// the shapes FeatureShapes states, finite values and the MSE it outputs.
func TestForwardThroughRuntime(t *testing.T) {
	rt := gradcheck.Runtime(t)
	for _, k := range []int{1, 2} {
		t.Run(fmt.Sprintf("K%d", k), func(t *testing.T) {
			c := tiny(k)
			const n = 3
			g := graph.New("pkgnet-eval")
			x := g.Input("clip", graph.Float, graph.Shape{n, int64(c.InChannels()), int64(c.Size), int64(c.Size)})
			target := g.Input("target", graph.Float, graph.Shape{n, 3, int64(c.Size), int64(c.Size)})
			var teacher []string
			for i, s := range c.FeatureShapes(n) {
				teacher = append(teacher, g.Input(fmt.Sprintf("teacher%d", i), graph.Float, s))
			}
			out := pkgnet.Build(nn.New(g, false, 7), c, x, nil)
			gen, fea := pkgnet.ObjectScores(g, out, target, teacher)
			if err := g.Err(); err != nil {
				t.Fatal(err)
			}
			outs := append([]string{out.Prediction, gen}, fea...)
			outs = append(outs, out.Features...)
			g.Output(outs...)
			mb, err := g.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			ins := append([]string{x, target}, teacher...)
			s, err := rt.NewSession(mb, ins, outs, ort.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Destroy()
			var inT, outT []*ort.Tensor
			for i, name := range ins {
				sh := g.Shape(name)
				v := make([]float32, sh.Size())
				for j := range v {
					v[j] = float32((j*7+i*3)%17) / 17
				}
				tt, err := ort.NewTensor(sh, v)
				if err != nil {
					t.Fatal(err)
				}
				inT = append(inT, tt)
			}
			for _, name := range outs {
				tt, err := ort.ZerosTensor(g.Shape(name))
				if err != nil {
					t.Fatal(err)
				}
				outT = append(outT, tt)
			}
			defer ort.DestroyAll(append(inT, outT...)...)
			if err := s.Run(context.Background(), inT, outT); err != nil {
				t.Fatal(err)
			}
			wantShapes := []graph.Shape{{n, 3, 16, 16}, {n}}
			for range fea {
				wantShapes = append(wantShapes, graph.Shape{n})
			}
			wantShapes = append(wantShapes, c.FeatureShapes(n)...)
			for i, tt := range outT {
				if got := graph.Shape(tt.GetShape()); !slices.Equal(got, wantShapes[i]) {
					t.Errorf("%s: shape %v, want %v", outs[i], got, wantShapes[i])
				}
				for _, v := range tt.GetData() {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("%s: non-finite value", outs[i])
					}
				}
			}
			// The MSE score is the mean squared error of what was output.
			pred, tgt, gens := outT[0].GetData(), inT[1].GetData(), outT[1].GetData()
			per := len(pred) / n
			for i := range n {
				sum := 0.0
				for j := range per {
					d := float64(pred[i*per+j]) - float64(tgt[i*per+j])
					sum += d * d
				}
				if want := sum / float64(per); math.Abs(float64(gens[i])-want) > 1e-5*math.Max(1, want) {
					t.Errorf("object %d MSE score %g, want %g", i, gens[i], want)
				}
			}
			for b, f := range fea {
				for i, v := range outT[2+b].GetData() {
					if v < 0 || v > 2 {
						t.Errorf("%s object %d: 1 - cos mean %g outside [0, 2]", f, i, v)
					}
				}
			}
		})
	}
}

// The whole official loss through the network differentiates correctly:
// input-free check of every parameter's gradient by finite differences,
// on the network with each ReLU replaced by Softplus and each MaxPool by
// an AveragePool of the same window (a kink or a switching max within a
// step would spoil any finite difference; the rules of ReLU and MaxPool
// are checked in internal/autodiff). BatchNorm is the official eval form,
// which is smooth.
func TestLossGradients(t *testing.T) {
	for _, k := range []int{1, 2} {
		c := pkgnet.Config{K: k, Width: 0.0625, Frames: 4, Channels: 3, Size: 8, EvalBatchNorm: true}
		const n = 2
		g0 := graph.New("pkgnet-train")
		xs := graph.Shape{n, int64(c.InChannels()), 8, 8}
		ts := graph.Shape{n, 3, 8, 8}
		x := g0.Input("clip", graph.Float, xs)
		target := g0.Input("target", graph.Float, ts)
		var teacher []string
		ins := []gradcheck.In{{Name: x, Shape: xs, Lo: 0, Hi: 1}, {Name: target, Shape: ts, Lo: 0, Hi: 1, NoGrad: true}}
		for i, s := range c.FeatureShapes(n) {
			teacher = append(teacher, g0.Input(fmt.Sprintf("teacher%d", i), graph.Float, s))
			ins = append(ins, gradcheck.In{Name: teacher[i], Shape: s, Lo: 0, Hi: 1, NoGrad: true})
		}
		b := nn.New(g0, true, 3)
		out := pkgnet.Build(b, c, x, nil)
		total, terms := pkgnet.Loss(g0, pkgnet.OfficialLoss(), out, target, teacher)
		if err := g0.Err(); err != nil {
			t.Fatal(err)
		}
		if len(terms) != len(pkgnet.LossTerms) {
			t.Fatalf("terms %v", terms)
		}
		swapped := map[string]int{}
		for _, nd := range g0.Nodes {
			switch nd.Op {
			case graph.OpRelu:
				nd.Op = "Softplus"
			case graph.OpMaxPool:
				nd.Op = "AveragePool"
			default:
				continue
			}
			swapped[string(nd.Op)]++
		}
		// 2 ReLUs per double conv: inc, 3 downs, 3 ups; k=2 pools 3 times.
		if swapped["Softplus"] != 14 || swapped["AveragePool"] != 3*(k-1) {
			t.Fatalf("k=%d: replaced %v", k, swapped)
		}
		for _, p := range b.Registry().Trainable {
			v, err := g0.InitToInput(p)
			if err != nil {
				t.Fatal(err)
			}
			ins = append(ins, gradcheck.In{Name: p, Shape: g0.Shape(p), Data: v.F32})
		}
		gradcheck.Check(t, gradcheck.GradCase{Name: fmt.Sprintf("PKGNetK%d", k), Inputs: ins, Eps: 1e-3,
			Build: func(g *graph.Graph, in []string) string {
				g.Merge(g0)
				return total
			}})
	}
}

func TestInitOfficial(t *testing.T) {
	g := graph.New("init")
	x := g.Input("clip", graph.Float, graph.Shape{1, 12, 32, 32})
	b := nn.New(g, true, 1)
	out := pkgnet.Build(b, pkgnet.Official(2), x, nil)
	before, _ := g.Const("dec.up1.deconv.w")
	deconv := slices.Clone(before.F32)
	if err := out.InitOfficial(g, 5); err != nil {
		t.Fatal(err)
	}
	stats := func(name string) (mean, std float64) {
		v, ok := g.Const(name)
		if !ok {
			t.Fatalf("no %s", name)
		}
		for _, f := range v.F32 {
			mean += float64(f)
		}
		mean /= float64(len(v.F32))
		for _, f := range v.F32 {
			std += (float64(f) - mean) * (float64(f) - mean)
		}
		return mean, math.Sqrt(std / float64(len(v.F32)))
	}
	// 512*512*9 draws: the sample std is within 0.5% of
	// sqrt(2/1.01)/sqrt(512*9) = 0.020797.
	for _, tc := range []struct {
		name      string
		mean, std float64
	}{
		{"enc.down3.c2.conv.w", 0, math.Sqrt(2/1.01) / math.Sqrt(512*9)},
		{"enc.inc.c1.conv.w", 0, math.Sqrt(2/1.01) / math.Sqrt(12*9)},
		{"dec.out.w", 0, math.Sqrt(2/1.01) / 8},
		{"enc.down3.c1.bn.scale", 1, 0.02},
	} {
		m, s := stats(tc.name)
		v, _ := g.Const(tc.name)
		tol := 4 / math.Sqrt(float64(len(v.F32))) // about 4 standard errors
		if math.Abs(m-tc.mean) > tol*tc.std || math.Abs(s/tc.std-1) > tol {
			t.Errorf("%s: mean %g std %g, want %g and %g", tc.name, m, s, tc.mean, tc.std)
		}
	}
	after, _ := g.Const("dec.up1.deconv.w")
	if !slices.Equal(after.F32, deconv) {
		t.Error("the transposed convolution's weights changed; the official init leaves them")
	}
}
