package objects

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/nlpodyssey/gopickle/pickle"
	py "github.com/nlpodyssey/gopickle/types"
)

// ReadPickle reads boxes in the form the Jigsaw-VAD release ships them
// (detect/<dataset>_<split>_detect_result_yolov3.pkl): a Python dict from
// video id to a list with one entry per frame (0-based), each a float
// numpy array [k, 5] = x1, y1, x2, y2, score, or [k, 6] with a class
// column; frames without boxes may be [0, 5] or [0] arrays. Numpy arrays
// are decoded from their pickled form (numpy.core.multiarray._reconstruct
// plus ndarray.__setstate__) in Go; float32 and float64, C or Fortran
// order, any byte order, pickle protocols 2 to 5 are read.
func ReadPickle(path string) (*Set, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	defer f.Close()
	return DecodePickle(bufio.NewReader(f), path)
}

// DecodePickle reads the pickle form of ReadPickle; name is used in errors.
func DecodePickle(r io.Reader, name string) (*Set, error) {
	u := pickle.NewUnpickler(r)
	u.FindClass = findClass
	v, err := u.Load()
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: not a readable pickle of numpy box arrays: %w", name, err)
	}
	type entry struct {
		key, value any
	}
	var entries []entry
	switch d := v.(type) {
	case *py.Dict:
		for _, e := range *d {
			entries = append(entries, entry{e.Key, e.Value})
		}
	case *py.OrderedDict:
		for el := d.List.Front(); el != nil; el = el.Next() {
			e := el.Value.(*py.OrderedDictEntry)
			entries = append(entries, entry{e.Key, e.Value})
		}
	default:
		return nil, fmt.Errorf("load boxes %s: the pickle holds a %s, want a dict video id -> list of per-frame box arrays", name, pyType(v))
	}
	s := NewSet()
	for _, e := range entries {
		var video string
		switch k := e.key.(type) {
		case string:
			video = k
		case int:
			video = strconv.Itoa(k)
		default:
			return nil, fmt.Errorf("load boxes %s: dict key %v is a %s, want a video id string", name, e.key, pyType(e.key))
		}
		var frames []any
		switch l := e.value.(type) {
		case *py.List:
			frames = *l
		case *py.Tuple:
			frames = *l
		default:
			return nil, fmt.Errorf("load boxes %s: video %s holds a %s, want a list with one box array per frame", name, video, pyType(e.value))
		}
		s.Grow(video, len(frames))
		for fi, fv := range frames {
			arr, ok := fv.(*npy.Array)
			if !ok {
				return nil, fmt.Errorf("load boxes %s: video %s frame %d holds a %s, want a numpy array [k, 5]", name, video, fi, pyType(fv))
			}
			rows, err := arrayRows(arr)
			if err != nil {
				return nil, fmt.Errorf("load boxes %s: video %s frame %d: %w", name, video, fi, err)
			}
			for _, r := range rows {
				s.Add(rowBox(video, fi, r))
			}
		}
	}
	return s, nil
}

// rowBox makes a box from x1, y1, x2, y2, score[, class].
func rowBox(video string, frame int, r []float64) Box {
	b := Box{Video: video, Frame: frame, X1: r[0], Y1: r[1], X2: r[2], Y2: r[3], Score: r[4], Class: -1}
	if len(r) > 5 {
		b.Class = int(math.Round(r[5]))
	}
	return b
}

// arrayRows returns the rows of a float box array of shape [k, 5] or
// [k, 6] (or an empty array), in C order whatever the array's order.
func arrayRows(arr *npy.Array) ([][]float64, error) {
	var vals []float64
	switch d := arr.Data().(type) {
	case []float64:
		vals = d
	case []float32:
		vals = make([]float64, len(d))
		for i, v := range d {
			vals[i] = float64(v)
		}
	case nil:
	default:
		return nil, fmt.Errorf("numpy array of %T (dtype %v), want float32 or float64 boxes", d, arr.Descr())
	}
	return boxRows(arr.Shape(), arr.Fortran(), vals)
}

