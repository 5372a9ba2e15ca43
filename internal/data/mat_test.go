package data

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/fmam/fmam/internal/sharedtest"
)

// matWriter builds MAT-files from the format specification, for tests.
type matWriter struct {
	order binary.AppendByteOrder
}

// element encodes a data element, in the small format when it fits.
func (w matWriter) element(typ uint32, data []byte) []byte {
	var out []byte
	if len(data) <= 4 {
		out = w.order.AppendUint32(out, uint32(len(data))<<16|typ)
		out = append(out, data...)
		return append(out, make([]byte, 4-len(data))...)
	}
	out = w.order.AppendUint32(out, typ)
	out = w.order.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	return append(out, make([]byte, pad8(int64(len(data))))...)
}

// matrix encodes a miMATRIX element; body is the class-specific part.
func (w matWriter) matrix(class MatClass, flags uint32, dims []int32, name string, body ...[]byte) []byte {
	var f []byte
	f = w.order.AppendUint32(f, uint32(class)|flags)
	f = w.order.AppendUint32(f, 0)
	var d []byte
	for _, v := range dims {
		d = w.order.AppendUint32(d, uint32(v))
	}
	content := append(w.element(miUINT32, f), w.element(miINT32, d)...)
	content = append(content, w.element(miINT8, []byte(name))...)
	for _, b := range body {
		content = append(content, b...)
	}
	out := w.order.AppendUint32(nil, miMATRIX)
	out = w.order.AppendUint32(out, uint32(len(content)))
	return append(out, content...)
}

func (w matWriter) compressed(elem []byte) []byte {
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	zw.Write(elem)
	zw.Close()
	out := w.order.AppendUint32(nil, miCOMPRESSED)
	out = w.order.AppendUint32(out, uint32(zb.Len()))
	return append(out, zb.Bytes()...)
}

func (w matWriter) file(elems ...[]byte) []byte {
	hdr := []byte(fmt.Sprintf("%-116s", "MATLAB 5.0 MAT-file, written by a test"))
	hdr = append(hdr, make([]byte, 8)...)
	hdr = w.order.AppendUint16(hdr, 0x0100)
	hdr = w.order.AppendUint16(hdr, 'M'<<8|'I')
	for _, e := range elems {
		hdr = append(hdr, e...)
	}
	return hdr
}

func (w matWriter) doubles(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = w.order.AppendUint64(b, math.Float64bits(x))
	}
	return w.element(miDOUBLE, b)
}

func TestDecodeMAT(t *testing.T) {
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		w := matWriter{order}
		var i16 []byte
		for _, v := range []int16{-3, 0, 7} {
			i16 = w.order.AppendUint16(i16, uint16(v))
		}
		var u16 []byte
		for _, r := range "hi!" {
			u16 = w.order.AppendUint16(u16, uint16(r))
		}
		cell := w.matrix(MatCell, 0, []int32{1, 3}, "c",
			w.matrix(MatUint8, 0, []int32{2, 1}, "", w.element(miUINT8, []byte{61, 180})),
			w.matrix(MatDouble, 0, []int32{0, 0}, "", w.element(miDOUBLE, nil)),
			w.matrix(MatChar, 0, []int32{1, 3}, "", w.element(miUTF16, u16)),
		)
		names := append([]byte("alpha\x00\x00\x00"), []byte("b\x00\x00\x00\x00\x00\x00\x00")...)
		strct := w.matrix(MatStruct, 0, []int32{1, 1}, "s",
			w.element(miINT32, w.order.AppendUint32(nil, 8)),
			w.element(miINT8, names),
			w.matrix(MatDouble, 0, []int32{1, 1}, "", w.doubles(2.5)),
			w.matrix(MatUint8, 0x200, []int32{1, 2}, "", w.element(miUINT8, []byte{1, 0})),
		)
		file := w.file(
			// A double matrix stored as miINT16, as MATLAB does for small integers.
			w.matrix(MatDouble, 0, []int32{1, 3}, "x", w.element(miINT16, i16)),
			w.compressed(cell),
			w.compressed(strct),
			w.matrix(MatDouble, 0x800, []int32{1, 2}, "z", w.doubles(1, 2), w.doubles(-1, 0)),
		)
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			mf, err := DecodeMAT(bytes.NewReader(file), MatOptions{})
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
			if x.Class != MatDouble || fmt.Sprint(x.Dims, x.Real) != "[1 3] [-3 0 7]" || x.NonZero != 2 {
				t.Errorf("x = %v %v %v nz %d", x.Class, x.Dims, x.Real, x.NonZero)
			}
			c, _ := mf.Var("c")
			if c == nil || c.Class != MatCell || len(c.Cells) != 3 {
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
			mf, err = DecodeMAT(bytes.NewReader(file), MatOptions{DropNumeric: true})
			if err != nil {
				t.Fatal(err)
			}
			if x := mf.Vars[0]; x.Real != nil || x.NonZero != 2 {
				t.Errorf("dropped x = %v nz %d", x.Real, x.NonZero)
			}
		})
	}
}

