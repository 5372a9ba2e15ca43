package objects

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// testArray is a numpy array for the test pickler and .npy writer.
type testArray struct {
	dtype   string // "f4" or "f8"
	order   byte   // '<' or '>'
	shape   []int
	fortran bool
	vals    []float64 // in C order
}

// raw returns the array's bytes as numpy stores them (C or Fortran order).
func (a testArray) raw() []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	if a.order == '>' {
		bo = binary.BigEndian
	}
	vals := a.vals
	if a.fortran && len(a.shape) == 2 {
		k, c := a.shape[0], a.shape[1]
		vals = make([]float64, len(a.vals))
		for i := range k {
			for j := range c {
				vals[j*k+i] = a.vals[i*c+j]
			}
		}
	}
	var b []byte
	for _, v := range vals {
		if a.dtype == "f4" {
			b = bo.AppendUint32(b, math.Float32bits(float32(v)))
		} else {
			b = bo.AppendUint64(b, math.Float64bits(v))
		}
	}
	return b
}

// pickler writes the opcodes Python's pickle module writes for a dict of
// lists of numpy arrays (numpy's ndarray.__reduce__), so the reader is
// tested on the real wire form without Python (the forms were checked once
// by loading these pickles with Python's pickle and numpy). Protocol 2
// carries bytes through _codecs.encode(str, 'latin1'), empty bytes as
// bytes(); protocols 3 and 4 as BINBYTES; protocol 5 reduces arrays to
// numpy's _frombuffer.
type pickler struct {
	b     bytes.Buffer
	proto int
}

func (p *pickler) op(b ...byte) { p.b.Write(b) }

func (p *pickler) global(module, name string) { fmt.Fprintf(&p.b, "c%s\n%s\n", module, name) }

func (p *pickler) str(s string) {
	p.op('X')
	p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(s))))
	p.b.WriteString(s)
}

func (p *pickler) int(v int) {
	if v >= 0 && v < 256 {
		p.op('K', byte(v))
		return
	}
	p.op('J')
	p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(int32(v))))
}

func (p *pickler) bytes(raw []byte) {
	if p.proto >= 3 {
		p.op('B')
		p.b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(raw))))
		p.b.Write(raw)
		return
	}
	if len(raw) == 0 {
		p.global("__builtin__", "bytes") // what Python writes for b''
		p.op(')', 'R')                   // EMPTY_TUPLE, REDUCE
		return
	}
	var s strings.Builder
	for _, c := range raw {
		s.WriteRune(rune(c)) // latin1 code point, UTF-8 on the wire
	}
	p.global("_codecs", "encode")
	p.str(s.String())
	p.str("latin1")
	p.op(0x86, 'R') // TUPLE2, REDUCE
}

func (p *pickler) bool(v bool) {
	if v {
		p.op(0x88)
	} else {
		p.op(0x89)
	}
}

func (p *pickler) dtype(a testArray) {
	p.global("numpy", "dtype")
	p.str(a.dtype)
	p.bool(false)
	p.bool(true)
	p.op(0x87, 'R')
	p.op('(')
	p.int(3)
	p.str(string(a.order))
	p.op('N', 'N', 'N')
	p.int(-1)
	p.int(-1)
	p.int(0)
	p.op('t', 'b') // TUPLE, BUILD (dtype state)
}

func (p *pickler) shape(a testArray) {
	p.op('(')
	for _, d := range a.shape {
		p.int(d)
	}
	p.op('t')
}

func (p *pickler) array(a testArray) {
	if p.proto >= 5 {
		// numpy's protocol-5 reduction: _frombuffer(bytearray, dtype, shape, order).
		p.global("numpy.core.numeric", "_frombuffer")
		p.op('(', 0x96)
		p.b.Write(binary.LittleEndian.AppendUint64(nil, uint64(len(a.raw()))))
		p.b.Write(a.raw())
		p.dtype(a)
		p.shape(a)
		if a.fortran {
			p.str("F")
		} else {
			p.str("C")
		}
		p.op('t', 'R')
		return
	}
	p.global("numpy.core.multiarray", "_reconstruct")
	p.global("numpy", "ndarray")
	p.int(0)
	p.op(0x85) // TUPLE1
	p.bytes([]byte("b"))
	p.op(0x87, 'R') // TUPLE3, REDUCE
	p.op('(')       // state tuple
	p.int(1)
	p.shape(a)
	p.dtype(a)
	p.bool(a.fortran)
	p.bytes(a.raw())
	p.op('t', 'b') // TUPLE, BUILD (array state)
}

// dict writes {video: [arrays...]} in key order.
func (p *pickler) dict(keys []string, vals map[string][]testArray) []byte {
	p.op(0x80, byte(p.proto), '}', '(')
	for _, k := range keys {
		p.str(k)
		p.op(']', '(')
		for _, a := range vals[k] {
			p.array(a)
		}
		p.op('e')
	}
	p.op('u', '.')
	return p.b.Bytes()
}

// writeNPY writes a .npy file (format 1.0) of a test array.
func writeNPY(t testing.TB, path string, a testArray) {
	t.Helper()
	shape := "("
	for _, d := range a.shape {
		shape += fmt.Sprintf("%d,", d)
	}
	if len(a.shape) > 1 {
		shape = strings.TrimSuffix(shape, ",")
	}
	shape += ")"
	fortran := "False"
	if a.fortran {
		fortran = "True"
	}
	h := fmt.Sprintf("{'descr': '%c%s', 'fortran_order': %s, 'shape': %s, }", a.order, a.dtype, fortran, shape)
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	var b bytes.Buffer
	b.WriteString("\x93NUMPY\x01\x00")
	b.Write(binary.LittleEndian.AppendUint16(nil, uint16(len(h))))
	b.WriteString(h)
	b.Write(a.raw())
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantErr fails unless err mentions every part.
func wantErr(t testing.TB, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error %q does not mention %q", err, p)
		}
	}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// writeGrayPNG writes a gray PNG whose pixel (x, y) is f(x, y).
func writeGrayPNG(t testing.TB, path string, w, h int, f func(x, y int) uint8) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetGray(x, y, color.Gray{Y: f(x, y)})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
