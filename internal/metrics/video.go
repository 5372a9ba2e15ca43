package metrics

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// VideoScores holds the frame scores of one test video aligned by frame
// index: Labels[i], Scores[i] and Valid[i] all describe frame i.
type VideoScores struct {
	Name   string
	Labels []bool    // true = anomalous frame
	Scores []float64 // higher = more anomalous; ignored where Valid is false
	// Valid marks frames that have a prediction. A predictor that needs T
	// past frames has none for frames 0..T-1; those frames are left out of
	// every metric. Nil means every frame is valid.
	Valid []bool
}

// NewVideoScores aligns the predictions of a predictor with the video's
// frame labels: preds[i] scores frame offset+i, and frames before offset get
// no prediction. offset+len(preds) must equal len(labels).
func NewVideoScores(name string, labels []bool, preds []float64, offset int) (VideoScores, error) {
	if offset < 0 || offset+len(preds) != len(labels) {
		return VideoScores{}, fmt.Errorf("video %s: %d frame labels but %d predictions starting at frame %d: "+
			"predictions must cover frames %d to the last one", name, len(labels), len(preds), offset, offset)
	}
	v := VideoScores{
		Name:   name,
		Labels: labels,
		Scores: make([]float64, len(labels)),
		Valid:  make([]bool, len(labels)),
	}
	copy(v.Scores[offset:], preds)
	for i := offset; i < len(labels); i++ {
		v.Valid[i] = true
	}
	return v, nil
}

// valid returns the scores and labels of the frames that have a prediction.
func (v VideoScores) valid() ([]float64, []bool, error) {
	if len(v.Scores) != len(v.Labels) {
		return nil, nil, fmt.Errorf("video %s: %d scores but %d frame labels", v.Name, len(v.Scores), len(v.Labels))
	}
	if v.Valid != nil && len(v.Valid) != len(v.Labels) {
		return nil, nil, fmt.Errorf("video %s: %d valid flags but %d frame labels", v.Name, len(v.Valid), len(v.Labels))
	}
	var scores []float64
	var labels []bool
	for i, s := range v.Scores {
		if v.Valid != nil && !v.Valid[i] {
			continue
		}
		if math.IsNaN(s) {
			return nil, nil, fmt.Errorf("video %s: frame %d score is NaN", v.Name, i)
		}
		scores = append(scores, s)
		labels = append(labels, v.Labels[i])
	}
	if len(scores) == 0 {
		return nil, nil, fmt.Errorf("video %s: no frame has a prediction", v.Name)
	}
	return scores, labels, nil
}

// MinMaxNormalize maps scores linearly onto [0, 1]: (s - min) / (max - min).
// Constant scores carry no ranking and become all zeros. NaN values are
// ignored when finding min and max and stay NaN.
func MinMaxNormalize(scores []float64) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range scores {
		if !math.IsNaN(s) {
			lo, hi = min(lo, s), max(hi, s)
		}
	}
	out := make([]float64, len(scores))
	if !(hi > lo) {
		for i, s := range scores {
			if math.IsNaN(s) {
				out[i] = s
			}
		}
		return out
	}
	for i, s := range scores {
		out[i] = (s - lo) / (hi - lo)
	}
	return out
}

// VideoOptions controls how frame scores are prepared before FrameAUC.
type VideoOptions struct {
	// SmoothSigma > 0 smooths each video's valid frames, in frame order, with
	// a Gaussian (GaussianSmooth1D: scipy's gaussian_filter1d, reflect mode,
	// truncate 4) before normalisation. 0 = no smoothing.
	SmoothSigma float64
	// SkipNormalize keeps scores as given instead of min-max normalising each
	// video; use it for scores that were already normalised per video and
	// fused (MNAD's protocol).
	SkipNormalize bool
	// MacroPad scores each video for the macro AUC with one extra normal
	// frame scored 0 and one anomalous frame scored 1, as Jigsaw-VAD's
	// official evaluation does, so that every video counts (one-class
	// videos too) and scores are read on [0, 1].
	MacroPad bool
}

// FrameAUCResult reports frame-level AUC over a set of videos.
type FrameAUCResult struct {
	// Micro is the ROC AUC of all valid frames of all videos pooled, after
	// each video was smoothed and normalised on its own.
	Micro float64 `json:"micro_auc"`
	// Macro is the mean of the per-video ROC AUCs over the videos that hold
	// both normal and anomalous frames.
	Macro float64 `json:"macro_auc"`

	Videos      int      `json:"videos"`
	Frames      int      `json:"frames"`       // valid frames, over all videos
	MacroVideos int      `json:"macro_videos"` // videos averaged in Macro
	Skipped     []string `json:"skipped"`      // videos with one class only, left out of Macro
}

