package objects

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/data"
)

// CacheFormat names the layout of a cube cache folder:
//
//	<dir>/<video>.cubes   the cubes of one video, one after another, each
//	                      [3, T, Size, Size] little-endian float16 or float32
//	<dir>/<video>.json    its index (VideoIndex): settings, and per cube the
//	                      box and its byte offset
//
// A video is finished when its index exists and matches the data file and
// the requested settings and boxes; both files are written through a temp
// file and renamed, data first, so an interrupted video has no index and
// is redone.
const CacheFormat = "fmam-object-cubes/1"

// DType is the element type of cached cubes.
type DType string

// Cube element types.
const (
	Float16 DType = "float16"
	Float32 DType = "float32"
)

func (d DType) size() int {
	if d == Float16 {
		return 2
	}
	return 4
}

// CubeEntry is one cube of a video index.
type CubeEntry struct {
	Frame  int     `json:"frame"`
	X1     float64 `json:"x1"`
	Y1     float64 `json:"y1"`
	X2     float64 `json:"x2"`
	Y2     float64 `json:"y2"`
	Score  float64 `json:"score"`
	Class  int     `json:"class"`
	Offset int64   `json:"offset"` // bytes into the .cubes file
}

// cubeKind is what the cache needs of a kind of cube: its settings are
// comparable (a cached video is reused only for equal settings) and say
// how to cut the cubes of one video. CubeConfig (Jigsaw-VAD's cubes) and
// STCConfig (VEC/HF2VAD/PKG-Net's spatio-temporal cubes) are the kinds.
type cubeKind interface {
	comparable
	Validate() error
	Len() int     // float32 values of one cube
	Shape() []int // of one cube
	// cacheFormat names the cache layout of this kind (the index's format).
	cacheFormat() string
	// extract cuts the cubes of boxes (all of video v, in frame order) and
	// passes each to emit, in the order of boxes.
	extract(ctx context.Context, v data.Video, boxes []Box, emit func(i int, cube []float32) error) error
}

// cubeIndex is the JSON index of one cached video for cubes of kind C.
type cubeIndex[C cubeKind] struct {
	Format string      `json:"format"`
	Video  string      `json:"video"`
	DType  DType       `json:"dtype"`
	Shape  []int       `json:"shape"` // of one cube
	Config C           `json:"config"`
	Bytes  int64       `json:"bytes"` // size of the .cubes file
	Cubes  []CubeEntry `json:"cubes"`
}

// VideoIndex is the JSON index of one video of a Jigsaw-VAD cube cache;
// its cubes have Shape [3, T, Size, Size].
type VideoIndex = cubeIndex[CubeConfig]

// Box returns the box of cube i.
func (x *cubeIndex[C]) Box(i int) Box {
	e := x.Cubes[i]
	return Box{Video: x.Video, Frame: e.Frame, X1: e.X1, Y1: e.Y1, X2: e.X2, Y2: e.Y2, Score: e.Score, Class: e.Class}
}

// CacheOptions configure WriteCache.
type CacheOptions struct {
	DType DType // Float16 (default) or Float32
	// Progress, when set, is called after each cube and once for a video
	// found finished (Done == Total).
	Progress func(Progress)
	Logger   *slog.Logger
}

// CacheSummary tells what WriteCache did.
type CacheSummary struct {
	Videos, Written, Skipped int // videos
	Cubes                    int // cubes in the cache for these videos
}

// WriteCache extracts the cubes of every video of ds into dir, for the
// boxes of boxes that cfg selects (see CubeConfig.Select; filter and
// validate the boxes first), skipping videos already finished with the
// same settings and boxes. A box video that ds lacks is an error.
func WriteCache(ctx context.Context, dir string, ds *data.VideoDataset, boxes *Set, cfg CubeConfig, opt CacheOptions) (CacheSummary, error) {
	return writeCache(ctx, dir, ds, boxes, cfg, func(v data.Video) []Box { return cfg.Select(boxes, v.Name, len(v.Frames)) }, opt)
}

