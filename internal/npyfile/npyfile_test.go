package npyfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
)

func write(t *testing.T, v any, cut int) string {
	t.Helper()
	var b bytes.Buffer
	if err := npy.Write(&b, v); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "a.npy")
	if err := os.WriteFile(path, b.Bytes()[:b.Len()-cut], 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRead(t *testing.T) {
	a, err := Read(write(t, []float64{1, 0, 3}, 0))
	if err != nil {
		t.Fatal(err)
	}
	if ints, err := a.Int64s(); err != nil || !slices.Equal(ints, []int64{1, 0, 3}) {
		t.Errorf("Int64s = %v, %v; want [1 0 3]", ints, err)
	}
	if nz, err := a.Nonzero(); err != nil || !slices.Equal(nz, []bool{true, false, true}) {
		t.Errorf("Nonzero = %v, %v", nz, err)
	}
	if f, err := a.Float32s(); err != nil || !slices.Equal(f, []float32{1, 0, 3}) {
		t.Errorf("Float32s = %v, %v", f, err)
	}

	// 1.5 is no integer label; int16 data is no float map.
	if a, err = Read(write(t, []float32{1.5}, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Int64s(); err == nil || !strings.Contains(err.Error(), "whole number") {
		t.Errorf("Int64s of 1.5: error %v", err)
	}
	if a, err = Read(write(t, []int16{1, 2}, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Float64s(); err == nil || !strings.Contains(err.Error(), "want float32 or float64") {
		t.Errorf("Float64s of int16: error %v", err)
	}

	// Two of four float32 elements cut off.
	path := write(t, []float32{1, 2, 3, 4}, 8)
	_, err = Read(path)
	var short *TruncatedError
	if !errors.As(err, &short) || short.Want != 4 || short.Got != 2 || !strings.Contains(err.Error(), path) {
		t.Errorf("truncated file: error %v; want a TruncatedError naming %s, 4 wanted, 2 held", err, path)
	}
}
