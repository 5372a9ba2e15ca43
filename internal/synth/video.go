package synth

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"

	"codeberg.org/sbinet/npyio/npy"
)

// Anomaly kinds in synthetic test videos.
const (
	// KindWrongDirection: an ordinary object moving vertically instead of
	// left-right.
	KindWrongDirection = "wrong_direction"
	// KindWrongSpeed: an ordinary object moving left-right 3-4 times faster
	// than the normal objects.
	KindWrongSpeed = "wrong_speed"
	// KindUnseenObject: a large bright triangle, a shape and size never seen
	// in training.
	KindUnseenObject = "unseen_object"
	// KindWrongLook: an object of a look never seen in training (dark,
	// checkered, triangular) that moves exactly like the normal objects:
	// left-right at walking speed. A frame predictor can carry it along
	// from the past frames, so its prediction error stays low; the
	// motivating case of feature mimicking.
	KindWrongLook = "wrong_look"

	// KindNormal is the kind of a frame without an anomaly in
	// FrameKindsFile.
	KindNormal = "normal"
)

// FrameKindsFile is the per-frame anomaly kind table GenerateVideo writes
// into the dataset root: header video,frame,kind; one row per test frame,
// kind KindNormal for a normal frame.
const FrameKindsFile = "frame_kinds.csv"

var anomalyKinds = [...]string{KindWrongDirection, KindWrongSpeed, KindUnseenObject, KindWrongLook}

// VideoOptions sizes a synthetic frames-layout video dataset. Zero values
// take the defaults noted on each field.
type VideoOptions struct {
	Log         *slog.Logger // where the summary line goes; nil: nowhere
	Out         string       // output root (required)
	Name        string       // labels file is frame_labels_<Name>.npy; default "synth"
	Width       int          // default 64, 16..4096
	Height      int          // default 64, 16..4096
	TrainVideos int          // default 4, at most 99
	TestVideos  int          // default 4, at most 99
	Frames      int          // frames per video, default 60, 8..999
	Seed        uint64
	Force       bool // replace a non-empty Out
}

// VideoSummary describes what GenerateVideo wrote.
type VideoSummary struct {
	Root            string
	LabelsPath      string // the .npy frame labels
	Width, Height   int
	TrainVideos     int
	TestVideos      int
	TrainFrames     int
	TestFrames      int
	AnomalousFrames int
	Files           int
}

var videoNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

func (o *VideoOptions) setDefaults() error {
	if o.Name == "" {
		o.Name = "synth"
	}
	if o.Width == 0 {
		o.Width = 64
	}
	if o.Height == 0 {
		o.Height = 64
	}
	if o.TrainVideos == 0 {
		o.TrainVideos = 4
	}
	if o.TestVideos == 0 {
		o.TestVideos = 4
	}
	if o.Frames == 0 {
		o.Frames = 60
	}
	switch {
	case !videoNameRE.MatchString(o.Name):
		return fmt.Errorf("video synth: name %q must be letters, digits, '_' or '-' (it names frame_labels_<name>.npy)", o.Name)
	case o.Width < 16 || o.Width > 4096 || o.Height < 16 || o.Height > 4096:
		return fmt.Errorf("video synth: frame size %dx%d out of range, want 16..4096 per side", o.Width, o.Height)
	case o.TrainVideos < 0 || o.TrainVideos > 99 || o.TestVideos < 0 || o.TestVideos > 99:
		// Two-digit names keep lexical and numeric order the same.
		return fmt.Errorf("video synth: video counts (train %d, test %d) must be 1..99 (0 takes the default 4)", o.TrainVideos, o.TestVideos)
	case o.Frames < 8 || o.Frames > 999:
		// Three-digit frame names keep lexical and numeric order the same.
		return fmt.Errorf("video synth: %d frames per video out of range, want 8..999", o.Frames)
	}
	return nil
}

