package objects

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
)

// STCCacheFormat names the layout of an STC cube cache folder: as
// CacheFormat (<video>.cubes and <video>.json), with cubes of shape
// [Context+1, 3, Size, Size] and an STCConfig in the index.
const STCCacheFormat = "fmam-stc-cubes/1"

// STCConfig says how spatio-temporal cubes (STCs) are cut, as HF2VAD's and
// PKG-Net's samples (get_foreground and _context_range with border_mode
// "predict" in their dataset.py, context_frame_num 4, patch_size 32):
//
//   - every box of target frame t gets a cube of frames t-Context .. t;
//     frames before the start of the video are the video's first frame
//     (frame 0 gives [0 0 0 0 0], frame 2 [0 0 0 1 2]). No box is skipped;
//   - each frame is cropped by the target frame's box, with the box edges
//     rounded up: columns ceil(x1) <= x < ceil(x2), rows ceil(y1) <= y <
//     ceil(y2) (numpy slicing of the frame). fmam clips the crop to the
//     frame and widens an empty one to one pixel, where the official code
//     would wrap around (negative edges) or fail in cv2.resize (empty crop);
//     the published VEC boxes have neither;
//   - the crop is resized to Size x Size bilinearly with half-pixel centres
//     and no antialiasing (cv2.resize's default INTER_LINEAR) on 8-bit
//     values and rounded to 8 bits as cv2 does, then divided by 255
//     (torchvision's ToTensor on the uint8 samples). OpenCV interpolates
//     with 11-bit fixed-point weights, fmam in float32: values may differ by
//     one step of 1/255;
//   - layout [Context+1, 3, Size, Size], frame-major, oldest frame first.
//     Channels are R, G, B; with BGR they are B, G, R, the order PKG-Net's
//     network sees (cv2.imread frames: its input is these 15 channels
//     [t0 B, t0 G, t0 R, t1 B, ...] of 32 x 32).
type STCConfig struct {
	Context int // frames before the target (4)
	Size    int // output side (32)
	BGR     bool
}

// DefaultSTCConfig returns HF2VAD's and PKG-Net's cube settings: 4
// previous frames and the target, 32 x 32, channels R, G, B.
func DefaultSTCConfig() STCConfig { return STCConfig{Context: 4, Size: 32} }

// Validate reports settings that cannot make cubes.
func (c STCConfig) Validate() error {
	var errs []error
	if c.Context < 0 {
		errs = append(errs, fmt.Errorf("STC context %d: want >= 0 previous frames (4 as HF2VAD)", c.Context))
	}
	if c.Size < 1 {
		errs = append(errs, fmt.Errorf("STC size %d: want >= 1 (32 as HF2VAD)", c.Size))
	}
	return errors.Join(errs...)
}

// Frames is the number of frames of a cube.
func (c STCConfig) Frames() int { return c.Context + 1 }

// Len is the number of float32 values of one cube.
func (c STCConfig) Len() int { return c.Frames() * 3 * c.Size * c.Size }

// Shape is the cube layout [Context+1, 3, Size, Size].
func (c STCConfig) Shape() []int { return []int{c.Frames(), 3, c.Size, c.Size} }

func (STCConfig) cacheFormat() string { return STCCacheFormat }

func (c STCConfig) extract(ctx context.Context, v data.Video, boxes []Box, emit func(i int, cube []float32) error) error {
	return ExtractSTCVideo(ctx, v, boxes, c, emit)
}

// STCFrames returns the frames of the cube of target frame t (0-based):
// t-context .. t with frames before 0 replaced by frame 0.
func STCFrames(t, context int) []int {
	out := make([]int, context+1)
	for i := range out {
		out[i] = max(t-context+i, 0)
	}
	return out
}

// stcCrop returns the pixel span [lo, hi) of a box edge pair on an axis of
// n pixels: ceil of both edges, clipped to [0, n], at least one pixel.
func stcCrop(a, b float64, n int) (lo, hi int) {
	lo = min(max(int(math.Ceil(a)), 0), n-1)
	hi = min(max(int(math.Ceil(b)), 0), n)
	if hi <= lo {
		hi = lo + 1
	}
	return lo, hi
}

