// Package matfile reads MATLAB level 5 MAT-files (MATLAB v5/v6/v7, not the
// HDF5 based v7.3), following "MAT-File Format" (The MathWorks, R2018a). It
// covers what published anomaly-detection labels use: numeric, logical and
// char arrays, cell arrays and structs, compressed (miCOMPRESSED) or not,
// either byte order. Sparse arrays and objects are rejected with a clear
// error.
package matfile

import (
	"bufio"
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"unicode/utf16"
)

// Class is a MATLAB array class (mxCELL_CLASS etc.).
type Class uint8

// MATLAB array classes.
const (
	Cell   Class = 1
	Struct Class = 2
	Object Class = 3
	Char   Class = 4
	Sparse Class = 5
	Double Class = 6
	Single Class = 7
	Int8   Class = 8
	Uint8  Class = 9
	Int16  Class = 10
	Uint16 Class = 11
	Int32  Class = 12
	Uint32 Class = 13
	Int64  Class = 14
	Uint64 Class = 15
)

func (c Class) String() string {
	names := [...]string{"", "cell", "struct", "object", "char", "sparse", "double", "single",
		"int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"}
	if int(c) < len(names) && c != 0 {
		return names[c]
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// Numeric reports whether c is one of the numeric classes (double to uint64).
func (c Class) Numeric() bool { return c >= Double && c <= Uint64 }

// Array is one MATLAB array. Element data is in MATLAB's column-major
// order.
type Array struct {
	Name    string
	Class   Class
	Dims    []int
	Complex bool
	Logical bool
	// Real holds numeric, logical and char data converted to float64
	// (int64 values beyond 2^53 lose precision). Nil for cells and structs,
	// and for numeric arrays read with Options.DropNumeric.
	Real, Imag []float64
	// NonZero counts the non-zero elements of Real; it is kept even when
	// the data is dropped.
	NonZero int
	// Cells holds the elements of a cell array.
	Cells []*Array
	// Fields names the fields of a struct array; Struct[i][j] is field j of
	// element i.
	Fields []string
	Struct [][]*Array
}

// Len is the number of elements, the product of Dims.
func (a *Array) Len() int {
	n := 1
	for _, d := range a.Dims {
		n *= d
	}
	return n
}

// String returns the text of a char array (column-major for matrices).
func (a *Array) String() string {
	if a.Class != Char {
		return fmt.Sprintf("<%v %v %q>", a.Dims, a.Class, a.Name)
	}
	var sb strings.Builder
	for _, v := range a.Real {
		sb.WriteRune(rune(v))
	}
	return sb.String()
}

// Field returns field name of struct element i.
func (a *Array) Field(i int, name string) (*Array, bool) {
	if a.Class != Struct || i < 0 || i >= len(a.Struct) {
		return nil, false
	}
	for j, f := range a.Fields {
		if f == name {
			return a.Struct[i][j], true
		}
	}
	return nil, false
}

// File is the content of a MAT-file.
type File struct {
	// Header is the descriptive text of the file header.
	Header string
	Vars   []*Array
}

// Var returns the variable called name.
func (f *File) Var(name string) (*Array, error) {
	names := make([]string, 0, len(f.Vars))
	for _, v := range f.Vars {
		if v.Name == name {
			return v, nil
		}
		names = append(names, v.Name)
	}
	return nil, fmt.Errorf("no variable %q (the file has %q)", name, names)
}

// Options tunes Read and Decode.
type Options struct {
	// DropNumeric discards the elements of numeric arrays after counting
	// the non-zero ones, so that files of large masks (CUHK Avenue's 360x640
	// per-frame masks) can be scanned in bounded memory.
	DropNumeric bool
}

// Read reads a MATLAB level 5 MAT-file.
func Read(path string, opt Options) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mf, err := Decode(bufio.NewReaderSize(f, 1<<16), opt)
	if err != nil {
		return nil, fmt.Errorf("read MAT-file %s: %w", path, err)
	}
	return mf, nil
}

// MAT-file data types (miINT8 etc.).
const (
	miINT8       = 1
	miUINT8      = 2
	miINT16      = 3
	miUINT16     = 4
	miINT32      = 5
	miUINT32     = 6
	miSINGLE     = 7
	miDOUBLE     = 9
	miINT64      = 12
	miUINT64     = 13
	miMATRIX     = 14
	miCOMPRESSED = 15
	miUTF8       = 16
	miUTF16      = 17
	miUTF32      = 18
)

func miSize(t uint32) int {
	switch t {
	case miINT8, miUINT8, miUTF8:
		return 1
	case miINT16, miUINT16, miUTF16:
		return 2
	case miINT32, miUINT32, miSINGLE, miUTF32:
		return 4
	case miDOUBLE, miINT64, miUINT64:
		return 8
	}
	return 0
}

// maxDepth bounds nesting of cells and structs so a corrupt file cannot
// recurse without end.
const maxDepth = 64

// Decode reads a MATLAB level 5 MAT-file from r.
func Decode(r io.Reader, opt Options) (*File, error) {
	var hdr [128]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, fmt.Errorf("header: %w (a MAT-file starts with a 128-byte header)", noEOF(err))
	}
	text := strings.TrimRight(string(hdr[:116]), " \x00")
	var order binary.ByteOrder
	switch string(hdr[126:128]) {
	case "IM":
		order = binary.LittleEndian
	case "MI":
		order = binary.BigEndian
	default:
		if strings.HasPrefix(text, "MATLAB 7.3") {
			return nil, errors.New("MATLAB v7.3 (HDF5) MAT-files are not supported; re-save with save(..., '-v7')")
		}
		return nil, fmt.Errorf("not a MATLAB level 5 MAT-file: bad endian indicator %q at byte 126", hdr[126:128])
	}
	if v := order.Uint16(hdr[124:126]); v != 0x0100 {
		if strings.HasPrefix(text, "MATLAB 7.3") {
			return nil, errors.New("MATLAB v7.3 (HDF5) MAT-files are not supported; re-save with save(..., '-v7')")
		}
		return nil, fmt.Errorf("unsupported MAT-file version %#04x (want 0x0100)", v)
	}
	d := &matDecoder{order: order, opt: opt}
	mf := &File{Header: text}
	for i := 0; ; i++ {
		var tag [8]byte
		n, err := io.ReadFull(r, tag[:])
		if err == io.EOF {
			return mf, nil
		}
		if err != nil {
			return nil, fmt.Errorf("element %d tag: %w (got %d of 8 bytes: truncated file)", i, noEOF(err), n)
		}
		typ, size := order.Uint32(tag[:4]), order.Uint32(tag[4:])
		if typ>>16 != 0 {
			return nil, fmt.Errorf("element %d: small data element at top level (type %d): corrupt file", i, typ&0xffff)
		}
		body := &io.LimitedReader{R: r, N: int64(size)}
		switch typ {
		case miMATRIX:
			a, err := d.matrix(body, size, 0)
			if err != nil {
				return nil, fmt.Errorf("variable %d: %w", i, err)
			}
			mf.Vars = append(mf.Vars, a)
		case miCOMPRESSED:
			a, err := d.compressed(body)
			if err != nil {
				return nil, fmt.Errorf("variable %d (compressed): %w", i, err)
			}
			mf.Vars = append(mf.Vars, a)
		}
		// Skip anything unread, including other top-level element types,
		// which MATLAB ignores too.
		if err := skip(body, body.N); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
		if typ != miCOMPRESSED {
			if err := skip(r, pad8(int64(size))); err != nil {
				return nil, fmt.Errorf("element %d padding: %w", i, err)
			}
		}
	}
}

