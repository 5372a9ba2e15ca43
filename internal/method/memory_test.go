package method_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline/draem"
	"github.com/fmam/fmam/internal/baseline/mnad"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/train"
)

func memorySpec(attn nn.AttentionKind) method.Spec {
	s := videoSpec([]string{"bottleneck"}, attn)
	s.Memory = true
	return s
}

func unitRowsOK(t *testing.T, what string, v []float32, c int) {
	t.Helper()
	for k := 0; k < len(v)/c; k++ {
		ss := 0.0
		for _, x := range v[k*c : (k+1)*c] {
			ss += float64(x) * float64(x)
		}
		if math.Abs(ss-1) > 1e-4 {
			t.Errorf("%s: row %d has squared norm %v, want 1", what, k, ss)
		}
	}
}

// With memory the teacher trains its items as a state (not a parameter),
// logs MNAD's two memory losses, and exports the trained items; a student
// of that teacher gets a memory of its own.
func TestMemoryTeacherAndStudent(t *testing.T) {
	s := memorySpec(nn.AttnSCA)
	b, err := method.TeacherTrain(s)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"l_o", "l_compact", "l_separate"}; !slices.Equal(b.Terms, want) {
		t.Errorf("teacher terms %v, want %v", b.Terms, want)
	}
	if slices.Contains(b.Spec.Trainable, mnad.MemoryTensor) {
		t.Error("memory items are trainable; MNAD updates them without gradient")
	}
	if !slices.ContainsFunc(b.Spec.States, func(p graph.State) bool { return p.Name == mnad.MemoryTensor }) {
		t.Fatalf("memory items are not a state: %v", b.Spec.States)
	}
	initial := slices.Clone(initF32(b.Spec.Graph, mnad.MemoryTensor))
	first, last, state, _ := trainFixed(t, b, 6, 3e-3)
	t.Logf("teacher loss %v -> %v", first, last)
	items := state[mnad.MemoryTensor]
	if slices.Equal(items, initial) {
		t.Error("training did not update the memory items")
	}
	c := len(items) / mnad.MemoryItems
	unitRowsOK(t, "trained items", items, c)

	inf, err := method.TeacherInference(s, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := train.ApplyState(inf, state); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(initF32(inf, mnad.MemoryTensor), items) {
		t.Fatal("exported teacher does not hold the trained items")
	}
	path := filepath.Join(t.TempDir(), "teacher.onnx")
	if err := inf.Save(path); err != nil {
		t.Fatal(err)
	}
	tch, err := method.LoadTeacher(path, s, nil)
	if err != nil {
		t.Fatal(err)
	}
	sb, err := method.StudentTrain(s, tch)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"l_o", "l_compact", "l_separate", "l_fea"}; !slices.Equal(sb.Terms, want) {
		t.Errorf("student terms %v, want %v", sb.Terms, want)
	}
	for _, p := range sb.Spec.States {
		if strings.HasPrefix(p.Name, method.TeacherPrefix) {
			t.Errorf("teacher tensor %s is a state of the student step", p.Name)
		}
	}
	if !slices.ContainsFunc(sb.Spec.States, func(p graph.State) bool { return p.Name == mnad.MemoryTensor }) {
		t.Fatal("the student has no memory state")
	}
	if got, ok := sb.Spec.Graph.Const(method.TeacherPrefix + mnad.MemoryTensor); !ok || !slices.Equal(got.F32, items) {
		t.Error("the frozen teacher in the student graph lacks its trained items")
	}
	sf, sl, sstate, _ := trainFixed(t, sb, 4, 3e-3)
	t.Logf("student loss %v -> %v", sf, sl)
	unitRowsOK(t, "student items", sstate[mnad.MemoryTensor], c)
}

