package score

import (
	"fmt"

	"github.com/fmam/fmam/internal/metrics"
)

// FuseVideos turns raw video rows into fused frame scores, one
// metrics.VideoScores per video in order of first appearance. Within each
// video it normalises s_o and s_fea on their own (Normalize, with their
// directions) and fuses them (Fuse). Scores are aligned by frame index: a
// video has max(frame)+1 frames, and frames without a row (the first T of a
// T-frame predictor) are marked invalid so every metric leaves them out.
//
// This is MNAD's protocol; score the result with metrics.FrameAUC and
// VideoOptions.SkipNormalize to reproduce its numbers exactly.
func FuseVideos(rows []VideoRow, lambda float64, dirO, dirFea Direction) ([]metrics.VideoScores, error) {
	if _, err := Fuse(lambda, nil, nil); err != nil {
		return nil, err
	}
	var order []string
	byVideo := make(map[string][]VideoRow)
	for _, r := range rows {
		if _, ok := byVideo[r.Video]; !ok {
			order = append(order, r.Video)
		}
		byVideo[r.Video] = append(byVideo[r.Video], r)
	}
	out := make([]metrics.VideoScores, 0, len(order))
	for _, name := range order {
		vr := byVideo[name]
		n := 0
		for _, r := range vr {
			if r.Frame < 0 {
				return nil, fmt.Errorf("fuse video %s: row %s has frame %d; frames are numbered from 0", name, r.ID, r.Frame)
			}
			n = max(n, r.Frame+1)
		}
		v := metrics.VideoScores{Name: name, Labels: make([]bool, n), Scores: make([]float64, n), Valid: make([]bool, n)}
		so, sFea := make([]float64, len(vr)), make([]float64, len(vr))
		for i, r := range vr {
			if v.Valid[r.Frame] {
				return nil, fmt.Errorf("fuse video %s: frame %d has two rows (%s and another)", name, r.Frame, r.ID)
			}
			v.Valid[r.Frame] = true
			v.Labels[r.Frame] = r.Label
			so[i], sFea[i] = r.SO, r.SFea
		}
		nO, err := Normalize(so, dirO)
		if err != nil {
			return nil, fmt.Errorf("fuse video %s: s_o: %w", name, err)
		}
		nFea, err := Normalize(sFea, dirFea)
		if err != nil {
			return nil, fmt.Errorf("fuse video %s: s_fea: %w", name, err)
		}
		fused, err := Fuse(lambda, nFea, nO)
		if err != nil {
			return nil, fmt.Errorf("fuse video %s: %w", name, err)
		}
		for i, r := range vr {
			v.Scores[r.Frame] = fused[i]
		}
		out = append(out, v)
	}
	return out, nil
}
