package autodiff

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/ort"

	"github.com/fmam/fmam/internal/sharedtest"
)

// TestResizeMatricesMatchORT proves the interpolation matrices are ONNX
// Runtime's: Y = A_h X A_w^T computed in Go must equal ORT's own Resize
// output for every mode, rounding rule and coordinate transform the
// gradient supports, upsampling and downsampling, from scales and sizes.
func TestResizeMatricesMatchORT(t *testing.T) {
	lib, err := ort.FindLibrary("", "")
	if err != nil {
		sharedtest.Missing(t, sharedtest.ORT, "ONNX Runtime not available: %v", err)
	}
	rt, err := ort.Open(lib)
	if err != nil {
		sharedtest.Missing(t, sharedtest.ORT, "ONNX Runtime not available: %v", err)
	}
	defer rt.Close()

	type size struct {
		name   string
		x      graph.Shape
		sizes  []int64   // output sizes, or
		scales []float32 // scales
	}
	sizes := []size{
		{"Up2x", graph.Shape{1, 2, 4, 5}, nil, []float32{1, 1, 2, 2}},
		{"UpOdd", graph.Shape{2, 1, 3, 7}, []int64{2, 1, 8, 16}, nil},
		{"Down", graph.Shape{1, 2, 9, 8}, []int64{1, 2, 4, 3}, nil},
		{"FractionalScales", graph.Shape{1, 1, 6, 5}, nil, []float32{1, 1, 1.7, 0.6}},
		{"ToOne", graph.Shape{1, 1, 5, 4}, []int64{1, 1, 1, 7}, nil},
		{"OnlyWidth", graph.Shape{1, 2, 3, 4}, []int64{1, 2, 3, 9}, nil},
		// ORT runs rank-3 linear as trilinear, still separable.
		{"Rank3", graph.Shape{2, 5, 6}, []int64{2, 7, 3}, nil},
		// 7 -> 16 puts coordinates a float32 rounding away from a half.
		{"NearTies", graph.Shape{1, 1, 7, 10}, []int64{1, 1, 16, 12}, nil},
		{"NearTiesScales", graph.Shape{1, 1, 7, 10}, nil, []float32{1, 1, float32(16) / 7, 1.2}},
		// Scales that leave the shape unchanged make ORT copy the input.
		{"SameShapeScales", graph.Shape{1, 2, 3, 3}, nil, []float32{1, 1, 1.3, 1.3}},
	}
	transforms := []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"}
	type mode struct{ mode, nearest string }
	modes := []mode{{"linear", ""}}
	for _, nm := range []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"} {
		modes = append(modes, mode{"nearest", nm})
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, m := range modes {
		for _, tr := range transforms {
			for _, sz := range sizes {
				name := fmt.Sprintf("%s_%s_%s_%s", m.mode, m.nearest, tr, sz.name)
				t.Run(name, func(t *testing.T) {
					g := graph.New("resize")
					x := g.Input("x", graph.Float, sz.x)
					ins := []string{x, ""}
					if sz.sizes != nil {
						ins = append(ins, "", g.Const1D(sz.sizes...))
					} else {
						ins = append(ins, g.Init("scales", graph.Floats(graph.Shape{int64(len(sz.scales))}, sz.scales)))
					}
					attrs := graph.Attrs{"mode": m.mode, "coordinate_transformation_mode": tr}
					if m.nearest != "" {
						attrs["nearest_mode"] = m.nearest
					}
					y := g.Op(graph.OpResize, ins, attrs)
					g.Output(y)
					if err := g.Err(); err != nil {
						t.Fatal(err)
					}
					n := g.Producer(y)
					xs, ys := g.Shape(x), g.Shape(y)
					mats, err := resizeMatrices(g, n)
					if err != nil {
						t.Fatal(err)
					}
					r := len(xs)
					hi, wi, ho, wo := xs[r-2], xs[r-1], ys[r-2], ys[r-1]
					ah, aw := mats[r-2], mats[r-1]
					for i := range r - 2 {
						if !isIdentity(mats[i], xs[i], ys[i]) {
							t.Fatalf("axis %d is resized", i)
						}
					}

					data := make([]float32, xs.Size())
					for i := range data {
						data[i] = rng.Float32()*2 - 1
					}
					got := runResize(t, rt, g, x, y, data)

					batch := xs.Size() / (hi * wi)
					for b := range batch {
						xb := data[b*hi*wi : (b+1)*hi*wi]
						for i := range ho {
							for j := range wo {
								var want float64
								for a := range hi {
									if ah[i*hi+a] == 0 {
										continue
									}
									for c := range wi {
										want += float64(ah[i*hi+a]) * float64(xb[a*wi+c]) * float64(aw[j*wi+c])
									}
								}
								if v := got[b*ho*wo+i*wo+j]; math.Abs(float64(v)-want) > 1e-5 {
									t.Fatalf("Y[%d, %d, %d] = %g from ORT, %g from A_h X A_w^T", b, i, j, v, want)
								}
							}
						}
					}
				})
			}
		}
	}
}

func runResize(t *testing.T, rt *ort.Runtime, g *graph.Graph, x, y string, data []float32) []float32 {
	t.Helper()
	b, err := g.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	s, err := rt.NewSession(b, []string{x}, []string{y}, ort.Options{Device: ort.CPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Destroy()
	in, err := ort.NewTensor(g.Shape(x), data)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ort.ZerosTensor(g.Shape(y))
	if err != nil {
		t.Fatal(err)
	}
	defer ort.DestroyAll(in, out)
	if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{out}); err != nil {
		t.Fatal(err)
	}
	return append([]float32(nil), out.GetData()...)
}