// GenerateVideo writes a small video anomaly dataset in the layout of the
// real sets (UCSD Ped2 as commonly preprocessed, MNAD labels):
//
//	<Out>/training/frames/NN/NNN.png       normal videos
//	<Out>/testing/frames/NN/NNN.png        test videos
//	<Out>/testing/pixel_masks/NN/NNN.png   one 0/255 mask per test frame
//	<Out>/frame_labels_<Name>.npy          int64, shape (1, total test frames)
//	<Out>/labels.json                      lengths, anomalous ranges, events
//	<Out>/frame_kinds.csv                  video,frame,kind of every test frame
//
// Videos are 01, 02, ... and frames 000, 001, ... (0-based, like Ped2's
// frames); mask NNN.png belongs to frame NNN.png (unlike Ped2's 1-based mask
// files). Frames are 8-bit gray PNGs: a noisy gray background with 2-4
// squares and disks walking left-right at constant speeds. Test videos add
// anomalous intervals (KindWrongDirection, KindWrongSpeed, KindUnseenObject,
// KindWrongLook); a frame's label is 1 exactly when an anomalous object is
// visible in it, its kind in frame_kinds.csv is that object's kind, and its
// mask is 255 exactly on the pixels that object changed. The output
// is byte-identical for equal options. It is built in a temporary folder
// beside Out and renamed into place.
func GenerateVideo(ctx context.Context, opts VideoOptions) (VideoSummary, error) {
	if err := opts.setDefaults(); err != nil {
		return VideoSummary{}, err
	}
	st, err := stage(opts.Out, opts.Force)
	if err != nil {
		return VideoSummary{}, err
	}
	sum := VideoSummary{
		Root: st.final, Width: opts.Width, Height: opts.Height,
		TrainVideos: opts.TrainVideos, TestVideos: opts.TestVideos,
	}
	if err := writeVideos(ctx, st, opts, &sum); err != nil {
		st.abort()
		return VideoSummary{}, err
	}
	if err := st.commit(); err != nil {
		st.abort()
		return VideoSummary{}, err
	}
	sum.LabelsPath = filepath.Join(st.final, labelsFileName(opts.Name))
	logOrDiscard(opts.Log).Info("wrote synthetic video dataset", "root", sum.Root, "test_frames", sum.TestFrames, "anomalous", sum.AnomalousFrames)
	return sum, nil
}

func labelsFileName(name string) string { return "frame_labels_" + name + ".npy" }

// videoLabels is labels.json, for people reading the dataset.
type videoLabels struct {
	Name           string            `json:"name"`
	Width          int               `json:"width"`
	Height         int               `json:"height"`
	Seed           uint64            `json:"seed"`
	FrameNumbering string            `json:"frame_numbering"`
	Train          []trainVideoLabel `json:"train"`
	Test           []testVideoLabel  `json:"test"`
}

type trainVideoLabel struct {
	Video  string `json:"video"`
	Frames int    `json:"frames"`
}

type testVideoLabel struct {
	Video           string       `json:"video"`
	Frames          int          `json:"frames"`
	AnomalousFrames int          `json:"anomalous_frames"`
	AnomalousRanges [][2]int     `json:"anomalous_ranges"`
	Events          []eventLabel `json:"events"`
}

type eventLabel struct {
	Kind  string `json:"kind"`
	First int    `json:"first"`
	Last  int    `json:"last"`
}

