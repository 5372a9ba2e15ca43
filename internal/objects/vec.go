package objects

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/nlpodyssey/gopickle/pickle"
	py "github.com/nlpodyssey/gopickle/types"

	"github.com/fmam/fmam/internal/data"
)

// STC boxes are the spatio-temporal-cube boxes of VEC (Yu et al., ACM MM
// 2020), HF2VAD and PKG-Net. Their published files
// (raw_datasets/<dataset>/bboxes_{train,test}_obj_det_with_motion.npy of
// yuguangnudt/VEC_VAD, or <dataset>_<split>.npy written by PKG-Net's
// get_STC.py) are numpy object arrays saved with np.save(allow_pickle): one
// entry per frame of the whole split, the videos concatenated in their
// sorted folder order, each a float [k, 4] array x1, y1, x2, y2 in frame
// pixels (k may be 0). They carry no score and no class: the boxes read
// here have Score 1 and Class -1.

// LoadSTCBoxes reads STC boxes for the videos of ds from a VEC/PKG-Net .npy
// file (split back into videos by the frame counts of ds's videos, in ds's
// order) or a CSV file with the header video,frame,x1,y1,x2,y2 (see
// ReadVECCSV). Either way the result knows every video of ds with its
// frame count, and a CSV naming a video or frame ds lacks is an error.
func LoadSTCBoxes(path string, ds *data.VideoDataset) (*Set, error) {
	lengths := make([]data.VideoLength, len(ds.Videos))
	for i, v := range ds.Videos {
		lengths[i] = data.VideoLength{Name: v.Name, Frames: len(v.Frames)}
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".npy":
		return ReadVECNPY(path, lengths)
	case ".csv":
		s, err := ReadVECCSV(path)
		if err != nil {
			return nil, err
		}
		for _, v := range s.Videos() {
			known := false
			for _, l := range lengths {
				if l.Name == v {
					known = true
					if n := s.NumFrames(v); n > l.Frames {
						return nil, fmt.Errorf("load boxes %s: video %s has boxes in frame %d but %s has %d frames", path, v, n-1, ds.Root, l.Frames)
					}
				}
			}
			if !known {
				return nil, fmt.Errorf("load boxes %s: video %s is not in %s", path, v, ds.Root)
			}
		}
		for _, l := range lengths {
			s.Grow(l.Name, l.Frames)
		}
		return s, nil
	}
	return nil, fmt.Errorf("load boxes %s: unknown form; want a VEC/PKG-Net .npy object array or a .csv with header video,frame,x1,y1,x2,y2", path)
}

// ReadVECNPY reads a VEC/PKG-Net box file and splits its frames into
// videos: the first videos[0].Frames entries are video videos[0].Name, and
// so on. The file must hold exactly as many frames as the videos together;
// otherwise the error names the file and both counts.
func ReadVECNPY(path string, videos []data.VideoLength) (*Set, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	frames, err := decodeObjectNPY(b)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	want := 0
	for _, v := range videos {
		want += v.Frames
	}
	if len(frames) != want {
		return nil, fmt.Errorf("load boxes %s: the file has %d frames but the %d videos have %d; give the frame folders the boxes were extracted from (same videos, same split)", path, len(frames), len(videos), want)
	}
	s := NewSet()
	i := 0
	for _, v := range videos {
		s.Grow(v.Name, v.Frames)
		for f := range v.Frames {
			for _, r := range frames[i] {
				s.Add(Box{Video: v.Name, Frame: f, X1: r[0], Y1: r[1], X2: r[2], Y2: r[3], Score: 1, Class: -1})
			}
			i++
		}
	}
	return s, nil
}

var npyShape1 = regexp.MustCompile(`'shape':\s*\((\d+),\s*\)`)

