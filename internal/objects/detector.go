package objects

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/onnxpb"
	"github.com/fmam/fmam/internal/ort"
)

// Layout is how a detector's output tensor is laid out.
type Layout string

const (
	// LayoutAuto decides from the output's shape; see DecideLayout.
	LayoutAuto Layout = "auto"
	// LayoutYOLOv8 is [1, 4+classes, N]: cx, cy, w, h, then one score per
	// class (ultralytics YOLOv8/YOLO11 export, no objectness).
	LayoutYOLOv8 Layout = "yolov8"
	// LayoutYOLOv5 is [1, N, 5+classes]: cx, cy, w, h, objectness, then
	// class scores; a box's score is objectness times its class score.
	LayoutYOLOv5 Layout = "yolov5"
	// LayoutDecoded is [1, N, 6]: x1, y1, x2, y2, score, class, boxes
	// already decoded (end-to-end exports, the shared CenterNet's
	// "detections").
	LayoutDecoded Layout = "decoded"
)

// ParseLayout validates a layout name ("" is auto).
func ParseLayout(s string) (Layout, error) {
	switch l := Layout(strings.ToLower(s)); l {
	case LayoutAuto, LayoutYOLOv8, LayoutYOLOv5, LayoutDecoded:
		return l, nil
	case "":
		return LayoutAuto, nil
	}
	return "", fmt.Errorf("unknown detector output layout %q: use auto, yolov8, yolov5 or decoded", s)
}

// DetectorConfig configures an ONNX object detector. Start from
// DefaultDetectorConfig: the zero value of some fields (Pad, InputRange)
// is a valid but unusual choice.
type DetectorConfig struct {
	// Model is the ONNX file. Its one image input must be float32
	// [1, 3, H, W], channels R, G, B; its outputs float32.
	Model string
	// Output names the output to decode; "" picks the only rank-3 output.
	Output string
	// Layout of that output; LayoutAuto decides from its shape.
	Layout Layout
	// InputW, InputH are the input size; 0 takes it from the model, which
	// must then have a fixed size. A model with a fixed size refuses any
	// other.
	InputW, InputH int
	// Letterbox keeps the frame's aspect (scaled to fit, centred, the rest
	// filled with Pad); otherwise the frame is stretched to the input.
	Letterbox bool
	// Pad is the letterbox fill in 0..1 units (ultralytics: 114/255).
	Pad float64
	// Interp is the resize rule.
	Interp Interp
	// InputRange is the value of a white pixel: 1 (inputs in 0..1,
	// ultralytics) or 255 (0..255, the shared CenterNet).
	InputRange float64
	// Classes keeps only boxes of these class indices (e.g. COCO person 0,
	// bicycle 1); empty keeps all. A box's class is its best-scoring one,
	// chosen among all classes before this filter, as ultralytics does.
	Classes []int
	// Score keeps boxes with score > Score.
	Score float64
	// IoU is the NMS threshold: a box is dropped when its IoU with a
	// higher-scoring kept box is > IoU. 1 turns NMS off.
	IoU float64
	// ClassAgnostic lets boxes of any class suppress each other; otherwise
	// NMS is per class.
	ClassAgnostic bool
	// MaxDet keeps at most this many boxes per frame after NMS; 0 keeps all.
	MaxDet int

	Device  ort.Device
	Threads int
}

// DefaultDetectorConfig returns ultralytics' defaults: letterbox with pad
// 114/255, half-pixel resize, inputs in 0..1, score 0.25, per-class NMS at
// IoU 0.45, at most 300 boxes, persons and bicycles (COCO 0 and 1).
func DefaultDetectorConfig(model string) DetectorConfig {
	return DetectorConfig{
		Model: model, Layout: LayoutAuto, Letterbox: true, Pad: 114.0 / 255, Interp: HalfPixel,
		InputRange: 1, Classes: []int{0, 1}, Score: 0.25, IoU: 0.45, MaxDet: 300, Device: ort.CPU,
	}
}

