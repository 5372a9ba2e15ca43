package objects

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/atomicfile"
)

// csvColumns are the columns of a box CSV; class is optional on reading.
var csvColumns = []string{"video", "frame", "x1", "y1", "x2", "y2", "score", "class"}

// ReadCSV reads a box CSV with a header naming the columns
// video,frame,x1,y1,x2,y2,score and optionally class (any order; other
// columns are ignored). Frames are 0-based; a missing class is -1.
func ReadCSV(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	defer f.Close()
	return DecodeCSV(f, path)
}

// DecodeCSV reads box CSV text; name is used in errors.
func DecodeCSV(r io.Reader, name string) (*Set, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	header = slices.Clone(header) // ReuseRecord: the next Read overwrites it
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("load boxes %s: empty file; want a header %s", name, strings.Join(csvColumns[:7], ","))
		}
		return nil, fmt.Errorf("load boxes %s: %w", name, err)
	}
	col := map[string]int{}
	for i, h := range header {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	var missing []string
	for _, c := range csvColumns[:7] {
		if _, ok := col[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("load boxes %s: header %q lacks column(s) %s; want video,frame,x1,y1,x2,y2,score[,class]", name, strings.Join(header, ","), strings.Join(missing, ", "))
	}
	classCol, hasClass := col["class"]
	s := NewSet()
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("load boxes %s: %w", name, err)
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if err := extraFields(name, line, len(rec), header); err != nil {
			return nil, err
		}
		field := func(c string) (string, error) {
			i := col[c]
			if i >= len(rec) {
				return "", fmt.Errorf("load boxes %s line %d: %d fields, no column %s", name, line, len(rec), c)
			}
			return strings.TrimSpace(rec[i]), nil
		}
		var b Box
		if b.Video, err = field("video"); err != nil {
			return nil, err
		}
		if b.Video == "" {
			return nil, fmt.Errorf("load boxes %s line %d: empty video name", name, line)
		}
		fs, err := field("frame")
		if err != nil {
			return nil, err
		}
		if b.Frame, err = strconv.Atoi(fs); err != nil || b.Frame < 0 {
			return nil, fmt.Errorf("load boxes %s line %d: frame %q is not a 0-based frame number", name, line, fs)
		}
		for _, c := range []struct {
			name string
			v    *float64
		}{{"x1", &b.X1}, {"y1", &b.Y1}, {"x2", &b.X2}, {"y2", &b.Y2}, {"score", &b.Score}} {
			fv, err := field(c.name)
			if err != nil {
				return nil, err
			}
			if *c.v, err = strconv.ParseFloat(fv, 64); err != nil {
				return nil, fmt.Errorf("load boxes %s line %d: %s %q is not a number", name, line, c.name, fv)
			}
		}
		b.Class = -1
		if hasClass && classCol < len(rec) && strings.TrimSpace(rec[classCol]) != "" {
			cs := strings.TrimSpace(rec[classCol])
			c, err := strconv.Atoi(cs)
			if err != nil || c < -1 {
				return nil, fmt.Errorf("load boxes %s line %d: class %q is not a class index (-1 for unknown)", name, line, cs)
			}
			b.Class = c
		}
		s.Add(b)
	}
	return s, nil
}

// extraFields refuses a row with more fields than the header: a shifted
// or merged row would otherwise be read from the wrong columns.
func extraFields(name string, line, n int, header []string) error {
	if n <= len(header) {
		return nil
	}
	return fmt.Errorf("load boxes %s line %d: %d fields, but the header %s has %d; each row holds exactly the header's columns (an unquoted comma in a field?)", name, line, n, strings.Join(header, ","), len(header))
}

// WriteCSV writes every box of s, with the header
// video,frame,x1,y1,x2,y2,score,class, to path atomically. Numbers are
// written in the shortest form that reads back to the same float64.
func WriteCSV(path string, s *Set) error {
	var buf bytes.Buffer
	if err := EncodeCSV(&buf, s); err != nil {
		return fmt.Errorf("write boxes %s: %w", path, err)
	}
	return atomicfile.Write(path, buf.Bytes())
}

// EncodeCSV writes the CSV form of s to w.
func EncodeCSV(w io.Writer, s *Set) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvColumns); err != nil {
		return err
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
	for b := range s.All() {
		rec := []string{b.Video, strconv.Itoa(b.Frame), num(b.X1), num(b.Y1), num(b.X2), num(b.Y2), num(b.Score), strconv.Itoa(b.Class)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
