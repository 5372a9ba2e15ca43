package baseline

import (
	"testing"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/nn"
)

// A student that does not mimic (w_fea 0) is the control and is named so;
// ControlConfig makes one without attention.
func TestStudentLabel(t *testing.T) {
	cfg := &config.Config{}
	cfg.Model.WFea, cfg.Model.Attention.Kind = 1, nn.AttnSCA
	for _, tc := range []struct {
		wfea float64
		att  nn.AttentionKind
		want string
		sfea bool
	}{
		{1, nn.AttnSCA, "MNAD+FM+SCA", true},
		{1, nn.AttnNone, "MNAD+FM", true},
		{0, nn.AttnNone, "MNAD control (L_o only)", false},
		{0, nn.AttnCA, "MNAD control (L_o only, CA)", false},
	} {
		c := *cfg
		c.Model.WFea, c.Model.Attention.Kind = tc.wfea, tc.att
		if got := StudentLabel("MNAD", &c); got != tc.want {
			t.Errorf("w_fea %g, %s: %q, want %q", tc.wfea, tc.att, got, tc.want)
		}
		if ShowSFea(&c) != tc.sfea {
			t.Errorf("w_fea %g: ShowSFea %v", tc.wfea, !tc.sfea)
		}
	}
	ctl := ControlConfig(cfg)
	if ctl.Model.WFea != 0 || ctl.Model.Attention.Kind != nn.AttnNone || cfg.Model.WFea != 1 || cfg.Model.Attention.Kind != nn.AttnSCA {
		t.Errorf("ControlConfig: %+v from %+v (the run's config must stay)", ctl.Model, cfg.Model)
	}
	if got := StudentLabel("DRAEM", ctl); got != "DRAEM control (L_o only)" {
		t.Errorf("control label %q", got)
	}
}
