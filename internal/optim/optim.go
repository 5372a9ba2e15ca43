// Package optim writes optimizer updates (SGD with momentum, Adam, AdamW)
// and gradient clipping as graph nodes, and computes learning-rate
// schedules in Go. The learning rate is a graph input, so a schedule never
// forces the train-step graph to be rebuilt.
package optim

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/graph"
)

// Config selects and tunes an optimizer.
type Config struct {
	Kind        string  `mapstructure:"kind" json:"kind" yaml:"kind"` // sgd, adam, adamw
	Momentum    float32 `mapstructure:"momentum" json:"momentum" yaml:"momentum"`
	Beta1       float32 `mapstructure:"beta1" json:"beta1" yaml:"beta1"`
	Beta2       float32 `mapstructure:"beta2" json:"beta2" yaml:"beta2"`
	Eps         float32 `mapstructure:"eps" json:"eps" yaml:"eps"`
	WeightDecay float32 `mapstructure:"weight_decay" json:"weight_decay" yaml:"weight_decay"`
	// ClipNorm rescales all gradients together when their global L2 norm
	// exceeds it; 0 disables clipping.
	ClipNorm float32 `mapstructure:"clip_norm" json:"clip_norm" yaml:"clip_norm"`
}

// Defaults is Adam with PyTorch's betas and eps, no weight decay and no
// clipping. The experiment configuration takes its defaults from here too.
func Defaults() Config {
	return Config{Kind: "adam", Beta1: 0.9, Beta2: 0.999, Eps: 1e-8}
}

// WithDefaults fills zero fields with the values of Defaults.
func (c Config) WithDefaults() Config {
	d := Defaults()
	if c.Kind == "" {
		c.Kind = d.Kind
	}
	c.Kind = strings.ToLower(c.Kind)
	if c.Beta1 == 0 {
		c.Beta1 = d.Beta1
	}
	if c.Beta2 == 0 {
		c.Beta2 = d.Beta2
	}
	if c.Eps == 0 {
		c.Eps = d.Eps
	}
	return c
}

// Validate reports unusable settings.
func (c Config) Validate() error {
	switch c.Kind {
	case "sgd", "adam", "adamw":
	default:
		return fmt.Errorf("optimizer %q: use sgd, adam or adamw", c.Kind)
	}
	if c.Momentum < 0 || c.Momentum >= 1 || c.Beta1 < 0 || c.Beta1 >= 1 || c.Beta2 < 0 || c.Beta2 >= 1 {
		return fmt.Errorf("optimizer %s: momentum and betas must be in [0, 1)", c.Kind)
	}
	if c.WeightDecay < 0 || c.ClipNorm < 0 {
		return fmt.Errorf("optimizer %s: weight_decay and clip_norm must be >= 0", c.Kind)
	}
	return nil
}

// flatten concatenates tensors, each flattened, into one vector.
func flatten(g *graph.Graph, names []string) string {
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, g.Reshape(n, graph.Shape{-1}))
	}
	return g.Concat(0, parts...)
}

// Update is what ApplyFlat appended.
type Update struct {
	Next     string        // the updated parameter vector
	States   []graph.State // inputs ApplyFlat declared, with their initial values
	GradNorm string        // global gradient norm before clipping ([1])
}