func (c DetectorConfig) validate() error {
	var errs []error
	if c.Model == "" {
		errs = append(errs, errors.New("no model file given"))
	}
	if _, err := ParseLayout(string(c.Layout)); err != nil {
		errs = append(errs, err)
	}
	if _, err := ParseInterp(string(c.Interp)); err != nil {
		errs = append(errs, err)
	}
	if c.InputRange != 1 && c.InputRange != 255 {
		errs = append(errs, fmt.Errorf("input range %g: use 1 (inputs in 0..1) or 255 (0..255)", c.InputRange))
	}
	if c.InputW < 0 || c.InputH < 0 || (c.InputW == 0) != (c.InputH == 0) {
		errs = append(errs, fmt.Errorf("input size %dx%d: give both width and height, or neither", c.InputW, c.InputH))
	}
	if c.Score < 0 || c.Score >= 1 {
		errs = append(errs, fmt.Errorf("score threshold %g: want 0 <= score < 1", c.Score))
	}
	if c.IoU < 0 || c.IoU > 1 {
		errs = append(errs, fmt.Errorf("NMS IoU threshold %g: want 0..1", c.IoU))
	}
	if c.MaxDet < 0 {
		errs = append(errs, fmt.Errorf("max detections %d: want >= 0", c.MaxDet))
	}
	for _, k := range c.Classes {
		if k < 0 {
			errs = append(errs, fmt.Errorf("class %d: class indices are >= 0", k))
		}
	}
	if c.Pad < 0 || c.Pad > 1 {
		errs = append(errs, fmt.Errorf("letterbox pad %g: want 0..1 (114/255 as ultralytics)", c.Pad))
	}
	return errors.Join(errs...)
}

// Detector runs an ONNX detector on frames. It is not safe for concurrent
// use.
type Detector struct {
	cfg     DetectorConfig
	sess    *ort.Session
	in, out *ort.Tensor
	input   string // input tensor name
	output  string // output tensor name
	inH     int
	inW     int
	shape   []int64 // output shape
	layout  Layout
	classes map[int]bool
}

// tensorInfo is a declared graph input or output; -1 marks a symbolic dim.
type tensorInfo struct {
	name  string
	elem  int32
	shape []int64
}

func infos(vs []*onnxpb.ValueInfoProto, skip map[string]bool) []tensorInfo {
	var out []tensorInfo
	for _, v := range vs {
		if skip[v.GetName()] {
			continue
		}
		tt := v.GetType().GetTensorType()
		ti := tensorInfo{name: v.GetName(), elem: tt.GetElemType()}
		for _, d := range tt.GetShape().GetDim() {
			if d.GetDimValue() > 0 {
				ti.shape = append(ti.shape, d.GetDimValue())
			} else {
				ti.shape = append(ti.shape, -1)
			}
		}
		out = append(out, ti)
	}
	return out
}