type matDecoder struct {
	order   binary.ByteOrder
	opt     Options
	scratch []byte
}

// compressed inflates a miCOMPRESSED element and decodes the miMATRIX
// element inside it.
func (d *matDecoder) compressed(r io.Reader) (*Array, error) {
	zr, err := zlib.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("zlib: %w", noEOF(err))
	}
	br := bufio.NewReaderSize(zr, 1<<16)
	var tag [8]byte
	if _, err := io.ReadFull(br, tag[:]); err != nil {
		return nil, fmt.Errorf("inflated element tag: %w", noEOF(err))
	}
	typ, size := d.order.Uint32(tag[:4]), d.order.Uint32(tag[4:])
	if typ != miMATRIX {
		return nil, fmt.Errorf("compressed element holds data type %d, want miMATRIX (14)", typ)
	}
	body := &io.LimitedReader{R: br, N: int64(size)}
	a, err := d.matrix(body, size, 0)
	if err != nil {
		return nil, err
	}
	if body.N != 0 {
		return nil, fmt.Errorf("array %q: %d bytes left over in its miMATRIX element: corrupt file", a.Name, body.N)
	}
	// Reading to the end makes zlib verify its checksum.
	if _, err := io.Copy(io.Discard, br); err != nil {
		return nil, fmt.Errorf("array %q: zlib: %w", a.Name, noEOF(err))
	}
	return a, nil
}

