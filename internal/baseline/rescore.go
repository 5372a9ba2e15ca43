package baseline

import (
	"fmt"
	"strconv"

	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/score"
)

// Which names one score of a raw scores file: S_o alone, S_fea alone, or
// their fusion at lambda.
type Which string

// The scores of a raw scores file.
const (
	ScoreO     Which = "s_o"
	ScoreFea   Which = "s_fea"
	ScoreTotal Which = "total"
)

// ParseWhich validates a --score value for a raw scores file.
func ParseWhich(s string) (Which, error) {
	switch w := Which(s); w {
	case ScoreO, ScoreFea, ScoreTotal:
		return w, nil
	}
	return "", fmt.Errorf("score %q: a raw scores file of fmam has s_o, s_fea and total (their fusion at --lambda)", s)
}

// Lambda is the fusion weight that selects w: 0 for S_o, 1 for S_fea,
// lambda for the total.
func (w Which) Lambda(lambda float64) float64 {
	switch w {
	case ScoreO:
		return 0
	case ScoreFea:
		return 1
	}
	return lambda
}

// RawScoring is implemented by baselines whose raw scores are not both
// higher-is-anomalous (MNAD's S_o is a PSNR).
type RawScoring interface {
	RawScoring() FrameScoring
}

// ScoringOf is how b's raw scores files are read: its RawScoring, or both
// scores higher-is-anomalous.
func ScoringOf(b Baseline) FrameScoring {
	if r, ok := b.(RawScoring); ok {
		return r.RawScoring()
	}
	return FrameScoring{SO: score.HigherIsAnomalous, SFea: score.HigherIsAnomalous}
}

// FuseImages is the image score of every row at lambda, as the lambda
// sweep of an image run computes it: S_o and S_fea min-max normalised over
// the category (oriented by their directions), then fused.
func (f FrameScoring) FuseImages(rows []score.ImageRow, lambda float64) ([]float64, error) {
	so := make([]float64, len(rows))
	fe := make([]float64, len(rows))
	for i, r := range rows {
		so[i], fe[i] = r.SO, r.SFea
	}
	nO, err := score.Normalize(so, f.SO)
	if err != nil {
		return nil, fmt.Errorf("s_o: %w", err)
	}
	nF, err := score.Normalize(fe, f.SFea)
	if err != nil {
		return nil, fmt.Errorf("s_fea: %w", err)
	}
	return score.Fuse(lambda, nF, nO)
}

// oriented returns raw scores with higher meaning anomalous; the ranking
// (and every metric) is the raw score's.
func oriented(x float64, d score.Direction) float64 {
	if d == score.LowerIsAnomalous {
		return -x
	}
	return x
}

// Rescore reads a raw scores file written by fmam eval (a stage's
// scores.csv or teacher_scores.csv) and returns one of its scores as a
// metrics.ScoreTable, with the options that reproduce the run's tables:
//
//   - video files: S_o and S_fea min-max normalised per video and fused
//     at which's lambda (0 for s_o, 1 for s_fea), as the results table
//     and sweep-lambda do; the micro AUC of the result is the table's.
//   - image files: s_o and s_fea as written (DRAEM's image score is the
//     results table's I-AUROC), total as sweep-lambda fuses them.
func (f FrameScoring) Rescore(path string, which Which, lambda float64) (metrics.ScoreTable, metrics.VideoOptions, error) {
	t := metrics.ScoreTable{Path: path}
	opts := metrics.VideoOptions{SkipNormalize: true}
	kind, err := score.FileKindOf(path)
	if err != nil {
		return t, opts, err
	}
	lam := which.Lambda(lambda)
	switch kind {
	case score.VideoFile:
		rows, err := score.ReadVideoCSV(path)
		if err != nil {
			return t, opts, err
		}
		if f.Final {
			if which == ScoreTotal {
				return t, opts, fmt.Errorf("%s: this baseline fuses S_fea with S_o per object, not per frame; use --score s_o or s_fea here, and 'fmam sweep-lambda' for the fused scores", path)
			}
			t.Videos = []string{}
			for _, r := range rows {
				s := oriented(r.SO, f.SO)
				if which == ScoreFea {
					s = oriented(r.SFea, f.SFea)
				}
				t.IDs, t.Scores = append(t.IDs, r.ID), append(t.Scores, s)
				t.Labels, t.Videos = append(t.Labels, r.Label), append(t.Videos, r.Video)
			}
			opts.MacroPad = true // the official macro AUC, as the table's
			break
		}
		vs, err := score.FuseVideos(rows, lam, f.SO, f.SFea)
		if err != nil {
			return t, opts, fmt.Errorf("%s: %w", path, err)
		}
		t.Videos = []string{}
		for _, v := range vs {
			for i, s := range v.Scores {
				if !v.Valid[i] {
					continue
				}
				t.IDs = append(t.IDs, v.Name+"/"+strconv.Itoa(i))
				t.Scores = append(t.Scores, s)
				t.Labels = append(t.Labels, v.Labels[i])
				t.Videos = append(t.Videos, v.Name)
			}
		}
	case score.ImageFile:
		rows, err := score.ReadImageCSV(path)
		if err != nil {
			return t, opts, err
		}
		var fused []float64
		if which == ScoreTotal {
			if fused, err = f.FuseImages(rows, lam); err != nil {
				return t, opts, fmt.Errorf("%s: %w", path, err)
			}
		}
		for i, r := range rows {
			s := oriented(r.SO, f.SO)
			switch which {
			case ScoreFea:
				s = oriented(r.SFea, f.SFea)
			case ScoreTotal:
				s = fused[i]
			}
			t.IDs = append(t.IDs, r.ID)
			t.Scores = append(t.Scores, s)
			t.Labels = append(t.Labels, r.Label)
		}
	default:
		return t, opts, fmt.Errorf("%s is not a raw scores file of fmam (header id,video,frame,label,s_o,s_fea or id,category,defect,label,s_o,s_fea)", path)
	}
	if len(t.IDs) == 0 {
		return t, opts, fmt.Errorf("%s: no rows after the header", path)
	}
	return t, opts, nil
}
