package score

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// Sample is one scored sample of a test set, as a raw scores file names
// it: "video/frame" for a frame, "defect/file" for an image.
type Sample struct {
	ID    string
	Label bool
}

// Check compares a raw scores file with the samples its stage scored, so
// that no table is computed from a damaged or foreign file: the header
// must have the columns of its kind (a student's file, student true, also
// s_fea), and the rows must be exactly want, one row per sample (in any
// order), with want's labels. A video row's id must also be its
// video/frame, an image row's start with its defect folder. The error
// names the file and the first thing that differs.
func Check(path string, student bool, want []Sample) error {
	kind, err := checkHeader(path, student)
	if err != nil {
		return err
	}
	type row struct {
		id, key string // key: what the id must be, from the other columns
		label   bool
	}
	var rows []row
	switch kind {
	case VideoFile:
		vr, err := ReadVideoCSV(path)
		if err != nil {
			return err
		}
		for _, r := range vr {
			rows = append(rows, row{r.ID, r.Video + "/" + strconv.Itoa(r.Frame), r.Label})
		}
	default:
		ir, err := ReadImageCSV(path)
		if err != nil {
			return err
		}
		for _, r := range ir {
			key := r.ID
			if !strings.HasPrefix(r.ID, r.Defect+"/") {
				key = r.Defect + "/..."
			}
			rows = append(rows, row{r.ID, key, r.Label})
		}
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = r.id
	}
	if len(rows) != len(want) {
		return fmt.Errorf("%s has %d rows where the test set has %d scored samples%s", path, len(rows), len(want), firstDifference(ids, want))
	}
	index := make(map[string]int, len(want))
	for i, s := range want {
		index[s.ID] = i
	}
	for i, r := range rows {
		if r.id != r.key {
			return fmt.Errorf("%s: row %d has id %q but its other columns say %q", path, i+1, r.id, r.key)
		}
		j, ok := index[r.id]
		if !ok {
			return fmt.Errorf("%s: row %d, id %q, is not a scored sample of the test set%s", path, i+1, r.id, firstDifference(ids, want))
		}
		if r.label != want[j].Label {
			return fmt.Errorf("%s: row %d, id %q, has label %s where the test set has %s", path, i+1, r.id, formatLabel(r.label), formatLabel(want[j].Label))
		}
	}
	// Same count, every id known and ids unique (readCSV): the same set.
	return nil
}

// firstDifference says which sample of want has no row in ids, and which
// id of ids is not in want (the first of each, with their counts); "" when
// there is no such difference.
func firstDifference(ids []string, want []Sample) string {
	have := make(map[string]bool, len(ids))
	for _, id := range ids {
		have[id] = true
	}
	wanted := make(map[string]bool, len(want))
	var missing []string
	for _, s := range want {
		wanted[s.ID] = true
		if !have[s.ID] {
			missing = append(missing, s.ID)
		}
	}
	var foreign []string
	for _, id := range ids {
		if !wanted[id] {
			foreign = append(foreign, id)
		}
	}
	var parts []string
	if len(missing) > 0 {
		parts = append(parts, fmt.Sprintf("%d samples have no row, the first %q", len(missing), missing[0]))
	}
	if len(foreign) > 0 {
		parts = append(parts, fmt.Sprintf("%d rows are not samples of the test set, the first %q", len(foreign), foreign[0]))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, "; ")
}

// checkHeader reads the header of a raw scores file and checks that it
// has the columns of its kind, in the order fmam writes them: what a
// student's file needs when student is true (s_fea), a teacher's
// otherwise (whose last column may be s_fea or s_fea_student).
func checkHeader(path string, student bool) (FileKind, error) {
	f, err := os.Open(path)
	if err != nil {
		return OtherFile, fmt.Errorf("read scores: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	got, err := r.Read()
	if errors.Is(err, io.EOF) {
		return OtherFile, fmt.Errorf("%s is empty: it has no header and no rows", path)
	}
	if err != nil {
		return OtherFile, fmt.Errorf("read scores %s: %w", path, err)
	}
	kind, want := VideoFile, videoHeader
	if len(got) > 1 && got[1] == imageHeader[1] {
		kind, want = ImageFile, imageHeader
	}
	allowed := [][]string{want}
	if !student {
		allowed = append(allowed, teacherHeader(want, true), teacherHeader(want, false))
	}
	if slices.ContainsFunc(allowed, func(h []string) bool { return slices.Equal(got, h) }) {
		return kind, nil
	}
	need := want
	if !student {
		need = teacherHeader(want, false)
	}
	for _, c := range need {
		if !slices.Contains(got, c) {
			return OtherFile, fmt.Errorf("%s: missing column %s (header %s, want %s)", path, c, strings.Join(got, ","), strings.Join(want, ","))
		}
	}
	return OtherFile, fmt.Errorf("%s: header %s, want %s", path, strings.Join(got, ","), strings.Join(want, ","))
}
