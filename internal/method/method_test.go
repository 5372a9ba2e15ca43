package method_test

import (
	"bytes"
	"context"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline/mnad"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/optim"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
	"github.com/fmam/fmam/internal/train"
)

func videoSpec(taps []string, attn nn.AttentionKind) method.Spec {
	return method.Spec{Net: mnad.New(), Width: 0.0625, Init: nn.InitPyTorch, Seed: 3, Batch: 2,
		Size: 32, Frames: 4, Channels: 1, Taps: taps, Attention: nn.AttentionConfig{Kind: attn, Reduction: 2}, WFea: 1, StudentInit: "random"}
}

// initF32 returns the data of an initializer, nil when there is none.
func initF32(g *graph.Graph, name string) []float32 {
	if v, ok := g.Const(name); ok {
		return v.F32
	}
	return nil
}

// exportTeacher writes a built-in teacher with its initial weights.
func exportTeacher(t *testing.T, s method.Spec) string {
	t.Helper()
	g, err := method.TeacherInference(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "teacher.onnx")
	if err := g.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// teacherAsStudent loads the teacher of s and builds the student
// evaluation graph with the teacher's own values as the student's trained
// ones.
func teacherAsStudent(t *testing.T, s method.Spec) (*method.Teacher, *graph.Graph) {
	t.Helper()
	tch, err := method.LoadTeacher(exportTeacher(t, s), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string][]float32{}
	for _, k := range tch.Orig.InitNames() {
		if v, _ := tch.Orig.Const(k); v.DType == graph.Float {
			state[k] = v.F32
		}
	}
	g, _, err := method.StudentEval(s, tch, state)
	if err != nil {
		t.Fatal(err)
	}
	return tch, g
}

func TestAttentionWhereAsked(t *testing.T) {
	for _, tc := range []struct {
		taps []string
		attn nn.AttentionKind
		want []string // parameter name prefixes that must exist
	}{
		{[]string{"bottleneck"}, nn.AttnSCA, []string{"attn.bottleneck.conv_e.", "attn.bottleneck.conv_d."}},
		{[]string{"encoder", "decoder"}, nn.AttnCA, []string{"attn.encoder.fc1.", "attn.decoder.fc2."}},
		{[]string{"decoder"}, nn.AttnSA, []string{"attn.decoder.conv."}},
		{[]string{"bottleneck"}, nn.AttnNone, nil},
	} {
		s := videoSpec(tc.taps, tc.attn)
		tch, err := method.LoadTeacher(exportTeacher(t, s), s, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := method.StudentTrain(s, tch)
		if err != nil {
			t.Fatal(err)
		}
		var attn []string
		for _, p := range b.Spec.Trainable {
			if strings.HasPrefix(p, method.TeacherPrefix) {
				t.Errorf("teacher tensor %s is trainable", p)
			}
			if strings.HasPrefix(p, "attn.") {
				attn = append(attn, p)
			}
		}
		for _, w := range tc.want {
			if !slices.ContainsFunc(attn, func(p string) bool { return strings.HasPrefix(p, w) }) {
				t.Errorf("taps %v %s: no parameter %s* in %v", tc.taps, tc.attn, w, attn)
			}
		}
		for _, p := range attn {
			tap := strings.Split(p, ".")[1]
			if !slices.Contains(tc.taps, tap) {
				t.Errorf("taps %v: unexpected attention parameter %s", tc.taps, p)
			}
		}
		if tc.attn == nn.AttnNone && len(attn) != 0 {
			t.Errorf("attention none has parameters %v", attn)
		}
	}
}

// randomBatch is fixed data for overfitting tests: random inputs and a
// learnable target (a smooth ramp), so the loss can really fall.
func randomBatch(st *train.Step) [][]float32 {
	rng := rand.New(rand.NewPCG(5, 6))
	var out [][]float32
	for k, b := range st.Batch {
		d := make([]float32, st.Shapes[b].Size())
		for i := range d {
			if k == 0 {
				d[i] = rng.Float32()*2 - 1
			} else {
				d[i] = float32(i%64)/64 - 0.5
			}
		}
		out = append(out, d)
	}
	return out
}

// trainFixed runs steps on one batch and returns first and last loss and
// the final state.
func trainFixed(t *testing.T, b *method.Built, steps int, lr float64) (float64, float64, map[string][]float32, *train.Step) {
	t.Helper()
	rt := gradcheck.Runtime(t)
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
	for i := 0; i < steps; i++ {
		res, err := r.Run(context.Background(), batch, lr)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			first = res.Loss
		}
		last = res.Loss
	}
	state, err := r.State()
	if err != nil {
		t.Fatal(err)
	}
	return first, last, state, st
}

func TestTeacherFrozenAndStudentLearns(t *testing.T) {
	s := videoSpec([]string{"bottleneck"}, nn.AttnSCA)
	path := exportTeacher(t, s)
	tch, err := method.LoadTeacher(path, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := method.StudentTrain(s, tch)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]float32{}
	for _, k := range b.Spec.Graph.InitNames() {
		if strings.HasPrefix(k, method.TeacherPrefix) {
			before[k] = slices.Clone(initF32(b.Spec.Graph, k))
		}
	}
	first, last, state, st := trainFixed(t, b, 25, 3e-3)
	if !(last < 0.7*first) {
		t.Fatalf("student loss did not fall: %v -> %v", first, last)
	}
	for _, s := range st.States {
		if strings.HasPrefix(s, method.TeacherPrefix) {
			t.Errorf("teacher tensor %s is updated by the train step", s)
		}
	}
	for k, v := range before {
		if !slices.Equal(initF32(st.Graph, k), v) {
			t.Errorf("teacher weight %s changed", k)
		}
	}
	if len(state) == 0 {
		t.Fatal("no state")
	}
}

// With attention none and the student initialised from the teacher, the
// student computes exactly the teacher's prediction: S_o of the student
// equals the baseline's and S_fea is zero.
func TestNoneReducesToBaseline(t *testing.T) {
	rt := gradcheck.Runtime(t)
	s := videoSpec([]string{"bottleneck"}, nn.AttnNone)
	s.StudentInit = "teacher"
	s.Batch = 1
	// The student's trained values are the teacher's own.
	_, g := teacherAsStudent(t, s)
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := rt.NewSession(b, []string{mnad.InFrames, mnad.InTarget}, []string{mnad.OutTeacherErr, mnad.OutStudentErr, method.OutFea}, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	rng := rand.New(rand.NewPCG(1, 1))
	in := make([]float32, 4*32*32)
	tg := make([]float32, 32*32)
	for i := range in {
		in[i] = rng.Float32()
	}
	for i := range tg {
		tg[i] = rng.Float32()
	}
	it := gradcheck.Tensor(t, []int64{1, 4, 32, 32}, in)
	tt := gradcheck.Tensor(t, []int64{1, 1, 32, 32}, tg)
	var outs []*ort.Tensor
	for range 3 {
		o := gradcheck.Zeros(t, []int64{1})
		outs = append(outs, o)
	}
	defer ort.DestroyAll(append(outs, it, tt)...)
	if err := sess.Run(context.Background(), []*ort.Tensor{it, tt}, outs); err != nil {
		t.Fatal(err)
	}
	te, se, fe := outs[0].GetData()[0], outs[1].GetData()[0], outs[2].GetData()[0]
	if te != se || fe != 0 || te == 0 {
		t.Fatalf("teacher err %v, student err %v, S_fea %v; want equal errors and S_fea 0", te, se, fe)
	}
}

func TestImportedMNADTeacher(t *testing.T) {
	s := method.Spec{Net: mnad.New(), Init: nn.InitPyTorch, Seed: 1, Batch: 2, Size: 64, Frames: 4, Channels: 3,
		Taps: []string{"bottleneck"}, Attention: nn.AttentionConfig{Kind: nn.AttnSCA}, WFea: 1, StudentInit: "random"}
	tch, err := method.LoadTeacher(sharedtest.Path(t, "teachers", "mnad_pred.onnx"), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The README of shared/teachers names the bottleneck.
	if got := tch.TapTensors["bottleneck"]; got != "/e4/e4.3/Conv_output_0" {
		t.Errorf("bottleneck found at %q, want /e4/e4.3/Conv_output_0", got)
	}
	b, err := method.StudentTrain(s, tch)
	if err != nil {
		t.Fatal(err)
	}
	nImported := 0
	for _, p := range b.Spec.Trainable {
		if strings.HasPrefix(p, method.StudentPrefix) {
			nImported++
		}
	}
	if nImported == 0 {
		t.Fatal("no student parameter cloned from the imported teacher")
	}
	// BatchNorm is folded into this export's convs, so it trains slowly:
	// ask only for a clear fall.
	first, last, _, _ := trainFixed(t, b, 30, 1e-3)
	t.Logf("loss %v -> %v", first, last)
	if !(last < 0.95*first) {
		t.Fatalf("imported student's loss did not fall: %v -> %v", first, last)
	}
}

func TestImportedTeacherErrors(t *testing.T) {
	p := sharedtest.Path(t, "teachers", "mnad_pred.onnx")
	base := method.Spec{Net: mnad.New(), Batch: 2, Size: 64, Frames: 4, Channels: 3, Taps: []string{"bottleneck"}}
	bad := base
	bad.Taps = []string{"/no/such/tensor"}
	if _, err := method.LoadTeacher(p, bad, nil); err == nil || !strings.Contains(err.Error(), "/no/such/tensor") {
		t.Errorf("unknown tap: %v", err)
	}
	bad = base
	bad.Size = 32
	if _, err := method.LoadTeacher(p, bad, nil); err == nil || !strings.Contains(err.Error(), "data.size") {
		t.Errorf("input shape mismatch: %v", err)
	}
	// No input-format metadata: a warning names the keys and the
	// assumed format.
	var logged bytes.Buffer
	ok := base
	ok.Input = map[string]string{method.MetaRange: "-1,1", method.MetaMean: "none", method.MetaStd: "none"}
	if _, err := method.LoadTeacher(p, ok, slog.New(slog.NewTextHandler(&logged, nil))); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"level=WARN", "no input format", "data.range=-1,1", "data.mean=none"} {
		if !strings.Contains(logged.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logged.String())
		}
	}
	// A size the teacher takes but fmam refuses is not suggested.
	if err := method.CheckInputShapeForTest(p, "x", graph.Shape{2, 12, 100, 100}, base); err == nil || strings.Contains(err.Error(), "set data.size: 100") || !strings.Contains(err.Error(), "multiple of 16") {
		t.Errorf("size 100: %v", err)
	}
	// A size no machine holds is not suggested either (issue 22: a
	// crafted teacher's 1000000 was advised as data.size).
	if err := method.CheckInputShapeForTest(p, "x", graph.Shape{2, 12, 1000000, 1000000}, base); err == nil || strings.Contains(err.Error(), "set data.size: 1000000") || !strings.Contains(err.Error(), "more than the machine's") {
		t.Errorf("size 1000000: %v", err)
	}
	// Only data.channels 1 or 3 is advised: 24 channels of 4 frames is
	// not data.channels 6.
	if err := method.CheckInputShapeForTest(p, "x", graph.Shape{2, 24, 32, 32}, base); err == nil || strings.Contains(err.Error(), "data.channels: 6") || !strings.Contains(err.Error(), "data.channels: 3 with data.frames: 8") {
		t.Errorf("24 channels: %v", err)
	}
	trunc := filepath.Join(t.TempDir(), "trunc.onnx")
	b, _ := os.ReadFile(p)
	os.WriteFile(trunc, b[:len(b)/2], 0o644)
	if _, err := method.LoadTeacher(trunc, base, nil); err == nil || !strings.Contains(err.Error(), "trunc.onnx") {
		t.Errorf("truncated file: %v", err)
	}
	_ = context.Background
}

// The gradient rules hold on whole graphs PyTorch exported: the gradient
// of a random functional of each model's outputs with respect to its input
// matches finite differences.
func TestImportedGraphGradients(t *testing.T) {
	for _, name := range []string{"mnad_pred.onnx", "draem.onnx"} {
		path := sharedtest.Path(t, "teachers", name)
		g0, err := graph.LoadFile(path, graph.ImportOptions{Batch: 1})
		if err != nil {
			t.Fatal(err)
		}
		in := g0.Inputs[0]
		gradcheck.Check(t, gradcheck.GradCase{Name: name, Tol: 5e-3,
			Inputs: []gradcheck.In{{Name: in, Shape: g0.Shape(in)}},
			Build: func(g *graph.Graph, ins []string) string {
				m := g0.Rename("m/", in)
				g.Merge(m)
				outs := m.Outputs
				if len(outs) == 1 {
					return outs[0]
				}
				// Both DRAEM outputs: reconstruction and mask logits.
				return g.Op(graph.OpConcat, outs, graph.Attrs{"axis": int64(1)})
			}})
	}
}

// The control trains on L_o alone: no attention parameter, no l_fea term,
// its own init stream (other weights than the student's), and a control
// spec that asks for mimicking is refused.
func TestControlTrainsOnLoAlone(t *testing.T) {
	s := videoSpec([]string{"bottleneck"}, nn.AttnNone)
	tch, err := method.LoadTeacher(exportTeacher(t, s), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	student, err := method.StudentTrain(s, tch)
	if err != nil {
		t.Fatal(err)
	}
	c := s
	c.WFea, c.Control = 0, true
	b, err := method.StudentTrain(c, tch)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(b.Terms, "l_fea") || len(b.Terms) != len(b.Spec.Report) {
		t.Errorf("control terms %v (%d reported): want L_o's alone", b.Terms, len(b.Spec.Report))
	}
	if !slices.Contains(student.Terms, "l_fea") {
		t.Errorf("student terms %v lack l_fea", student.Terms)
	}
	same := 0
	for _, p := range b.Spec.Trainable {
		if strings.HasPrefix(p, "attn.") {
			t.Errorf("control has attention parameter %s", p)
		}
		cv, _ := b.Spec.Graph.Const(p)
		sv, ok := student.Spec.Graph.Const(p)
		if ok && slices.Equal(cv.F32, sv.F32) && slices.ContainsFunc(cv.F32, func(x float32) bool { return x != 0 && x != 1 }) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d randomly drawn control parameters equal the student's: the control must draw from its own stream", same)
	}
	c.Attention.Kind = nn.AttnSCA
	if _, err := method.StudentTrain(c, tch); err == nil {
		t.Error("a control with attention was built")
	}
}
