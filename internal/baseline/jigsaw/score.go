package jigsaw

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/fmam/fmam/internal/metrics"
)

// Object is one scored object of a test video.
type Object struct {
	Video string
	// Frame is the 0-based index of the frame the box belongs to, the
	// centre frame of the object's cube.
	Frame int
	// Box is x1, y1, x2, y2 in pixels of the full frame.
	Box [4]float64
	// Temporal and Spatial are the branch scores (OutTemporalScore,
	// OutSpatialScore): high = normal.
	Temporal, Spatial float64
}

// Video describes one test video.
type Video struct {
	Name          string
	Frames        int
	Width, Height int // frame size in pixels
}

// Protocol selects how object scores become frame scores.
type Protocol struct {
	// Maps: per-video score volumes over blocks of BlockScale pixels
	// (aggregate.py's remake_video_3d_output, used for Ped2 and Avenue);
	// otherwise per-frame minima (remake_video_output, ShanghaiTech).
	Maps bool
	// BlockScale is the map's block size in pixels: 1 for Ped2, 20 for
	// Avenue.
	BlockScale int
	// MapFilter is the side of the cubic mean filter over (frame, y, x)
	// (5).
	MapFilter int
	// FrameWindow is the mean filter length of the per-frame protocol
	// (43).
	FrameWindow int
}

// ProtocolFor returns the official protocol of a dataset: ped2, avenue or
// shanghaitech.
func ProtocolFor(dataset string) (Protocol, error) {
	switch dataset {
	case "ped2":
		return Protocol{Maps: true, BlockScale: 1, MapFilter: 5}, nil
	case "avenue":
		return Protocol{Maps: true, BlockScale: 20, MapFilter: 5}, nil
	case "shanghaitech":
		return Protocol{FrameWindow: 43}, nil
	}
	return Protocol{}, fmt.Errorf("jigsaw: no official scoring protocol for dataset %q (ped2, avenue, shanghaitech); build a Protocol yourself", dataset)
}

// FrameScores are one video's scores.
type FrameScores struct {
	Video string
	// Spatial, Temporal and Combined are the normality scores of the
	// aggregation (high = normal), per branch and fused, as aggregate.py
	// returns them.
	Spatial, Temporal, Combined []float64
	// Anomaly is what the official evaluation ranks: 1 - Combined,
	// smoothed by its Gaussian (GaussianSmooth).
	Anomaly []float64
}

