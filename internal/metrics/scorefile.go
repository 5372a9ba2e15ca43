package metrics

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// ScoreTable is a scores CSV file: one row per image or frame.
type ScoreTable struct {
	Path   string
	IDs    []string
	Scores []float64
	Labels []bool
	// Videos names the video of each row; nil when the file has no video
	// column. Rows of one video are its frames in order.
	Videos []string
}

// ReadScoresCSV reads a scores file with a header naming the columns id,
// score and label (0 = normal, 1 = anomalous) and optionally video, in any
// order; other columns are ignored. Any malformed row is an error naming the
// file and line.
func ReadScoresCSV(path string) (ScoreTable, error) { return ReadScoresColumn(path, "score") }

// ReadScoresColumn is ReadScoresCSV with the scores taken from the named
// column instead of "score".
func ReadScoresColumn(path, column string) (ScoreTable, error) {
	t := ScoreTable{Path: path}
	if column == "" || column == "id" || column == "label" || column == "video" {
		return t, fmt.Errorf("read scores %s: score column %q: name a column of numbers other than id, label and video", path, column)
	}
	f, err := os.Open(path)
	if err != nil {
		return t, fmt.Errorf("read scores: %w", err)
	}
	defer f.Close()

	r := csv.NewReader(f)
	r.ReuseRecord = true
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return t, fmt.Errorf("read scores %s: empty file, want a header with columns id,score,label[,video]", path)
	}
	if err != nil {
		return t, fmt.Errorf("read scores %s: %w", path, err)
	}
	col := map[string]int{"id": -1, column: -1, "label": -1, "video": -1}
	for i, name := range header {
		name = strings.TrimSpace(strings.TrimPrefix(name, "\ufeff"))
		if j, ok := col[name]; ok {
			if j >= 0 {
				return t, fmt.Errorf("read scores %s:1: column %q appears twice", path, name)
			}
			col[name] = i
		}
	}
	for _, name := range []string{"id", column, "label"} {
		if col[name] < 0 {
			return t, fmt.Errorf("read scores %s:1: header %q has no column %q; want columns id,%s,label and optionally video",
				path, strings.Join(header, ","), name, column)
		}
	}
	if col["video"] >= 0 {
		t.Videos = []string{}
	}

	seen := make(map[string]int)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// csv.ParseError already names the line; wrong field counts land here too.
			return t, fmt.Errorf("read scores %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		id := rec[col["id"]]
		if prev, ok := seen[id]; ok {
			return t, fmt.Errorf("read scores %s:%d: id %q already used on line %d", path, line, id, prev)
		}
		seen[id] = line
		s, err := strconv.ParseFloat(strings.TrimSpace(rec[col[column]]), 64)
		if err != nil || math.IsNaN(s) {
			return t, fmt.Errorf("read scores %s:%d: %s %q is not a number", path, line, column, rec[col[column]])
		}
		var label bool
		switch strings.TrimSpace(rec[col["label"]]) {
		case "0":
		case "1":
			label = true
		default:
			return t, fmt.Errorf("read scores %s:%d: label %q must be 0 (normal) or 1 (anomalous)", path, line, rec[col["label"]])
		}
		t.IDs = append(t.IDs, id)
		t.Scores = append(t.Scores, s)
		t.Labels = append(t.Labels, label)
		if t.Videos != nil {
			v := rec[col["video"]]
			if v == "" {
				return t, fmt.Errorf("read scores %s:%d: empty video name", path, line)
			}
			t.Videos = append(t.Videos, v)
		}
	}
	if len(t.IDs) == 0 {
		return t, fmt.Errorf("read scores %s: no rows after the header", path)
	}
	return t, nil
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
