// Package datacheck checks, before a run trains, every file the run will
// read: training and test images or video frames, pixel masks, anomaly
// textures, ONNX models, and the files a baseline reads on its own (box
// files, as Checks). It reports every problem at once, each naming its
// file, so that bad data stops a command before its first training step
// instead of at evaluation, after the whole training, or never (a
// corrupt training image that is never sampled).
//
// How deeply an image is read is a trade of time against certainty:
//
//   - every image: its header (image.DecodeConfig: a known format and a
//     size), and a probe of its end for truncation (a PNG must end with
//     its IEND chunk, a JPEG with its EOI marker, a BMP must be as long as
//     its header says); a file that fails the probe is decoded in full,
//     which decides;
//   - a full decode (File.Full): what the caller asks for (package
//     baseline asks for the test split's images and masks when there are
//     at most FullTestLimit of them, and for every file with data.strict),
//     and every file of at most SmallFile bytes, whose decode costs little.
//
// The files are checked in parallel by a bounded pool of workers.
package datacheck

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"github.com/fmam/fmam/internal/graph"
	// Register the formats imageio decodes, so a check accepts what
	// training reads.
	_ "github.com/fmam/fmam/internal/imageio"
)

// FullTestLimit is the largest number of test images and masks decoded
// in full by default: about a second per thousand on two cores, and the
// evaluation decodes them all anyway (UCSD Ped2's test split is 2,010
// frames; Avenue's 15,324 and ShanghaiTech's 40,791 get headers and the
// truncation probe).
const FullTestLimit = 5000

// SmallFile is the size up to which a file is always decoded in full
// (pixel masks, small images).
const SmallFile = 16 << 10

// MaxListed bounds the problems an error lists one by one.
const MaxListed = 20

// File is an image file the run reads.
type File struct {
	Path string
	// What names it in problems: "train image", "test frame", "mask".
	What string
	// Full asks for a full decode, not the header alone.
	Full bool
	// SizeOf, when set, is the image whose size this file (a mask) must
	// have.
	SizeOf string
	// Width and Height, when not 0, are the size the file must have.
	Width, Height int
	// SizeHint says what to do about a file of the wrong Width and
	// Height.
	SizeHint string
}

// Model is an ONNX file the run reads, and the config key that names it.
type Model struct {
	Path, Key string
}

// Check is a check of files a baseline reads on its own (a box file
// against the videos it describes).
type Check struct {
	// Files is the number of files it reads, for the report.
	Files int
	Run   func(ctx context.Context) error
}

// Plan is what a command will read.
type Plan struct {
	Files  []File
	Models []Model
	Checks []Check
	// Problems are those found while making the plan (a layout whose
	// loader reported missing files, say).
	Problems []error
}

// Add appends files.
func (p *Plan) Add(f ...File) { p.Files = append(p.Files, f...) }

// Problem records a problem found while making the plan; nil is ignored.
func (p *Plan) Problem(err error) {
	if err != nil {
		p.Problems = append(p.Problems, err)
	}
}

// Report is what Run checked.
type Report struct {
	// Files is the number of files checked, Decoded how many of them in
	// full.
	Files, Decoded int
	Elapsed        time.Duration
	Problems       []error
}

// String is the report's line for the log: "checked 2,550 files in 1.2 s".
func (r *Report) String() string {
	return fmt.Sprintf("checked %s files in %.1f s (%s decoded in full)", Count(r.Files), r.Elapsed.Seconds(), Count(r.Decoded))
}

// Err is nil when the check found nothing, else one error that lists the
// problems (at most MaxListed, then "... and N more").
func (r *Report) Err() error {
	if len(r.Problems) == 0 {
		return nil
	}
	n := 0
	for _, p := range r.Problems {
		n += leaves(p)
	}
	var b bytes.Buffer
	problems := "problems"
	if n == 1 {
		problems = "problem"
	}
	fmt.Fprintf(&b, "data check: %d %s in the %s files this command reads (checked in %.1f s, before any training step); fix them and run the command again:",
		n, problems, Count(r.Files), r.Elapsed.Seconds())
	for i, p := range r.Problems {
		if i == MaxListed {
			fmt.Fprintf(&b, "\n  ... and %d more", len(r.Problems)-MaxListed)
			break
		}
		fmt.Fprintf(&b, "\n  - %s", bytes.ReplaceAll([]byte(p.Error()), []byte("\n"), []byte("\n    ")))
	}
	return errors.New(b.String())
}

// leaves counts the problems in err: those of a joined error (wrapped or
// not), or one.
func leaves(err error) int {
	switch e := err.(type) {
	case interface{ Unwrap() []error }:
		n := 0
		for _, x := range e.Unwrap() {
			n += leaves(x)
		}
		return max(n, 1)
	case interface{ Unwrap() error }:
		if in := e.Unwrap(); in != nil {
			return leaves(in)
		}
	}
	return 1
}

// Count writes n with thousands separators: 2,550.
func Count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Options tunes Run.
type Options struct {
	// Workers bounds the files read at once; 0 is GOMAXPROCS, at most 16.
	Workers int
	// Log hears the report line; nil: nobody.
	Log *slog.Logger
	// Start is when the check began (the plan is made before Run, and
	// its time counts); zero: when Run is called.
	Start time.Time
}

// result is what checking one file found.
type result struct {
	w, h    int
	decoded bool
	err     error
}

