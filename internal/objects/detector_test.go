package objects

import (
	"path/filepath"
	"testing"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
)

func openRuntime(t *testing.T) *ort.Runtime {
	t.Helper()
	lib, err := ort.FindLibrary("", "")
	if err != nil {
		sharedtest.Missing(t, sharedtest.ORT, "ONNX Runtime not installed: %v", err)
	}
	rt, err := ort.Open(lib)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

// tinyDetector saves a detector whose output is base + mask * mean(input):
// fixed boxes, plus scores that show what the preprocessing fed it.
func tinyDetector(t *testing.T, inH, inW int64, shape graph.Shape, base, mask []float32) string {
	t.Helper()
	g := graph.New("tiny_detector")
	x := g.Input("images", graph.Float, graph.Shape{1, 3, inH, inW})
	m := g.Op(graph.OpReduceMean, []string{x}, graph.Attrs{"axes": []int64{1, 2, 3}, "keepdims": int64(0)})
	y := g.Op(graph.OpAdd, []string{g.Init("base", graph.Floats(shape, base)), g.Op(graph.OpMul, []string{g.Init("mask", graph.Floats(shape, mask)), m}, nil)}, nil)
	g.Output(y)
	p := filepath.Join(t.TempDir(), "det.onnx")
	if err := g.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func uniformFrame(w, h int, v float32) imageio.Image {
	img := imageio.Image{C: 3, H: h, W: w, Pix: make([]float32, 3*w*h)}
	for i := range img.Pix {
		img.Pix[i] = v
	}
	return img
}

type anchor struct {
	cx, cy, w, h float32
	obj          float32   // yolov5 only
	cls          []float32 // class scores
	meanClass    int       // class whose score is the input mean, -1 none
}

// yolov8Output lays anchors out as [1, 4+nc, n], the rest zero.
func yolov8Output(n, nc int, as []anchor) (base, mask []float32) {
	base, mask = make([]float32, (4+nc)*n), make([]float32, (4+nc)*n)
	for j, a := range as {
		for k, v := range []float32{a.cx, a.cy, a.w, a.h} {
			base[k*n+j] = v
		}
		for c, v := range a.cls {
			base[(4+c)*n+j] = v
		}
		if a.meanClass >= 0 {
			mask[(4+a.meanClass)*n+j] = 1
		}
	}
	return base, mask
}

func yolov5Output(n, nc int, as []anchor) (base, mask []float32) {
	b := 5 + nc
	base, mask = make([]float32, n*b), make([]float32, n*b)
	for j, a := range as {
		copy(base[j*b:], []float32{a.cx, a.cy, a.w, a.h, a.obj})
		copy(base[j*b+5:], a.cls)
		if a.meanClass >= 0 {
			mask[j*b+5+a.meanClass] = 1
		}
	}
	return base, mask
}

func sameBoxes(t *testing.T, name string, got []Box, want []Box) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d boxes %v, want %d %v", name, len(got), got, len(want), want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Class != w.Class || !near(g.X1, w.X1, 1e-4) || !near(g.Y1, w.Y1, 1e-4) || !near(g.X2, w.X2, 1e-4) || !near(g.Y2, w.Y2, 1e-4) || !near(g.Score, w.Score, 1e-5) {
			t.Errorf("%s: box %d = %v, want %v", name, i, g, w)
		}
	}
}

