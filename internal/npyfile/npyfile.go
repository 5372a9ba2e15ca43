// Package npyfile reads NumPy .npy files whole, with the checks every
// reader of .npy labels, masks, boxes and anomaly maps in fmam needs: that
// the file holds as many elements as its header's shape says, and
// conversions of its data to the Go element type a caller wants, refusing
// dtypes that do not fit. Errors name the file. It is built on
// codeberg.org/sbinet/npyio, which decodes either byte order.
package npyfile

import (
	"bytes"
	"fmt"
	"os"
	"reflect"

	"codeberg.org/sbinet/npyio/npy"
)

// Array is a NumPy array read whole.
type Array struct {
	// Path is the file the array was read from; conversion errors name it.
	Path string
	// DType is the header's descr as written, a quoted Python literal
	// such as '<f4'.
	DType string
	Shape []int
	// Fortran is set for column-major data.
	Fortran bool
	// Data is a slice of the dtype's Go type ([]float32 for '<f4').
	Data any
}

// TruncatedError reports a file that holds fewer (or more) elements than
// its shape says. npyio decodes whatever bytes follow the header, so a
// short file shows up only as a short slice.
type TruncatedError struct {
	Path      string
	Shape     []int
	Want, Got int
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("read npy %s: shape %v needs %d elements but the file holds %d (truncated or corrupt file)", e.Path, e.Shape, e.Want, e.Got)
}

// Read reads the .npy file at path and checks that it holds as many
// elements as its shape says (a *TruncatedError if not).
func Read(path string) (*Array, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := npy.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("read npy %s: %w", path, err)
	}
	var arr npy.Array
	if err := r.Read(&arr); err != nil {
		return nil, fmt.Errorf("read npy %s (dtype %s): %w", path, r.Header.Descr.Type, err)
	}
	a := &Array{Path: path, DType: r.Header.Descr.Type, Shape: r.Header.Descr.Shape, Fortran: r.Header.Descr.Fortran, Data: arr.Data()}
	got := reflect.ValueOf(a.Data)
	if got.Kind() != reflect.Slice {
		return nil, fmt.Errorf("read npy %s: dtype %s is not a plain numeric array", path, a.DType)
	}
	if want := a.Len(); got.Len() != want {
		return nil, &TruncatedError{Path: path, Shape: a.Shape, Want: want, Got: got.Len()}
	}
	return a, nil
}

// Len is the number of elements the shape says, the product of Shape.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Shape {
		n *= d
	}
	return n
}

// Int64s returns the elements of an integer or bool array, or of a float
// array whose elements are all whole numbers, as int64 (bools as 0 and 1).
func (a *Array) Int64s() ([]int64, error) {
	switch d := a.Data.(type) {
	case []bool:
		out := make([]int64, len(d))
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
		return out, nil
	case []int8:
		return widenInts(d), nil
	case []int16:
		return widenInts(d), nil
	case []int32:
		return widenInts(d), nil
	case []int64:
		return d, nil
	case []uint8:
		return widenInts(d), nil
	case []uint16:
		return widenInts(d), nil
	case []uint32:
		return widenInts(d), nil
	case []uint64:
		return widenInts(d), nil
	case []float32:
		return widenFloats(d)
	case []float64:
		return widenFloats(d)
	}
	return nil, fmt.Errorf("unsupported element type %T: want integer, bool or float", a.Data)
}

func widenInts[T int8 | int16 | int32 | uint8 | uint16 | uint32 | uint64](d []T) []int64 {
	out := make([]int64, len(d))
	for i, v := range d {
		out[i] = int64(v)
	}
	return out
}

func widenFloats[T float32 | float64](d []T) ([]int64, error) {
	out := make([]int64, len(d))
	for i, v := range d {
		if v != T(int64(v)) {
			return nil, fmt.Errorf("element %d is %v, want a whole number", i, v)
		}
		out[i] = int64(v)
	}
	return out, nil
}

// Nonzero marks the non-zero elements of a numeric or bool array without
// widening it first: pixel mask volumes hold hundreds of millions of
// elements.
func (a *Array) Nonzero() ([]bool, error) {
	switch d := a.Data.(type) {
	case []bool:
		return d, nil
	case []int8:
		return nonzeroOf(d), nil
	case []int16:
		return nonzeroOf(d), nil
	case []int32:
		return nonzeroOf(d), nil
	case []int64:
		return nonzeroOf(d), nil
	case []uint8:
		return nonzeroOf(d), nil
	case []uint16:
		return nonzeroOf(d), nil
	case []uint32:
		return nonzeroOf(d), nil
	case []uint64:
		return nonzeroOf(d), nil
	case []float32:
		return nonzeroOf(d), nil
	case []float64:
		return nonzeroOf(d), nil
	}
	return nil, fmt.Errorf("unsupported element type %T: want integer, bool or float", a.Data)
}

func nonzeroOf[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](d []T) []bool {
	out := make([]bool, len(d))
	for i, v := range d {
		out[i] = v != 0
	}
	return out
}

// Float64s returns the elements of a float32 or float64 array as float64;
// other dtypes are an error.
func (a *Array) Float64s() ([]float64, error) {
	switch d := a.Data.(type) {
	case []float64:
		return d, nil
	case []float32:
		out := make([]float64, len(d))
		for i, v := range d {
			out[i] = float64(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("numpy array of %T (dtype %s), want float32 or float64", a.Data, a.DType)
}

// Float32s returns the elements of a float32 or float64 array as float32
// (float64 values rounded); other dtypes are an error.
func (a *Array) Float32s() ([]float32, error) {
	switch d := a.Data.(type) {
	case []float32:
		return d, nil
	case []float64:
		out := make([]float32, len(d))
		for i, v := range d {
			out[i] = float32(v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("numpy array of %T (dtype %s), want float32 or float64", a.Data, a.DType)
}
