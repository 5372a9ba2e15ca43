// Package arch holds what every baseline network shares: the tap points
// where feature mimicking attaches (Tap, TapName, TapAt, CheckTaps) and the
// width multiplier (Scale). Each baseline's own network lives in its folder
// under internal/baseline (mnad, draem, jigsaw).
package arch

import (
	"fmt"
	"math"
	"slices"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
)

// Tap is called at each named tap point with the feature there; it returns
// the tensor the rest of the network continues with (the feature itself,
// or the attention-refined one in a student).
type Tap func(name, feature string) string

// TapName is the tensor name a tap's feature gets, so an exported model's
// taps can be found again by name.
func TapName(tap string) string { return "tap." + tap }

// TapAt names the feature x at tap point name (an Identity to b.Name(TapName(name)),
// so exported models keep the name) and hands it to hook, returning what the
// network continues with; a nil hook leaves the feature as it is.
//
// A 5-D feature [N, C, T, H, W] (a 3-D network's) is tapped with the frames
// folded into the channels, [N, C*T, H, W] with channel c*T+t holding channel
// c of frame t, so that the 2-D attention modules apply; the hook's result is
// reshaped back to [N, C, T, H, W].
func TapAt(b *nn.Builder, name, x string, hook Tap) string {
	g := b.G
	xs := g.Shape(x)
	view := x
	if len(xs) == 5 {
		view = g.Op(graph.OpReshape, []string{x, g.Const1D(0, xs[1]*xs[2], xs[3], xs[4])}, nil)
	}
	named := b.Name(TapName(name))
	g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: named, Inputs: []string{view}, Outputs: []string{named}})
	out := named
	if hook != nil {
		out = hook(name, named)
	}
	if len(xs) == 5 {
		out = g.Op(graph.OpReshape, []string{out, g.Const1D(0, xs[1], xs[2], xs[3], xs[4])}, nil)
	}
	return out
}

// Scale applies a width multiplier to a channel count.
func Scale(c int, w float64) int {
	return max(1, int(math.Round(float64(c)*w)))
}

// CheckTaps validates tap names against an architecture's list.
func CheckTaps(taps, known []string) error {
	if len(taps) == 0 {
		return fmt.Errorf("no tap given: use one or more of %v", known)
	}
	for _, t := range taps {
		if !slices.Contains(known, t) {
			return fmt.Errorf("unknown tap %q: use one or more of %v", t, known)
		}
	}
	return nil
}
