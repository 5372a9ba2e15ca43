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

// StudentFea is the column of a teacher's scores file that holds the
// student's S_fea of the same sample (the teacher has no S_fea of its
// own): named so that it cannot be read as the teacher's.
const StudentFea = "s_fea_student"

// teacherHeader is header with s_fea named StudentFea, or without it when
// no student was scored.
func teacherHeader(header []string, student bool) []string {
	h := slices.Clone(header[:len(header)-1])
	if student {
		h = append(h, StudentFea)
	}
	return h
}

// headers are the forms a scores file may take: a student's, a teacher's
// with its student's S_fea, a teacher's alone.
func headers(header []string) [][]string {
	return [][]string{header, teacherHeader(header, true), teacherHeader(header, false)}
}

// WriteTeacherVideoCSV writes a teacher's rows to path: header
// id,video,frame,label,s_o,s_fea_student, where s_fea_student is the
// student's S_fea (SFea), or without that column when student is false.
func WriteTeacherVideoCSV(path string, rows []VideoRow, student bool) error {
	recs := make([][]string, len(rows))
	for i, r := range rows {
		if err := checkFinite(r.ID, r.SO, r.SFea); err != nil {
			return fmt.Errorf("write scores %s: %w", path, err)
		}
		recs[i] = []string{r.ID, r.Video, strconv.Itoa(r.Frame), formatLabel(r.Label), formatFloat(r.SO)}
		if student {
			recs[i] = append(recs[i], formatFloat(r.SFea))
		}
	}
	return writeCSVAtomic(path, teacherHeader(videoHeader, student), recs)
}

// WriteTeacherImageCSV is WriteTeacherVideoCSV for image rows.
func WriteTeacherImageCSV(path string, rows []ImageRow, student bool) error {
	recs := make([][]string, len(rows))
	for i, r := range rows {
		if err := checkFinite(r.ID, r.SO, r.SFea); err != nil {
			return fmt.Errorf("write scores %s: %w", path, err)
		}
		recs[i] = []string{r.ID, r.Category, r.Defect, formatLabel(r.Label), formatFloat(r.SO)}
		if student {
			recs[i] = append(recs[i], formatFloat(r.SFea))
		}
	}
	return writeCSVAtomic(path, teacherHeader(imageHeader, student), recs)
}

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

// ReadVideoCSV reads a file written by WriteVideoCSV or
// WriteTeacherVideoCSV (SFea is 0 without an s_fea column).
func ReadVideoCSV(path string) ([]VideoRow, error) {
	var rows []VideoRow
	err := readCSV(path, headers(videoHeader), func(rec []string) error {
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

// ReadImageCSV reads a file written by WriteImageCSV or
// WriteTeacherImageCSV.
func ReadImageCSV(path string) ([]ImageRow, error) {
	var rows []ImageRow
	err := readCSV(path, headers(imageHeader), func(rec []string) error {
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

// parseScores parses the label,s_o[,s_fea] columns.
func parseScores(rec []string) (label bool, so, sFea float64, err error) {
	switch rec[0] {
	case "0":
	case "1":
		label = true
	default:
		return false, 0, 0, fmt.Errorf("label %q must be 0 (normal) or 1 (anomalous)", rec[0])
	}
	for i, dst := range []*float64{&so, &sFea}[:len(rec)-1] {
		x, err := strconv.ParseFloat(rec[1+i], 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return false, 0, 0, fmt.Errorf("%s %q is not a finite number", []string{"s_o", "s_fea"}[i], rec[1+i])
		}
		*dst = x
	}
	return label, so, sFea, nil
}

// readCSV checks the header against the allowed ones (the first is named
// in errors) and calls row for every data record; errors name the file and
// line. Duplicate ids are an error.
func readCSV(path string, allowed [][]string, row func(rec []string) error) error {
	header := allowed[0]
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("read scores: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	// 0: every record has the header's number of fields.
	r.FieldsPerRecord = 0
	got, err := r.Read()
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("read scores %s: empty file, want header %s", path, strings.Join(header, ","))
	}
	if err != nil {
		return fmt.Errorf("read scores %s: want header %s: %w", path, strings.Join(header, ","), err)
	}
	if !slices.ContainsFunc(allowed, func(h []string) bool { return slices.Equal(got, h) }) {
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
	kind, _, err := fileHeaderOf(path)
	return kind, err
}

// IsTeacherFile reports whether path is a teacher's raw scores file
// (teacher_scores.csv: no S_fea of its own, at most the student's).
func IsTeacherFile(path string) (bool, error) {
	_, teacher, err := fileHeaderOf(path)
	return teacher, err
}

func fileHeaderOf(path string) (kind FileKind, teacher bool, err error) {
	f, err := os.Open(path)
	if err != nil {
		return OtherFile, false, fmt.Errorf("read scores: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	got, err := r.Read()
	if errors.Is(err, io.EOF) {
		return OtherFile, false, nil
	}
	if err != nil {
		return OtherFile, false, fmt.Errorf("read scores %s: %w", path, err)
	}
	for _, k := range []struct {
		kind   FileKind
		header []string
	}{{VideoFile, videoHeader}, {ImageFile, imageHeader}} {
		for i, h := range headers(k.header) {
			if slices.Equal(got, h) {
				return k.kind, i > 0, nil
			}
		}
	}
	return OtherFile, false, nil
}