// Run checks every file of the plan and returns the report; Report.Err
// says whether anything was wrong. The error returned is only the
// context's.
func Run(ctx context.Context, p *Plan, opt Options) (*Report, error) {
	t0 := opt.Start
	if t0.IsZero() {
		t0 = time.Now()
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 16)
	}
	res := make([]result, len(p.Files))
	modelErrs := make([]error, len(p.Models))
	checkErrs := make([]error, len(p.Checks))
	jobs := make(chan func())
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				job()
			}
		}()
	}
	send := func(job func()) bool {
		select {
		case jobs <- job:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ok := true
	// The slow ones first, so that they overlap the many images.
	for i, c := range p.Checks {
		ok = ok && send(func() { checkErrs[i] = c.Run(ctx) })
	}
	for i, m := range p.Models {
		ok = ok && send(func() { modelErrs[i] = checkModel(m) })
	}
	for i, f := range p.Files {
		ok = ok && send(func() { res[i] = checkImage(f) })
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &Report{Files: len(p.Files) + len(p.Models)}
	r.Problems = append(r.Problems, p.Problems...)
	sizes := make(map[string]image.Point, len(p.Files))
	for i, f := range p.Files {
		if res[i].err == nil {
			sizes[f.Path] = image.Pt(res[i].w, res[i].h)
		}
	}
	for i, f := range p.Files {
		x := res[i]
		if x.decoded {
			r.Decoded++
		}
		if x.err != nil {
			r.Problems = append(r.Problems, fmt.Errorf("%s %s: %w", f.What, f.Path, x.err))
			continue
		}
		if f.Width > 0 && (x.w != f.Width || x.h != f.Height) {
			r.Problems = append(r.Problems, fmt.Errorf("%s %s is %dx%d, want %dx%d%s", f.What, f.Path, x.w, x.h, f.Width, f.Height, f.SizeHint))
		}
		if f.SizeOf == "" {
			continue
		}
		want, ok := sizes[f.SizeOf]
		if !ok {
			continue // the image's own problem is reported
		}
		if x.w != want.X || x.h != want.Y {
			r.Problems = append(r.Problems, fmt.Errorf("%s %s is %dx%d but its image %s is %dx%d (WxH); a mask must have its image's size", f.What, f.Path, x.w, x.h, f.SizeOf, want.X, want.Y))
		}
	}
	for i, m := range p.Models {
		if modelErrs[i] != nil {
			r.Problems = append(r.Problems, fmt.Errorf("%s: %w", m.Key, modelErrs[i]))
		}
	}
	for i, c := range p.Checks {
		r.Files += c.Files
		if checkErrs[i] != nil {
			r.Problems = append(r.Problems, checkErrs[i])
		}
	}
	r.Elapsed = time.Since(t0)
	if opt.Log != nil {
		opt.Log.Info(r.String(), "files", r.Files, "decoded", r.Decoded, "problems", len(r.Problems), "seconds", fmt.Sprintf("%.2f", r.Elapsed.Seconds()))
	}
	return r, nil
}

// checkModel reads an ONNX file: it must exist and parse as a model with
// a graph.
func checkModel(m Model) error {
	_, err := graph.ReadModel(m.Path)
	return err
}

// checkImage reads an image's header, probes its end for truncation and
// decodes it in full when asked, when it is small, or when the probe
// fails.
func checkImage(f File) result {
	fh, err := os.Open(f.Path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // the problem names the path already
			err = pe.Err
		}
		return result{err: err}
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return result{err: err}
	}
	if !st.Mode().IsRegular() {
		return result{err: errors.New("not a regular file")}
	}
	cfg, format, err := image.DecodeConfig(io.NewSectionReader(fh, 0, st.Size()))
	if err != nil {
		return result{err: fmt.Errorf("not a readable image (is it a complete PNG/JPEG/TIFF/BMP file?): %w", err)}
	}
	r := result{w: cfg.Width, h: cfg.Height}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		r.err = fmt.Errorf("the header says %dx%d pixels", cfg.Width, cfg.Height)
		return r
	}
	if !f.Full && st.Size() > SmallFile && endOK(fh, st.Size(), format) {
		return r
	}
	r.decoded = true
	b := make([]byte, st.Size())
	if _, err := fh.ReadAt(b, 0); err != nil {
		r.err = fmt.Errorf("read: %w", err)
		return r
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		r.err = fmt.Errorf("the header is %s %dx%d but the image does not decode (truncated or corrupt?): %w", format, cfg.Width, cfg.Height, err)
		return r
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		r.err = fmt.Errorf("the header says %dx%d but the image decodes to %dx%d", cfg.Width, cfg.Height, b.Dx(), b.Dy())
	}
	return r
}

// iend is the last chunk of every PNG file: length 0, "IEND", its CRC.
var iend = []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82}

// endOK reports whether a file of a format ends as a complete one does:
// false means "decode it to be sure", not "broken" (a JPEG may carry
// bytes after its EOI marker). Formats without a probe pass.
func endOK(f io.ReaderAt, size int64, format string) bool {
	tail := make([]byte, min(size, 16))
	if _, err := f.ReadAt(tail, size-int64(len(tail))); err != nil {
		return false
	}
	switch format {
	case "png":
		return bytes.HasSuffix(tail, iend)
	case "jpeg":
		return bytes.HasSuffix(tail, []byte{0xFF, 0xD9})
	case "bmp":
		var head [6]byte
		if _, err := f.ReadAt(head[:], 0); err != nil {
			return false
		}
		return int64(binary.LittleEndian.Uint32(head[2:])) <= size
	}
	return true
}
