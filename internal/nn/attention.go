package nn

import (
	"fmt"

	"github.com/fmam/fmam/internal/graph"
)

// AttentionKind names the inconsistency-guided attention modules.
type AttentionKind string

// The attention modules of the paper, and none.
const (
	AttnNone AttentionKind = "none"
	AttnCA   AttentionKind = "ca"
	AttnSA   AttentionKind = "sa"
	AttnSCA  AttentionKind = "sca"
)

// ParseAttention validates an attention name.
func ParseAttention(s string) (AttentionKind, error) {
	switch k := AttentionKind(s); k {
	case AttnNone, AttnCA, AttnSA, AttnSCA:
		return k, nil
	}
	return "", fmt.Errorf("attention %q: use none, ca, sa or sca", s)
}

// AttentionConfig tunes a module: reduction r for CA and SCA, kernel k
// for SA and SCA (0 = the paper's defaults, 7 for SA and 1 for SCA).
type AttentionConfig struct {
	Kind      AttentionKind `mapstructure:"kind" json:"kind" yaml:"kind"`
	Reduction int           `mapstructure:"reduction" json:"reduction" yaml:"reduction"`
	Kernel    int           `mapstructure:"kernel" json:"kernel" yaml:"kernel"`
}

// WithDefaults fills the paper's defaults.
func (c AttentionConfig) WithDefaults() AttentionConfig {
	if c.Kind == "" {
		c.Kind = AttnSCA
	}
	if c.Reduction == 0 {
		c.Reduction = 8
	}
	if c.Kernel == 0 {
		c.Kernel = 1
		if c.Kind == AttnSA {
			c.Kernel = 7
		}
	}
	return c
}

// Validate checks the configuration.
func (c AttentionConfig) Validate() error {
	if _, err := ParseAttention(string(c.Kind)); err != nil {
		return err
	}
	if c.Reduction < 1 {
		return fmt.Errorf("attention reduction %d must be >= 1", c.Reduction)
	}
	if c.Kernel < 1 || c.Kernel%2 == 0 {
		return fmt.Errorf("attention kernel %d must be odd and >= 1", c.Kernel)
	}
	return nil
}

// Attention computes the map M from the inconsistency X = |Fea_T - Fea_S|
// and returns the refined student feature Fea_S * M. With kind none it
// returns feaS unchanged. The gradient reaches the student through both
// X and Fea_S; the teacher's feature is a constant of the student graph.
func (b *Builder) Attention(feaT, feaS, name string, c AttentionConfig) (refined, mask string) {
	c = c.WithDefaults()
	if c.Kind == AttnNone {
		return feaS, ""
	}
	g := b.G
	s := b.Scope(name)
	x := g.Abs(g.Sub(feaT, feaS))
	ch := int(g.Shape(feaS)[1])
	hidden := max(1, ch/c.Reduction)
	// SA's and SCA's kxk convs keep the map size.
	same := ConvOpts{Kernel: c.Kernel, Pad: c.Kernel / 2, Bias: true}
	switch c.Kind {
	case AttnCA:
		// SE block: squeeze by global average, excite with two FCs (1x1 convs).
		p := g.Op(graph.OpGlobalAveragePool, []string{x}, nil)
		h := s.Relu(s.Conv2D(p, "fc1", hidden, ConvOpts{Kernel: 1, Bias: true}))
		mask = g.Sigmoid(s.Conv2D(h, "fc2", ch, ConvOpts{Kernel: 1, Bias: true}))
	case AttnSA:
		// CBAM spatial attention: channel mean and max, one kxk conv.
		avg := g.ReduceMean(x, []int64{1}, true)
		mx := g.ReduceMax(x, []int64{1}, true)
		st := g.Concat(1, avg, mx)
		mask = g.Sigmoid(s.Conv2D(st, "conv", 1, same))
	case AttnSCA:
		// A full c x h x w mask: encoder conv to c/r, ReLU, decoder conv back.
		h := s.Relu(s.Conv2D(x, "conv_e", hidden, same))
		mask = g.Sigmoid(s.Conv2D(h, "conv_d", ch, same))
	}
	return g.Mul(feaS, mask), mask
}