// writeCache is WriteCache for any kind of cube; sel gives the boxes of a
// video that get cubes, in frame order.
func writeCache[C cubeKind](ctx context.Context, dir string, ds *data.VideoDataset, boxes *Set, cfg C, sel func(data.Video) []Box, opt CacheOptions) (CacheSummary, error) {
	var sum CacheSummary
	if err := cfg.Validate(); err != nil {
		return sum, fmt.Errorf("cube cache %s: %w", dir, err)
	}
	if opt.DType == "" {
		opt.DType = Float16
	}
	if opt.DType != Float16 && opt.DType != Float32 {
		return sum, fmt.Errorf("cube cache %s: dtype %q: use float16 or float32", dir, opt.DType)
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	known := map[string]bool{}
	for _, v := range ds.Videos {
		known[v.Name] = true
	}
	for _, v := range boxes.Videos() {
		if !known[v] && boxes.VideoLen(v) > 0 {
			return sum, fmt.Errorf("cube cache %s: boxes name video %s, which %s does not have; validate the boxes against the dataset first", dir, v, ds.Root)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sum, fmt.Errorf("cube cache %s: %w", dir, err)
	}
	for vi, v := range ds.Videos {
		sel := sel(v)
		want := newIndex(v.Name, cfg, opt.DType, sel)
		sum.Videos++
		sum.Cubes += len(sel)
		if done, why := finished(dir, want); done {
			sum.Skipped++
			log.Debug("cube cache: video already done", "video", v.Name, "cubes", len(sel))
			if opt.Progress != nil {
				opt.Progress(Progress{Video: v.Name, VideoIndex: vi, Videos: len(ds.Videos), Done: len(sel), Total: len(sel)})
			}
			continue
		} else if why != "" {
			log.Info("cube cache: redoing video", "video", v.Name, "reason", why)
		}
		if err := writeVideo(ctx, dir, v, sel, want, func(done int) {
			if opt.Progress != nil {
				opt.Progress(Progress{Video: v.Name, VideoIndex: vi, Videos: len(ds.Videos), Done: done, Total: len(sel)})
			}
		}); err != nil {
			return sum, fmt.Errorf("cube cache %s: video %s: %w", dir, v.Name, err)
		}
		sum.Written++
	}
	return sum, nil
}

func newIndex[C cubeKind](video string, cfg C, dt DType, boxes []Box) *cubeIndex[C] {
	cb := int64(cfg.Len() * dt.size())
	x := &cubeIndex[C]{Format: cfg.cacheFormat(), Video: video, DType: dt, Shape: cfg.Shape(), Config: cfg, Bytes: cb * int64(len(boxes))}
	x.Cubes = make([]CubeEntry, len(boxes))
	for i, b := range boxes {
		x.Cubes[i] = CubeEntry{Frame: b.Frame, X1: b.X1, Y1: b.Y1, X2: b.X2, Y2: b.Y2, Score: b.Score, Class: b.Class, Offset: cb * int64(i)}
	}
	return x
}

func dataPath(dir, video string) string  { return filepath.Join(dir, video+".cubes") }
func indexPath(dir, video string) string { return filepath.Join(dir, video+".json") }

// finished reports whether the cached video matches want; when it does not
// but something was there, why says what differs.
func finished[C cubeKind](dir string, want *cubeIndex[C]) (bool, string) {
	have, err := readIndex[C](indexPath(dir, want.Video))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, ""
		}
		return false, err.Error()
	}
	switch {
	case have.DType != want.DType || !slices.Equal(have.Shape, want.Shape) || have.Config != want.Config:
		return false, "settings changed"
	case !slices.Equal(have.Cubes, want.Cubes):
		return false, "boxes changed"
	}
	st, err := os.Stat(dataPath(dir, want.Video))
	if err != nil || st.Size() != want.Bytes {
		return false, "data file missing or of the wrong size"
	}
	return true, ""
}

func readIndex[C cubeKind](path string) (*cubeIndex[C], error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var x cubeIndex[C]
	if err := json.Unmarshal(b, &x); err != nil {
		return nil, fmt.Errorf("cube index %s: %w", path, err)
	}
	var kind C
	if want := kind.cacheFormat(); x.Format != want {
		return nil, fmt.Errorf("cube index %s: format %q, want %q", path, x.Format, want)
	}
	return &x, nil
}