// Score turns per-object scores into per-frame scores of every video, in
// the order of videos. Objects of videos not listed are an error.
func Score(videos []Video, objects []Object, p Protocol) ([]FrameScores, error) {
	byVideo := map[string][]Object{}
	index := map[string]int{}
	for i, v := range videos {
		if _, dup := index[v.Name]; dup {
			return nil, fmt.Errorf("jigsaw score: video %q listed twice", v.Name)
		}
		if v.Frames < 1 {
			return nil, fmt.Errorf("jigsaw score: video %q has %d frames", v.Name, v.Frames)
		}
		index[v.Name] = i
	}
	for _, o := range objects {
		i, ok := index[o.Video]
		if !ok {
			return nil, fmt.Errorf("jigsaw score: object of video %q, which is not among the %d test videos", o.Video, len(videos))
		}
		if o.Frame < 0 || o.Frame >= videos[i].Frames {
			return nil, fmt.Errorf("jigsaw score: object of video %q at frame %d; the video has %d frames", o.Video, o.Frame, videos[i].Frames)
		}
		if math.IsNaN(o.Temporal) || math.IsNaN(o.Spatial) {
			return nil, fmt.Errorf("jigsaw score: object of video %q at frame %d has a NaN score", o.Video, o.Frame)
		}
		byVideo[o.Video] = append(byVideo[o.Video], o)
	}
	// Videos are scored independently, on as many goroutines as there are
	// processors: a Ped2 video's maps are two 15-million-cell volumes.
	out := make([]FrameScores, len(videos))
	errs := make([]error, len(videos))
	var next atomic.Int64 // the next video to take
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(videos)) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(videos); i = int(next.Add(1) - 1) {
				out[i], errs[i] = scoreVideo(videos[i], byVideo[videos[i].Name], p)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// scoreVideo is one video's frame scores: the branches' (maps or per-frame
// protocol), their combination, and its Gaussian-smoothed anomaly score.
func scoreVideo(v Video, objs []Object, p Protocol) (FrameScores, error) {
	var fs FrameScores
	var err error
	if p.Maps {
		fs, err = scoreMaps(v, objs, p)
	} else {
		fs, err = scoreFrames(v, objs, p)
	}
	if err != nil {
		return fs, err
	}
	inv := make([]float64, len(fs.Combined))
	for i, s := range fs.Combined {
		inv[i] = 1 - s
	}
	if fs.Anomaly, err = GaussianSmooth(inv); err != nil {
		return fs, fmt.Errorf("jigsaw score: video %s: %w", v.Name, err)
	}
	return fs, nil
}

// scoreMaps is remake_video_3d_output: for each branch a volume of ones
// [frames, H/s, W/s]; every object writes the minimum of its score and
// what is there into its box (rounded to blocks, both ends inclusive) at
// its frame; the volume is min-max normalised with the extremes of the
// video's object scores (so blocks no object touched lie at or above 1:
// normal), mean filtered with a cube of side MapFilter over (frame, y, x)
// padded with ones; a frame's branch score is the minimum over its map,
// the combined score 0.5/0.5 of the two; each of the three is min-max
// normalised over the video. The volumes are float64 throughout (the
// official code filters them in float32 on the GPU).
func scoreMaps(v Video, objs []Object, p Protocol) (FrameScores, error) {
	if p.BlockScale < 1 || p.MapFilter < 1 || p.MapFilter%2 == 0 {
		return FrameScores{}, fmt.Errorf("jigsaw score: map protocol needs a block scale >= 1 and an odd filter size, got %d and %d", p.BlockScale, p.MapFilter)
	}
	if v.Width < 1 || v.Height < 1 {
		return FrameScores{}, fmt.Errorf("jigsaw score: video %q has frame size %dx%d", v.Name, v.Width, v.Height)
	}
	h, w := mapSize(v, p)
	branch := func(score func(Object) float64) []float64 {
		vol, lo, hi := objectMap(v, objs, p, score)
		// Without objects the official extremes stay 1 and 0 and the
		// volume becomes zeros; with one distinct score it would divide
		// by zero, so the volume is left as it is.
		if d := hi - lo; d != 0 {
			for i, x := range vol {
				vol[i] = (x - lo) / d
			}
		}
		boxFilter3(vol, v.Frames, h, w, p.MapFilter)
		fr := make([]float64, v.Frames)
		for f := range fr {
			fr[f] = slices.Min(vol[f*h*w:][:h*w])
		}
		return fr
	}
	sp := branch(func(o Object) float64 { return o.Spatial })
	tp := branch(func(o Object) float64 { return o.Temporal })
	comb := make([]float64, v.Frames)
	for i := range comb {
		comb[i] = 0.5*sp[i] + 0.5*tp[i]
	}
	return FrameScores{Video: v.Name, Spatial: metrics.MinMaxNormalize(sp), Temporal: metrics.MinMaxNormalize(tp), Combined: metrics.MinMaxNormalize(comb)}, nil
}

// mapSize is the block map's height and width (Python's round, half to
// even, of the frame size over the block scale).
func mapSize(v Video, p Protocol) (h, w int) {
	scale := float64(p.BlockScale)
	return int(math.RoundToEven(float64(v.Height) / scale)), int(math.RoundToEven(float64(v.Width) / scale))
}

// objectMap is one branch's raw volume [frames, h, w]: ones, and in each
// object's box (block coordinates rounded half to even, both ends
// inclusive) at its frame the minimum of what is there and the object's
// score; lo and hi are the official extremes (starting from 1 and 0).
func objectMap(v Video, objs []Object, p Protocol, score func(Object) float64) (vol []float64, lo, hi float64) {
	h, w := mapSize(v, p)
	scale := float64(p.BlockScale)
	vol = make([]float64, v.Frames*h*w)
	for i := range vol {
		vol[i] = 1
	}
	lo, hi = 1, 0
	for _, o := range objs {
		s := score(o)
		// np.round(loc / scale) rounds half to even. Negative starts
		// (numpy would count them from the end) are clipped to 0.
		x1 := max(int(math.RoundToEven(o.Box[0]/scale)), 0)
		y1 := max(int(math.RoundToEven(o.Box[1]/scale)), 0)
		x2 := min(int(math.RoundToEven(o.Box[2]/scale)), w-1)
		y2 := min(int(math.RoundToEven(o.Box[3]/scale)), h-1)
		plane := vol[o.Frame*h*w:][:h*w]
		for y := y1; y <= y2; y++ {
			for x := x1; x <= x2; x++ {
				plane[y*w+x] = min(plane[y*w+x], s)
			}
		}
		lo, hi = min(lo, s), max(hi, s)
	}
	return vol, lo, hi
}

// boxFilter3 replaces vol [T, H, W] by its mean over k x k x k cubes with
// out-of-range cells counted as 1 (F.pad with value 1, then avg_pool3d).
// The mean of a box is the mean along each axis in turn, and a row that
// lies wholly in the padding averages to 1, so three 1-D passes that
// treat outside cells as 1 give the same result. Every cell of a pass is
// summed as 0 + term(-r) + ... + term(r), then divided by k, in that order
// whichever way the pass walks memory, so the result does not depend on
// it; the y and frame passes add whole rows and planes at a time, which
// reads memory in order (a pixel's line through the frames is strided by
// a whole plane: walking it cell by cell was most of an evaluation).
func boxFilter3(vol []float64, t, h, w, k int) {
	if k == 1 {
		return
	}
	r := k / 2
	fk := float64(k)
	// Along x: one line per (frame, row).
	line := make([]float64, w)
	for i := range t * h {
		row := vol[i*w : (i+1)*w]
		copy(line, row)
		for j := range w {
			sum := 0.0
			for d := -r; d <= r; d++ {
				if q := j + d; q >= 0 && q < w {
					sum += line[q]
				} else {
					sum++
				}
			}
			row[j] = sum / fk
		}
	}
	// Along y: per frame, each output row the sum of the k rows around it.
	hw := h * w
	frame := make([]float64, hw)
	for f := range t {
		plane := vol[f*hw : (f+1)*hw]
		copy(frame, plane)
		for y := range h {
			addLines(plane[y*w:(y+1)*w], frame, y, h, w, r, fk)
		}
	}
	// Along frames: each output plane the sum of the k planes around it.
	// Planes before f are overwritten by then, so the originals of the r
	// before it (and f's own) are kept in a ring.
	ring := make([][]float64, r+1)
	for i := range ring {
		ring[i] = make([]float64, hw)
	}
	for f := range t {
		copy(ring[f%(r+1)], vol[f*hw:(f+1)*hw])
		out := vol[f*hw : (f+1)*hw]
		clear(out)
		for d := -r; d <= r; d++ {
			g := f + d
			switch {
			case g < 0 || g >= t:
				for i := range out {
					out[i]++
				}
			case g <= f:
				addTo(out, ring[g%(r+1)])
			default:
				addTo(out, vol[g*hw:(g+1)*hw])
			}
		}
		for i := range out {
			out[i] /= fk
		}
	}
}

// addLines writes into dst (one row of w cells) the mean of the k = 2r+1
// rows of src (h rows) around row y, rows outside counted as ones.
func addLines(dst, src []float64, y, h, w, r int, fk float64) {
	clear(dst)
	for d := -r; d <= r; d++ {
		if q := y + d; q >= 0 && q < h {
			addTo(dst, src[q*w:(q+1)*w])
		} else {
			for i := range dst {
				dst[i]++
			}
		}
	}
	for i := range dst {
		dst[i] /= fk
	}
}

// addTo adds src to dst cell by cell.
func addTo(dst, src []float64) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] += src[i]
	}
}

