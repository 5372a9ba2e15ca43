package objects

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/npyfile"
)

// ReadNPYDir reads per-frame box arrays stored as <dir>/<video>/<frame>.npy,
// each a float32 or float64 array [k, 5] (x1, y1, x2, y2, score) or [k, 6]
// (with a class column); frame file names are 0-based frame numbers
// (leading zeros allowed). Files that are not .npy are ignored.
func ReadNPYDir(dir string) (*Set, error) {
	vids, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", dir, err)
	}
	s := NewSet()
	for _, v := range vids {
		if !v.IsDir() || strings.HasPrefix(v.Name(), ".") {
			continue
		}
		vdir := filepath.Join(dir, v.Name())
		files, err := os.ReadDir(vdir)
		if err != nil {
			return nil, fmt.Errorf("load boxes %s: %w", dir, err)
		}
		s.Grow(v.Name(), 0)
		for _, f := range files {
			if f.IsDir() || !strings.EqualFold(filepath.Ext(f.Name()), ".npy") {
				continue
			}
			p := filepath.Join(vdir, f.Name())
			frame, err := strconv.Atoi(strings.TrimSuffix(f.Name(), filepath.Ext(f.Name())))
			if err != nil || frame < 0 {
				return nil, fmt.Errorf("load boxes %s: file name %s is not a 0-based frame number (want <video>/<frame>.npy, e.g. 01/000.npy)", p, f.Name())
			}
			rows, err := readNPYBoxes(p)
			if err != nil {
				return nil, err
			}
			s.Grow(v.Name(), frame+1)
			for _, r := range rows {
				s.Add(rowBox(v.Name(), frame, r))
			}
		}
	}
	if len(s.frames) == 0 {
		return nil, fmt.Errorf("load boxes %s: no video folders; want <dir>/<video>/<frame>.npy", dir)
	}
	return s, nil
}

// readNPYBoxes reads one per-frame box array.
func readNPYBoxes(path string) ([][]float64, error) {
	a, err := npyfile.Read(path)
	if err != nil {
		return nil, fmt.Errorf("load boxes: %w", err)
	}
	vals, err := a.Float64s()
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	rows, err := boxRows(a.Shape, a.Fortran, vals)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	return rows, nil
}