func writeVideos(ctx context.Context, st *staging, opts VideoOptions, sum *VideoSummary) error {
	doc := videoLabels{
		Name: opts.Name, Width: opts.Width, Height: opts.Height, Seed: opts.Seed,
		FrameNumbering: "0-based: frames/NN/000.png is frame 0; pixel_masks/NN/000.png is its mask; ranges are [first, last] frame indices, inclusive",
		Train:          []trainVideoLabel{},
		Test:           []testVideoLabel{},
	}
	pw := newPNGWriter()
	for v := range opts.TrainVideos {
		video := fmt.Sprintf("%02d", v+1)
		sc := newVideoScene(opts, "train", v)
		for t := range opts.Frames {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("video synth: %w", err)
			}
			r, _ := sc.render(t, false)
			if err := pw.write(st.path("training", "frames", video, fmt.Sprintf("%03d.png", t)), r.image()); err != nil {
				return err
			}
			sum.Files++
			sum.TrainFrames++
		}
		doc.Train = append(doc.Train, trainVideoLabel{Video: video, Frames: opts.Frames})
	}

	var labels []int64
	kinds := [][]string{{"video", "frame", "kind"}}
	for v := range opts.TestVideos {
		video := fmt.Sprintf("%02d", v+1)
		sc := newVideoScene(opts, "test", v)
		entry := testVideoLabel{Video: video, Frames: opts.Frames, AnomalousRanges: [][2]int{}, Events: []eventLabel{}}
		seen := make([][]int, len(sc.events)) // visible frames per event
		for t := range opts.Frames {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("video synth: %w", err)
			}
			r, mask := sc.render(t, true)
			if err := pw.write(st.path("testing", "frames", video, fmt.Sprintf("%03d.png", t)), r.image()); err != nil {
				return err
			}
			if err := pw.write(st.path("testing", "pixel_masks", video, fmt.Sprintf("%03d.png", t)), maskImage(mask, r.h, r.w)); err != nil {
				return err
			}
			sum.Files += 2
			sum.TestFrames++
			var label int64
			kind := KindNormal
			for e := range sc.events {
				if sc.visible(e, t) {
					seen[e] = append(seen[e], t)
					label = 1
					// Events lie in separate parts of a video: at most
					// one is visible.
					kind = sc.events[e].kind
				}
			}
			labels = append(labels, label)
			kinds = append(kinds, []string{video, fmt.Sprint(t), kind})
			if label == 1 {
				entry.AnomalousFrames++
				if n := len(entry.AnomalousRanges); n > 0 && entry.AnomalousRanges[n-1][1] == t-1 {
					entry.AnomalousRanges[n-1][1] = t
				} else {
					entry.AnomalousRanges = append(entry.AnomalousRanges, [2]int{t, t})
				}
			}
		}
		for e, ev := range sc.events {
			if len(seen[e]) > 0 {
				entry.Events = append(entry.Events, eventLabel{Kind: ev.kind, First: seen[e][0], Last: seen[e][len(seen[e])-1]})
			}
		}
		sum.AnomalousFrames += entry.AnomalousFrames
		doc.Test = append(doc.Test, entry)
	}

	var buf bytes.Buffer
	if err := npy.Write(&buf, [][]int64{labels}); err != nil {
		return fmt.Errorf("encode %s: %w", labelsFileName(opts.Name), err)
	}
	if err := os.WriteFile(st.path(labelsFileName(opts.Name)), buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", labelsFileName(opts.Name), err)
	}
	js, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return fmt.Errorf("encode labels.json: %w", err)
	}
	if err := os.WriteFile(st.path("labels.json"), append(js, '\n'), 0o644); err != nil {
		return fmt.Errorf("write labels.json: %w", err)
	}
	var kb bytes.Buffer
	cw := csv.NewWriter(&kb)
	if err := cw.WriteAll(kinds); err != nil {
		return fmt.Errorf("encode %s: %w", FrameKindsFile, err)
	}
	if err := os.WriteFile(st.path(FrameKindsFile), kb.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", FrameKindsFile, err)
	}
	sum.Files += 3
	return nil
}

type shapeKind int

const (
	shapeSquare shapeKind = iota
	shapeDisk
	shapeTriangle
)

// mover is a flat-shaded shape moving at a constant velocity. (x0, y0) is
// the top-left of its size×size box at frame t0.
type mover struct {
	shape  shapeKind
	size   float64
	value  uint8
	x0, y0 float64
	vx, vy float64
	t0     int
	wrap   bool // leaves one side and comes back on the other (normal walkers)
	// alt, when not 0, checkers the shape: pixels whose offset from the
	// shape's box has an odd sum take alt instead of value.
	alt uint8
}

