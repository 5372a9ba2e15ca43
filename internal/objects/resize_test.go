package objects

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/ort"
)

// The detector's two resize rules equal ONNX Runtime's Resize (linear,
// coordinate_transformation_mode half_pixel / asymmetric), shrinking and
// enlarging, on random images.
func TestResizeMatchesORT(t *testing.T) {
	rt := openRuntime(t)
	rng := rand.New(rand.NewPCG(1, 2))
	modes := map[Interp]string{HalfPixel: "half_pixel", Asymmetric: "asymmetric"}
	sizes := []struct{ h, w, oh, ow int }{{7, 9, 5, 4}, {7, 9, 13, 17}, {6, 5, 6, 12}, {240, 360, 64, 96}}
	for mode, onnxMode := range modes {
		for _, sz := range sizes {
			t.Run(fmt.Sprintf("%s_%dx%d_to_%dx%d", mode, sz.h, sz.w, sz.oh, sz.ow), func(t *testing.T) {
				img := imageio.Image{C: 3, H: sz.h, W: sz.w, Pix: make([]float32, 3*sz.h*sz.w)}
				for i := range img.Pix {
					img.Pix[i] = rng.Float32()
				}
				g := graph.New("resize")
				x := g.Input("x", graph.Float, graph.Shape{1, 3, int64(sz.h), int64(sz.w)})
				y := g.Op(graph.OpResize, []string{x, "", "", g.Const1D(1, 3, int64(sz.oh), int64(sz.ow))}, graph.Attrs{"mode": "linear", "coordinate_transformation_mode": onnxMode})
				g.Output(y)
				b, err := g.Bytes()
				if err != nil {
					t.Fatal(err)
				}
				s, err := rt.NewSession(b, []string{x}, []string{y}, ort.Options{Device: ort.CPU, Threads: 1})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Destroy()
				in := gradcheck.Tensor(t, []int64{1, 3, int64(sz.h), int64(sz.w)}, img.Pix)
				out := gradcheck.Zeros(t, []int64{1, 3, int64(sz.oh), int64(sz.ow)})
				defer ort.DestroyAll(in, out)
				if err := s.Run(context.Background(), []*ort.Tensor{in}, []*ort.Tensor{out}); err != nil {
					t.Fatal(err)
				}
				got := make([]float32, 3*sz.oh*sz.ow)
				resizeInto(got, sz.oh, sz.ow, img, sz.oh, sz.ow, 0, 0, mode)
				// ORT computes sample positions in float32 from the float32
				// scale out/in: up to ~1e-4 px off ours at 360 px, times
				// gradients up to 1 per px here. The two rules differ by
				// half a pixel: O(0.1).
				tol := 2e-6 + 3e-7*float64(max(sz.w, sz.h))
				for i, w := range out.GetData() {
					if math.Abs(float64(got[i]-w)) > tol {
						t.Fatalf("value %d: %g, ORT %g", i, got[i], w)
					}
				}
			})
		}
	}
}

// Letterbox geometry as ultralytics: 360x240 into 640x640 scales by 16/9
// to 640x427 (426.67 rounded), pasted at dy = 106; the pad is 114/255.
func TestLetterboxGeometry(t *testing.T) {
	img := imageio.Image{C: 3, H: 240, W: 360, Pix: make([]float32, 3*240*360)}
	for i := range img.Pix {
		img.Pix[i] = 1
	}
	dst := make([]float32, 3*640*640)
	pad := float32(114.0 / 255)
	g := prepare(dst, img, 640, 640, true, pad, 1, HalfPixel)
	if g.sx != 640.0/360 || g.dx != 0 || g.dy != 106 {
		t.Fatalf("geometry %+v, want scale 16/9, dx 0, dy 106", g)
	}
	for _, c := range []struct {
		y    int
		want float32
	}{{0, pad}, {105, pad}, {106, 1}, {532, 1}, {533, pad}, {639, pad}} {
		if v := dst[2*640*640+c.y*640+300]; v != c.want {
			t.Errorf("blue row %d = %g, want %g", c.y, v, c.want)
		}
	}
	b := g.toFrame(Box{X1: 0, Y1: 106, X2: 640, Y2: 106 + 640.0*240/360})
	if !near(b.X1, 0, 1e-9) || !near(b.Y1, 0, 1e-9) || !near(b.X2, 360, 1e-9) || !near(b.Y2, 240, 1e-9) {
		t.Errorf("input image corners map to %v, want the frame 0,0,360,240", b)
	}
}
