package matfile_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/matfile"
	"github.com/fmam/fmam/internal/matfile/matfiletest"
	"github.com/fmam/fmam/internal/sharedtest"
)

func TestDecode(t *testing.T) {
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		w := matfiletest.Writer{Order: order}
		var i16 []byte
		for _, v := range []int16{-3, 0, 7} {
			i16 = w.Order.AppendUint16(i16, uint16(v))
		}
		var u16 []byte
		for _, r := range "hi!" {
			u16 = w.Order.AppendUint16(u16, uint16(r))
		}
		cell := w.Matrix(matfile.Cell, 0, []int32{1, 3}, "c",
			w.Matrix(matfile.Uint8, 0, []int32{2, 1}, "", w.Element(matfiletest.TypeUint8, []byte{61, 180})),
			w.Matrix(matfile.Double, 0, []int32{0, 0}, "", w.Element(matfiletest.TypeDouble, nil)),
			w.Matrix(matfile.Char, 0, []int32{1, 3}, "", w.Element(matfiletest.TypeUTF16, u16)),
		)
		names := append([]byte("alpha\x00\x00\x00"), []byte("b\x00\x00\x00\x00\x00\x00\x00")...)
		strct := w.Matrix(matfile.Struct, 0, []int32{1, 1}, "s",
			w.Element(matfiletest.TypeInt32, w.Order.AppendUint32(nil, 8)),
			w.Element(matfiletest.TypeInt8, names),
			w.Matrix(matfile.Double, 0, []int32{1, 1}, "", w.Doubles(2.5)),
			w.Matrix(matfile.Uint8, 0x200, []int32{1, 2}, "", w.Element(matfiletest.TypeUint8, []byte{1, 0})),
		)
		file := w.File(
			// A double matrix stored as matfiletest.TypeInt16, as MATLAB does for small integers.
			w.Matrix(matfile.Double, 0, []int32{1, 3}, "x", w.Element(matfiletest.TypeInt16, i16)),
			w.Compressed(cell),
			w.Compressed(strct),
			w.Matrix(matfile.Double, 0x800, []int32{1, 2}, "z", w.Doubles(1, 2), w.Doubles(-1, 0)),
		)
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			mf, err := matfile.Decode(bytes.NewReader(file), matfile.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(mf.Vars) != 4 || !strings.HasPrefix(mf.Header, "MATLAB 5.0") {
				t.Fatalf("got %d vars, header %q", len(mf.Vars), mf.Header)
			}
			x, err := mf.Var("x")
			if err != nil {
				t.Fatal(err)
			}
			if x.Class != matfile.Double || fmt.Sprint(x.Dims, x.Real) != "[1 3] [-3 0 7]" || x.NonZero != 2 {
				t.Errorf("x = %v %v %v nz %d", x.Class, x.Dims, x.Real, x.NonZero)
			}
			c, _ := mf.Var("c")
			if c == nil || c.Class != matfile.Cell || len(c.Cells) != 3 {
				t.Fatalf("c = %+v", c)
			}
			if got := fmt.Sprint(c.Cells[0].Class, c.Cells[0].Dims, c.Cells[0].Real); got != "uint8 [2 1] [61 180]" {
				t.Errorf("c{1} = %s", got)
			}
			if c.Cells[1].Len() != 0 || c.Cells[2].String() != "hi!" {
				t.Errorf("c{2} has %d elements, c{3} = %q", c.Cells[1].Len(), c.Cells[2].String())
			}
			s, _ := mf.Var("s")
			a, okA := s.Field(0, "alpha")
			b, okB := s.Field(0, "b")
			if !okA || !okB || fmt.Sprint(s.Fields, a.Real, b.Real, b.Logical) != "[alpha b] [2.5] [1 0] true" {
				t.Errorf("s = %v %v %v", s.Fields, a, b)
			}
			z, _ := mf.Var("z")
			if !z.Complex || fmt.Sprint(z.Real, z.Imag) != "[1 2] [-1 0]" {
				t.Errorf("z = %v + %vi", z.Real, z.Imag)
			}
			if _, err := mf.Var("nope"); err == nil || !strings.Contains(err.Error(), `"x"`) {
				t.Errorf("missing variable error %v does not list the variables", err)
			}
			// DropNumeric keeps counts only.
			mf, err = matfile.Decode(bytes.NewReader(file), matfile.Options{DropNumeric: true})
			if err != nil {
				t.Fatal(err)
			}
			if x := mf.Vars[0]; x.Real != nil || x.NonZero != 2 {
				t.Errorf("dropped x = %v nz %d", x.Real, x.NonZero)
			}
		})
	}
}

func TestReadCorrupt(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(ped2Dir(t), "ped2.mat"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	flipped := bytes.Clone(good)
	flipped[len(flipped)-20] ^= 0xff
	w := matfiletest.Writer{Order: binary.LittleEndian}
	v73 := bytes.Clone(w.File())
	copy(v73, fmt.Sprintf("%-116s", "MATLAB 7.3 MAT-file"))
	v73[124], v73[125] = 0, 2
	hugeCell := w.File(w.Matrix(matfile.Cell, 0, []int32{1, 2}, "c",
		w.Matrix(matfile.Double, 0, []int32{1, 1}, "", w.Doubles(1))))
	sparse := w.File(w.Matrix(matfile.Sparse, 0, []int32{2, 2}, "sp"))
	for name, tc := range map[string]struct {
		data []byte
		part string
	}{
		"header-only.mat": {good[:100], "header"},
		"cut-tag.mat":     {good[:131], "truncated"},
		"cut-data.mat":    {good[:len(good)-30], ""},
		"flipped.mat":     {flipped, ""},
		"text.mat":        {[]byte(strings.Repeat("x", 200)), "not a MATLAB level 5"},
		"v73.mat":         {v73, "v7.3"},
		"short-cell.mat":  {hugeCell, "cell 2"},
		"sparse.mat":      {sparse, "sparse"},
	} {
		path := filepath.Join(dir, name)
		writeFile(t, path, tc.data)
		_, err := matfile.Read(path, matfile.Options{})
		wantErr(t, err, path, tc.part)
	}
}

func ped2Dir(t testing.TB) string {
	t.Helper()
	return sharedtest.Path(t, "data", "ped2")
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err is non-nil and contains every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want one containing %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not contain %q", err, p)
		}
	}
}