// matrix decodes the body of a miMATRIX element of size bytes.
func (d *matDecoder) matrix(r *io.LimitedReader, size uint32, depth int) (*Array, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("arrays nested deeper than %d: corrupt file", maxDepth)
	}
	if size == 0 {
		// An empty element stands for [] (seen in cells).
		return &Array{Class: Double, Dims: []int{0, 0}}, nil
	}
	typ, flags, err := d.element(r)
	if err != nil {
		return nil, fmt.Errorf("array flags: %w", err)
	}
	if typ != miUINT32 || len(flags) != 8 {
		return nil, fmt.Errorf("array flags: data type %d with %d bytes, want miUINT32 (6) with 8", typ, len(flags))
	}
	f := d.order.Uint32(flags)
	a := &Array{
		Class:   Class(f & 0xff),
		Complex: f&0x800 != 0,
		Logical: f&0x200 != 0,
	}

	typ, dims, err := d.element(r)
	if err != nil {
		return nil, fmt.Errorf("dimensions: %w", err)
	}
	if typ != miINT32 || len(dims)%4 != 0 || len(dims) < 8 {
		return nil, fmt.Errorf("dimensions: data type %d with %d bytes, want miINT32 (5) with at least 2 values", typ, len(dims))
	}
	n := 1
	for i := 0; i < len(dims); i += 4 {
		v := int32(d.order.Uint32(dims[i:]))
		if v < 0 {
			return nil, fmt.Errorf("dimensions: negative size %d", v)
		}
		a.Dims = append(a.Dims, int(v))
		if n > 0 && int(v) > math.MaxInt32/n {
			return nil, fmt.Errorf("dimensions %v: too many elements", a.Dims)
		}
		n *= int(v)
	}

	typ, name, err := d.element(r)
	if err != nil {
		return nil, fmt.Errorf("array name: %w", err)
	}
	if typ != miINT8 {
		return nil, fmt.Errorf("array name: data type %d, want miINT8 (1)", typ)
	}
	a.Name = string(name)
	wrap := func(err error) error {
		if a.Name == "" {
			return fmt.Errorf("%v %v array: %w", a.Dims, a.Class, err)
		}
		return fmt.Errorf("array %q (%v %v): %w", a.Name, a.Dims, a.Class, err)
	}

	switch {
	case a.Class.Numeric() || a.Class == Char:
		real, nz, err := d.numbers(r, n, a.Class == Char)
		if err != nil {
			return nil, wrap(fmt.Errorf("real part: %w", err))
		}
		a.Real, a.NonZero = real, nz
		if a.Complex {
			imag, _, err := d.numbers(r, n, false)
			if err != nil {
				return nil, wrap(fmt.Errorf("imaginary part: %w", err))
			}
			a.Imag = imag
		}
	case a.Class == Cell:
		a.Cells = make([]*Array, n)
		for i := range a.Cells {
			if a.Cells[i], err = d.child(r, depth); err != nil {
				return nil, wrap(fmt.Errorf("cell %d: %w", i+1, err))
			}
		}
	case a.Class == Struct:
		if err := d.structure(r, a, n, depth); err != nil {
			return nil, wrap(err)
		}
	case a.Class == Sparse:
		return nil, wrap(errors.New("sparse arrays are not supported; store the labels as a full array"))
	case a.Class == Object:
		return nil, wrap(errors.New("MATLAB objects are not supported"))
	default:
		return nil, wrap(fmt.Errorf("unknown array class %d: corrupt file", a.Class))
	}
	return a, nil
}