// FrameAUC computes micro and macro frame AUC (see FrameAUCResult). Frames
// whose Valid flag is false are excluded from both. It fails when the pooled
// frames hold one class only or when no video holds both classes.
func FrameAUC(videos []VideoScores, opts VideoOptions) (FrameAUCResult, error) {
	res := FrameAUCResult{Videos: len(videos), Skipped: []string{}}
	if len(videos) == 0 {
		return res, errors.New("frame auc: no videos")
	}
	var all []float64
	var allLabels []bool
	var macro compensated
	for _, v := range videos {
		scores, labels, err := v.valid()
		if err != nil {
			return res, fmt.Errorf("frame auc: %w", err)
		}
		if opts.SmoothSigma > 0 {
			if scores, err = GaussianSmooth1D(scores, opts.SmoothSigma); err != nil {
				return res, fmt.Errorf("frame auc: video %s: %w", v.Name, err)
			}
		}
		if !opts.SkipNormalize {
			scores = MinMaxNormalize(scores)
		}
		all = append(all, scores...)
		allLabels = append(allLabels, labels...)

		ms, ml := scores, labels
		if opts.MacroPad {
			ms = append(append([]float64{0}, scores...), 1)
			ml = append(append([]bool{false}, labels...), true)
		}
		auc, err := ROCAUC(ms, ml)
		switch {
		case errors.Is(err, ErrOneClass):
			res.Skipped = append(res.Skipped, v.Name)
		case err != nil:
			return res, fmt.Errorf("frame auc: video %s: %w", v.Name, err)
		default:
			macro.add(auc)
			res.MacroVideos++
		}
	}
	res.Frames = len(all)
	micro, err := ROCAUC(all, allLabels)
	if err != nil {
		return res, fmt.Errorf("frame auc over all videos: %w", err)
	}
	res.Micro = micro
	if res.MacroVideos == 0 {
		return res, fmt.Errorf("frame auc: macro average: none of the %d videos holds both normal and anomalous frames: %w",
			len(videos), ErrOneClass)
	}
	res.Macro = macro.value() / float64(res.MacroVideos)
	return res, nil
}

// NormalKind is the kind of a normal frame in the kinds FrameAUCByKind
// reads ("" means the same).
const NormalKind = "normal"

// KindAUC is the frame-level AUC of one anomaly kind: the frames of that
// kind against all normal frames, pooled over the videos.
type KindAUC struct {
	Kind string  `json:"kind"`
	AUC  float64 `json:"auc"`
	// Frames is the number of valid frames of the kind.
	Frames int `json:"frames"`
}

// FrameAUCByKind computes one micro AUC per anomaly kind. kinds maps each
// video's name to the kind of each of its frames (index = frame);
// anomalous frames must name their kind, normal frames must be NormalKind
// or "". Scores are pooled as given: normalise and fuse them per video
// first (score.FuseVideos), as FrameAUC with SkipNormalize expects. Frames
// whose Valid flag is false are left out. Kinds come back sorted by name;
// a kind without valid frames is left out.
func FrameAUCByKind(videos []VideoScores, kinds map[string][]string) ([]KindAUC, error) {
	var normal []float64
	byKind := map[string][]float64{}
	for _, v := range videos {
		k, ok := kinds[v.Name]
		if !ok {
			return nil, fmt.Errorf("frame auc by kind: no kinds for video %s", v.Name)
		}
		if len(k) < len(v.Labels) {
			return nil, fmt.Errorf("frame auc by kind: video %s has %d frames but kinds for %d", v.Name, len(v.Labels), len(k))
		}
		if len(v.Scores) != len(v.Labels) || v.Valid != nil && len(v.Valid) != len(v.Labels) {
			return nil, fmt.Errorf("frame auc by kind: video %s: %d scores, %d labels, %d valid flags", v.Name, len(v.Scores), len(v.Labels), len(v.Valid))
		}
		for i, s := range v.Scores {
			if v.Valid != nil && !v.Valid[i] {
				continue
			}
			if math.IsNaN(s) {
				return nil, fmt.Errorf("frame auc by kind: video %s: frame %d score is NaN", v.Name, i)
			}
			isNormal := k[i] == "" || k[i] == NormalKind
			if isNormal == v.Labels[i] {
				return nil, fmt.Errorf("frame auc by kind: video %s frame %d: label anomalous %v but kind %q", v.Name, i, v.Labels[i], k[i])
			}
			if isNormal {
				normal = append(normal, s)
			} else {
				byKind[k[i]] = append(byKind[k[i]], s)
			}
		}
	}
	names := make([]string, 0, len(byKind))
	for k := range byKind {
		names = append(names, k)
	}
	slices.Sort(names)
	out := make([]KindAUC, 0, len(names))
	for _, k := range names {
		scores := append(slices.Clone(normal), byKind[k]...)
		labels := make([]bool, len(scores))
		for i := len(normal); i < len(labels); i++ {
			labels[i] = true
		}
		auc, err := ROCAUC(scores, labels)
		if err != nil {
			return nil, fmt.Errorf("frame auc of kind %s: %w", k, err)
		}
		out = append(out, KindAUC{Kind: k, AUC: auc, Frames: len(byKind[k])})
	}
	return out, nil
}