// scoreFrames is remake_video_output: a branch's frame score is the
// minimum over the frame's objects, 1 where there is none; the frames with
// objects (scores other than 1) are min-max normalised among themselves
// while the others stay 1; each branch is mean filtered over FrameWindow
// frames (the first and last window/2 frames kept as they are); Combined
// is the mean of the two branches.
func scoreFrames(v Video, objs []Object, p Protocol) (FrameScores, error) {
	if p.FrameWindow < 1 || p.FrameWindow%2 == 0 {
		return FrameScores{}, fmt.Errorf("jigsaw score: per-frame protocol needs an odd window, got %d", p.FrameWindow)
	}
	branch := func(score func(Object) float64) []float64 {
		fr := make([]float64, v.Frames)
		for i := range fr {
			fr[i] = 1
		}
		for _, o := range objs {
			fr[o.Frame] = min(fr[o.Frame], score(o))
		}
		lo, hi := slices.Min(fr), math.Inf(-1)
		for _, s := range fr {
			if s != 1 {
				hi = max(hi, s)
			}
		}
		// No frame with objects: nothing to normalise (the official code
		// fails on the empty maximum). One distinct score: it would divide
		// by zero; the frames are left as they are.
		if !math.IsInf(hi, -1) && hi > lo {
			for i, s := range fr {
				if s != 1 {
					fr[i] = (s - lo) / (hi - lo)
				}
			}
		}
		return meanWindow(fr, p.FrameWindow)
	}
	sp := branch(func(o Object) float64 { return o.Spatial })
	tp := branch(func(o Object) float64 { return o.Temporal })
	comb := make([]float64, v.Frames)
	for i := range comb {
		comb[i] = (sp[i] + tp[i]) / 2
	}
	return FrameScores{Video: v.Name, Spatial: sp, Temporal: tp, Combined: comb}, nil
}