// decodeObjectNPY returns the per-frame box rows of a 1-D object .npy
// array: the .npy header, then the pickle of the array (numpy's
// ndarray.__reduce__), whose data is a list of float arrays.
func decodeObjectNPY(b []byte) ([][][4]float64, error) {
	if len(b) < 10 || string(b[:6]) != "\x93NUMPY" {
		return nil, errors.New("not a .npy file (no \\x93NUMPY magic)")
	}
	var hlen, start int
	switch b[6] {
	case 1:
		hlen, start = int(binary.LittleEndian.Uint16(b[8:10])), 10
	case 2, 3:
		if len(b) < 12 {
			return nil, errors.New("truncated .npy header")
		}
		hlen, start = int(binary.LittleEndian.Uint32(b[8:12])), 12
	default:
		return nil, fmt.Errorf(".npy format version %d.%d is not supported", b[6], b[7])
	}
	if start+hlen > len(b) {
		return nil, errors.New("truncated .npy header")
	}
	header := string(b[start : start+hlen])
	if !strings.Contains(header, "'|O'") {
		return nil, fmt.Errorf(".npy header %q: want an object array (descr '|O', saved with allow_pickle) of per-frame [k, 4] box arrays", strings.TrimSpace(header))
	}
	m := npyShape1.FindStringSubmatch(header)
	if m == nil {
		return nil, fmt.Errorf(".npy header %q: want a 1-D array, one entry per frame", strings.TrimSpace(header))
	}
	n, _ := strconv.Atoi(m[1])
	u := pickle.NewUnpickler(bufio.NewReader(bytes.NewReader(b[start+hlen:])))
	u.FindClass = findClass
	v, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("the pickled object array cannot be read: %w", err)
	}
	var items []any
	switch a := v.(type) {
	case *npy.Array:
		l, ok := a.Data().(*py.List)
		if !ok {
			return nil, fmt.Errorf("the pickled array holds %T, want a list of per-frame box arrays", a.Data())
		}
		items = *l
	case *py.List: // np.save of a list that numpy could not make an array of
		items = *a
	default:
		return nil, fmt.Errorf("the pickle holds a %s, want a numpy object array", pyType(v))
	}
	if len(items) != n {
		return nil, fmt.Errorf("the header says %d frames but the array holds %d", n, len(items))
	}
	out := make([][][4]float64, n)
	for i, it := range items {
		arr, ok := it.(*npy.Array)
		if !ok {
			return nil, fmt.Errorf("frame %d holds a %s, want a numpy array [k, 4]", i, pyType(it))
		}
		rows, err := rows4(arr)
		if err != nil {
			return nil, fmt.Errorf("frame %d: %w", i, err)
		}
		out[i] = rows
	}
	return out, nil
}

// rows4 returns the rows of a float [k, 4] box array (or an empty array of
// any shape), in C order whatever the array's order.
func rows4(arr *npy.Array) ([][4]float64, error) {
	var vals []float64
	switch d := arr.Data().(type) {
	case []float64:
		vals = d
	case []float32:
		vals = make([]float64, len(d))
		for i, v := range d {
			vals[i] = float64(v)
		}
	case []int64:
		vals = make([]float64, len(d))
		for i, v := range d {
			vals[i] = float64(v)
		}
	case nil:
	default:
		return nil, fmt.Errorf("numpy array of %T (dtype %v), want float boxes", d, arr.Descr())
	}
	shape := arr.Shape()
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n == 0 {
		return nil, nil
	}
	if len(shape) != 2 || shape[1] != 4 {
		return nil, fmt.Errorf("box array of shape %v, want [k, 4] (x1, y1, x2, y2)", shape)
	}
	if len(vals) != n {
		return nil, fmt.Errorf("box array of shape %v holds %d values, want %d", shape, len(vals), n)
	}
	k := shape[0]
	out := make([][4]float64, k)
	for i := range k {
		for j := range 4 {
			if arr.Fortran() {
				out[i][j] = vals[j*k+i]
			} else {
				out[i][j] = vals[i*4+j]
			}
		}
	}
	return out, nil
}

// ReadVECCSV reads STC boxes as CSV with a header naming at least the
// columns video,frame,x1,y1,x2,y2 (frame 0-based within its video; other
// columns are ignored). Boxes get Score 1 and Class -1. The set knows a
// video's frames up to its last box only; LoadSTCBoxes grows them to the
// dataset's.
func ReadVECCSV(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	defer f.Close()
	return decodeVECCSV(f, path)
}

func decodeVECCSV(r io.Reader, name string) (*Set, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: no header video,frame,x1,y1,x2,y2: %w", name, err)
	}
	header = slices.Clone(header) // ReuseRecord: the next Read overwrites it
	cols := []string{"video", "frame", "x1", "y1", "x2", "y2"}
	at := map[string]int{}
	for i, h := range header {
		at[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	idx := make([]int, len(cols))
	for i, c := range cols {
		j, ok := at[c]
		if !ok {
			return nil, fmt.Errorf("load boxes %s: header %q lacks column %s; want video,frame,x1,y1,x2,y2", name, strings.Join(header, ","), c)
		}
		idx[i] = j
	}
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
		var v [6]string
		for i, j := range idx {
			if j >= len(rec) {
				return nil, fmt.Errorf("load boxes %s line %d: %d fields, no column %s", name, line, len(rec), cols[i])
			}
			v[i] = strings.TrimSpace(rec[j])
		}
		b := Box{Video: v[0], Score: 1, Class: -1}
		if b.Video == "" {
			return nil, fmt.Errorf("load boxes %s line %d: empty video name", name, line)
		}
		if b.Frame, err = strconv.Atoi(v[1]); err != nil || b.Frame < 0 {
			return nil, fmt.Errorf("load boxes %s line %d: frame %q is not a 0-based frame number", name, line, v[1])
		}
		for i, p := range []*float64{&b.X1, &b.Y1, &b.X2, &b.Y2} {
			if *p, err = strconv.ParseFloat(v[2+i], 64); err != nil {
				return nil, fmt.Errorf("load boxes %s line %d: %s %q is not a number", name, line, cols[2+i], v[2+i])
			}
		}
		s.Add(b)
	}
	return s, nil
}