func (m mover) pos(t, w int) (x, y float64) {
	dt := float64(t - m.t0)
	x, y = m.x0+m.vx*dt, m.y0+m.vy*dt
	if m.wrap {
		period := float64(w) + m.size
		x = math.Mod(x+m.size, period)
		if x < 0 {
			x += period
		}
		x -= m.size
	}
	return x, y
}

// covers reports whether the pixel centre (cx, cy) lies in the shape whose
// box has top-left (x, y).
func (m mover) covers(x, y, cx, cy float64) bool {
	s := m.size
	switch m.shape {
	case shapeDisk:
		return math.Hypot(cx-x-s/2, cy-y-s/2) <= s/2
	case shapeTriangle: // apex up, base at the bottom of the box
		return cy >= y && cy < y+s && math.Abs(cx-x-s/2) <= (cy-y)/2
	default:
		return cx >= x && cx < x+s && cy >= y && cy < y+s
	}
}

// draw calls paint for each covered pixel of the w×h frame at frame t.
func (m mover) draw(t, w, h int, paint func(i int)) {
	x, y := m.pos(t, w)
	x0, x1 := max(0, int(math.Floor(x))), min(w-1, int(math.Ceil(x+m.size)))
	y0, y1 := max(0, int(math.Floor(y))), min(h-1, int(math.Ceil(y+m.size)))
	for py := y0; py <= y1; py++ {
		for px := x0; px <= x1; px++ {
			if m.covers(x, y, float64(px)+0.5, float64(py)+0.5) {
				paint(py*w + px)
			}
		}
	}
}

// shade is the gray value of pixel i of the w-wide frame at frame t, which
// the shape covers. The checker moves with the shape.
func (m mover) shade(t, w, i int) uint8 {
	if m.alt == 0 {
		return m.value
	}
	x, y := m.pos(t, w)
	dx, dy := i%w-int(math.Floor(x)), i/w-int(math.Floor(y))
	if (dx+dy)%2 != 0 {
		return m.alt
	}
	return m.value
}

// event is an anomalous object present during frames [start, end).
type event struct {
	kind       string
	start, end int
	actor      mover
}

// videoScene is everything random about one video, drawn up front from the
// video's own stream; frame noise comes from per-frame streams. A frame can
// so be rendered on its own, with or without its anomalies.
type videoScene struct {
	w, h    int
	seed    uint64
	name    string
	bg      []float64
	objects []mover
	events  []event
}

func newVideoScene(opts VideoOptions, split string, idx int) *videoScene {
	name := fmt.Sprintf("%s/%02d", split, idx+1)
	rng := streamRNG(opts.Seed, name)
	w, h := opts.Width, opts.Height
	sc := &videoScene{w: w, h: h, seed: opts.Seed, name: name, bg: make([]float64, w*h)}

	level := 100 + uniform(rng, -10, 10)
	for i := range sc.bg {
		sc.bg[i] = level + 4*rng.NormFloat64()
	}
	scale := float64(w) / 64
	n := 2 + rng.IntN(3)
	band := float64(h) / float64(n)
	for k := range n {
		m := randomWalker(rng, scale)
		// One walker per horizontal band, so normal objects do not overlap.
		m.y0 = float64(k)*band + uniform(rng, 0, math.Max(0, band-m.size))
		m.x0 = uniform(rng, 0, float64(w))
		m.wrap = true
		sc.objects = append(sc.objects, m)
	}
	if split == "test" {
		sc.events = planEvents(rng, idx, opts.Frames, w, h, scale)
	}
	return sc
}

// randomWalker draws a normal object: a square or disk of 5-8 px (at 64 px
// width), light gray, walking left or right at 0.8-1.3 px per frame.
func randomWalker(rng *rand.Rand, scale float64) mover {
	m := mover{
		shape: shapeKind(rng.IntN(2)),
		size:  math.Round(uniform(rng, 5, 8) * scale),
		value: uint8(170 + rng.IntN(50)),
		vx:    uniform(rng, 0.8, 1.3) * scale,
	}
	if rng.IntN(2) == 0 {
		m.vx = -m.vx
	}
	return m
}