// meanWindow is aggregate.py's score_smoothing with a mean window of
// length ws: frames r..n-r-1 (r = ws/2) become the mean of the ws frames
// around them, the others are kept. Videos shorter than the window are
// returned unchanged.
func meanWindow(x []float64, ws int) []float64 {
	out := slices.Clone(x)
	r := ws / 2
	for i := r; i < len(x)-r; i++ {
		s := 0.0
		for _, v := range x[i-r : i+r+1] {
			s += v
		}
		out[i] = s / float64(ws)
	}
	return out
}

// gaussPad is half the official evaluation's smoothing support.
const gaussPad = 24

// GaussianSmooth is tool/evaluate.py's smoothing of a video's scores:
// correlation with the 49 weights exp(-((k - 23)/20)^2 / 2) / (20
// sqrt(2 pi)), k = 0..48 (its support 1..49 centred on 24, so the peak
// weighs the frame one before; the weights are not normalised and sum to
// about 0.78), on the scores extended by a copy of their first 24 and last
// 24 values (not mirrored). Videos shorter than 24 frames are an error:
// the official code gives them a score array of the wrong length.
func GaussianSmooth(x []float64) ([]float64, error) {
	n := len(x)
	if n < gaussPad {
		return nil, fmt.Errorf("%d frames: the official smoothing needs at least %d", n, gaussPad)
	}
	var wts [2*gaussPad + 1]float64
	c := 1 / (20 * math.Sqrt(2*math.Pi))
	for k := range wts {
		d := (float64(k+1) - gaussPad) / 20
		wts[k] = c * math.Exp(-0.5*d*d)
	}
	ext := make([]float64, 0, n+2*gaussPad)
	ext = append(append(append(ext, x[:gaussPad]...), x...), x[n-gaussPad:]...)
	out := make([]float64, n)
	for i := range out {
		s := 0.0
		for k, wt := range wts {
			s += ext[i+k] * wt
		}
		out[i] = s
	}
	return out, nil
}

// AUC is the official evaluation's frame AUC of anomaly scores against
// frame labels (true = anomalous), videos in the same order.
type AUC struct {
	// Micro pools every frame of every video (evaluate.py's compute_auc).
	Micro float64
	// Macro is the mean over videos of each video's AUC with one normal
	// frame scored 0 and one anomalous frame scored 1 added, as
	// compute_auc_average does, so that videos of one class count too.
	Macro float64
}

// Evaluate computes micro and macro AUC of Score's Anomaly scores.
func Evaluate(scores []FrameScores, labels [][]bool) (AUC, error) {
	if len(scores) != len(labels) || len(scores) == 0 {
		return AUC{}, fmt.Errorf("jigsaw evaluate: %d scored videos and %d label sequences; want the same positive number", len(scores), len(labels))
	}
	var all []float64
	var allLabels []bool
	macro := 0.0
	for i, s := range scores {
		if len(s.Anomaly) != len(labels[i]) {
			return AUC{}, fmt.Errorf("jigsaw evaluate: video %s has %d scores but %d frame labels", s.Video, len(s.Anomaly), len(labels[i]))
		}
		all = append(all, s.Anomaly...)
		allLabels = append(allLabels, labels[i]...)
		sc := append(append([]float64{0}, s.Anomaly...), 1)
		lb := append(append([]bool{false}, labels[i]...), true)
		auc, err := metrics.ROCAUC(sc, lb)
		if err != nil {
			return AUC{}, fmt.Errorf("jigsaw evaluate: video %s: %w", s.Video, err)
		}
		macro += auc
	}
	micro, err := metrics.ROCAUC(all, allLabels)
	if errors.Is(err, metrics.ErrOneClass) {
		return AUC{}, fmt.Errorf("jigsaw evaluate: the frames of all videos together: %w", err)
	}
	if err != nil {
		return AUC{}, fmt.Errorf("jigsaw evaluate: %w", err)
	}
	return AUC{Micro: micro, Macro: macro / float64(len(scores))}, nil
}
