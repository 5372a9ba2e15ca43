package graph_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
)

func opCounts(g *graph.Graph) map[graph.OpType]int {
	m := map[graph.OpType]int{}
	for _, n := range g.Nodes {
		m[n.Op]++
	}
	return m
}

// The shared teachers' READMEs give their op counts and shapes; after
// import, Identity aliases and Constants are folded into initializers.
func TestImportSharedTeachers(t *testing.T) {
	g, err := graph.LoadFile(sharedtest.Path(t, "teachers", "mnad_pred.onnx"), graph.ImportOptions{Batch: 3})
	if err != nil {
		t.Fatal(err)
	}
	c := opCounts(g)
	want := map[graph.OpType]int{graph.OpConv: 17, graph.OpRelu: 18, graph.OpConvTranspose: 3, graph.OpBatchNormalization: 3, graph.OpMaxPool: 3, graph.OpConcat: 3, graph.OpTanh: 1}
	for op, n := range want {
		if c[op] != n {
			t.Errorf("mnad_pred: %d %s nodes, want %d", c[op], op, n)
		}
	}
	if c[graph.OpIdentity] != 0 {
		t.Errorf("mnad_pred: %d Identity nodes left after folding", c[graph.OpIdentity])
	}
	if s := g.Shape("prediction"); !slices.Equal(s, graph.Shape{3, 3, 64, 64}) {
		t.Errorf("prediction shape %v", s)
	}
	if s := g.Shape("/e4/e4.3/Conv_output_0"); !slices.Equal(s, graph.Shape{3, 128, 8, 8}) {
		t.Errorf("bottleneck shape %v, README says 128 channels at 8x8", s)
	}
	d, err := graph.LoadFile(sharedtest.Path(t, "teachers", "draem.onnx"), graph.ImportOptions{Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	c = opCounts(d)
	for op, n := range map[graph.OpType]int{graph.OpConv: 51, graph.OpRelu: 49, graph.OpResize: 9, graph.OpMaxPool: 9, graph.OpConcat: 6} {
		if c[op] != n {
			t.Errorf("draem: %d %s nodes, want %d", c[op], op, n)
		}
	}
	if !slices.Equal(d.Shape("mask_logits"), graph.Shape{2, 2, 64, 64}) || !slices.Equal(d.Shape("reconstruction"), graph.Shape{2, 3, 64, 64}) {
		t.Errorf("draem output shapes %v %v", d.Shape("reconstruction"), d.Shape("mask_logits"))
	}
}

func TestCutRenameRoundTrip(t *testing.T) {
	g, err := graph.LoadFile(sharedtest.Path(t, "teachers", "mnad_pred.onnx"), graph.ImportOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	cut, err := g.Cut("/e4/e4.3/Conv_output_0")
	if err != nil {
		t.Fatal(err)
	}
	if c := opCounts(cut); c[graph.OpConvTranspose] != 0 || c[graph.OpConv] != 8 {
		t.Errorf("cut at the bottleneck keeps %v; want the 8 encoder convs only", c)
	}
	if _, err := g.Cut("/no/such"); err == nil {
		t.Error("cut at a missing tensor accepted")
	}
	r := g.Rename("s/", "frames")
	if !r.Has("s/prediction") || !r.Has("frames") || r.Has("prediction") {
		t.Error("rename did not prefix tensors or kept the input name wrong")
	}
	p := filepath.Join(t.TempDir(), "r.onnx")
	if err := r.Save(p); err != nil {
		t.Fatal(err)
	}
	back, err := graph.LoadFile(p, graph.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Nodes) != len(r.Nodes) || len(back.InitNames()) != len(r.InitNames()) {
		t.Errorf("round trip: %d nodes %d inits, want %d %d", len(back.Nodes), len(back.InitNames()), len(r.Nodes), len(r.InitNames()))
	}
}

func TestBadModelFiles(t *testing.T) {
	src := sharedtest.Path(t, "teachers", "mnad_pred.onnx")
	b, _ := os.ReadFile(src)
	dir := t.TempDir()
	trunc := filepath.Join(dir, "trunc.onnx")
	os.WriteFile(trunc, b[:len(b)/3], 0o644)
	if _, err := graph.LoadFile(trunc, graph.ImportOptions{Batch: 1}); err == nil || !strings.Contains(err.Error(), trunc) ||
		!strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), "export it again or download it again") {
		t.Errorf("truncated model: %v, want the file, truncated and the way out", err)
	}
	text := filepath.Join(dir, "text.onnx")
	os.WriteFile(text, []byte("hello, not a model"), 0o644)
	if _, err := graph.LoadFile(text, graph.ImportOptions{Batch: 1}); err == nil {
		t.Error("text file accepted as a model")
	}
	if _, err := graph.LoadFile(filepath.Join(dir, "missing.onnx"), graph.ImportOptions{}); err == nil || !strings.Contains(err.Error(), "missing.onnx") {
		t.Errorf("missing model: %v", err)
	}
	// A dynamic batch without a batch size is refused with a hint.
	if _, err := graph.LoadFile(src, graph.ImportOptions{}); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("dynamic batch: %v", err)
	}
	// An op fmam does not know is named in the error.
	g := graph.New("u")
	x := g.Input("x", graph.Float, graph.Shape{1, 4})
	g.AddNode(&graph.Node{Op: "FancyOp", Name: "fancy1", Inputs: []string{x}, Outputs: []string{"y"}})
	if err := g.Err(); !errors.Is(err, graph.ErrUnsupported) || !strings.Contains(err.Error(), "FancyOp") || !strings.Contains(err.Error(), "fancy1") {
		t.Errorf("unknown op: %v", err)
	}
}