// ApplyFlat appends the update of the flat parameter vector pv, whose
// gradient is grads (tensors of any shape) flattened and concatenated in
// order, with learning rate lr (a [1] tensor, usually a graph input).
//
// All parameters are updated as one vector: the optimizer's arithmetic runs
// once on the whole of it. A network with hundreds of small tensors would
// otherwise pay ONNX Runtime's per-node overhead a dozen times per tensor,
// and carry two moment tensors each.
func ApplyFlat(g *graph.Graph, pv string, grads []string, lr string, c Config) (*Update, error) {
	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if len(grads) == 0 {
		return nil, fmt.Errorf("optimizer: no parameters")
	}
	total := int64(0)
	for _, gn := range grads {
		total += g.Shape(gn).Size()
	}
	if ps := g.Shape(pv); len(ps) != 1 || ps[0] != total {
		return nil, fmt.Errorf("optimizer: parameter vector %q has shape %v, the gradients %d values", pv, ps, total)
	}
	u := &Update{}
	gr := flatten(g, grads)
	shape := graph.Shape{total}
	// The squared gradient serves the norm and Adam's second moment.
	// (ONNX Runtime's ReduceSumSquare is slower than a Mul and a
	// ReduceSum together.)
	gg := g.Mul(gr, gr)
	sq := g.ReduceSum(gg, nil, true)
	u.GradNorm = g.Sqrt(sq)
	ggScale := g.Scalar(1) // gg times this is the square of the gradient used
	if c.ClipNorm > 0 {
		// min(1, clip / (norm + 1e-6)), the same as PyTorch's clip_grad_norm_.
		ratio := g.Div(g.Scalar(c.ClipNorm), g.Add(u.GradNorm, g.Scalar(1e-6)))
		ratio = g.Min(ratio, g.Scalar(1))
		gr = g.Mul(gr, ratio)
		ggScale = g.Mul(ratio, ratio)
	}
	state := func(name string, shape graph.Shape) string {
		n := g.Input(g.Fresh(name), graph.Float, shape)
		u.States = append(u.States, graph.State{Name: n, Init: graph.Floats(shape, make([]float32, shape.Size()))})
		return n
	}
	setNext := func(name, next string) {
		for i := range u.States {
			if u.States[i].Name == name {
				u.States[i].Next = next
			}
		}
	}
	var next string
	switch c.Kind {
	case "sgd":
		if c.WeightDecay > 0 {
			gr = g.Add(gr, g.Mul(pv, g.Scalar(c.WeightDecay)))
		}
		step := gr
		if c.Momentum > 0 {
			buf := state("optim.momentum", shape)
			nb := g.Add(g.Mul(buf, g.Scalar(c.Momentum)), gr)
			setNext(buf, nb)
			step = nb
		}
		next = g.Sub(pv, g.Mul(step, lr))
	case "adam", "adamw":
		// The step counter t drives the bias correction 1 - beta^t.
		t := state("optim.t", graph.Shape{1})
		t1 := g.Add(t, g.Scalar(1))
		setNext(t, t1)
		bc1 := g.Sub(g.Scalar(1), g.Pow(g.Scalar(c.Beta1), t1))
		bc2 := g.Sub(g.Scalar(1), g.Pow(g.Scalar(c.Beta2), t1))
		sq := gg
		if c.Kind == "adam" && c.WeightDecay > 0 {
			gr = g.Add(gr, g.Mul(pv, g.Scalar(c.WeightDecay)))
			sq, ggScale = g.Mul(gr, gr), g.Scalar(1)
		}
		if c.ClipNorm > 0 && sq == gg {
			sq = g.Mul(gg, ggScale)
		}
		// The moments are kept divided by (1 - beta): m' = m/(1-b1) and
		// v' = v/(1-b2). Then m' <- b1 m' + g and v' <- b2 v' + g^2 take
		// two passes over the parameter vector each instead of three, and
		// PyTorch's step lr/bc1 * m / (sqrt(v/bc2) + eps) becomes
		// lr(1-b1)/(bc1 k) * m' / (sqrt(v') + eps/k), k = sqrt((1-b2)/bc2),
		// where all but m' and v' are scalars.
		m := state("optim.adam_m_scaled", shape)
		v := state("optim.adam_v_scaled", shape)
		m1 := g.Add(g.Mul(m, g.Scalar(c.Beta1)), gr)
		v1 := g.Add(g.Mul(v, g.Scalar(c.Beta2)), sq)
		setNext(m, m1)
		setNext(v, v1)
		k := g.Sqrt(g.Div(g.Scalar(1-c.Beta2), bc2))
		den := g.Add(g.Sqrt(v1), g.Div(g.Scalar(c.Eps), k))
		scale := g.Div(g.Mul(lr, g.Scalar(1-c.Beta1)), g.Mul(bc1, k))
		step := g.Mul(g.Div(m1, den), scale)
		base := pv
		if c.Kind == "adamw" && c.WeightDecay > 0 {
			// Decoupled decay: p <- p - lr*wd*p before the Adam step.
			base = g.Sub(pv, g.Mul(pv, g.Mul(lr, g.Scalar(c.WeightDecay))))
		}
		next = g.Sub(base, step)
	}
	u.Next = next
	return u, g.Err()
}

// Schedule gives the learning rate at a step.
type Schedule struct {
	Kind string `mapstructure:"kind" json:"kind" yaml:"kind"` // constant, cosine, multistep
	// Milestones are fractions of the total steps (multistep), e.g.
	// DRAEM's [0.8, 0.9].
	Milestones []float64 `mapstructure:"milestones" json:"milestones" yaml:"milestones"`
	Gamma      float64   `mapstructure:"gamma" json:"gamma" yaml:"gamma"`
	// MinLR is the floor of the cosine schedule.
	MinLR       float64 `mapstructure:"min_lr" json:"min_lr" yaml:"min_lr"`
	WarmupSteps int     `mapstructure:"warmup_steps" json:"warmup_steps" yaml:"warmup_steps"`
}

// Validate checks the schedule.
func (s Schedule) Validate() error {
	switch s.Kind {
	case "", "constant", "cosine":
	case "multistep":
		if !slices.IsSorted(s.Milestones) {
			return fmt.Errorf("schedule multistep: milestones %v must be increasing", s.Milestones)
		}
		for _, m := range s.Milestones {
			if m <= 0 || m >= 1 {
				return fmt.Errorf("schedule multistep: milestone %v must be a fraction in (0, 1)", m)
			}
		}
	default:
		return fmt.Errorf("schedule %q: use constant, cosine or multistep", s.Kind)
	}
	return nil
}

// LR returns the learning rate for step (0-based) of total.
func (s Schedule) LR(base float64, step, total int) float64 {
	if s.WarmupSteps > 0 && step < s.WarmupSteps {
		return base * float64(step+1) / float64(s.WarmupSteps)
	}
	switch s.Kind {
	case "cosine":
		if total <= 1 {
			return base
		}
		p := float64(step) / float64(total-1)
		return s.MinLR + (base-s.MinLR)*0.5*(1+math.Cos(math.Pi*p))
	case "multistep":
		gamma := s.Gamma
		if gamma == 0 {
			gamma = 0.1
		}
		lr := base
		for _, m := range s.Milestones {
			if float64(step) >= m*float64(total) {
				lr *= gamma
			}
		}
		return lr
	}
	return base
}
