package jigsaw_test

import (
	"fmt"
	"maps"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/arch"
	"github.com/fmam/fmam/internal/baseline/jigsaw"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
)

// tiny is the network at test size: 3 frames, 16x16 cubes, widths 1/8
// (channels 4, 8, 8; heads 64 wide; 8 features).
var tiny = jigsaw.Config{Frames: 3, Size: 16, Width: 0.125, Dropout: 0.3}

func count(g *graph.Graph, names []string) int64 {
	n := int64(0)
	for _, p := range names {
		n += g.Shape(p).Size()
	}
	return n
}

func TestBuildShapesTapsAndParameters(t *testing.T) {
	cases := []struct {
		name   string
		cfg    jigsaw.Config
		params int64
		taps   map[string]graph.Shape
	}{
		// Parameter counts from PyTorch: /usr/bin/python3 (torch 1.13),
		// sum(p.numel() for p in Jigsaw(width, frames, size).parameters())
		// with the Jigsaw module of scripts/bench_torch.py, which is the
		// official WideBranchNet (models/model.py) at a width multiplier:
		// 1570530 for (1, 7, 64), 1586946 for (1, 9, 64), 14390 for
		// (0.125, 3, 16).
		{"Ped2", jigsaw.Official(7), 1570530, map[string]graph.Shape{
			"stage1": {2, 32 * 7, 32, 32}, "stage2": {2, 64 * 7, 16, 16}, "bottleneck": {2, 64, 8, 8}, "feature": {2, 64, 4, 4}}},
		{"ShanghaiTech", jigsaw.Official(9), 1586946, nil},
		{"Tiny", tiny, 14390, map[string]graph.Shape{
			"stage1": {2, 4 * 3, 8, 8}, "stage2": {2, 8 * 3, 4, 4}, "bottleneck": {2, 8, 2, 2}, "feature": {2, 8, 1, 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, train := range []bool{false, true} {
				g := graph.New("jigsaw")
				c := tc.cfg
				x := g.Input(jigsaw.InCubes, graph.Float, graph.Shape{2, 3, int64(c.Frames), int64(c.Size), int64(c.Size)})
				b := nn.New(g, train, 1)
				seen := map[string]graph.Shape{}
				var order []string
				tl, sl := jigsaw.Build(b, x, c, func(name, f string) string {
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
				if !slices.Equal(order, jigsaw.Taps) {
					t.Errorf("taps %v, want %v", order, jigsaw.Taps)
				}
				if tc.taps != nil && !maps.EqualFunc(seen, tc.taps, slices.Equal) {
					t.Errorf("tap shapes %v, want %v", seen, tc.taps)
				}
				if s := g.Shape(tl); !slices.Equal(s, graph.Shape{2, int64(c.Frames * c.Frames)}) {
					t.Errorf("temporal logits %v", s)
				}
				if s := g.Shape(sl); !slices.Equal(s, graph.Shape{2, 81}) {
					t.Errorf("spatial logits %v", s)
				}
				if n := count(g, b.Registry().Trainable); n != tc.params {
					t.Errorf("%d parameters, PyTorch has %d", n, tc.params)
				}
				if got, want := g.Has(jigsaw.InDropoutMask), train; got != want {
					t.Errorf("train=%v: dropout mask input declared %v", train, got)
				}
				if train && !slices.Equal(g.Shape(jigsaw.InDropoutMask), graph.Shape{2, int64(c.Channels()), 1, 1}) {
					t.Errorf("mask shape %v", g.Shape(jigsaw.InDropoutMask))
				}
			}
		})
	}
	// Names are PyTorch-like and stable: the official layer shapes.
	g := graph.New("names")
	x := g.Input(jigsaw.InCubes, graph.Float, graph.Shape{1, 3, 7, 64, 64})
	b := nn.New(g, false, 1)
	jigsaw.Build(b, x, jigsaw.Official(7), nil)
	want := map[string]graph.Shape{
		"stage1.conv1.w": {32, 3, 3, 3, 3}, "stage1.conv2.w": {32, 32, 3, 3, 3},
		"stage2.conv1.w": {64, 32, 3, 3, 3}, "stage2.conv2.w": {64, 64, 3, 3, 3},
		"stage3.conv1.w": {64, 64, 3, 3, 3}, "stage3.conv2.w": {64, 64, 3, 3, 3},
		"conv2d.conv.w": {64, 64, 3, 3}, "conv2d.conv.b": {64},
		"temporal.fc1.w": {512, 1024}, "temporal.fc1.b": {512}, "temporal.fc2.w": {49, 512}, "temporal.fc2.b": {49},
		"spatial.fc1.w": {512, 1024}, "spatial.fc1.b": {512}, "spatial.fc2.w": {81, 512}, "spatial.fc2.b": {81},
	}
	got := map[string]graph.Shape{}
	for _, p := range b.Registry().Trainable {
		got[p] = g.Shape(p)
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("parameters %v, want %v", got, want)
	}
}

func TestBuildRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		cfg   jigsaw.Config
		shape graph.Shape
	}{
		{"Size", jigsaw.Config{Frames: 3, Size: 24, Width: 1}, graph.Shape{1, 3, 3, 24, 24}},
		{"Frames", jigsaw.Config{Frames: 1, Size: 16, Width: 1}, graph.Shape{1, 3, 1, 16, 16}},
		{"Dropout", jigsaw.Config{Frames: 3, Size: 16, Width: 1, Dropout: 1}, graph.Shape{1, 3, 3, 16, 16}},
		{"InputShape", tiny, graph.Shape{1, 3, 4, 16, 16}},
	} {
		g := graph.New("bad")
		x := g.Input(jigsaw.InCubes, graph.Float, tc.shape)
		jigsaw.Build(nn.New(g, false, 1), x, tc.cfg, nil)
		if g.Err() == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// The gradients of the whole network, with respect to its input and every
// parameter, match finite differences (training mode, a fixed dropout
// mask). A finite difference cannot check the network as it is: after
// every instance norm half the units sit near a ReLU kink and max pools
// switch winners, and any step that moves a layer's weights crosses some
// of them (measured: 1-30% off at step 1e-2, still 1-2% at 1e-4, where
// float32 noise sets in). So the check runs on the same graph with every
// ReLU replaced by Softplus, every MaxPool by an AveragePool of the same
// window and the ReduceMax over frames by a ReduceMean: a smooth network that keeps every other op, reshape and wiring
// of this one, checked with step 1e-3 (at 1e-2 the instance norms over
// 2x2 maps curve too much). The rules of ReLU and of the max pools in the
// forms MaxPool3D writes are checked on their own (internal/autodiff,
// internal/nn).
func TestNetworkGradients(t *testing.T) {
	for _, tc := range []struct {
		cfg   jigsaw.Config
		batch int64
	}{
		{tiny, 2},
		{jigsaw.Config{Frames: 4, Size: 32, Width: 0.0625, Dropout: 0.3}, 1},
	} {
		cfg := tc.cfg
		g0 := graph.New("jigsaw")
		xs := graph.Shape{tc.batch, 3, int64(cfg.Frames), int64(cfg.Size), int64(cfg.Size)}
		x := g0.Input(jigsaw.InCubes, graph.Float, xs)
		b := nn.New(g0, true, 3)
		tl, sl := jigsaw.Build(b, x, cfg, nil)
		out := g0.Op(graph.OpConcat, []string{tl, sl}, graph.Attrs{"axis": int64(1)})
		if err := g0.Err(); err != nil {
			t.Fatal(err)
		}
		swapped := map[string]int{}
		for _, n := range g0.Nodes {
			switch n.Op {
			case graph.OpRelu:
				n.Op = "Softplus"
			case graph.OpMaxPool:
				n.Op = "AveragePool"
			case graph.OpReduceMax:
				n.Op = "ReduceMean"
			default:
				continue
			}
			swapped[string(n.Op)]++
		}
		// 6 ReLUs in the 3-D stages, 1 after the 2-D conv, 1 per head; 3
		// pools in the 3-D stages (the last one per frame, then a
		// ReduceMax over frames) and 1 in the 2-D part.
		if swapped["Softplus"] != 9 || swapped["AveragePool"] != 4 || swapped["ReduceMean"] != 1 {
			t.Fatalf("replaced %v; want 9 ReLUs, 4 max pools and 1 ReduceMax", swapped)
		}
		ins := []gradcheck.In{
			{Name: x, Shape: xs, Lo: 0, Hi: 1},
			{Name: jigsaw.InDropoutMask, Shape: g0.Shape(jigsaw.InDropoutMask), Data: jigsaw.DropoutMask(cfg, int(tc.batch), 4, 0), NoGrad: true},
		}
		// Parameters become inputs so the check differentiates them too.
		for _, p := range b.Registry().Trainable {
			v, err := g0.InitToInput(p)
			if err != nil {
				t.Fatal(err)
			}
			ins = append(ins, gradcheck.In{Name: p, Shape: g0.Shape(p), Data: v.F32})
		}
		gradcheck.Check(t, gradcheck.GradCase{Name: fmt.Sprintf("Jigsaw%+v", cfg), Inputs: ins, Eps: 1e-3,
			Build: func(g *graph.Graph, in []string) string {
				g.Merge(g0)
				return out
			}})
	}
}