// A student that is the teacher (attention none, teacher weights and
// items) gets the teacher's memory distance, and the distance is MNAD's:
// recomputed in Go from the queries the model exposes.
func TestMemoryEvalOutputs(t *testing.T) {
	rt := gradcheck.Runtime(t)
	s := memorySpec(nn.AttnNone)
	s.StudentInit = "teacher"
	s.Batch = 2
	tch, g := teacherAsStudent(t, s)
	// Expose the student's queries to recompute the distance in Go.
	g.Output(mnad.MemoryQuery)
	outs := []string{mnad.OutTeacherErr, mnad.OutStudentErr, method.OutFea, mnad.OutTeacherMem, mnad.OutStudentMem, mnad.MemoryQuery}
	mb, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	sess, err := rt.NewSession(mb, []string{mnad.InFrames, mnad.InTarget}, outs, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Destroy()
	rng := rand.New(rand.NewPCG(3, 4))
	in := make([]float32, 2*4*32*32)
	tg := make([]float32, 2*32*32)
	for i := range in {
		in[i] = rng.Float32()*2 - 1
	}
	for i := range tg {
		tg[i] = rng.Float32()*2 - 1
	}
	it := gradcheck.Tensor(t, []int64{2, 4, 32, 32}, in)
	tt := gradcheck.Tensor(t, []int64{2, 1, 32, 32}, tg)
	var ots []*ort.Tensor
	for _, o := range outs {
		x := gradcheck.Zeros(t, g.Shape(o))
		ots = append(ots, x)
	}
	defer ort.DestroyAll(append(ots, it, tt)...)
	if err := sess.Run(context.Background(), []*ort.Tensor{it, tt}, ots); err != nil {
		t.Fatal(err)
	}
	tm, sm := ots[3].GetData(), ots[4].GetData()
	if !slices.Equal(tm, sm) || !slices.Equal(ots[0].GetData(), ots[1].GetData()) || ots[2].GetData()[0] != 0 {
		t.Fatalf("teacher and student differ: mem %v vs %v, err %v vs %v, S_fea %v", tm, sm, ots[0].GetData(), ots[1].GetData(), ots[2].GetData())
	}
	q := ots[5].GetData()
	items := initF32(tch.Orig, mnad.MemoryTensor)
	c := len(items) / mnad.MemoryItems
	per := len(q) / 2
	for n := 0; n < 2; n++ {
		want := 0.0
		for p := n * per; p < (n+1)*per; p += c {
			best, bd := -math.MaxFloat64, 0.0
			for k := 0; k < mnad.MemoryItems; k++ {
				dot, d := 0.0, 0.0
				for j := 0; j < c; j++ {
					dot += float64(q[p+j]) * float64(items[k*c+j])
					e := float64(q[p+j]) - float64(items[k*c+j])
					d += e * e
				}
				if dot > best {
					best, bd = dot, d
				}
			}
			want += bd
		}
		want /= float64(per)
		if math.Abs(float64(tm[n])-want) > 1e-5*math.Max(1, want) || !(want > 0) {
			t.Errorf("sample %d: memory distance %v, want %v", n, tm[n], want)
		}
	}
}

// The memory is refused where MNAD has none: image runs, imported ONNX
// teachers, and teachers whose memory does not match the config.
func TestMemoryErrors(t *testing.T) {
	img := method.Spec{Net: draem.New(), Width: 0.0625, Batch: 1, Size: 64, Channels: 3, Taps: []string{"bottleneck"}, Memory: true}
	if _, err := method.TeacherTrain(img); err == nil || !strings.Contains(err.Error(), "model.memory") {
		t.Errorf("image task with memory: %v", err)
	}
	s := memorySpec(nn.AttnSCA)
	plain := s
	plain.Memory = false
	withMem := exportTeacher(t, s)
	without := exportTeacher(t, plain)
	if _, err := method.LoadTeacher(without, s, nil); err == nil || !strings.Contains(err.Error(), "without memory") {
		t.Errorf("teacher without memory, config with: %v", err)
	}
	if _, err := method.LoadTeacher(withMem, plain, nil); err == nil || !strings.Contains(err.Error(), "model.memory is false") {
		t.Errorf("teacher with memory, config without: %v", err)
	}
	// An imported model: the same network without fmam's metadata.
	g, err := method.TeacherInference(plain, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range g.MetaKeys() {
		g.DeleteMeta(k)
	}
	imported := filepath.Join(t.TempDir(), "user.onnx")
	if err := g.Save(imported); err != nil {
		t.Fatal(err)
	}
	if _, err := method.LoadTeacher(imported, s, nil); err == nil || !strings.Contains(err.Error(), "imported ONNX model") {
		t.Errorf("imported teacher with memory: %v", err)
	}
	if _, err := method.LoadTeacher(imported, plain, nil); err != nil {
		t.Errorf("imported teacher without memory: %v", err)
	}
}

// BenchmarkTeacherStepMemory times one MNAD teacher train step without
// and with the memory module (width 0.125, 64x64, batch 4, 3 channels).
func BenchmarkTeacherStepMemory(b *testing.B) {
	for _, mem := range []bool{false, true} {
		b.Run(map[bool]string{false: "off", true: "on"}[mem], func(b *testing.B) {
			rt := gradcheck.Runtime(b)
			s := method.Spec{Net: mnad.New(), Width: 0.125, Init: nn.InitPyTorch, Seed: 1, Batch: 4,
				Size: 64, Frames: 4, Channels: 3, Taps: []string{"bottleneck"}, Memory: mem}
			built, err := method.TeacherTrain(s)
			if err != nil {
				b.Fatal(err)
			}
			st, err := train.Compile(*built.Spec)
			if err != nil {
				b.Fatal(err)
			}
			r, err := train.NewRunner(rt, st, ort.Options{Threads: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			batch := randomBatch(st)
			b.ResetTimer()
			for range b.N {
				if _, err := r.Run(context.Background(), batch, 1e-3); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
