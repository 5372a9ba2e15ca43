package experiment_test

import (
	"fmt"
	"testing"

	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/experiment"
)

// The default tap sets of the built-in baselines: Table 2's rows for
// MNAD and DRAEM, and the same pattern over Jigsaw-VAD's four taps.
func TestDefaultTapSets(t *testing.T) {
	cases := map[string]string{
		"mnad":   "[[encoder] [bottleneck] [decoder] [encoder bottleneck] [bottleneck decoder] [encoder bottleneck decoder]]",
		"draem":  "[[encoder] [bottleneck] [decoder] [encoder bottleneck] [bottleneck decoder] [encoder bottleneck decoder]]",
		"jigsaw": "[[stage1] [stage2] [bottleneck] [feature] [stage1 stage2] [stage2 bottleneck] [bottleneck feature] [stage1 stage2 bottleneck feature]]",
	}
	for arch, want := range cases {
		b, err := registry.LookupArch(arch)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(experiment.DefaultTapSets(b)); got != want {
			t.Errorf("%s: %s, want %s", arch, got, want)
		}
	}
}