// child decodes a miMATRIX element nested in a cell or struct.
func (d *matDecoder) child(r *io.LimitedReader, depth int) (*Array, error) {
	typ, size, err := d.tag(r)
	if err != nil {
		return nil, err
	}
	if typ != miMATRIX {
		return nil, fmt.Errorf("data type %d, want miMATRIX (14)", typ)
	}
	if int64(size) > r.N {
		return nil, fmt.Errorf("element of %d bytes but only %d left in the enclosing array: corrupt or truncated file", size, r.N)
	}
	body := &io.LimitedReader{R: r, N: int64(size)}
	a, err := d.matrix(body, size, depth+1)
	if err != nil {
		return nil, err
	}
	if err := skip(body, body.N); err != nil {
		return nil, err
	}
	return a, skip(r, min(pad8(int64(size)), r.N))
}

func (d *matDecoder) structure(r *io.LimitedReader, a *Array, n, depth int) error {
	typ, b, err := d.element(r)
	if err != nil {
		return fmt.Errorf("field name length: %w", err)
	}
	if typ != miINT32 || len(b) != 4 {
		return fmt.Errorf("field name length: data type %d with %d bytes, want one miINT32", typ, len(b))
	}
	width := int(int32(d.order.Uint32(b)))
	typ, names, err := d.element(r)
	if err != nil {
		return fmt.Errorf("field names: %w", err)
	}
	if typ != miINT8 || width <= 0 || len(names)%width != 0 {
		return fmt.Errorf("field names: data type %d with %d bytes for names of %d bytes each: corrupt file", typ, len(names), width)
	}
	for i := 0; i < len(names); i += width {
		a.Fields = append(a.Fields, string(bytes.TrimRight(names[i:i+width], "\x00")))
	}
	a.Struct = make([][]*Array, n)
	for i := range a.Struct {
		a.Struct[i] = make([]*Array, len(a.Fields))
		for j, name := range a.Fields {
			if a.Struct[i][j], err = d.child(r, depth); err != nil {
				return fmt.Errorf("element %d field %q: %w", i+1, name, err)
			}
		}
	}
	return nil
}

// numbers reads a data element of n values of any numeric type and returns
// them as float64 (unless dropped) with the count of non-zero values.
func (d *matDecoder) numbers(r *io.LimitedReader, n int, text bool) ([]float64, int, error) {
	typ, b, err := d.element(r)
	if err != nil {
		return nil, 0, err
	}
	size := miSize(typ)
	if size == 0 || typ == miMATRIX {
		return nil, 0, fmt.Errorf("data type %d is not numeric", typ)
	}
	if text && typ == miUTF8 {
		// UTF-8 text may use several bytes per character.
		s := []rune(string(b))
		if len(s) != n {
			return nil, 0, fmt.Errorf("%d characters, want %d", len(s), n)
		}
		out := make([]float64, n)
		nz := 0
		for i, c := range s {
			out[i] = float64(c)
			if c != 0 {
				nz++
			}
		}
		return out, nz, nil
	}
	if text && typ == miUTF16 {
		u := make([]uint16, len(b)/2)
		for i := range u {
			u[i] = d.order.Uint16(b[2*i:])
		}
		if r := utf16.Decode(u); len(r) == n {
			out := make([]float64, n)
			for i, c := range r {
				out[i] = float64(c)
			}
			return out, n, nil
		}
	}
	if len(b) != n*size {
		return nil, 0, fmt.Errorf("%d bytes of data type %d, want %d values of %d bytes", len(b), typ, n, size)
	}
	if d.opt.DropNumeric && !text {
		return nil, countNonZero(b, size), nil
	}
	out := make([]float64, n)
	nz := 0
	o := d.order
	for i := range out {
		var v float64
		p := b[i*size:]
		switch typ {
		case miINT8:
			v = float64(int8(p[0]))
		case miUINT8, miUTF8:
			v = float64(p[0])
		case miINT16:
			v = float64(int16(o.Uint16(p)))
		case miUINT16, miUTF16:
			v = float64(o.Uint16(p))
		case miINT32:
			v = float64(int32(o.Uint32(p)))
		case miUINT32, miUTF32:
			v = float64(o.Uint32(p))
		case miSINGLE:
			v = float64(math.Float32frombits(o.Uint32(p)))
		case miDOUBLE:
			v = math.Float64frombits(o.Uint64(p))
		case miINT64:
			v = float64(int64(o.Uint64(p)))
		case miUINT64:
			v = float64(o.Uint64(p))
		}
		out[i] = v
		if v != 0 {
			nz++
		}
	}
	return out, nz, nil
}