// ExtractSTCVideo cuts the STCs of boxes (all of video v, best in frame
// order so that each frame is decoded once) and passes each, in the order
// of boxes, to emit; cube is reused after emit returns.
func ExtractSTCVideo(ctx context.Context, v data.Video, boxes []Box, cfg STCConfig, emit func(i int, cube []float32) error) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	dec, err := imageio.NewDecoder(imageio.DecodeOptions{C: 3, Range: imageio.RangeByte})
	if err != nil {
		return err
	}
	n := len(v.Frames)
	w := &frameWindow{v: v, dec: dec, frames: map[int]imageio.Image{}}
	cube := make([]float32, cfg.Len())
	plane := cfg.Size * cfg.Size
	var size [2]int
	var crop imageio.Image
	for i, b := range boxes {
		if err := ctx.Err(); err != nil {
			return err
		}
		if b.Video != v.Name {
			return fmt.Errorf("cube %d: box of video %q given for video %s", i, b.Video, v.Name)
		}
		if b.Frame < 0 || b.Frame >= n {
			return fmt.Errorf("video %s frame %d: the video has %d frames", v.Name, b.Frame, n)
		}
		frames := STCFrames(b.Frame, cfg.Context)
		w.forget(frames[0])
		for t, f := range frames {
			img, err := w.get(f)
			if err != nil {
				return err
			}
			if size == [2]int{} {
				size = [2]int{img.W, img.H}
			} else if size != [2]int{img.W, img.H} {
				return fmt.Errorf("%s is %dx%d but earlier frames of video %s are %dx%d", v.Frames[f], img.W, img.H, v.Name, size[0], size[1])
			}
			x0, x1 := stcCrop(b.X1, b.X2, img.W)
			y0, y1 := stcCrop(b.Y1, b.Y2, img.H)
			crop = cropInto(crop, img, x0, y0, x1, y1)
			out := cube[t*3*plane : (t+1)*3*plane]
			resizeInto(out, cfg.Size, cfg.Size, crop, cfg.Size, cfg.Size, 0, 0, HalfPixel)
			for j, x := range out {
				// cv2 returns uint8: round and saturate, then ToTensor's /255.
				out[j] = float32(min(max(math.Round(float64(x)), 0), 255)) / 255
			}
			if cfg.BGR {
				r, b := out[:plane], out[2*plane:]
				for j := range r {
					r[j], b[j] = b[j], r[j]
				}
			}
		}
		if err := emit(i, cube); err != nil {
			return err
		}
	}
	return nil
}

// cropInto copies columns x0..x1-1 and rows y0..y1-1 of img into dst
// (reusing its buffer) and returns it.
func cropInto(dst imageio.Image, img imageio.Image, x0, y0, x1, y1 int) imageio.Image {
	w, h := x1-x0, y1-y0
	dst.C, dst.W, dst.H = img.C, w, h
	if cap(dst.Pix) < img.C*w*h {
		dst.Pix = make([]float32, img.C*w*h)
	}
	dst.Pix = dst.Pix[:img.C*w*h]
	for c := range img.C {
		for y := range h {
			src := img.Pix[c*img.H*img.W+(y0+y)*img.W+x0:]
			copy(dst.Pix[(c*h+y)*w:(c*h+y+1)*w], src[:w])
		}
	}
	return dst
}

// STCCubes reads the cubes of one video of an STC cube cache. It is not
// safe for concurrent use (reads share a buffer); open one per goroutine.
// Index.Cubes lists the boxes in the order of their cubes.
type STCCubes = cubeReader[STCConfig]

// STCIndex is the JSON index of one video of an STC cube cache.
type STCIndex = cubeIndex[STCConfig]

// WriteSTCCache extracts the STC of every box of boxes for every video of
// ds into dir (a folder of the run; created if needed), skipping videos
// already finished with the same settings and boxes; a video is written to
// a temporary file and renamed, so an interrupted extraction resumes at
// the video it was cutting. Every box of a video gets a cube, in frame
// order (the order of Set.Video). Preconditions: boxes are of ds's videos
// (LoadSTCBoxes or ExtractSTCBoxes over ds); a box video ds lacks is an
// error.
func WriteSTCCache(ctx context.Context, dir string, ds *data.VideoDataset, boxes *Set, cfg STCConfig, opt CacheOptions) (CacheSummary, error) {
	return writeCache(ctx, dir, ds, boxes, cfg, func(v data.Video) []Box { return boxes.Video(v.Name) }, opt)
}

// OpenAllSTCCubes opens the cached STC cubes of every video of ds, in its
// order. The caller closes them with CloseAll.
func OpenAllSTCCubes(dir string, ds *data.VideoDataset) ([]*STCCubes, error) {
	return openAll[STCConfig](dir, ds)
}

// OpenSTCCubes opens a finished video of an STC cube cache folder.
func OpenSTCCubes(dir, video string) (*STCCubes, error) {
	return openCubes[STCConfig](dir, video)
}
