package data

import (
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/sharedtest"
)

// rawNPY builds a version 1.0 .npy file by hand, independently of npyio.
func rawNPY(descr string, fortran bool, shape []int, data []byte) []byte {
	dims := make([]string, len(shape))
	for i, d := range shape {
		dims[i] = fmt.Sprint(d)
	}
	sh := strings.Join(dims, ", ")
	if len(shape) == 1 {
		sh += ","
	}
	order := "False"
	if fortran {
		order = "True"
	}
	hdr := fmt.Sprintf("{'descr': '%s', 'fortran_order': %s, 'shape': (%s), }", descr, order, sh)
	for (10+len(hdr)+1)%64 != 0 {
		hdr += " "
	}
	hdr += "\n"
	out := []byte("\x93NUMPY\x01\x00")
	out = binary.LittleEndian.AppendUint16(out, uint16(len(hdr)))
	out = append(out, hdr...)
	return append(out, data...)
}

func TestReadNPYLabelsMNAD(t *testing.T) {
	dir := filepath.Join(sharedtest.Path(t), "data", "labels", "mnad")
	// Frame and anomaly counts from shared/data/labels/README.md.
	for _, tc := range []struct {
		name         string
		frames, anom int
	}{
		{"ped2", 2010, 1648},
		{"avenue", 15324, 3867},
		{"shanghai", 40791, 17326},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := ReadNPYLabels(filepath.Join(dir, "frame_labels_"+tc.name+".npy"))
			if err != nil {
				t.Fatal(err)
			}
			if len(l) != tc.frames || count(l) != tc.anom {
				t.Errorf("got %d frames, %d anomalous; want %d, %d", len(l), count(l), tc.frames, tc.anom)
			}
		})
	}
	// Avenue per-video anomalous counts (README), split by the known lengths.
	l, err := ReadNPYLabels(filepath.Join(dir, "frame_labels_avenue.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want := []int{451, 139, 87, 93, 318, 433, 105, 10, 333, 161, 183, 249, 81, 73, 90, 99, 358, 265, 132, 154, 53}
	off := 0
	for i, v := range AvenueTestVideos() {
		if got := count(l[off : off+v.Frames]); got != want[i] {
			t.Errorf("avenue video %s: %d anomalous, want %d", v.Name, got, want[i])
		}
		off += v.Frames
	}
}

func TestReadNPYLabels(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		file    []byte
		want    []uint8
		errPart string
	}{
		{"(N,) uint8", rawNPY("|u1", false, []int{4}, []byte{0, 1, 1, 0}), []uint8{0, 1, 1, 0}, ""},
		{"(1,N) int64", rawNPY("<i8", false, []int{1, 3}, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 1), 0), 1)), []uint8{1, 0, 1}, ""},
		{"(1,N) int8", rawNPY("|i1", false, []int{1, 2}, []byte{1, 0}), []uint8{1, 0}, ""},
		{"(N,1) bool", rawNPY("|b1", false, []int{3, 1}, []byte{0, 0, 1}), []uint8{0, 0, 1}, ""},
		{"big-endian int32", rawNPY(">i4", false, []int{2}, []byte{0, 0, 0, 1, 0, 0, 0, 0}), []uint8{1, 0}, ""},
		{"float64 whole", rawNPY("<f8", false, []int{2}, binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, 0x3ff0000000000000), 0)), []uint8{1, 0}, ""},
		{"matrix", rawNPY("|u1", false, []int{2, 2}, []byte{0, 1, 1, 0}), nil, "not a vector"},
		{"value 2", rawNPY("|u1", false, []int{3}, []byte{0, 2, 1}), nil, "element 1 is 2"},
		{"truncated", rawNPY("|u1", false, []int{5}, []byte{0, 1, 1}), nil, "truncated"},
		{"not npy", []byte("hello world, not numpy"), nil, "not a valid NumPy"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, fmt.Sprintf("l%d.npy", i))
			writeFile(t, path, tc.file)
			got, err := ReadNPYLabels(path)
			if tc.errPart != "" {
				wantErr(t, err, path, tc.errPart)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// A file written by npyio itself.
	path := filepath.Join(dir, "w.npy")
	writeNPY(t, path, []int64{0, 0, 1})
	if got, err := ReadNPYLabels(path); err != nil || string(got) != string([]uint8{0, 0, 1}) {
		t.Errorf("npyio-written file: got %v, %v", got, err)
	}
	_, err := ReadNPYLabels(filepath.Join(dir, "missing.npy"))
	wantErr(t, err, "missing.npy")
}

func TestReadMaskVolume(t *testing.T) {
	dir := t.TempDir()
	// Shape (2, 2, 3): mask n has pixel (y, x) set iff value v = n*6+y*3+x is odd.
	c := make([]byte, 12)
	for i := range c {
		c[i] = byte(i % 2)
	}
	// The same array in Fortran order: element (n,y,x) at n + 2*(y + 2*x).
	f := make([]byte, 12)
	for n := range 2 {
		for y := range 2 {
			for x := range 3 {
				f[n+2*(y+2*x)] = byte((n*6 + y*3 + x) % 2)
			}
		}
	}
	for name, file := range map[string][]byte{
		"c.npy": rawNPY("|u1", false, []int{2, 2, 3}, c),
		"f.npy": rawNPY("|u1", true, []int{2, 2, 3}, f),
	} {
		path := filepath.Join(dir, name)
		writeFile(t, path, file)
		v, err := ReadMaskVolume(path)
		if err != nil {
			t.Fatal(err)
		}
		if v.N != 2 || v.H != 2 || v.W != 3 {
			t.Fatalf("%s: shape %d,%d,%d", name, v.N, v.H, v.W)
		}
		for n := range 2 {
			m := v.Frame(n)
			for y := range 2 {
				for x := range 3 {
					if want := (n*6+y*3+x)%2 == 1; m.Pix[y*3+x] != want {
						t.Errorf("%s: mask %d (%d,%d) = %v, want %v", name, n, y, x, m.Pix[y*3+x], want)
					}
				}
			}
		}
	}
	bad := filepath.Join(dir, "bad.npy")
	writeFile(t, bad, rawNPY("|u1", false, []int{4}, []byte{0, 1, 0, 1}))
	_, err := ReadMaskVolume(bad)
	wantErr(t, err, bad, "(N, H, W)")
	if err := os.Remove(bad); err != nil {
		t.Fatal(err)
	}
}
