package metrics

import (
	"errors"
	"fmt"
	"math"
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
