package score

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/atomicfile"
)

// VideoRow is one frame's raw scores. Frame is the 0-based index of the frame
// in its video; frames a predictor cannot score (the first T) have no row.
type VideoRow struct {
	ID    string
	Video string
	Frame int
	Label bool    // true = anomalous frame
	SO    float64 // base model's raw score (e.g. PSNR)
	SFea  float64 // feature-mimicking raw score (e.g. teacher-student distance)
}

// ImageRow is one test image's raw scores.
type ImageRow struct {
	ID       string
	Category string // e.g. MVTec AD's "bottle"
	Defect   string // the test folder: "good", "broken_large", ...
	Label    bool   // true = anomalous image
	SO       float64
	SFea     float64
}

var (
	videoHeader = []string{"id", "video", "frame", "label", "s_o", "s_fea"}
	imageHeader = []string{"id", "category", "defect", "label", "s_o", "s_fea"}
)

// WriteVideoCSV writes rows to path (header id,video,frame,label,s_o,s_fea)
// atomically: readers see the old file or the whole new one.
func WriteVideoCSV(path string, rows []VideoRow) error {
	recs := make([][]string, len(rows))
	for i, r := range rows {
		if err := checkFinite(r.ID, r.SO, r.SFea); err != nil {
			return fmt.Errorf("write scores %s: %w", path, err)
		}
		recs[i] = []string{r.ID, r.Video, strconv.Itoa(r.Frame), formatLabel(r.Label), formatFloat(r.SO), formatFloat(r.SFea)}
	}
	return writeCSVAtomic(path, videoHeader, recs)
}

// WriteImageCSV writes rows to path (header id,category,defect,label,s_o,s_fea)
// atomically.
func WriteImageCSV(path string, rows []ImageRow) error {
	recs := make([][]string, len(rows))
	for i, r := range rows {
		if err := checkFinite(r.ID, r.SO, r.SFea); err != nil {
			return fmt.Errorf("write scores %s: %w", path, err)
		}
		recs[i] = []string{r.ID, r.Category, r.Defect, formatLabel(r.Label), formatFloat(r.SO), formatFloat(r.SFea)}
	}
	return writeCSVAtomic(path, imageHeader, recs)
}

// ReadVideoCSV reads a file written by WriteVideoCSV.
func ReadVideoCSV(path string) ([]VideoRow, error) {
	var rows []VideoRow
	err := readCSV(path, videoHeader, func(rec []string) error {
		frame, err := strconv.Atoi(rec[2])
		if err != nil || frame < 0 {
			return fmt.Errorf("frame %q is not a frame index (an integer >= 0)", rec[2])
		}
		r := VideoRow{ID: rec[0], Video: rec[1], Frame: frame}
		if r.Video == "" {
			return errors.New("empty video name")
		}
		if r.Label, r.SO, r.SFea, err = parseScores(rec[3:]); err != nil {
			return err
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

// ReadImageCSV reads a file written by WriteImageCSV.
func ReadImageCSV(path string) ([]ImageRow, error) {
	var rows []ImageRow
	err := readCSV(path, imageHeader, func(rec []string) error {
		r := ImageRow{ID: rec[0], Category: rec[1], Defect: rec[2]}
		var err error
		if r.Label, r.SO, r.SFea, err = parseScores(rec[3:]); err != nil {
			return err
		}
		rows = append(rows, r)
		return nil
	})
	return rows, err
}

func formatLabel(l bool) string {
	if l {
		return "1"
	}
	return "0"
}

// formatFloat writes the shortest text that reads back to the same float64.
func formatFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func checkFinite(id string, xs ...float64) error {
	for _, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("row %q: score %v is not finite", id, x)
		}
	}
	return nil
}

// parseScores parses the label,s_o,s_fea columns.
func parseScores(rec []string) (label bool, so, sFea float64, err error) {
	switch rec[0] {
	case "0":
	case "1":
		label = true
	default:
		return false, 0, 0, fmt.Errorf("label %q must be 0 (normal) or 1 (anomalous)", rec[0])
	}
	for i, dst := range []*float64{&so, &sFea} {
		x, err := strconv.ParseFloat(rec[1+i], 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return false, 0, 0, fmt.Errorf("%s %q is not a finite number", []string{"s_o", "s_fea"}[i], rec[1+i])
		}
		*dst = x
	}
	return label, so, sFea, nil
}

// readCSV checks the header and calls row for every data record; errors
// name the file and line. Duplicate ids are an error.
func readCSV(path string, header []string, row func(rec []string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read scores: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = len(header)
	got, err := r.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("read scores %s: empty file, want header %s", path, strings.Join(header, ","))
	}
	if err != nil {
		return fmt.Errorf("read scores %s: want header %s: %w", path, strings.Join(header, ","), err)
	}
	if !slices.Equal(got, header) {
		return fmt.Errorf("read scores %s:1: header %s, want %s", path, strings.Join(got, ","), strings.Join(header, ","))
	}
	seen := make(map[string]int)
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read scores %s: %w", path, err)
		}
		line, _ := r.FieldPos(0)
		if prev, ok := seen[rec[0]]; ok {
			return fmt.Errorf("read scores %s:%d: id %q already used on line %d", path, line, rec[0], prev)
		}
		seen[rec[0]] = line
		if err := row(rec); err != nil {
			return fmt.Errorf("read scores %s:%d: %w", path, line, err)
		}
	}
}

// writeCSVAtomic writes the header and records as one CSV file, atomically.
func writeCSVAtomic(path string, header []string, recs [][]string) error {
	return atomicfile.WriteFunc(path, func(f io.Writer) error {
		w := csv.NewWriter(f)
		if err := w.Write(header); err != nil {
			return err
		}
		return w.WriteAll(recs)
	})
}

// FileKind is what a scores file holds, told by its header.
type FileKind int

// The kinds of scores files.
const (
	OtherFile FileKind = iota // not a raw scores file of fmam
	VideoFile                 // WriteVideoCSV's header
	ImageFile                 // WriteImageCSV's header
)

// FileKindOf reads the header of a CSV file and says whether fmam wrote it
// as raw video or image scores.
func FileKindOf(path string) (FileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return OtherFile, fmt.Errorf("read scores: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	got, err := r.Read()
	if errors.Is(err, io.EOF) {
		return OtherFile, nil
	}
	if err != nil {
		return OtherFile, fmt.Errorf("read scores %s: %w", path, err)
	}
	switch {
	case slices.Equal(got, videoHeader):
		return VideoFile, nil
	case slices.Equal(got, imageHeader):
		return ImageFile, nil
	}
	return OtherFile, nil
}
