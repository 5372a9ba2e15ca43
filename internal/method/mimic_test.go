package method_test

import (
	"context"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
	"github.com/fmam/fmam/internal/train"
)

// The teacher pre-training recipe: the predictor's bottleneck mimics the
// real ImageNet MobileNetV2's stride-8 features of the last input frame,
// through a 1x1 adapter. The backbone stays frozen and the mimic term falls.
func TestTeacherMimicsBackbone(t *testing.T) {
	p := sharedtest.Path(t, "models", "mobilenet_v2_imagenet.onnx")
	rt := gradcheck.Runtime(t)
	s := videoSpec([]string{"bottleneck"}, nn.AttnNone)
	bg, err := graph.LoadFile(p, graph.ImportOptions{Batch: int64(s.Batch)})
	if err != nil {
		t.Fatal(err)
	}
	s.Mimic = method.Mimic{Backbone: bg, Layer: "feat_s8", Weight: 1}
	b, err := method.TeacherTrain(s)
	if err != nil {
		t.Fatal(err)
	}
	if b.Terms[len(b.Terms)-1] != "l_mimic" {
		t.Fatalf("terms %v lack l_mimic", b.Terms)
	}
	for _, p := range b.Spec.Trainable {
		if len(p) > 9 && p[:9] == "backbone/" {
			t.Fatalf("backbone tensor %s is trainable", p)
		}
	}
	b.Spec.Optim = optim.Config{Kind: "adam"}
	st, err := train.Compile(*b.Spec)
	if err != nil {
		t.Fatal(err)
	}
	r, err := train.NewRunner(rt, st, ort.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	batch := randomBatch(st)
	var first, last float64
	for i := 0; i < 15; i++ {
		res, err := r.Run(context.Background(), batch, 1e-2)
		if err != nil {
			t.Fatal(err)
		}
		m := res.Report[len(res.Report)-1]
		if i == 0 {
			first = m
		}
		last = m
	}
	t.Logf("l_mimic %.4g -> %.4g", first, last)
	if !(last < 0.7*first) {
		t.Errorf("mimic loss did not fall: %v -> %v", first, last)
	}
}