// countNonZero counts values of size bytes that are not all-zero bytes.
// That equals "value != 0" for every type except IEEE -0.0, which MATLAB
// masks never hold.
func countNonZero(b []byte, size int) int {
	if size == 1 {
		// bytes.Count is vectorised; masks are mostly zeros.
		return len(b) - bytes.Count(b, []byte{0})
	}
	nz := 0
	for i := 0; i < len(b); i += size {
		for _, v := range b[i : i+size] {
			if v != 0 {
				nz++
				break
			}
		}
	}
	return nz
}

// tag reads a data element tag. For the small data element format (data
// of at most 4 bytes packed into the tag) it returns small = true and
// leaves the 4 data bytes unread.
func (d *matDecoder) tag(r *io.LimitedReader) (typ, size uint32, err error) {
	var t [8]byte
	if _, err := io.ReadFull(r, t[:4]); err != nil {
		return 0, 0, fmt.Errorf("tag: %w (truncated or corrupt file)", noEOF(err))
	}
	typ = d.order.Uint32(t[:4])
	if typ>>16 != 0 {
		return typ & 0xffff, typ >> 16, errSmall
	}
	if _, err := io.ReadFull(r, t[4:]); err != nil {
		return 0, 0, fmt.Errorf("tag: %w (truncated or corrupt file)", noEOF(err))
	}
	return typ, d.order.Uint32(t[4:]), nil
}

// errSmall marks a small data element tag; it never leaves this file.
var errSmall = errors.New("small data element")

// element reads a whole data element, in either format, skipping padding.
// The returned bytes are valid until the next call.
func (d *matDecoder) element(r *io.LimitedReader) (typ uint32, data []byte, err error) {
	typ, size, err := d.tag(r)
	if err == errSmall {
		if size > 4 {
			return 0, nil, fmt.Errorf("small data element of %d bytes (at most 4): corrupt file", size)
		}
		var b [4]byte
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, nil, fmt.Errorf("small data element: %w (truncated or corrupt file)", noEOF(err))
		}
		d.scratch = append(d.scratch[:0], b[:size]...)
		return typ, d.scratch, nil
	}
	if err != nil {
		return 0, nil, err
	}
	if int64(size) > r.N {
		return 0, nil, fmt.Errorf("data element of %d bytes but only %d left in the enclosing array: corrupt or truncated file", size, r.N)
	}
	if err := d.fill(r, int64(size)); err != nil {
		return 0, nil, fmt.Errorf("data element of %d bytes: %w (truncated or corrupt file)", size, noEOF(err))
	}
	// MATLAB pads elements to 8 bytes but the last one in a compressed
	// stream sometimes is not; tolerate a missing final pad.
	if err := skip(r, min(pad8(int64(size)), r.N)); err != nil {
		return 0, nil, err
	}
	return typ, d.scratch, nil
}

// fill reads n bytes into d.scratch. Sizes inside a compressed stream are
// unchecked claims, so big buffers grow only as data actually arrives.
func (d *matDecoder) fill(r io.Reader, n int64) error {
	const big = 64 << 20
	if n > big && int64(cap(d.scratch)) < n {
		var buf bytes.Buffer
		if _, err := io.CopyN(&buf, r, n); err != nil {
			return err
		}
		d.scratch = buf.Bytes()
		return nil
	}
	if int64(cap(d.scratch)) < n {
		d.scratch = make([]byte, n)
	}
	d.scratch = d.scratch[:n]
	_, err := io.ReadFull(r, d.scratch)
	return err
}

func pad8(n int64) int64 { return (8 - n%8) % 8 }

func skip(r io.Reader, n int64) error {
	if n <= 0 {
		return nil
	}
	got, err := io.CopyN(io.Discard, r, n)
	if err != nil {
		return fmt.Errorf("skipping %d bytes, got %d: %w (truncated or corrupt file)", n, got, noEOF(err))
	}
	return nil
}

// noEOF turns io.EOF, which would read as a clean end, into
// io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}