func TestReadMATCorrupt(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(ped2Dir(t), "ped2.mat"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	flipped := bytes.Clone(good)
	flipped[len(flipped)-20] ^= 0xff
	w := matWriter{binary.LittleEndian}
	v73 := bytes.Clone(w.file())
	copy(v73, fmt.Sprintf("%-116s", "MATLAB 7.3 MAT-file"))
	v73[124], v73[125] = 0, 2
	hugeCell := w.file(w.matrix(MatCell, 0, []int32{1, 2}, "c",
		w.matrix(MatDouble, 0, []int32{1, 1}, "", w.doubles(1))))
	sparse := w.file(w.matrix(MatSparse, 0, []int32{2, 2}, "sp"))
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
		_, err := ReadMAT(path, MatOptions{})
		wantErr(t, err, path, tc.part)
	}
}

func TestReadRangesMATPed2(t *testing.T) {
	ranges, err := ReadRangesMAT(filepath.Join(ped2Dir(t), "ped2.mat"), "gt")
	if err != nil {
		t.Fatal(err)
	}
	// The table of shared/data/ped2/README.md.
	want := "[[{61 180}] [{95 180}] [{1 146}] [{31 180}] [{1 129}] [{1 159}] [{46 180}] [{1 180}] [{1 120}] [{1 150}] [{1 180}] [{88 180}]]"
	if got := fmt.Sprint(ranges); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	_, err = ReadRangesMAT(filepath.Join(ped2Dir(t), "ped2.mat"), "labels")
	wantErr(t, err, "ped2.mat", `no variable "labels"`, `"gt"`)
}

// avenueMasks are the frame and non-empty-mask counts of CUHK Avenue's
// testing_label_mask files, from shared/data/labels/README.md.
var avenueMasks = [][2]int{
	{1439, 408}, {1211, 89}, {923, 87}, {947, 93}, {1007, 318}, {1283, 429}, {605, 123}, {36, 36},
	{1175, 289}, {841, 133}, {472, 144}, {1271, 190}, {549, 75}, {507, 74}, {1001, 90}, {740, 109},
	{426, 384}, {294, 294}, {248, 140}, {273, 154}, {76, 53},
}

func TestReadAvenueMaskLabels(t *testing.T) {
	dir := filepath.Join(sharedtest.Path(t), "data", "labels", "avenue", "ground_truth_demo", "testing_label_mask")
	videos := []int{8, 21, 19, 20, 18}
	if !testing.Short() {
		videos = videos[:0]
		for v := range avenueMasks {
			videos = append(videos, v+1)
		}
	}
	got := make([][2]int, len(videos))
	errs := make([]error, len(videos))
	var wg sync.WaitGroup
	for i, v := range videos {
		wg.Go(func() {
			l, err := ReadAvenueMaskLabels(filepath.Join(dir, fmt.Sprintf("%d_label.mat", v)))
			got[i], errs[i] = [2]int{len(l), count(l)}, err
		})
	}
	wg.Wait()
	frames, nonEmpty := 0, 0
	for i, v := range videos {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i] != avenueMasks[v-1] {
			t.Errorf("video %d: got %d frames, %d non-empty masks; want %v", v, got[i][0], got[i][1], avenueMasks[v-1])
		}
		frames += got[i][0]
		nonEmpty += got[i][1]
	}
	if !testing.Short() && (frames != 15324 || nonEmpty != 3712) {
		t.Errorf("totals: %d frames, %d non-empty; want 15324, 3712", frames, nonEmpty)
	}
}

func TestReadRangesMATShapes(t *testing.T) {
	w := matWriter{binary.LittleEndian}
	u8 := func(dims []int32, v ...byte) []byte {
		return w.matrix(MatUint8, 0, dims, "", w.element(miUINT8, v))
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mat")
	writeFile(t, good, w.file(w.compressed(w.matrix(MatCell, 0, []int32{1, 4}, "gt",
		u8([]int32{2, 1}, 3, 5),
		u8([]int32{2, 2}, 1, 2, 7, 9), // two ranges, column-major
		u8([]int32{1, 2}, 4, 4),
		w.matrix(MatDouble, 0, []int32{0, 0}, "", w.element(miDOUBLE, nil)),
	))))
	got, err := ReadRangesMAT(good, "gt")
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(got); s != "[[{3 5}] [{1 2} {7 9}] [{4 4}] []]" {
		t.Errorf("got %s", s)
	}
	bad := filepath.Join(dir, "bad.mat")
	writeFile(t, bad, w.file(w.matrix(MatCell, 0, []int32{1, 2}, "gt", u8([]int32{2, 1}, 3, 5), u8([]int32{3, 1}, 1, 2, 3))))
	_, err = ReadRangesMAT(bad, "gt")
	wantErr(t, err, bad, "gt{2}", "2xK")
	notCell := filepath.Join(dir, "notcell.mat")
	writeFile(t, notCell, w.file(u8AsVar(w, "gt")))
	_, err = ReadRangesMAT(notCell, "gt")
	wantErr(t, err, notCell, "cell array")
}

func u8AsVar(w matWriter, name string) []byte {
	return w.matrix(MatUint8, 0, []int32{2, 1}, name, w.element(miUINT8, []byte{1, 2}))
}
