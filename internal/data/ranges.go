package data

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/matfile"
)

// FrameRange is an inclusive range of 1-based frame numbers, as MATLAB
// label files write them.
type FrameRange struct{ Start, End int }

// ExpandRanges turns anomalous ranges into per-frame labels for a video of n
// frames: label i (0-based) is 1 iff frame i+1 is in a range.
func ExpandRanges(ranges []FrameRange, n int) ([]uint8, error) {
	out := make([]uint8, n)
	for _, r := range ranges {
		if r.Start < 1 || r.End < r.Start || r.End > n {
			return nil, fmt.Errorf("anomalous range %d:%d does not fit a video of %d frames (1-based, inclusive)", r.Start, r.End, n)
		}
		for i := r.Start - 1; i < r.End; i++ {
			out[i] = 1
		}
	}
	return out, nil
}

var gtFrameLine = regexp.MustCompile(`\.gt_frame\s*=\s*\[([^\]]*)\]`)

// ReadUCSDm reads the anomalous frame ranges of every test video from a
// UCSD label file (UCSDped1.m, UCSDped2.m), whose lines look like
//
//	TestVideoFile{end+1}.gt_frame = [61:180];
//	TestVideoFile{end+1}.gt_frame = [5:90, 140:200];
//
// Element i of the result belongs to test video i+1.
func ReadUCSDm(path string) ([][]FrameRange, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out [][]FrameRange
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if i := strings.IndexByte(text, '%'); i >= 0 {
			text = text[:i]
		}
		m := gtFrameLine.FindStringSubmatch(text)
		if m == nil {
			continue
		}
		ranges, err := parseRanges(m[1])
		if err != nil {
			return nil, fmt.Errorf("read UCSD labels %s:%d: %w", path, line, err)
		}
		out = append(out, ranges)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read UCSD labels %s: %w", path, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("read UCSD labels %s: no line like 'TestVideoFile{end+1}.gt_frame = [a:b];'", path)
	}
	return out, nil
}

// parseRanges parses "61:180" or "5:90, 140:200" or "7"; an empty list is
// a video without anomalies.
func parseRanges(s string) ([]FrameRange, error) {
	fields := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' })
	var out []FrameRange
	for _, f := range fields {
		a, b, isRange := strings.Cut(f, ":")
		start, err := strconv.Atoi(strings.TrimSpace(a))
		if err != nil {
			return nil, fmt.Errorf("bad frame range %q in [%s]: want a:b with whole numbers", f, s)
		}
		end := start
		if isRange {
			if end, err = strconv.Atoi(strings.TrimSpace(b)); err != nil {
				return nil, fmt.Errorf("bad frame range %q in [%s]: want a:b with whole numbers", f, s)
			}
		}
		if start < 1 || end < start {
			return nil, fmt.Errorf("bad frame range %q in [%s]: want 1 <= a <= b", f, s)
		}
		out = append(out, FrameRange{start, end})
	}
	return out, nil
}

// ReadRangesMAT reads per-video anomalous ranges from a MAT-file variable
// that is a cell array with one numeric 2xK matrix per test video, column
// k being [start; end] (1-based, inclusive): the "gt" variable of ped2.mat
// and similar files. Element i of the result belongs to test video i+1.
func ReadRangesMAT(path, variable string) ([][]FrameRange, error) {
	mf, err := matfile.Read(path, matfile.Options{})
	if err != nil {
		return nil, err
	}
	v, err := mf.Var(variable)
	if err != nil {
		return nil, fmt.Errorf("read labels %s: %w", path, err)
	}
	if v.Class != matfile.Cell {
		return nil, fmt.Errorf("read labels %s: %q is a %v array, want a cell array of [start; end] ranges", path, variable, v.Class)
	}
	out := make([][]FrameRange, len(v.Cells))
	for i, c := range v.Cells {
		if len(c.Real) == 0 {
			continue // [] = no anomaly
		}
		rowPair := len(c.Dims) == 2 && c.Dims[0] == 1 && c.Dims[1] == 2 // [start end]
		if !c.Class.Numeric() || len(c.Dims) != 2 || (c.Dims[0] != 2 && !rowPair) {
			return nil, fmt.Errorf("read labels %s: %s{%d} is a %v %v array, want a 2xK numeric [start; end] matrix", path, variable, i+1, c.Dims, c.Class)
		}
		for k := 0; k+1 < len(c.Real); k += 2 {
			s, e := c.Real[k], c.Real[k+1]
			if s != float64(int(s)) || e != float64(int(e)) || s < 1 || e < s {
				return nil, fmt.Errorf("read labels %s: %s{%d} has range [%v; %v], want whole numbers 1 <= start <= end", path, variable, i+1, s, e)
			}
			out[i] = append(out[i], FrameRange{int(s), int(e)})
		}
	}
	return out, nil
}

// ReadAvenueMaskLabels reads a CUHK Avenue ground truth file
// (testing_label_mask/<n>_label.mat, variable volLabel: a 1xN cell of
// per-frame pixel masks) and labels frame i anomalous iff its mask is not
// empty. The masks themselves are not kept.
func ReadAvenueMaskLabels(path string) ([]uint8, error) {
	mf, err := matfile.Read(path, matfile.Options{DropNumeric: true})
	if err != nil {
		return nil, err
	}
	v, err := mf.Var("volLabel")
	if err != nil {
		return nil, fmt.Errorf("read Avenue labels %s: %w", path, err)
	}
	if v.Class != matfile.Cell {
		return nil, fmt.Errorf("read Avenue labels %s: volLabel is a %v array, want a cell array of frame masks", path, v.Class)
	}
	out := make([]uint8, len(v.Cells))
	for i, c := range v.Cells {
		if !c.Class.Numeric() {
			return nil, fmt.Errorf("read Avenue labels %s: volLabel{%d} is a %v array, want a numeric mask", path, i+1, c.Class)
		}
		if c.NonZero > 0 {
			out[i] = 1
		}
	}
	return out, nil
}
