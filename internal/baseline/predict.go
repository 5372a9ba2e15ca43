package baseline

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/graph"
)

// Predictor is implemented by baselines that score unlabelled inputs
// (`fmam predict`, and the normal reference scores behind a run's
// thresholds) with the same model and score rules as Score.
type Predictor interface {
	// Predict runs the evaluation model m over in and calls emit once
	// per scored item, in input order.
	Predict(ctx context.Context, u *Unit, m EvalModel, in PredictInput, emit func(PredictItem) error) error
}

// PredictInput is what to score: images for image baselines, videos
// (frame lists) for video baselines.
type PredictInput struct {
	Images []string
	Videos []data.Video
	// Maps asks for the anomaly maps and decoded images (overlays); the
	// reference scores of a threshold do without.
	Maps bool
}

// PredictItem is one scored image or frame, with the raw scores of the
// run's scores files (S_o as the baseline scores it, S_fea).
type PredictItem struct {
	// ID is the image path, or <video>/<frame>.
	ID    string
	Video string
	Frame int
	SO    float64
	SFea  float64
	// TeacherSO is the teacher's S_o of the item, from the evaluation
	// model's teacher output: the reference scores of the teacher's own
	// thresholds (teacher.onnx's metadata).
	TeacherSO float64
	// Map is the student's anomaly map (H x W; the teacher's for a
	// teacher-only model) and Image the frame or image it belongs to, in
	// [0, 1] (C x H x W), when PredictInput.Maps is set and the model has
	// a map output.
	Map     []float32
	Image   []float32
	C, H, W int
}

// holdOut splits n training items into the kept and the held-out indices,
// both ascending: a permutation seeded with seed, whose last
// ceil(fraction*n) items are held out (at least one and at most n-1 when
// fraction > 0 and n > 1). fraction 0 keeps everything.
func holdOut(n int, fraction float64, seed uint64) (keep, val []int) {
	if fraction <= 0 || n < 2 {
		keep = make([]int, n)
		for i := range keep {
			keep[i] = i
		}
		return keep, nil
	}
	k := min(max(int(math.Ceil(fraction*float64(n))), 1), n-1)
	perm := rand.New(rand.NewPCG(seed, 0x76616c)).Perm(n)
	keep, val = perm[:n-k], perm[n-k:]
	slices.Sort(keep)
	slices.Sort(val)
	return keep, val
}

// pick returns the items at idx.
func pick[T any](items []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = items[j]
	}
	return out
}

// MaxReference bounds the training normals scored for a run's reference
// statistics when data.val_fraction is 0 (no held-out set): evenly spaced
// images, or the first frames of each training video.
const MaxReference = 256

// ReferenceInput is the unit's normal reference data for thresholds and
// normalisation: the held-out normals (data.val_fraction > 0, source
// "held-out"), else at most MaxReference training normals (source
// "train", in-sample: a threshold from them is optimistic).
func (u *Unit) ReferenceInput(ctx context.Context) (PredictInput, string, error) {
	held := u.Cfg.Data.ValFraction > 0
	source := "train"
	if held {
		source = "held-out"
	}
	if u.Cfg.Task == config.TaskImage {
		ds, err := u.ImageSet(ctx)
		if err != nil {
			return PredictInput{}, "", err
		}
		items := ds.Val
		if len(items) == 0 { // fewer than two training images: nothing to hold out
			items, source = evenly(ds.Train, MaxReference), "train"
		} else if !held {
			items = evenly(ds.Train, MaxReference)
		}
		var in PredictInput
		for _, it := range items {
			in.Images = append(in.Images, it.Path)
		}
		if len(in.Images) == 0 {
			return in, "", fmt.Errorf("category %s: no normal reference images", ds.Name)
		}
		return in, source, nil
	}
	train, val, _, err := u.VideoSplits(ctx)
	if err != nil {
		return PredictInput{}, "", err
	}
	if held && len(val.Videos) > 0 {
		return PredictInput{Videos: val.Videos}, source, nil
	}
	source = "train" // also with one training video: nothing to hold out
	per := max(MaxReference/max(len(train.Videos), 1), 1) + u.Cfg.Data.Frames*u.Cfg.Data.FrameStep
	var vs []data.Video
	for _, v := range train.Videos {
		v.Frames = v.Frames[:min(len(v.Frames), per)]
		vs = append(vs, v)
	}
	return PredictInput{Videos: vs}, source, nil
}

// evenly returns at most n items spread evenly over items.
func evenly[T any](items []T, n int) []T {
	if len(items) <= n {
		return items
	}
	out := make([]T, n)
	for i := range out {
		out[i] = items[i*len(items)/n]
	}
	return out
}

// MapLeveler is implemented by Predictors whose anomaly map is not on
// S_o's scale (DRAEM's S_o is a filtered maximum of its map, so its map
// needs no conversion).
type MapLeveler interface {
	// MapLevel is the map value that corresponds to the S_o value so:
	// predict draws the map's contour at the level of the S_o that
	// decides an item.
	MapLevel(so float64) float64
}

// PostProcessor is implemented by Predictors whose S_o the exported model
// can compute itself: eval appends it, with the normalisation, fusion and
// decision of the run's calibration, to model.onnx (outputs OutSO,
// OutSTotal, OutAnomalous), so that another program needs no fmam code.
type PostProcessor interface {
	// PostScore appends the student's S_o ([N]) computed from the
	// evaluation model's outputs and returns its tensor; with teacher,
	// the teacher's S_o from a teacher-only evaluation model's outputs
	// (teacher_eval.onnx, which has the teacher's outputs alone).
	PostScore(a *graph.Appender, teacher bool) string
}

// The outputs eval appends to an evaluation model.
const (
	OutSO        = "s_o"
	OutSTotal    = "s_total"
	OutAnomalous = "anomalous"
)
