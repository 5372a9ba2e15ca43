package metrics

import (
	"fmt"
)

// ScoreTable is a table of scores, one row per image or frame, as a
// scores CSV file holds it (package score reads those files).
type ScoreTable struct {
	Path   string
	IDs    []string
	Scores []float64
	Labels []bool
	// Videos names the video of each row; nil when the file has no video
	// column. Rows of one video are its frames in order.
	Videos []string
}

// ScoreResult holds the metrics of a scores table.
type ScoreResult struct {
	N         int `json:"n"`
	Anomalous int `json:"anomalous"`
	// AUROC, AP and F1Max pool all rows with their scores as given.
	AUROC       float64 `json:"auroc"`
	AP          float64 `json:"ap"`
	F1Max       float64 `json:"f1_max"`
	F1Threshold float64 `json:"f1_threshold"`
	// Video is set when the table has a video column: micro and macro frame
	// AUC with per-video normalisation.
	Video *FrameAUCResult `json:"video,omitempty"`
}

// EvaluateScores computes the metrics of a scores table; opts applies to the
// per-video metrics only.
func EvaluateScores(t ScoreTable, opts VideoOptions) (ScoreResult, error) {
	res := ScoreResult{N: len(t.Scores)}
	for _, l := range t.Labels {
		if l {
			res.Anomalous++
		}
	}
	var err error
	if res.AUROC, err = ROCAUC(t.Scores, t.Labels); err != nil {
		return res, fmt.Errorf("%s: %w", t.Path, err)
	}
	if res.AP, err = AveragePrecision(t.Scores, t.Labels); err != nil {
		return res, fmt.Errorf("%s: %w", t.Path, err)
	}
	if res.F1Max, res.F1Threshold, err = F1Max(t.Scores, t.Labels); err != nil {
		return res, fmt.Errorf("%s: %w", t.Path, err)
	}
	if t.Videos == nil {
		return res, nil
	}
	if len(t.Videos) != len(t.Scores) {
		return res, fmt.Errorf("%s: %d video names for %d rows", t.Path, len(t.Videos), len(t.Scores))
	}
	var videos []VideoScores
	index := make(map[string]int)
	for i, name := range t.Videos {
		k, ok := index[name]
		if !ok {
			k = len(videos)
			index[name] = k
			videos = append(videos, VideoScores{Name: name})
		}
		videos[k].Scores = append(videos[k].Scores, t.Scores[i])
		videos[k].Labels = append(videos[k].Labels, t.Labels[i])
	}
	v, err := FrameAUC(videos, opts)
	if err != nil {
		return res, fmt.Errorf("%s: %w", t.Path, err)
	}
	res.Video = &v
	return res, nil
}