// boxRows checks a box array's shape and splits its values into rows.
func boxRows(shape []int, fortran bool, vals []float64) ([][]float64, error) {
	n := 1
	for _, d := range shape {
		n *= d
	}
	if n == 0 && len(shape) <= 2 {
		return nil, nil
	}
	if len(shape) != 2 || (shape[1] != 5 && shape[1] != 6) {
		return nil, fmt.Errorf("box array of shape %v, want [k, 5] (x1, y1, x2, y2, score) or [k, 6] (with class)", shape)
	}
	if len(vals) != n {
		return nil, fmt.Errorf("box array of shape %v holds %d values, want %d (truncated or corrupt)", shape, len(vals), n)
	}
	k, c := shape[0], shape[1]
	rows := make([][]float64, k)
	for i := range rows {
		r := make([]float64, c)
		for j := range r {
			if fortran {
				r[j] = vals[j*k+i]
			} else {
				r[j] = vals[i*c+j]
			}
		}
		rows[i] = r
	}
	return rows, nil
}

// findClass resolves the globals a pickle of numpy arrays names. Python 3
// pickles (protocol 2) of bytes objects go through _codecs.encode; numpy's
// own classes are npyio's.
func findClass(module, name string) (any, error) {
	switch module + "." + name {
	case "_codecs.encode":
		return codecsEncode{}, nil
	case "__builtin__.bytes", "builtins.bytes":
		return pyBytes{}, nil // protocol 2 writes b'' as bytes()
	case "numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer":
		return fromBuffer{}, nil
	}
	return npy.ClassLoader(module, name)
}

// fromBuffer is numpy's _frombuffer(buffer, dtype, shape, order), the way
// protocol 5 pickles arrays. It builds the array through npyio's own
// ndarray.__setstate__ so that dtypes decode the same as in older protocols.
type fromBuffer struct{}

func (fromBuffer) Call(args ...any) (any, error) {
	if len(args) != 4 {
		return nil, fmt.Errorf("numpy _frombuffer with %d arguments, want 4", len(args))
	}
	var raw []byte
	switch b := args[0].(type) {
	case *py.ByteArray:
		raw = *b
	case []byte:
		raw = b
	default:
		return nil, fmt.Errorf("numpy _frombuffer of a %s, want bytes (out-of-band buffers are not supported)", pyType(args[0]))
	}
	descr, ok := args[1].(*npy.ArrayDescr)
	if !ok {
		return nil, fmt.Errorf("numpy _frombuffer with dtype %s", pyType(args[1]))
	}
	shape, ok := args[2].(*py.Tuple)
	if !ok {
		return nil, fmt.Errorf("numpy _frombuffer with shape %s, want a tuple", pyType(args[2]))
	}
	order, _ := args[3].(string)
	a, err := (&npy.Array{}).PyNew(&npy.Array{}, descr, []int(nil), []int(nil), []byte(nil), 0)
	if err != nil {
		return nil, err
	}
	arr := a.(*npy.Array)
	if err := arr.PySetState(&py.Tuple{1, shape, descr, order == "F", raw}); err != nil {
		return nil, fmt.Errorf("numpy _frombuffer: %w", err)
	}
	return arr, nil
}

// codecsEncode is Python's _codecs.encode(str, "latin1"), the way protocol 2
// carries bytes: each code point below 256 is one byte.
type codecsEncode struct{}

func (codecsEncode) Call(args ...any) (any, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("_codecs.encode: no arguments")
	}
	s, ok := args[0].(string)
	if !ok {
		return nil, fmt.Errorf("_codecs.encode of a %s, want a str", pyType(args[0]))
	}
	if len(args) > 1 {
		if enc, _ := args[1].(string); enc != "latin1" && enc != "latin-1" && enc != "iso-8859-1" {
			return nil, fmt.Errorf("_codecs.encode with encoding %v: only latin1 is used by pickles of bytes", args[1])
		}
	}
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 255 {
			return nil, fmt.Errorf("_codecs.encode: code point %U is not latin1", r)
		}
		b = append(b, byte(r))
	}
	return b, nil
}

// pyBytes is Python's bytes() constructor, as far as pickles call it.
type pyBytes struct{}

func (pyBytes) Call(args ...any) (any, error) {
	switch {
	case len(args) == 0:
		return []byte{}, nil
	case len(args) == 1:
		if b, ok := args[0].([]byte); ok {
			return b, nil
		}
	}
	return nil, fmt.Errorf("bytes() with arguments %v: only bytes() and bytes(b) are supported", args)
}

// pyType names the Python-side type of an unpickled value for errors.
func pyType(v any) string {
	switch v.(type) {
	case *py.Dict, *py.OrderedDict:
		return "dict"
	case *py.List:
		return "list"
	case *py.Tuple:
		return "tuple"
	case string:
		return "str"
	case int:
		return "int"
	case float64:
		return "float"
	case nil:
		return "None"
	case *npy.Array:
		return "numpy array"
	}
	return fmt.Sprintf("%T", v)
}
