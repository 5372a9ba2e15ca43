package score

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/npyfile"
	"github.com/fmam/fmam/internal/progress"
)

// LoadMapNPY reads an anomaly map from a .npy file holding a float32 (or
// float64) array of shape (H, W), or (1, H, W) / (1, 1, H, W). It returns the
// values in row-major order with the map's width and height.
func LoadMapNPY(path string) (m []float32, w, h int, err error) {
	a, err := npyfile.Read(path)
	var short *npyfile.TruncatedError
	if err != nil && !errors.As(err, &short) {
		return nil, 0, 0, fmt.Errorf("load map: %w", err)
	}
	var shape []int
	if short != nil {
		shape = short.Shape
	} else {
		shape = a.Shape
	}
	dims := shape
	for len(dims) > 2 && dims[0] == 1 {
		dims = dims[1:]
	}
	if len(dims) != 2 || dims[0] <= 0 || dims[1] <= 0 {
		return nil, 0, 0, fmt.Errorf("load map %s: shape %v, want (H, W) or (1, H, W)", path, shape)
	}
	h, w = dims[0], dims[1]
	if short != nil {
		return nil, 0, 0, fmt.Errorf("load map %s: reading %dx%d values: %w", path, h, w, err)
	}
	if m, err = a.Float32s(); err != nil {
		return nil, 0, 0, fmt.Errorf("load map %s: dtype %s, want float32 (<f4) or float64 (<f8)", path, a.DType)
	}
	if a.Fortran {
		t := make([]float32, len(m))
		for x := range w {
			for y := range h {
				t[y*w+x] = m[x*h+y]
			}
		}
		m = t
	}
	return m, w, h, nil
}

// LoadMaskPNG reads a ground-truth mask: a grayscale PNG with 0 for normal and
// 255 for anomalous pixels (MVTec AD and UCSD Ped2 masks). Any other value is
// an error, so that resized or soft masks are not silently thresholded.
func LoadMaskPNG(path string) (mask []bool, w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("load mask: %w", err)
	}
	defer f.Close()
	img, err := png.Decode(bufio.NewReader(f))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("load mask %s: %w", path, err)
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	mask = make([]bool, w*h)
	for y := range h {
		for x := range w {
			var v, full uint32
			if g, ok := img.(*image.Gray); ok {
				v, full = uint32(g.GrayAt(b.Min.X+x, b.Min.Y+y).Y), 0xff
			} else {
				v, full = uint32(color.Gray16Model.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.Gray16).Y), 0xffff
			}
			switch v {
			case 0:
			case full:
				mask[y*w+x] = true
			default:
				return nil, 0, 0, fmt.Errorf("load mask %s: pixel (x=%d, y=%d) is %d; want 0 (normal) or %d (anomalous)",
					path, x, y, v, full)
			}
		}
	}
	return mask, w, h, nil
}

// PixelOptions controls EvaluateMapsDir.
type PixelOptions struct {
	// Sigma > 0 smooths every map with GaussianBlur first (4 is common).
	Sigma float64
	// MaxFPR is AUPRO's FPR limit; 0 means DefaultMaxFPR.
	MaxFPR float64
	// SkipUnmasked leaves out maps without a mask instead of failing: in
	// the folders fmam eval writes, a missing mask means the image's pixel
	// truth is unknown (a defect image without a mask).
	SkipUnmasked bool
	// Progress is where loading the maps and computing the metrics draw
	// their bars: a terminal, or nil to log a line every
	// progress.LogEvery instead (progress.NewLogged), as evaluation does.
	Progress io.Writer
}

// MapMaskPair names the files of one test image.
type MapMaskPair struct {
	Map, Mask string
}

// MatchMapsMasks pairs every X.npy in mapsDir with X.png or X_mask.png (the
// MVTec AD name) in masksDir, sorted by map name. X may lie in a subfolder
// (good/000.npy pairs with good/000.png in masksDir), as fmam eval writes
// maps/<model>/<defect>/<name>.npy and maps/truth/<defect>/<name>.png. A map without a mask, a
// mask without a map, or a map with both mask names is an error naming it;
// with skipUnmasked, maps without a mask are left out and counted instead.
func MatchMapsMasks(mapsDir, masksDir string, skipUnmasked bool) (pairs []MapMaskPair, skipped int, err error) {
	maps, err := listFiles(mapsDir, ".npy")
	if err != nil {
		return nil, 0, err
	}
	if len(maps) == 0 {
		return nil, 0, fmt.Errorf("match maps: no .npy anomaly maps in %s", mapsDir)
	}
	masks, err := listFiles(masksDir, ".png")
	if err != nil {
		return nil, 0, err
	}
	isMask := make(map[string]bool, len(masks))
	for _, name := range masks {
		isMask[name] = true
	}
	used := make(map[string]bool)
	pairs = make([]MapMaskPair, 0, len(maps))
	for _, m := range maps {
		base := strings.TrimSuffix(m, ".npy")
		var found []string
		for _, name := range []string{base + ".png", base + "_mask.png"} {
			if isMask[name] {
				found = append(found, name)
			}
		}
		switch len(found) {
		case 0:
			if skipUnmasked {
				skipped++
				continue
			}
			return nil, 0, fmt.Errorf("match maps: map %s has no mask %s or %s in %s; write an all-zero mask for a normal image",
				filepath.Join(mapsDir, m), base+".png", base+"_mask.png", masksDir)
		case 2:
			return nil, 0, fmt.Errorf("match maps: map %s matches both %s and %s in %s; keep one",
				filepath.Join(mapsDir, m), found[0], found[1], masksDir)
		}
		if used[found[0]] {
			return nil, 0, fmt.Errorf("match maps: mask %s matches two maps", filepath.Join(masksDir, found[0]))
		}
		used[found[0]] = true
		pairs = append(pairs, MapMaskPair{Map: filepath.Join(mapsDir, m), Mask: filepath.Join(masksDir, found[0])})
	}
	for _, name := range masks {
		if !used[name] {
			return nil, 0, fmt.Errorf("match maps: mask %s has no anomaly map %s.npy in %s",
				filepath.Join(masksDir, name), strings.TrimSuffix(strings.TrimSuffix(name, ".png"), "_mask"), mapsDir)
		}
	}
	if len(pairs) == 0 {
		return nil, skipped, fmt.Errorf("match maps: none of the %d maps in %s has a mask in %s", skipped, mapsDir, masksDir)
	}
	return pairs, skipped, nil
}

