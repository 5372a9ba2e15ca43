package jigsaw

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"

	"github.com/fmam/fmam/internal/atomicfile"
)

// objectRow is one test object's raw scores: its box, each branch's
// official score (high = normal) and the feature inconsistency S_fea
// between teacher and student at the taps (high = anomalous; NaN when the
// teacher was scored alone).
type objectRow struct {
	Object
	Fea float64
}

var objectHeader = []string{"video", "frame", "x1", "y1", "x2", "y2", "temporal", "spatial", "s_fea"}

// writeObjects writes rows as CSV (objectHeader; s_fea empty when NaN)
// atomically.
func writeObjects(path string, rows []objectRow) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(objectHeader)
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range rows {
		fea := ""
		if !math.IsNaN(r.Fea) {
			fea = f(r.Fea)
		}
		_ = w.Write([]string{r.Video, strconv.Itoa(r.Frame), f(r.Box[0]), f(r.Box[1]), f(r.Box[2]), f(r.Box[3]), f(r.Temporal), f(r.Spatial), fea})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return fmt.Errorf("write object scores %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// readObjects reads a file written by writeObjects.
func readObjects(path string) ([]objectRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read object scores: %w; run 'fmam eval' first", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("read object scores %s: %w", path, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], objectHeader) {
		return nil, fmt.Errorf("read object scores %s: the header is not %v; run 'fmam eval' again", path, objectHeader)
	}
	rows := make([]objectRow, 0, len(recs)-1)
	for i, rec := range recs[1:] {
		r := objectRow{Object: Object{Video: rec[0]}, Fea: math.NaN()}
		bad := func(what string) error {
			return fmt.Errorf("read object scores %s line %d: %s %q", path, i+2, what, rec)
		}
		if r.Frame, err = strconv.Atoi(rec[1]); err != nil || r.Frame < 0 {
			return nil, bad("frame is not an index in")
		}
		vals := make([]float64, 6)
		for j := range vals {
			if vals[j], err = strconv.ParseFloat(rec[2+j], 64); err != nil {
				return nil, bad("not a number in")
			}
		}
		copy(r.Box[:], vals[:4])
		r.Temporal, r.Spatial = vals[4], vals[5]
		if rec[8] != "" {
			if r.Fea, err = strconv.ParseFloat(rec[8], 64); err != nil {
				return nil, bad("s_fea is not a number in")
			}
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// fuse moves each branch score of every object towards the object's
// feature normality at lambda: per video, S_fea is min-max normalised over
// the video's objects, turned into a normality 1 - S_fea, and mapped onto
// the range of the branch's scores in that video; the branch score
// becomes (1-lambda)*score + lambda*that. At lambda 0 the scores are the
// raw S_o exactly; at 1 each branch ranks objects by S_fea alone (the
// official chain min-max normalises per video again, so the mapping only
// keeps S_fea's objects where S_o's would be). The input is not changed.
func fuse(rows []objectRow, lambda float64) ([]objectRow, error) {
	out := slices.Clone(rows)
	if lambda == 0 {
		return out, nil
	}
	type span struct{ lo, hi float64 }
	widen := func(s span, v float64) span { return span{min(s.lo, v), max(s.hi, v)} }
	empty := span{math.Inf(1), math.Inf(-1)}
	fea, tmp, spa := map[string]span{}, map[string]span{}, map[string]span{}
	for _, r := range rows {
		if math.IsNaN(r.Fea) {
			return nil, fmt.Errorf("object of video %s at frame %d has no S_fea (a teacher scored alone)", r.Video, r.Frame)
		}
		for _, m := range []struct {
			m map[string]span
			v float64
		}{{fea, r.Fea}, {tmp, r.Temporal}, {spa, r.Spatial}} {
			s, ok := m.m[r.Video]
			if !ok {
				s = empty
			}
			m.m[r.Video] = widen(s, m.v)
		}
	}
	// unit maps v in s to [0, 1]; a span of one value maps to 0.
	unit := func(s span, v float64) float64 {
		if s.hi > s.lo {
			return (v - s.lo) / (s.hi - s.lo)
		}
		return 0
	}
	// onto maps u in [0, 1] onto s; a span of one value gives u itself.
	onto := func(s span, u float64) float64 {
		if s.hi > s.lo {
			return s.lo + (s.hi-s.lo)*u
		}
		return u
	}
	for i, r := range out {
		n := 1 - unit(fea[r.Video], r.Fea)
		out[i].Temporal = r.Temporal + lambda*(onto(tmp[r.Video], n)-r.Temporal)
		out[i].Spatial = r.Spatial + lambda*(onto(spa[r.Video], n)-r.Spatial)
	}
	return out, nil
}