// The real ImageNet MobileNetV2 runs through fmam's runtime and classifies
// Grace Hopper as class 653 (military uniform), as its README measured.
func TestMobileNetClassifies(t *testing.T) {
	rt := gradcheck.Runtime(t)
	g, err := graph.LoadFile(sharedtest.Path(t, "models", "mobilenet_v2_imagenet.onnx"), graph.ImportOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if c := opCounts(g); c[graph.OpConv] != 53 || c[graph.OpClip] != 35 {
		t.Errorf("mobilenet ops %v; README says Conv 53, Clip 35", c)
	}
	img, err := imageio.Decode(sharedtest.Path(t, "models", "grace_hopper.png"), imageio.DecodeOptions{C: 3, H: 224, W: 224, Range: imageio.RangeUnit})
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(b, []string{"image"}, []string{"logits"}, ort.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	in, err := ort.NewTensor(graph.Shape{1, 3, 224, 224}, img.Pix)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ort.ZerosTensor(graph.Shape{1, 1001})
	if err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyAll(in, out)
	if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{out}); err != nil {
		t.Fatal(err)
	}
	logits := out.GetData()
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	var z float64
	for _, v := range logits {
		z += math.Exp(float64(v - logits[best]))
	}
	if best != 653 {
		t.Fatalf("top-1 class %d, want 653 (military uniform)", best)
	}
	t.Logf("top-1 653 military uniform, p = %.4f", 1/z)
}

// The gradient rules hold on a slice of the real MobileNetV2: its stem
// (Mul, Add, Conv stride 2 with asymmetric SAME pads) and first depthwise
// block (grouped Conv, 1x1 Conv), checked against finite differences with
// respect to the input and the depthwise weights.
func TestMobileNetSliceGradients(t *testing.T) {
	// A 32x32 input keeps the slice small: with 200k ReLU6 units at 224x224
	// too many cross a kink within any finite-difference step.
	g, err := graph.LoadFile(sharedtest.Path(t, "models", "mobilenet_v2_imagenet.onnx"), graph.ImportOptions{InputShapes: map[string]graph.Shape{"image": {1, 3, 32, 32}}})
	if err != nil {
		t.Fatal(err)
	}
	var dw *graph.Node
	for _, n := range g.Nodes {
		if n.Op == graph.OpConv && n.Int("group", 1) > 1 {
			dw = n
			break
		}
	}
	if dw == nil {
		t.Fatal("no depthwise conv")
	}
	// The first 1x1 projection after the depthwise conv ends the slice.
	var end string
	cons := g.Consumers()
	for _, c := range cons[dw.Outputs[0]] {
		if c.Op == graph.OpClip {
			for _, c2 := range cons[c.Outputs[0]] {
				if c2.Op == graph.OpConv {
					end = c2.Outputs[0]
				}
			}
		}
	}
	if end == "" {
		t.Fatal("no projection after the depthwise conv")
	}
	cut, err := g.Cut(end)
	if err != nil {
		t.Fatal(err)
	}
	// The weights enter as w0 * s with s = 1 the checked input, so the
	// finite-difference step is relative to each weight's own size.
	wname := dw.Inputs[1]
	wshape := cut.Shape(wname)
	ones := make([]float32, wshape.Size())
	for i := range ones {
		ones[i] = 1
	}
	gradcheck.Check(t, gradcheck.GradCase{Name: "mobilenet-slice", Eps: 1e-3,
		Inputs: []gradcheck.In{
			{Name: "image", Shape: graph.Shape{1, 3, 32, 32}, Lo: 0, Hi: 1},
			{Name: "dw_scale", Shape: wshape, Data: ones},
		},
		Build: func(b *graph.Graph, ins []string) string {
			m := cut.Rename("m/", "image")
			// ReLU6 (Clip) is piecewise linear and this QAT-trained
			// network saturates many units: central differences straddle
			// its kinks and disagree by a few percent whatever the step.
			// The Clip rule has its own check (autodiff tests); here it
			// becomes Identity so the check isolates the conv rules on
			// the real weights, groups and asymmetric pads.
			for _, n := range m.Nodes {
				if n.Op == graph.OpClip {
					n.Op, n.Inputs = graph.OpIdentity, n.Inputs[:1]
				}
			}
			b.Merge(m)
			scaled := b.Op(graph.OpMul, []string{"m/" + wname, ins[1]}, nil)
			b.ReplaceUses("m/"+wname, scaled, map[*graph.Node]bool{b.Producer(scaled): true})
			if err := b.SortNodes(); err != nil {
				b.Fail(err)
			}
			return "m/" + end
		}})
}