// A YOLOv8-shaped tiny detector on a 64x32 frame of gray 0.4: decoding of
// cx, cy, w, h and best class, class filter, score threshold, per-class and
// class-agnostic NMS, letterbox and stretch mapping, and the input values
// (pad 114/255, 0..1 or 0..255), all against hand-computed boxes.
func TestDetectorYOLOv8(t *testing.T) {
	rt := openRuntime(t)
	const n, nc = 21, 3 // 21 = cells of strides 8, 16, 32 at 32x32
	as := []anchor{
		{cx: 16, cy: 16, w: 8, h: 4, cls: []float32{0.9, 0, 0}, meanClass: -1},       // a0: input box 12,14,20,18
		{cx: 17, cy: 16, w: 8, h: 4, cls: []float32{0.8, 0, 0}, meanClass: -1},       // a1: IoU 28/36 with a0, same class
		{cx: 17, cy: 16, w: 8, h: 4, cls: []float32{0, 0.85, 0}, meanClass: -1},      // a2: same place, class 1
		{cx: 28, cy: 28, w: 4, h: 4, cls: []float32{0, 0, 0.95}, meanClass: -1},      // a3: class 2, filtered out
		{cx: 28, cy: 4, w: 4, h: 4, cls: []float32{0.5, 0, 0.6}, meanClass: -1},      // a4: best class 2: filtered out
		{cx: 4, cy: 28, w: 4, h: 4, cls: []float32{0.2, 0, 0}, meanClass: -1},        // a5: score 0.2 < 0.25
		{cx: 8, cy: 8, w: 4, h: 4, cls: []float32{0, 0, 0}, meanClass: 1},            // a6: score = mean input
		{cx: 24, cy: 20, w: 2, h: 2, cls: []float32{0.3, 0, 0}, meanClass: -1},       // a7: small, kept
		{cx: 16, cy: 16, w: 8, h: 4, cls: []float32{0.25, 0, 0}, meanClass: -1},      // a8: score == threshold: dropped
		{cx: 0, cy: 0, w: 0, h: 0, cls: []float32{0.0001, 0, 0.0001}, meanClass: -1}, // empty
	}
	base, mask := yolov8Output(n, nc, as)
	model := tinyDetector(t, 32, 32, graph.Shape{1, 4 + nc, n}, base, mask)
	frame := uniformFrame(64, 32, 0.4)
	// Letterbox: r = 0.5, image 32x16 at dy = 8; frame = (input - d) / r.
	lbMean := (0.4 + 114.0/255) / 2
	cases := []struct {
		name   string
		mod    func(*DetectorConfig)
		want   []Box
		layout Layout
	}{
		{"LetterboxPerClass", func(c *DetectorConfig) {}, []Box{
			{X1: 24, Y1: 12, X2: 40, Y2: 20, Score: 0.9, Class: 0},
			{X1: 26, Y1: 12, X2: 42, Y2: 20, Score: 0.85, Class: 1},
			{X1: 12, Y1: 0, X2: 20, Y2: 4, Score: lbMean, Class: 1}, // y1 -4 clipped
			{X1: 46, Y1: 22, X2: 50, Y2: 26, Score: 0.3, Class: 0},
		}, LayoutYOLOv8},
		{"LetterboxAgnostic", func(c *DetectorConfig) { c.ClassAgnostic = true }, []Box{
			{X1: 24, Y1: 12, X2: 40, Y2: 20, Score: 0.9, Class: 0},
			{X1: 12, Y1: 0, X2: 20, Y2: 4, Score: lbMean, Class: 1},
			{X1: 46, Y1: 22, X2: 50, Y2: 26, Score: 0.3, Class: 0},
		}, LayoutYOLOv8},
		{"Letterbox255MaxDet", func(c *DetectorConfig) { c.InputRange = 255; c.MaxDet = 2 }, []Box{
			{X1: 12, Y1: 0, X2: 20, Y2: 4, Score: (0.4*255 + 114) / 2, Class: 1},
			{X1: 24, Y1: 12, X2: 40, Y2: 20, Score: 0.9, Class: 0},
		}, LayoutYOLOv8},
		{"StretchAllClassesNoNMS", func(c *DetectorConfig) { c.Letterbox = false; c.Classes = nil; c.IoU = 1; c.Layout = LayoutYOLOv8 }, []Box{
			// Stretch: x halved, y kept.
			{X1: 52, Y1: 26, X2: 60, Y2: 30, Score: 0.95, Class: 2},
			{X1: 24, Y1: 14, X2: 40, Y2: 18, Score: 0.9, Class: 0},
			{X1: 26, Y1: 14, X2: 42, Y2: 18, Score: 0.85, Class: 1},
			{X1: 26, Y1: 14, X2: 42, Y2: 18, Score: 0.8, Class: 0},
			{X1: 52, Y1: 2, X2: 60, Y2: 6, Score: 0.6, Class: 2},
			{X1: 12, Y1: 6, X2: 20, Y2: 10, Score: 0.4, Class: 1},
			{X1: 46, Y1: 19, X2: 50, Y2: 21, Score: 0.3, Class: 0},
		}, LayoutYOLOv8},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultDetectorConfig(model)
			cfg.Threads = 1
			c.mod(&cfg)
			d, err := NewDetector(rt, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.Layout() != c.layout {
				t.Errorf("layout %s, want %s", d.Layout(), c.layout)
			}
			got, err := d.Detect(frame)
			if err != nil {
				t.Fatal(err)
			}
			sameBoxes(t, c.name, got, c.want)
		})
	}
}

