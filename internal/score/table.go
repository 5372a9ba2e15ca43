package score

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/metrics"
)

// ReadTable reads a scores file with a header naming the columns id,
// score and label (0 = normal, 1 = anomalous) and optionally video, in any
// order; other columns are ignored. Any malformed row is an error naming the
// file and line.
func ReadTable(path string) (metrics.ScoreTable, error) { return ReadTableColumn(path, "score") }

// ReadTableColumn is ReadTable with the scores taken from the named
// column instead of "score".
func ReadTableColumn(path, column string) (metrics.ScoreTable, error) {
	t := metrics.ScoreTable{Path: path}
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