// writeVideo extracts one video's cubes into its data file, then writes
// the index that marks it finished.
func writeVideo[C cubeKind](ctx context.Context, dir string, v data.Video, boxes []Box, x *cubeIndex[C], progress func(done int)) error {
	// A stale index must not vouch for the data file being rewritten.
	if err := os.Remove(indexPath(dir, v.Name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	err := atomicfile.WriteFunc(dataPath(dir, v.Name), func(w io.Writer) error {
		buf := make([]byte, x.Config.Len()*x.DType.size())
		return x.Config.extract(ctx, v, boxes, func(i int, cube []float32) error {
			encodeCube(buf, cube, x.DType)
			if _, err := w.Write(buf); err != nil {
				return err
			}
			progress(i + 1)
			return nil
		})
	})
	if err != nil {
		return err
	}
	b, err := json.MarshalIndent(x, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.Write(indexPath(dir, v.Name), b)
}

func encodeCube(dst []byte, cube []float32, dt DType) {
	if dt == Float16 {
		for i, v := range cube {
			binary.LittleEndian.PutUint16(dst[2*i:], toHalf(v))
		}
		return
	}
	for i, v := range cube {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

// cubeReader reads the cubes of one cached video of kind C. It is not
// safe for concurrent use (reads share a buffer); open one per goroutine.
type cubeReader[C cubeKind] struct {
	Index *cubeIndex[C]
	f     *os.File
	buf   []byte
}

// VideoCubes reads the cubes of one video of a Jigsaw-VAD cube cache. It
// is not safe for concurrent use (reads share a buffer); open one per
// goroutine.
type VideoCubes = cubeReader[CubeConfig]

// OpenVideoCubes opens a finished video of a cache folder.
func OpenVideoCubes(dir, video string) (*VideoCubes, error) {
	return openCubes[CubeConfig](dir, video)
}

func openCubes[C cubeKind](dir, video string) (*cubeReader[C], error) {
	x, err := readIndex[C](indexPath(dir, video))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("cube cache %s: video %s is not cached (no %s); run the extraction first", dir, video, filepath.Base(indexPath(dir, video)))
		}
		return nil, fmt.Errorf("cube cache %s: %w", dir, err)
	}
	f, err := os.Open(dataPath(dir, video))
	if err != nil {
		return nil, fmt.Errorf("cube cache %s: %w", dir, err)
	}
	st, err := f.Stat()
	if err != nil || st.Size() != x.Bytes {
		f.Close()
		return nil, fmt.Errorf("cube cache %s: %s does not have the %d bytes its index says; extract the video again", dir, dataPath(dir, video), x.Bytes)
	}
	return &cubeReader[C]{Index: x, f: f, buf: make([]byte, x.Config.Len()*x.DType.size())}, nil
}

// OpenAllVideoCubes opens the cached cubes of every video of ds, in its
// order. The caller closes them with CloseAll.
func OpenAllVideoCubes(dir string, ds *data.VideoDataset) ([]*VideoCubes, error) {
	return openAll[CubeConfig](dir, ds)
}

func openAll[C cubeKind](dir string, ds *data.VideoDataset) ([]*cubeReader[C], error) {
	out := make([]*cubeReader[C], 0, len(ds.Videos))
	for _, v := range ds.Videos {
		c, err := openCubes[C](dir, v.Name)
		if err != nil {
			CloseAll(out)
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// CloseAll closes every reader of cs and joins their errors.
func CloseAll[C cubeKind](cs []*cubeReader[C]) error {
	var errs []error
	for _, c := range cs {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// CachedVideos lists the videos with an index in a cache folder.
func CachedVideos(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cube cache %s: %w", dir, err)
	}
	var out []string
	for _, e := range ents {
		if name, ok := strings.CutSuffix(e.Name(), ".json"); ok && !e.IsDir() && !strings.HasPrefix(name, ".") {
			out = append(out, name)
		}
	}
	slices.SortFunc(out, naturalCompare)
	return out, nil
}

// Len is the number of cubes.
func (c *cubeReader[C]) Len() int { return len(c.Index.Cubes) }

// Cube reads cube i into dst (length Config.Len() of the index, allocated when nil)
// as float32 and returns it.
func (c *cubeReader[C]) Cube(i int, dst []float32) ([]float32, error) {
	if i < 0 || i >= c.Len() {
		return nil, fmt.Errorf("cube %d of video %s: it has %d", i, c.Index.Video, c.Len())
	}
	n := c.Index.Config.Len()
	if dst == nil {
		dst = make([]float32, n)
	}
	if len(dst) != n {
		return nil, fmt.Errorf("cube buffer of %d values, want %d", len(dst), n)
	}
	if _, err := c.f.ReadAt(c.buf, c.Index.Cubes[i].Offset); err != nil {
		return nil, fmt.Errorf("read cube %d of %s: %w", i, c.f.Name(), err)
	}
	if c.Index.DType == Float16 {
		for j := range dst {
			dst[j] = fromHalf(binary.LittleEndian.Uint16(c.buf[2*j:]))
		}
	} else {
		for j := range dst {
			dst[j] = math.Float32frombits(binary.LittleEndian.Uint32(c.buf[4*j:]))
		}
	}
	return dst, nil
}

// Close closes the data file.
func (c *cubeReader[C]) Close() error { return c.f.Close() }
