package optim_test

import (
	"context"
	"math"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/ort"
)

// goStep is an independent Go version of the same optimizers (the PyTorch
// formulas) applied to one parameter vector.
type goStep struct {
	c       optim.Config
	m, v, b []float64
	t       int
}

func (s *goStep) step(p, g []float64, lr float64) {
	c := s.c.WithDefaults()
	if s.m == nil {
		s.m, s.v, s.b = make([]float64, len(p)), make([]float64, len(p)), make([]float64, len(p))
	}
	scale := 1.0
	if c.ClipNorm > 0 {
		n := 0.0
		for _, x := range g {
			n += x * x
		}
		scale = math.Min(1, float64(c.ClipNorm)/(math.Sqrt(n)+1e-6))
	}
	s.t++
	b1, b2, wd := float64(c.Beta1), float64(c.Beta2), float64(c.WeightDecay)
	for i := range p {
		gi := g[i] * scale
		switch c.Kind {
		case "sgd":
			gi += wd * p[i]
			if c.Momentum > 0 {
				s.b[i] = float64(c.Momentum)*s.b[i] + gi
				gi = s.b[i]
			}
			p[i] -= lr * gi
		case "adam", "adamw":
			if c.Kind == "adam" {
				gi += wd * p[i]
			} else {
				p[i] -= lr * wd * p[i]
			}
			s.m[i] = b1*s.m[i] + (1-b1)*gi
			s.v[i] = b2*s.v[i] + (1-b2)*gi*gi
			mh := s.m[i] / (1 - math.Pow(b1, float64(s.t)))
			vh := s.v[i] / (1 - math.Pow(b2, float64(s.t)))
			p[i] -= lr * mh / (math.Sqrt(vh) + float64(c.Eps))
		}
	}
}

func TestOptimizersMatchGo(t *testing.T) {
	rt := gradcheck.Runtime(t)
	cases := []optim.Config{
		{Kind: "sgd"},
		{Kind: "sgd", Momentum: 0.9, WeightDecay: 0.01},
		{Kind: "adam"},
		{Kind: "adam", WeightDecay: 0.1, ClipNorm: 0.5},
		{Kind: "adam", ClipNorm: 0.05},
		{Kind: "adamw", WeightDecay: 0.1, ClipNorm: 0.05},
		{Kind: "adamw", WeightDecay: 0.1, Beta1: 0.8},
	}
	for _, c := range cases {
		t.Run(c.Kind, func(t *testing.T) {
			const n = 5
			g := graph.New("opt")
			p := g.Input("p", graph.Float, graph.Shape{n})
			gr := g.Input("g", graph.Float, graph.Shape{n})
			lr := g.Input("lr", graph.Float, graph.Shape{1})
			u, err := optim.ApplyFlat(g, p, []string{gr}, lr, c)
			if err != nil {
				t.Fatal(err)
			}
			outs := []string{u.Next}
			ins := []string{p, gr, lr}
			for _, s := range u.States {
				ins = append(ins, s.Name)
				outs = append(outs, s.Next)
			}
			g.Output(outs...)
			b, err := g.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			sess, err := rt.NewSession(b, ins, outs, ort.Options{Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer sess.Destroy()
			param := []float32{0.5, -1, 2, 0.1, -0.3}
			state := make([][]float32, len(u.States))
			for i, s := range u.States {
				state[i] = append([]float32(nil), s.Init.F32...)
			}
			ref := &goStep{c: c}
			pref := []float64{0.5, -1, 2, 0.1, -0.3}
			for step := 0; step < 4; step++ {
				grad := []float32{0.3, -0.2, float32(step) * 0.1, 1, -2}
				gref := make([]float64, n)
				for i := range grad {
					gref[i] = float64(grad[i])
				}
				lrv := 0.01 * float64(step+1)
				var its, ots []*ort.Tensor
				mk := func(shape graph.Shape, d []float32) *ort.Tensor {
					x, err := ort.NewTensor(shape, d)
					if err != nil {
						t.Fatal(err)
					}
					return x
				}
				its = append(its, mk(graph.Shape{n}, param), mk(graph.Shape{n}, grad), mk(graph.Shape{1}, []float32{float32(lrv)}))
				for i, s := range u.States {
					its = append(its, mk(s.Init.Shape, state[i]))
				}
				for _, o := range outs {
					z := gradcheck.Zeros(t, g.Shape(o))
					ots = append(ots, z)
				}
				if err := sess.Run(context.Background(), its, ots); err != nil {
					t.Fatal(err)
				}
				param = append([]float32(nil), ots[0].GetData()...)
				for i := range state {
					state[i] = append([]float32(nil), ots[1+i].GetData()...)
				}
				ort.DestroyAll(append(its, ots...)...)
				ref.step(pref, gref, lrv)
				for i := range param {
					if math.Abs(float64(param[i])-pref[i]) > 1e-5 {
						t.Fatalf("step %d: param[%d] = %v, Go reference %v", step, i, param[i], pref[i])
					}
				}
			}
		})
	}
}

func TestSchedules(t *testing.T) {
	cases := []struct {
		s           optim.Schedule
		step, total int
		want        float64
	}{
		{optim.Schedule{Kind: "constant"}, 5, 10, 1},
		{optim.Schedule{Kind: "cosine"}, 0, 11, 1},
		{optim.Schedule{Kind: "cosine"}, 5, 11, 0.5},
		{optim.Schedule{Kind: "cosine"}, 10, 11, 0},
		{optim.Schedule{Kind: "multistep", Milestones: []float64{0.8, 0.9}, Gamma: 0.2}, 79, 100, 1},
		{optim.Schedule{Kind: "multistep", Milestones: []float64{0.8, 0.9}, Gamma: 0.2}, 80, 100, 0.2},
		{optim.Schedule{Kind: "multistep", Milestones: []float64{0.8, 0.9}, Gamma: 0.2}, 95, 100, 0.04},
		{optim.Schedule{Kind: "constant", WarmupSteps: 4}, 1, 100, 0.5},
	}
	for _, c := range cases {
		if got := c.s.LR(1, c.step, c.total); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%+v at %d/%d: lr %v, want %v", c.s, c.step, c.total, got, c.want)
		}
	}
	if err := (optim.Schedule{Kind: "multistep", Milestones: []float64{0.9, 0.8}}).Validate(); err == nil {
		t.Error("decreasing milestones accepted")
	}
	if err := (optim.Config{Kind: "lbfgs"}).WithDefaults().Validate(); err == nil {
		t.Error("unknown optimizer accepted")
	}
}
