package nn_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
)

// memRef is MNAD's memory step computed in float64 from the feature and
// the items, written from the reference code's definitions.
type memRef struct {
	q             [][]float64 // [P][C], P in (n, h, w) order
	first, second []int
	compact, sep  float64
	update, next  [][]float64 // [M][C]
	dist          []float64   // per sample
}

func mnadMemory(x []float32, n, c, h, w int, items []float32, m int) memRef {
	var r memRef
	p := n * h * w
	item := func(k int) []float64 {
		out := make([]float64, c)
		for j := range out {
			out[j] = float64(items[k*c+j])
		}
		return out
	}
	dot := func(a, b []float64) float64 {
		s := 0.0
		for i := range a {
			s += a[i] * b[i]
		}
		return s
	}
	unit := func(v []float64) []float64 {
		nv := math.Max(math.Sqrt(dot(v, v)), 1e-12)
		out := make([]float64, len(v))
		for i := range v {
			out[i] = v[i] / nv
		}
		return out
	}
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			for z := 0; z < w; z++ {
				v := make([]float64, c)
				for j := range v {
					v[j] = float64(x[((i*c+j)*h+y)*w+z])
				}
				r.q = append(r.q, unit(v))
			}
		}
	}
	score := make([][]float64, p)
	for i := range score {
		score[i] = make([]float64, m)
		order := make([]int, m)
		for k := 0; k < m; k++ {
			score[i][k] = dot(r.q[i], item(k))
			order[k] = k
		}
		slices.SortStableFunc(order, func(a, b int) int {
			switch {
			case score[i][a] > score[i][b]:
				return -1
			case score[i][a] < score[i][b]:
				return 1
			}
			return 0
		})
		r.first = append(r.first, order[0])
		r.second = append(r.second, order[1])
	}
	sqdist := func(a, b []float64, eps float64) float64 {
		s := 0.0
		for j := range a {
			d := a[j] - b[j] + eps
			s += d * d
		}
		return s
	}
	r.dist = make([]float64, n)
	for i := 0; i < p; i++ {
		d := sqdist(r.q[i], item(r.first[i]), 0)
		r.compact += d
		r.dist[i/(h*w)] += d / float64(h*w*c)
		hinge := math.Sqrt(sqdist(r.q[i], item(r.first[i]), 1e-6)) - math.Sqrt(sqdist(r.q[i], item(r.second[i]), 1e-6)) + 1
		r.sep += math.Max(hinge, 0)
	}
	r.compact /= float64(p * c)
	r.sep /= float64(p)
	// Softmax over queries, per item; the update weights each assigned
	// query by its score over the item's largest score.
	for k := 0; k < m; k++ {
		mx := math.Inf(-1)
		for i := 0; i < p; i++ {
			mx = math.Max(mx, score[i][k])
		}
		sum := 0.0
		sq := make([]float64, p)
		for i := 0; i < p; i++ {
			sq[i] = math.Exp(score[i][k] - mx)
			sum += sq[i]
		}
		top := 0.0
		for i := range sq {
			sq[i] /= sum
			top = math.Max(top, sq[i])
		}
		u := make([]float64, c)
		for i := 0; i < p; i++ {
			if r.first[i] != k {
				continue
			}
			for j := range u {
				u[j] += sq[i] / top * r.q[i][j]
			}
		}
		r.update = append(r.update, u)
		it := item(k)
		for j := range it {
			it[j] += u[j]
		}
		r.next = append(r.next, unit(it))
	}
	return r
}