// A YOLOv5-shaped tiny detector: score = objectness x class score.
func TestDetectorYOLOv5(t *testing.T) {
	rt := openRuntime(t)
	const n, nc = 63, 2 // 3 anchors x 21 cells at 32x32
	as := []anchor{
		{cx: 16, cy: 16, w: 8, h: 4, obj: 0.9, cls: []float32{0.5, 0.1}, meanClass: -1}, // 0.45, class 0
		{cx: 16, cy: 16, w: 8, h: 4, obj: 0.5, cls: []float32{0, 0.4}, meanClass: -1},   // 0.2 < 0.25
		{cx: 16, cy: 16, w: 8, h: 4, obj: 0.4, cls: []float32{0.1, 0.9}, meanClass: -1}, // 0.36, class 1
		{cx: 17, cy: 16, w: 8, h: 4, obj: 0.8, cls: []float32{0.5, 0}, meanClass: -1},   // 0.4, class 0: NMS'd by the first
		{cx: 8, cy: 24, w: 16, h: 8, obj: 0.5, cls: []float32{0, 0}, meanClass: 0},      // 0.5 * mean = 0.2: dropped
		{cx: 8, cy: 24, w: 16, h: 8, obj: 1, cls: []float32{0, 0}, meanClass: 1},        // mean 0.4, class 1
	}
	base, mask := yolov5Output(n, nc, as)
	model := tinyDetector(t, 32, 32, graph.Shape{1, n, 5 + nc}, base, mask)
	cfg := DefaultDetectorConfig(model)
	cfg.Letterbox, cfg.Threads = false, 1
	d, err := NewDetector(rt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.Layout() != LayoutYOLOv5 {
		t.Fatalf("layout %s, want yolov5", d.Layout())
	}
	got, err := d.Detect(uniformFrame(32, 64, 0.4)) // 32 wide, 64 high: y doubled
	if err != nil {
		t.Fatal(err)
	}
	sameBoxes(t, "yolov5", got, []Box{
		{X1: 12, Y1: 28, X2: 20, Y2: 36, Score: 0.45, Class: 0},
		{X1: 0, Y1: 40, X2: 16, Y2: 56, Score: 0.4, Class: 1},
		{X1: 12, Y1: 28, X2: 20, Y2: 36, Score: 0.36, Class: 1},
	})
}

func TestDecideLayout(t *testing.T) {
	cases := []struct {
		l          Layout
		shape      []int64
		inH, inW   int
		want       Layout
		wantErrSub string
	}{
		{LayoutAuto, []int64{1, 84, 8400}, 640, 640, LayoutYOLOv8, ""},
		{LayoutAuto, []int64{1, 5, 8400}, 640, 640, LayoutYOLOv8, ""}, // one class
		{LayoutAuto, []int64{1, 25200, 85}, 640, 640, LayoutYOLOv5, ""},
		{LayoutAuto, []int64{1, 25200, 6}, 640, 640, LayoutYOLOv5, ""}, // one class: anchor count of the head
		{LayoutAuto, []int64{1, 100, 6}, 512, 512, LayoutDecoded, ""},  // the shared CenterNet
		{LayoutAuto, []int64{1, 300, 6}, 640, 640, LayoutDecoded, ""},  // end-to-end exports
		{LayoutAuto, []int64{1, 6, 6}, 640, 640, "", "ambiguous"},
		{LayoutAuto, []int64{1, 4, 100}, 640, 640, "", "unknown output layout"},
		{LayoutAuto, []int64{1, 100, 5}, 640, 640, "", "unknown output layout"},
		{LayoutAuto, []int64{1, 100}, 640, 640, "", "rank 3"},
		{LayoutAuto, []int64{2, 84, 8400}, 640, 640, "", "rank 3"},
		{LayoutDecoded, []int64{1, 100, 7}, 640, 640, "", "decoded wants [1, N, 6]"},
		{LayoutYOLOv5, []int64{1, 100, 6}, 512, 512, LayoutYOLOv5, ""},
		{LayoutYOLOv8, []int64{1, 4, 100}, 512, 512, "", "at least one class"},
	}
	for _, c := range cases {
		got, err := DecideLayout(c.l, c.shape, c.inH, c.inW)
		if c.wantErrSub != "" {
			wantErr(t, err, c.wantErrSub)
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("DecideLayout(%s, %v) = %s, %v; want %s", c.l, c.shape, got, err, c.want)
		}
	}
}

// An output no layout fits is refused at load, naming file, output, shape.
func TestDetectorUnknownLayout(t *testing.T) {
	rt := openRuntime(t)
	model := tinyDetector(t, 32, 32, graph.Shape{1, 4, 100}, make([]float32, 400), make([]float32, 400))
	_, err := NewDetector(rt, DefaultDetectorConfig(model))
	wantErr(t, err, model, "output", "[1 4 100]", "unknown output layout")

	cfg := DefaultDetectorConfig(model)
	cfg.InputW, cfg.InputH = 64, 64
	_, err = NewDetector(rt, cfg)
	wantErr(t, err, model, "fixed at 32x32", "64x64")
	cfg = DefaultDetectorConfig(model)
	cfg.Output = "scores"
	_, err = NewDetector(rt, cfg)
	wantErr(t, err, model, `no output "scores"`)
}

func TestNMS(t *testing.T) {
	b := func(x1, y1, x2, y2, s float64, c int) Box {
		return Box{X1: x1, Y1: y1, X2: x2, Y2: y2, Score: s, Class: c}
	}
	in := []Box{
		b(0, 0, 10, 10, 0.5, 0),
		b(0, 0, 10, 10, 0.9, 0),  // the best
		b(5, 0, 15, 10, 0.8, 0),  // IoU 50/150 = 1/3 with the best
		b(1, 0, 11, 10, 0.7, 1),  // IoU 90/110 with the best, other class
		b(20, 0, 30, 10, 0.7, 0), // disjoint; ties with the previous: input order kept
	}
	cases := []struct {
		iou      float64
		perClass bool
		max      int
		want     []float64 // scores, classes in the order kept
		classes  []int
	}{
		{0.5, true, 0, []float64{0.9, 0.8, 0.7, 0.7}, []int{0, 0, 1, 0}},
		{0.5, false, 0, []float64{0.9, 0.8, 0.7}, []int{0, 0, 0}},
		{1.0 / 3, false, 0, []float64{0.9, 0.8, 0.7}, []int{0, 0, 0}}, // IoU must exceed the threshold
		{0.3, false, 0, []float64{0.9, 0.7}, []int{0, 0}},
		{0.5, true, 2, []float64{0.9, 0.8}, []int{0, 0}},
		{1, true, 0, []float64{0.9, 0.8, 0.7, 0.7, 0.5}, []int{0, 0, 1, 0, 0}},
	}
	for _, c := range cases {
		got := NMS(in, c.iou, c.perClass, c.max)
		ok := len(got) == len(c.want)
		for i := 0; ok && i < len(got); i++ {
			ok = got[i].Score == c.want[i] && got[i].Class == c.classes[i]
		}
		if !ok {
			t.Errorf("NMS(iou %g, perClass %v, max %d) = %v, want scores %v classes %v", c.iou, c.perClass, c.max, got, c.want, c.classes)
		}
	}
	if v := IoU(in[1], in[2]); !near(v, 1.0/3, 1e-12) {
		t.Errorf("IoU = %g, want 1/3", v)
	}
}

// The shared MB3-CenterNet on Ped2 test frame 01/119 with its package's
// rule (stretch to 512x512 with TF1 bilinear, 0..255, class-agnostic NMS
// at IoU 0.4, score > 0.3, no cap): its README reports 12 person boxes, all
// on pedestrians, and one bicycle box; the person boxes overlap the
// Jigsaw-VAD YOLOv3 boxes of that frame (score >= 0.5) with IoU >= 0.3.
func TestCenterNetPed2(t *testing.T) {
	rt := openRuntime(t)
	model := sharedtest.Path(t, "models", "centernet_coco.onnx")
	frame := sharedtest.Path(t, "data", "ped2", "testing", "frames", "01", "119.jpg")
	yolo, err := ReadCSV(sharedtest.Path(t, "data", "boxes", "ped2_test_boxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := DetectorConfig{
		Model: model, Layout: LayoutAuto, Interp: Asymmetric, InputRange: 255,
		Score: 0.3, IoU: 0.4, ClassAgnostic: true, Threads: 2,
	}
	d, err := NewDetector(rt, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if w, h := d.InputSize(); w != 512 || h != 512 || d.Layout() != LayoutDecoded {
		t.Fatalf("input %dx%d, layout %s; want 512x512 decoded", w, h, d.Layout())
	}
	img, err := imageio.Decode(frame, imageio.DecodeOptions{C: 3, Range: imageio.RangeUnit})
	if err != nil {
		t.Fatal(err)
	}
	boxes, err := d.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	var persons []Box
	bikes, other := 0, 0
	for _, b := range boxes {
		switch b.Class {
		case 0:
			persons = append(persons, b)
		case 1:
			bikes++
		default:
			other++
		}
	}
	t.Logf("frame 01/119: %d persons, %d bicycles, %d other boxes", len(persons), bikes, other)
	if len(persons) < 11 || len(persons) > 13 || bikes > 2 || other > 1 {
		t.Errorf("%d persons, %d bicycles, %d other; the README reports 12 persons and 1 bicycle", len(persons), bikes, other)
	}
	var ref []Box
	for _, b := range yolo.Frame("01", 119) {
		if b.Score >= 0.5 {
			ref = append(ref, b)
		}
	}
	matched := 0
	for _, p := range persons {
		for _, r := range ref {
			if IoU(p, r) >= 0.3 {
				matched++
				break
			}
		}
	}
	t.Logf("%d of %d person boxes overlap one of the %d YOLOv3 boxes at IoU >= 0.3", matched, len(persons), len(ref))
	if matched*10 < len(persons)*8 {
		t.Errorf("only %d of %d person boxes overlap a YOLOv3 box at IoU >= 0.3", matched, len(persons))
	}
}