// listFiles returns the sorted paths, relative to dir, of the regular files
// under dir (subfolders included) ending in ext.
func listFiles(dir, ext string) ([]string, error) {
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	var names []string
	err := filepath.WalkDir(dir, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ext) {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			names = append(names, rel)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", dir, err)
	}
	return names, nil // WalkDir walks in lexical order
}

// EvaluateMapsDir loads the anomaly maps and masks matched by MatchMapsMasks,
// optionally smooths the maps, and computes pixel AUROC, AP and AUPRO. All
// maps must share one size, and each mask must have its map's size. log
// (nil: none) reports maps left out and the sizes evaluated.
func EvaluateMapsDir(ctx context.Context, log *slog.Logger, mapsDir, masksDir string, opts PixelOptions) (metrics.PixelResult, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	maxFPR := opts.MaxFPR
	if maxFPR == 0 {
		maxFPR = metrics.DefaultMaxFPR
	}
	if err := metrics.CheckMaxFPR(maxFPR); err != nil {
		return metrics.PixelResult{}, err
	}
	if err := metrics.CheckSigma(opts.Sigma); err != nil {
		return metrics.PixelResult{}, err
	}
	pairs, skipped, err := MatchMapsMasks(mapsDir, masksDir, opts.SkipUnmasked)
	if err != nil {
		return metrics.PixelResult{}, err
	}
	if skipped > 0 {
		log.Info("maps without a mask left out", "maps", mapsDir, "left_out", skipped, "kept", len(pairs))
	}
	bar := progress.NewLogged(opts.Progress, log, len(pairs), "load maps", "maps")
	maps, masks, w, h, err := loadPairs(ctx, pairs, opts.Sigma, bar.Add)
	bar.Finish()
	if err != nil {
		return metrics.PixelResult{}, err
	}
	log.Debug("pixel metrics", "maps", len(maps), "width", w, "height", h, "sigma", opts.Sigma)
	bar = progress.NewLogged(opts.Progress, log, metrics.PixelSteps(len(maps)), "pixel metrics", "")
	res, err := metrics.EvaluatePixelsProgress(ctx, maps, masks, w, h, maxFPR, func(done, _ int) { bar.Set(done) })
	bar.Finish()
	if err != nil {
		err = metrics.NameNaNMap(err, func(i int) string { return pairs[i].Map })
		return res, fmt.Errorf("maps %s, masks %s: %w", mapsDir, masksDir, err)
	}
	return res, nil
}

type loadedPair struct {
	m    []float32
	mask []bool
	w, h int
	err  error
}

// loadPairs reads the files on all cores (decoding and blurring dominate) and
// reports the first failing pair in file order. loaded (nil: none) is
// called after each pair, from the loading goroutines.
func loadPairs(ctx context.Context, pairs []MapMaskPair, sigma float64, loaded func()) (maps [][]float32, masks [][]bool, w, h int, err error) {
	out := make([]loadedPair, len(pairs))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(pairs)) {
		wg.Go(func() {
			for i := range jobs {
				out[i] = loadPair(pairs[i], sigma)
				if loaded != nil {
					loaded()
				}
			}
		})
	}
feed:
	for i := range pairs {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, 0, 0, err
	}

	maps = make([][]float32, len(pairs))
	masks = make([][]bool, len(pairs))
	for i, p := range out {
		if p.err != nil {
			return nil, nil, 0, 0, p.err
		}
		if i == 0 {
			w, h = p.w, p.h
		} else if p.w != w || p.h != h {
			return nil, nil, 0, 0, fmt.Errorf("map %s is %dx%d but %s is %dx%d; all maps must have one size",
				pairs[i].Map, p.w, p.h, pairs[0].Map, w, h)
		}
		maps[i], masks[i] = p.m, p.mask
	}
	return maps, masks, w, h, nil
}

func loadPair(p MapMaskPair, sigma float64) loadedPair {
	m, w, h, err := LoadMapNPY(p.Map)
	if err != nil {
		return loadedPair{err: err}
	}
	mask, mw, mh, err := LoadMaskPNG(p.Mask)
	if err != nil {
		return loadedPair{err: err}
	}
	if mw != w || mh != h {
		return loadedPair{err: fmt.Errorf("mask %s is %dx%d but its map %s is %dx%d (W x H); resize one of them",
			p.Mask, mw, mh, p.Map, w, h)}
	}
	if sigma > 0 {
		if m, err = metrics.GaussianBlur(m, w, h, sigma); err != nil {
			return loadedPair{err: fmt.Errorf("smooth %s: %w", p.Map, err)}
		}
	}
	return loadedPair{m: m, mask: mask, w: w, h: h}
}