// NewDetector loads the model, checks its input and output against cfg and
// opens an ONNX Runtime session on rt.
func NewDetector(rt *ort.Runtime, cfg DetectorConfig) (*Detector, error) {
	if cfg.Layout == "" {
		cfg.Layout = LayoutAuto
	}
	if cfg.Interp == "" {
		cfg.Interp = HalfPixel
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("detector %s: %w", cfg.Model, err)
	}
	b, err := os.ReadFile(cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	m, err := graph.DecodeModel(b, cfg.Model)
	if err != nil {
		return nil, fmt.Errorf("detector: %w", err)
	}
	inits := map[string]bool{}
	for _, t := range m.GetGraph().GetInitializer() {
		inits[t.GetName()] = true
	}
	ins := infos(m.GetGraph().GetInput(), inits)
	outs := infos(m.GetGraph().GetOutput(), nil)
	d := &Detector{cfg: cfg}
	if err := d.pickInput(ins); err != nil {
		return nil, fmt.Errorf("detector %s: %w", cfg.Model, err)
	}
	if err := d.pickOutput(m, outs); err != nil {
		return nil, fmt.Errorf("detector %s: %w", cfg.Model, err)
	}
	layout, err := DecideLayout(cfg.Layout, d.shape, d.inH, d.inW)
	if err != nil {
		return nil, fmt.Errorf("detector %s: output %q of shape %v: %w", cfg.Model, d.output, d.shape, err)
	}
	d.layout = layout
	if len(cfg.Classes) > 0 {
		d.classes = map[int]bool{}
		for _, k := range cfg.Classes {
			d.classes[k] = true
		}
	}
	sess, err := rt.NewSession(b, []string{d.input}, []string{d.output}, ort.Options{Device: cfg.Device, Threads: cfg.Threads})
	if err != nil {
		return nil, fmt.Errorf("detector %s: %w", cfg.Model, err)
	}
	d.sess = sess
	if d.in, err = ort.ZerosTensor([]int64{1, 3, int64(d.inH), int64(d.inW)}); err != nil {
		d.Close()
		return nil, err
	}
	if d.out, err = ort.ZerosTensor(d.shape); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Detector) pickInput(ins []tensorInfo) error {
	if len(ins) != 1 {
		var names []string
		for _, t := range ins {
			names = append(names, t.name)
		}
		return fmt.Errorf("model has %d inputs (%s); a detector takes one image input [1, 3, H, W]", len(ins), strings.Join(names, ", "))
	}
	in := ins[0]
	d.input = in.name
	if in.elem != int32(onnxpb.TensorProto_FLOAT) {
		return fmt.Errorf("input %q is of ONNX type %d, not float32; export the detector with float32 inputs (no half precision)", in.name, in.elem)
	}
	s := in.shape
	if len(s) != 4 || (s[0] != 1 && s[0] != -1) || (s[1] != 3 && s[1] != -1) {
		return fmt.Errorf("input %q has shape %v; want [1, 3, H, W] (batch 1, RGB)", in.name, s)
	}
	h, w := int(s[2]), int(s[3])
	switch {
	case d.cfg.InputW > 0 && h > 0 && w > 0 && (h != d.cfg.InputH || w != d.cfg.InputW):
		return fmt.Errorf("input %q is fixed at %dx%d (WxH); the configured input size %dx%d does not fit; leave it unset", in.name, w, h, d.cfg.InputW, d.cfg.InputH)
	case d.cfg.InputW > 0:
		h, w = d.cfg.InputH, d.cfg.InputW
	case h <= 0 || w <= 0:
		return fmt.Errorf("input %q has a dynamic size %v; give the input size (e.g. 640x640)", in.name, s)
	}
	d.inH, d.inW = h, w
	return nil
}

func (d *Detector) pickOutput(m *onnxpb.ModelProto, outs []tensorInfo) error {
	var o *tensorInfo
	if d.cfg.Output != "" {
		for i := range outs {
			if outs[i].name == d.cfg.Output {
				o = &outs[i]
			}
		}
		if o == nil {
			return fmt.Errorf("no output %q; the model's outputs are %s", d.cfg.Output, describe(outs))
		}
	} else {
		var cands []int
		for i, t := range outs {
			if len(t.shape) == 3 {
				cands = append(cands, i)
			}
		}
		if len(cands) != 1 {
			return fmt.Errorf("cannot tell which output holds the boxes: %d of the outputs %s have rank 3; name one", len(cands), describe(outs))
		}
		o = &outs[cands[0]]
	}
	d.output = o.name
	if o.elem != int32(onnxpb.TensorProto_FLOAT) {
		return fmt.Errorf("output %q is of ONNX type %d, not float32; export the detector in float32", o.name, o.elem)
	}
	shape := slices.Clone(o.shape)
	if len(shape) > 0 && shape[0] == -1 {
		shape[0] = 1
	}
	if slices.Contains(shape, -1) {
		// The declared shape is symbolic; ask the graph builder's shape
		// inference for the size at this input.
		g, err := graph.Import(m, graph.ImportOptions{InputShapes: map[string]graph.Shape{d.input: {1, 3, int64(d.inH), int64(d.inW)}}})
		if err != nil || len(g.Shape(o.name)) != len(shape) {
			return fmt.Errorf("output %q has the symbolic shape %v and its size at input %dx%d cannot be inferred (%v); export the detector with static shapes (ultralytics: dynamic=False)", o.name, o.shape, d.inW, d.inH, err)
		}
		shape = slices.Clone(g.Shape(o.name))
	}
	d.shape = shape
	return nil
}

func describe(ts []tensorInfo) string {
	var s []string
	for _, t := range ts {
		s = append(s, fmt.Sprintf("%s %v", t.name, t.shape))
	}
	return strings.Join(s, ", ")
}

// yoloCells is the number of grid cells of a YOLO head with strides 8, 16
// and 32 (and 64 for the P6 models) at an input size.
func yoloCells(inH, inW int, p6 bool) int64 {
	strides := []int{8, 16, 32}
	if p6 {
		strides = append(strides, 64)
	}
	var n int64
	for _, s := range strides {
		n += int64((inH+s-1)/s) * int64((inW+s-1)/s)
	}
	return n
}

// DecideLayout resolves LayoutAuto from an output shape [1, A, B] and the
// input size, and checks an explicit layout against the shape:
//
//   - A < B, A >= 5: yolov8 (4 box values + A-4 classes along A, N = B);
//   - A > B, B > 6: yolov5 (N = A rows of 5 + B-5 values);
//   - A > B, B == 6: yolov5 with one class or an already-decoded list; it
//     is yolov5 when A is the anchor count of a YOLOv5 head at this input
//     (3 anchors per cell at strides 8, 16, 32, or 8..64), else decoded;
//   - anything else (A == B, rank not 3, too few values per box) is refused.
func DecideLayout(l Layout, shape []int64, inH, inW int) (Layout, error) {
	if len(shape) != 3 || shape[0] != 1 {
		return "", fmt.Errorf("unknown output layout: want rank 3 [1, A, B] (yolov8 [1, 4+classes, N], yolov5 [1, N, 5+classes], decoded [1, N, 6])")
	}
	a, b := shape[1], shape[2]
	switch l {
	case LayoutYOLOv8:
		if a < 5 {
			return "", fmt.Errorf("layout yolov8 wants [1, 4+classes, N] with at least one class")
		}
		return l, nil
	case LayoutYOLOv5:
		if b < 6 {
			return "", fmt.Errorf("layout yolov5 wants [1, N, 5+classes] with at least one class")
		}
		return l, nil
	case LayoutDecoded:
		if b != 6 {
			return "", fmt.Errorf("layout decoded wants [1, N, 6] (x1, y1, x2, y2, score, class)")
		}
		return l, nil
	}
	switch {
	case a == b:
		return "", fmt.Errorf("ambiguous output layout: [1, A, B] with A == B could be yolov8 or yolov5; set the layout")
	case a < b && a >= 5:
		return LayoutYOLOv8, nil
	case a > b && b > 6:
		return LayoutYOLOv5, nil
	case a > b && b == 6:
		if a == 3*yoloCells(inH, inW, false) || a == 3*yoloCells(inH, inW, true) {
			return LayoutYOLOv5, nil
		}
		return LayoutDecoded, nil
	}
	return "", fmt.Errorf("unknown output layout: too few values per box; want yolov8 [1, 4+classes, N], yolov5 [1, N, 5+classes] or decoded [1, N, 6]")
}

// DecodeOutput turns an output of a known layout into boxes in input
// pixels, keeping those with score > minScore whose class keep accepts (nil
// keeps all). Video and frame are left empty.
func DecodeOutput(l Layout, shape []int64, vals []float32, minScore float64, keep func(class int) bool) ([]Box, error) {
	if len(shape) != 3 || int64(len(vals)) != shape[0]*shape[1]*shape[2] {
		return nil, fmt.Errorf("decode %s output: %d values for shape %v", l, len(vals), shape)
	}
	a, b := int(shape[1]), int(shape[2])
	ok := func(score float64, class int) bool {
		return score > minScore && (keep == nil || keep(class))
	}
	var out []Box
	switch l {
	case LayoutYOLOv8:
		n, nc := b, a-4
		for j := range n {
			best, cls := float32(-1), -1
			for c := range nc {
				if v := vals[(4+c)*n+j]; v > best {
					best, cls = v, c
				}
			}
			if !ok(float64(best), cls) {
				continue
			}
			out = append(out, cxcywh(vals[j], vals[n+j], vals[2*n+j], vals[3*n+j], best, cls))
		}
	case LayoutYOLOv5:
		n, nc := a, b-5
		for j := range n {
			r := vals[j*b : (j+1)*b]
			best, cls := float32(-1), -1
			for c := range nc {
				if v := r[5+c]; v > best {
					best, cls = v, c
				}
			}
			s := r[4] * best
			if !ok(float64(s), cls) {
				continue
			}
			out = append(out, cxcywh(r[0], r[1], r[2], r[3], s, cls))
		}
	case LayoutDecoded:
		if b != 6 {
			return nil, fmt.Errorf("decode decoded output: shape %v, want [1, N, 6]", shape)
		}
		for j := range a {
			r := vals[j*6 : (j+1)*6]
			cls := int(r[5] + 0.5)
			if r[5] < 0 {
				cls = -1
			}
			if !ok(float64(r[4]), cls) {
				continue
			}
			out = append(out, Box{X1: float64(r[0]), Y1: float64(r[1]), X2: float64(r[2]), Y2: float64(r[3]), Score: float64(r[4]), Class: cls})
		}
	default:
		return nil, fmt.Errorf("decode output: layout %q is not a concrete layout", l)
	}
	return out, nil
}

func cxcywh(cx, cy, w, h, score float32, cls int) Box {
	x, y, hw, hh := float64(cx), float64(cy), float64(w)/2, float64(h)/2
	return Box{X1: x - hw, Y1: y - hh, X2: x + hw, Y2: y + hh, Score: float64(score), Class: cls}
}

// InputSize is the detector's input width and height.
func (d *Detector) InputSize() (w, h int) { return d.inW, d.inH }

// Layout is the output layout in use (auto resolved).
func (d *Detector) Layout() Layout { return d.layout }

// Detect finds boxes in one frame: img has C=3 and values in [0, 1] (a
// imageio.Decoder with C 3, RangeUnit and the source size). Boxes come back
// in frame pixels, clipped to the frame, sorted by score, with Video and
// Frame empty.
func (d *Detector) Detect(img imageio.Image) ([]Box, error) {
	if img.C != 3 {
		return nil, fmt.Errorf("detector %s: frame has %d channels, want 3 (RGB)", d.cfg.Model, img.C)
	}
	g := prepare(d.in.GetData(), img, d.inH, d.inW, d.cfg.Letterbox, float32(d.cfg.Pad*d.cfg.InputRange), float32(d.cfg.InputRange), d.cfg.Interp)
	if err := d.sess.Run(context.Background(), []*ort.Tensor{d.in}, []*ort.Tensor{d.out}); err != nil {
		return nil, fmt.Errorf("detector %s: %w", d.cfg.Model, err)
	}
	var keep func(int) bool
	if d.classes != nil {
		keep = func(c int) bool { return d.classes[c] }
	}
	boxes, err := DecodeOutput(d.layout, d.shape, d.out.GetData(), d.cfg.Score, keep)
	if err != nil {
		return nil, fmt.Errorf("detector %s: %w", d.cfg.Model, err)
	}
	boxes = NMS(boxes, d.cfg.IoU, !d.cfg.ClassAgnostic, d.cfg.MaxDet)
	W, H := float64(img.W), float64(img.H)
	out := boxes[:0]
	for _, b := range boxes {
		b = g.toFrame(b)
		b.X1, b.Y1 = max(b.X1, 0), max(b.Y1, 0)
		b.X2, b.Y2 = min(b.X2, W), min(b.Y2, H)
		if b.X2 > b.X1 && b.Y2 > b.Y1 {
			out = append(out, b)
		}
	}
	return out, nil
}

// Close frees the session and tensors.
func (d *Detector) Close() error {
	var errs []error
	if d.sess != nil {
		errs = append(errs, d.sess.Destroy())
	}
	errs = append(errs, ort.DestroyAll(d.in, d.out))
	d.sess, d.in, d.out = nil, nil, nil
	return errors.Join(errs...)
}
