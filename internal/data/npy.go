package data

import (
	"bytes"
	"fmt"
	"os"
	"reflect"

	"codeberg.org/sbinet/npyio/npy"
)

// npyArray is a NumPy array read whole; data is a slice of its dtype.
type npyArray struct {
	dtype   string
	shape   []int
	fortran bool
	data    any
}

// readNPY reads a .npy file and checks that it holds as many elements as
// its shape says.
func readNPY(path string) (npyArray, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return npyArray{}, err
	}
	r, err := npy.NewReader(bytes.NewReader(b))
	if err != nil {
		return npyArray{}, fmt.Errorf("read npy %s: %w", path, err)
	}
	var arr npy.Array
	if err := r.Read(&arr); err != nil {
		return npyArray{}, fmt.Errorf("read npy %s (dtype %s): %w", path, r.Header.Descr.Type, err)
	}
	a := npyArray{dtype: r.Header.Descr.Type, shape: r.Header.Descr.Shape, fortran: r.Header.Descr.Fortran, data: arr.Data()}
	want := 1
	for _, d := range a.shape {
		want *= d
	}
	got := reflect.ValueOf(a.data)
	if got.Kind() != reflect.Slice {
		return npyArray{}, fmt.Errorf("read npy %s: dtype %s is not a plain numeric array", path, a.dtype)
	}
	if got.Len() != want {
		// npyio decodes whatever bytes follow the header, so a short file
		// shows up only as a short slice.
		return npyArray{}, fmt.Errorf("read npy %s: shape %v needs %d elements but the file holds %d (truncated or corrupt file)", path, a.shape, want, got.Len())
	}
	return a, nil
}

func widen(data any) ([]int64, error) {
	switch d := data.(type) {
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
	return nil, fmt.Errorf("unsupported element type %T: want integer, bool or float", data)
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

// ReadNPYLabels reads frame-level labels (0 normal, 1 anomalous) from a .npy
// file holding a vector: shape (N,), (1, N) or (N, 1), any integer, bool or
// float dtype. MNAD's files are (1, N) int64 (ped2), (1, N) int8 (avenue)
// and (N,) uint8 (shanghai).
func ReadNPYLabels(path string) ([]uint8, error) {
	a, err := readNPY(path)
	if err != nil {
		return nil, err
	}
	vals, err := widen(a.data)
	if err != nil {
		return nil, fmt.Errorf("read labels %s: dtype %s: %w", path, a.dtype, err)
	}
	long := 0
	for _, d := range a.shape {
		if d != 1 {
			long++
		}
	}
	if long > 1 {
		return nil, fmt.Errorf("read labels %s: shape %v is not a vector; want (N,), (1, N) or (N, 1) frame labels", path, a.shape)
	}
	out := make([]uint8, len(vals))
	for i, v := range vals {
		if v != 0 && v != 1 {
			return nil, fmt.Errorf("read labels %s: element %d is %d; want 0 (normal) or 1 (anomalous)", path, i, v)
		}
		out[i] = uint8(v)
	}
	return out, nil
}

// MaskVolume is a stack of N binary masks of H x W pixels, frame-major:
// Pix[n*H*W + y*W + x].
type MaskVolume struct {
	N, H, W int
	Pix     []bool
}

// Frame returns mask i, sharing memory with v.
func (v MaskVolume) Frame(i int) Mask {
	n := v.H * v.W
	return Mask{H: v.H, W: v.W, Pix: v.Pix[i*n : (i+1)*n]}
}

// ReadMaskVolume reads pixel masks stored as one .npy array of shape
// (N, H, W) (ShanghaiTech's test_pixel_mask/<video>.npy), or (H, W) for a
// single mask. Non-zero elements are anomalous.
func ReadMaskVolume(path string) (MaskVolume, error) {
	a, err := readNPY(path)
	if err != nil {
		return MaskVolume{}, err
	}
	var v MaskVolume
	switch len(a.shape) {
	case 2:
		v = MaskVolume{N: 1, H: a.shape[0], W: a.shape[1]}
	case 3:
		v = MaskVolume{N: a.shape[0], H: a.shape[1], W: a.shape[2]}
	default:
		return MaskVolume{}, fmt.Errorf("read masks %s: shape %v; want (N, H, W) frame masks or (H, W)", path, a.shape)
	}
	nz, err := nonzero(a.data)
	if err != nil {
		return MaskVolume{}, fmt.Errorf("read masks %s: dtype %s: %w", path, a.dtype, err)
	}
	if !a.fortran {
		v.Pix = nz
		return v, nil
	}
	v.Pix = make([]bool, len(nz))
	// Fortran order: element (n, y, x) is stored at n + N*(y + H*x).
	i := 0
	for x := range v.W {
		for y := range v.H {
			for n := range v.N {
				v.Pix[(n*v.H+y)*v.W+x] = nz[i]
				i++
			}
		}
	}
	return v, nil
}

// nonzero marks the non-zero elements of a numeric slice without widening
// it: pixel mask volumes hold hundreds of millions of elements.
func nonzero(data any) ([]bool, error) {
	switch d := data.(type) {
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
	return nil, fmt.Errorf("unsupported element type %T: want integer, bool or float", data)
}

func nonzeroOf[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](d []T) []bool {
	out := make([]bool, len(d))
	for i, v := range d {
		out[i] = v != 0
	}
	return out
}
