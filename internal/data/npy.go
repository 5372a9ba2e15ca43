package data

import (
	"fmt"

	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/npyfile"
)

// ReadNPYLabels reads frame-level labels (0 normal, 1 anomalous) from a .npy
// file holding a vector: shape (N,), (1, N) or (N, 1), any integer, bool or
// float dtype. MNAD's files are (1, N) int64 (ped2), (1, N) int8 (avenue)
// and (N,) uint8 (shanghai).
func ReadNPYLabels(path string) ([]uint8, error) {
	a, err := npyfile.Read(path)
	if err != nil {
		return nil, err
	}
	vals, err := a.Int64s()
	if err != nil {
		return nil, fmt.Errorf("read labels %s: dtype %s: %w", path, a.DType, err)
	}
	long := 0
	for _, d := range a.Shape {
		if d != 1 {
			long++
		}
	}
	if long > 1 {
		return nil, fmt.Errorf("read labels %s: shape %v is not a vector; want (N,), (1, N) or (N, 1) frame labels", path, a.Shape)
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
func (v MaskVolume) Frame(i int) imageio.Mask {
	n := v.H * v.W
	return imageio.Mask{H: v.H, W: v.W, Pix: v.Pix[i*n : (i+1)*n]}
}

// ReadMaskVolume reads pixel masks stored as one .npy array of shape
// (N, H, W) (ShanghaiTech's test_pixel_mask/<video>.npy), or (H, W) for a
// single mask. Non-zero elements are anomalous.
func ReadMaskVolume(path string) (MaskVolume, error) {
	a, err := npyfile.Read(path)
	if err != nil {
		return MaskVolume{}, err
	}
	var v MaskVolume
	switch len(a.Shape) {
	case 2:
		v = MaskVolume{N: 1, H: a.Shape[0], W: a.Shape[1]}
	case 3:
		v = MaskVolume{N: a.Shape[0], H: a.Shape[1], W: a.Shape[2]}
	default:
		return MaskVolume{}, fmt.Errorf("read masks %s: shape %v; want (N, H, W) frame masks or (H, W)", path, a.Shape)
	}
	nz, err := a.Nonzero()
	if err != nil {
		return MaskVolume{}, fmt.Errorf("read masks %s: dtype %s: %w", path, a.DType, err)
	}
	if !a.Fortran {
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
