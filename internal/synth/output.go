package synth

import (
	"bufio"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fmam/fmam/internal/atomicfile"
)

// staging is a generator's output under construction: everything is written
// into a hidden temporary folder beside the destination and renamed into
// place at the end, so a reader never sees a half-written dataset.
type staging struct {
	final string
	tmp   string
	force bool
}

// stage checks that out may be (re)written and creates the temporary folder.
func stage(out string, force bool) (*staging, error) {
	if out == "" {
		return nil, errors.New("no output directory given")
	}
	final, err := filepath.Abs(out)
	if err != nil {
		return nil, fmt.Errorf("output directory %s: %w", out, err)
	}
	if err := checkReplaceable(final, force); err != nil {
		return nil, err
	}
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create parent of output directory %s: %w", final, err)
	}
	tmp, err := os.MkdirTemp(parent, atomicfile.TempPrefix(filepath.Base(final)))
	if err != nil {
		return nil, fmt.Errorf("create temporary folder beside %s: %w", final, err)
	}
	// MkdirTemp makes the folder private; the dataset is ordinary output.
	if err := os.Chmod(tmp, 0o755); err != nil {
		_ = os.RemoveAll(tmp)
		return nil, fmt.Errorf("make %s readable: %w", tmp, err)
	}
	return &staging{final: final, tmp: tmp, force: force}, nil
}

// checkReplaceable allows a missing or empty directory, and a non-empty one
// only with force.
func checkReplaceable(final string, force bool) error {
	info, err := os.Stat(final)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output directory %s: %w", final, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("output path %s exists and is not a directory; choose another --out", final)
	}
	entries, err := os.ReadDir(final)
	if err != nil {
		return fmt.Errorf("read output directory %s: %w", final, err)
	}
	if len(entries) == 0 {
		return nil
	}
	if !force {
		return fmt.Errorf("output directory %s is not empty; choose another --out or pass --force to replace it", final)
	}
	home, _ := os.UserHomeDir()
	if final == filepath.Dir(final) || (home != "" && final == filepath.Clean(home)) {
		return fmt.Errorf("refusing to replace %s even with --force; choose a dedicated output directory", final)
	}
	return nil
}

// path returns the temporary location of a path relative to the output root.
func (s *staging) path(rel ...string) string {
	return filepath.Join(append([]string{s.tmp}, rel...)...)
}

// commit moves the finished output into place, replacing an existing
// directory (empty, or any with force).
func (s *staging) commit() error {
	if err := checkReplaceable(s.final, s.force); err != nil {
		return err
	}
	old := ""
	if _, err := os.Stat(s.final); err == nil {
		// Move the old directory aside first so the swap is two renames and
		// the old data is only deleted once the new data is in place.
		old = s.tmp + ".old"
		if err := os.Rename(s.final, old); err != nil {
			return fmt.Errorf("move old output %s aside: %w", s.final, err)
		}
	}
	if err := os.Rename(s.tmp, s.final); err != nil {
		if old != "" {
			_ = os.Rename(old, s.final)
		}
		return fmt.Errorf("move output into %s: %w", s.final, err)
	}
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("remove replaced output %s: %w", old, err)
		}
	}
	return nil
}

// abort removes the temporary folder.
func (s *staging) abort() {
	_ = os.RemoveAll(s.tmp)
}

// pngWriter writes PNG files, reusing one compressor between files: for
// small images, setting up a new one costs more than the compression.
// It is not safe for concurrent use.
type pngWriter struct {
	enc png.Encoder
}

func newPNGWriter() *pngWriter {
	return &pngWriter{enc: png.Encoder{BufferPool: &singleBuffer{}}}
}

// singleBuffer is a png.EncoderBufferPool holding one buffer.
type singleBuffer struct{ b *png.EncoderBuffer }

func (p *singleBuffer) Get() *png.EncoderBuffer  { b := p.b; p.b = nil; return b }
func (p *singleBuffer) Put(b *png.EncoderBuffer) { p.b = b }

// write encodes img into path, creating its folder.
func (w *pngWriter) write(path string, img image.Image) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create folder for %s: %w", path, err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	bw := bufio.NewWriter(f)
	if err := w.enc.Encode(bw, img); err != nil {
		f.Close()
		return fmt.Errorf("encode %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// writePNG encodes img into path, creating its folder.
func writePNG(path string, img image.Image) error {
	return newPNGWriter().write(path, img)
}
