// Package matfiletest writes MAT-files for tests, built from the format
// specification ("MAT-File Format", The MathWorks, R2018a) independently of
// the reader in package matfile, so that a test checks the reader against
// the specification rather than against itself.
package matfiletest

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/fmam/fmam/internal/matfile"
)

// MAT-file data types (miINT8 etc.).
const (
	TypeInt8       = 1
	TypeUint8      = 2
	TypeInt16      = 3
	TypeInt32      = 5
	TypeUint32     = 6
	TypeDouble     = 9
	TypeMatrix     = 14
	TypeCompressed = 15
	TypeUTF16      = 17
)

// Writer encodes MAT-file elements in one byte order.
type Writer struct {
	Order binary.AppendByteOrder
}

// Element encodes a data element, in the small format when it fits.
func (w Writer) Element(typ uint32, data []byte) []byte {
	var out []byte
	if len(data) <= 4 {
		out = w.Order.AppendUint32(out, uint32(len(data))<<16|typ)
		out = append(out, data...)
		return append(out, make([]byte, 4-len(data))...)
	}
	out = w.Order.AppendUint32(out, typ)
	out = w.Order.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	return append(out, make([]byte, (8-len(data)%8)%8)...)
}

// Matrix encodes a miMATRIX element; body is the class-specific part.
func (w Writer) Matrix(class matfile.Class, flags uint32, dims []int32, name string, body ...[]byte) []byte {
	var f []byte
	f = w.Order.AppendUint32(f, uint32(class)|flags)
	f = w.Order.AppendUint32(f, 0)
	var d []byte
	for _, v := range dims {
		d = w.Order.AppendUint32(d, uint32(v))
	}
	content := append(w.Element(TypeUint32, f), w.Element(TypeInt32, d)...)
	content = append(content, w.Element(TypeInt8, []byte(name))...)
	for _, b := range body {
		content = append(content, b...)
	}
	out := w.Order.AppendUint32(nil, TypeMatrix)
	out = w.Order.AppendUint32(out, uint32(len(content)))
	return append(out, content...)
}

// Compressed wraps elem in a miCOMPRESSED element.
func (w Writer) Compressed(elem []byte) []byte {
	var zb bytes.Buffer
	zw := zlib.NewWriter(&zb)
	zw.Write(elem)
	zw.Close()
	out := w.Order.AppendUint32(nil, TypeCompressed)
	out = w.Order.AppendUint32(out, uint32(zb.Len()))
	return append(out, zb.Bytes()...)
}

// File returns a whole MAT-file: the 128-byte header, then elems.
func (w Writer) File(elems ...[]byte) []byte {
	hdr := []byte(fmt.Sprintf("%-116s", "MATLAB 5.0 MAT-file, written by a test"))
	hdr = append(hdr, make([]byte, 8)...)
	hdr = w.Order.AppendUint16(hdr, 0x0100)
	hdr = w.Order.AppendUint16(hdr, 'M'<<8|'I')
	for _, e := range elems {
		hdr = append(hdr, e...)
	}
	return hdr
}

// Doubles encodes v as a miDOUBLE element.
func (w Writer) Doubles(v ...float64) []byte {
	var b []byte
	for _, x := range v {
		b = w.Order.AppendUint64(b, math.Float64bits(x))
	}
	return w.Element(TypeDouble, b)
}