// planEvents gives test video idx one anomalous interval, of kind idx mod 4,
// and every fourth video a second one of the next kind; intervals lie in
// separate parts of the video. Moving anomalies start just inside an edge of
// the frame, so they are visible from their first frame; the unseen object
// appears whole.
func planEvents(rng *rand.Rand, idx, frames, w, h int, scale float64) []event {
	n := len(anomalyKinds)
	kinds := []string{anomalyKinds[idx%n]}
	if idx%4 == 3 {
		kinds = append(kinds, anomalyKinds[(idx+1)%n])
	}
	seg := frames / len(kinds)
	var evs []event
	for k, kind := range kinds {
		lo := k * seg
		start := lo + seg/5 + rng.IntN(max(1, seg/2-seg/5))
		end := min(lo+seg, start+max(3, seg/3+rng.IntN(max(1, seg/6))))
		a := randomWalker(rng, scale)
		a.t0 = start
		switch kind {
		case KindWrongDirection:
			a.x0 = uniform(rng, 0.15*float64(w), 0.85*float64(w)-a.size)
			speed := math.Abs(a.vx)
			a.vx = 0
			if rng.IntN(2) == 0 {
				a.vy, a.y0 = speed, 1-a.size // entering at the top
			} else {
				a.vy, a.y0 = -speed, float64(h)-1 // entering at the bottom
			}
		case KindWrongSpeed:
			a.vx *= uniform(rng, 3, 4)
			a.y0 = uniform(rng, 0, float64(h)-a.size)
			if a.vx > 0 {
				a.x0 = 1 - a.size // entering at the left
			} else {
				a.x0 = float64(w) - 1 // entering at the right
			}
		case KindUnseenObject:
			// It appears whole, away from the edges: at walking speed it
			// would take most of the interval to come in.
			a.shape = shapeTriangle
			a.size = math.Round(0.35 * float64(min(w, h)))
			a.value = 250
			a.x0 = uniform(rng, 0.1*float64(w), 0.9*float64(w)-a.size)
			a.y0 = uniform(rng, 0, float64(h)-a.size)
		case KindWrongLook:
			// A walker's size, speed and entry, a look no walker has:
			// a triangle, dark where walkers are light, checkered.
			a.shape = shapeTriangle
			a.value, a.alt = uint8(20+rng.IntN(20)), uint8(70+rng.IntN(20))
			a.y0 = uniform(rng, 0, float64(h)-a.size)
			if a.vx > 0 {
				a.x0 = 1 - a.size
			} else {
				a.x0 = float64(w) - 1
			}
		}
		evs = append(evs, event{kind: kind, start: start, end: end, actor: a})
	}
	return evs
}

// visible reports whether event e's object has a pixel in frame t.
func (sc *videoScene) visible(e, t int) bool {
	ev := sc.events[e]
	if t < ev.start || t >= ev.end {
		return false
	}
	found := false
	ev.actor.draw(t, sc.w, sc.h, func(int) { found = true })
	return found
}

// render draws frame t, with the anomalous objects or without them, and
// returns the mask of the pixels the anomalous objects changed.
func (sc *videoScene) render(t int, anomalies bool) (*raster, []bool) {
	r := newRaster(1, sc.h, sc.w)
	noise := streamRNG(sc.seed, fmt.Sprintf("%s/frame/%03d", sc.name, t))
	for i, v := range sc.bg {
		r.pix[i] = byte8(v + 1.5*noise.NormFloat64())
	}
	for _, m := range sc.objects {
		m.draw(t, sc.w, sc.h, func(i int) { r.pix[i] = m.value })
	}
	mask := make([]bool, sc.w*sc.h)
	if !anomalies {
		return r, mask
	}
	for _, ev := range sc.events {
		if t < ev.start || t >= ev.end {
			continue
		}
		ev.actor.draw(t, sc.w, sc.h, func(i int) { r.paint(i, []uint8{ev.actor.shade(t, sc.w, i)}, mask) })
	}
	return r, mask
}