func cosine(a []float64, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += a[i] * float64(b[i])
		aa += a[i] * a[i]
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// The training-mode memory, run through ONNX Runtime on a tiny feature,
// gives MNAD's losses, per-sample distances and item update as computed
// in Go; updated items stay unit rows and turn toward their queries.
func TestMemoryMatchesMNAD(t *testing.T) {
	rt := gradcheck.Runtime(t)
	const n, c, h, w, m = 2, 5, 3, 2, 4
	g := graph.New("memory")
	x := g.Input("x", graph.Float, graph.Shape{n, c, h, w})
	b := nn.New(g, true, 11)
	mem := b.Memory(x, "memory", m)
	st := b.Registry().States()
	if len(st) != 1 || st[0].Name != "memory.items" || mem.Items != "memory.items" || mem.Query != "memory.query" {
		t.Fatalf("states %v, items %q, query %q; want one state memory.items and the query named memory.query", st, mem.Items, mem.Query)
	}
	if s := g.Shape(mem.Out); !slices.Equal(s, graph.Shape{n, 2 * c, h, w}) {
		t.Fatalf("output shape %v, want %v", s, graph.Shape{n, 2 * c, h, w})
	}
	v, _ := g.Const(mem.Items)
	items := v.F32
	for k := 0; k < m; k++ {
		ss := 0.0
		for j := 0; j < c; j++ {
			v := float64(items[k*c+j])
			if v < 0 {
				t.Errorf("initial item %d has a negative entry %v; torch.rand is in [0, 1)", k, v)
			}
			ss += v * v
		}
		if math.Abs(ss-1) > 1e-6 {
			t.Errorf("initial item %d has squared norm %v", k, ss)
		}
	}
	dist := nn.MemoryDistance(g, mem.Query, mem.Items)
	outs := []string{mem.Compactness, mem.Separateness, st[0].Next, dist, mem.Out}
	g.Output(outs...)
	mb, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(mb, []string{x}, outs, ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	rng := rand.New(rand.NewPCG(7, 8))
	data := make([]float32, n*c*h*w)
	for i := range data {
		data[i] = rng.Float32()*2 - 1
	}
	in := tensor(t, graph.Shape{n, c, h, w}, data)
	var ots []*ort.Tensor
	for _, o := range outs {
		ots = append(ots, zeros(t, g.Shape(o)))
	}
	defer ort.DestroyAll(append(ots, in)...)
	if err := s.Run(context.Background(), []*ort.Tensor{in}, ots); err != nil {
		t.Fatal(err)
	}
	ref := mnadMemory(data, n, c, h, w, items, m)
	near := func(what string, got float32, want float64) {
		t.Helper()
		if math.Abs(float64(got)-want) > 1e-5*math.Max(1, math.Abs(want)) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	near("compactness", ots[0].GetData()[0], ref.compact)
	near("separateness", ots[1].GetData()[0], ref.sep)
	for i, d := range ots[3].GetData() {
		near("distance", d, ref.dist[i])
	}
	next := ots[2].GetData()
	assigned := 0
	for k := 0; k < m; k++ {
		row := next[k*c : (k+1)*c]
		ss := 0.0
		for j, v := range row {
			near("next item", v, ref.next[k][j])
			ss += float64(v) * float64(v)
		}
		if math.Abs(ss-1) > 1e-5 {
			t.Errorf("item %d after the update has squared norm %v, want 1", k, ss)
		}
		if slices.Contains(ref.first, k) {
			assigned++
			if before, after := cosine(ref.update[k], items[k*c:(k+1)*c]), cosine(ref.update[k], row); !(after > before) {
				t.Errorf("item %d did not turn toward its queries: cosine %v before, %v after", k, before, after)
			}
		} else if !slices.EqualFunc(row, items[k*c:(k+1)*c], func(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 }) {
			t.Errorf("item %d has no query but changed: %v -> %v", k, items[k*c:(k+1)*c], row)
		}
	}
	if assigned < 2 {
		t.Errorf("only %d items got queries; the test checks too little", assigned)
	}
	// The decoder input: normalised query, then the softmax-weighted items.
	out := ots[4].GetData()
	for i := 0; i < n; i++ {
		for y := 0; y < h; y++ {
			for z := 0; z < w; z++ {
				p := (i*h+y)*w + z
				q := ref.q[p]
				var wts []float64
				sum := 0.0
				for k := 0; k < m; k++ {
					s := 0.0
					for j := 0; j < c; j++ {
						s += q[j] * float64(items[k*c+j])
					}
					wts = append(wts, math.Exp(s))
					sum += math.Exp(s)
				}
				for j := 0; j < c; j++ {
					read := 0.0
					for k := 0; k < m; k++ {
						read += wts[k] / sum * float64(items[k*c+j])
					}
					near("query", out[((i*2*c+j)*h+y)*w+z], q[j])
					near("read", out[((i*2*c+c+j)*h+y)*w+z], read)
				}
			}
		}
	}
}

// Inference graphs hold the items as a constant and register no state.
func TestMemoryInferenceHasNoState(t *testing.T) {
	g := graph.New("memory")
	x := g.Input("x", graph.Float, graph.Shape{1, 4, 2, 2})
	b := nn.New(g, false, 1)
	mem := b.Memory(x, "memory", 3)
	if err := g.Err(); err != nil {
		t.Fatal(err)
	}
	if len(b.Registry().States()) != 0 || mem.Compactness != "" || mem.Separateness != "" {
		t.Errorf("inference memory has states %v and losses %q %q", b.Registry().States(), mem.Compactness, mem.Separateness)
	}
	if _, ok := g.Const("memory.items"); !ok {
		t.Error("no constant memory.items")
	}
	g2 := graph.New("bad")
	y := g2.Input("y", graph.Float, graph.Shape{1, 4})
	nn.New(g2, false, 1).Memory(y, "memory", 3)
	if g2.Err() == nil {
		t.Error("a 2-D feature was accepted")
	}
}
