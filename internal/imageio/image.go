package imageio

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register JPEG for image.Decode
	_ "image/png"  // register PNG for image.Decode
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	_ "golang.org/x/image/bmp" // register BMP (UCSD pixel masks)
	"golang.org/x/image/draw"
	_ "golang.org/x/image/tiff" // register TIFF (UCSD frames)
)

// Image is a decoded image in CHW order: Pix[c*H*W + y*W + x].
type Image struct {
	C, H, W int
	Pix     []float32
}

// Mask is a binary pixel mask in row-major order: Pix[y*W + x] is true for
// an anomalous pixel.
type Mask struct {
	H, W int
	Pix  []bool
	// Levels lists pixel values of the file other than black and white
	// (0 and 255; "r,g,b" for colour masks), up to MaxLevels: a mask
	// that is not binary, whose every non-zero pixel still counts as
	// anomalous. Nil for a binary mask.
	Levels []string
}

// MaxLevels bounds Mask.Levels.
const MaxLevels = 8

// Range is the value range decoded pixels are mapped to.
type Range int

const (
	// RangeUnit maps 8-bit values v to v/255 in [0, 1] (DRAEM's convention,
	// torchvision's ToTensor).
	RangeUnit Range = iota
	// RangeSigned maps v to v/127.5 - 1 in [-1, 1] (MNAD's convention).
	RangeSigned
	// RangeByte keeps v in [0, 255] (Caffe-style and mmcv-trained
	// networks).
	RangeByte
)

func (r Range) String() string {
	if lo, hi, ok := r.bounds(); ok {
		return fmt.Sprintf("[%g,%g]", lo, hi)
	}
	return fmt.Sprintf("Range(%d)", int(r))
}

// bounds are the values 0 and 255 map to.
func (r Range) bounds() (lo, hi float64, ok bool) {
	switch r {
	case RangeUnit:
		return 0, 1, true
	case RangeSigned:
		return -1, 1, true
	case RangeByte:
		return 0, 255, true
	}
	return 0, 0, false
}

// scale returns v -> v*scale + offset in float32, the arithmetic every
// decoder has used (kept bit for bit).
func (r Range) scale() (scale, offset float32) {
	switch r {
	case RangeSigned:
		return 1 / 127.5, -1
	case RangeByte:
		return 1, 0
	}
	return 1.0 / 255, 0
}

// ParseRange reads a value range as config files write it: "0,1", "-1,1"
// or "0,255"; brackets and spaces are allowed ("[-1, 1]").
func ParseRange(s string) (Range, error) {
	t := strings.Trim(strings.TrimSpace(s), "[]()")
	lo, hi, ok := strings.Cut(t, ",")
	if ok {
		l, err1 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
		h, err2 := strconv.ParseFloat(strings.TrimSpace(hi), 64)
		if err1 == nil && err2 == nil {
			for _, r := range []Range{RangeUnit, RangeSigned, RangeByte} {
				if rl, rh, _ := r.bounds(); rl == l && rh == h {
					return r, nil
				}
			}
		}
	}
	return 0, fmt.Errorf("value range %q: want 0,1 or -1,1 or 0,255 (the values 8-bit 0 and 255 map to)", s)
}

// Filter is the interpolation used when an image is resized.
//
// Bilinear and CatmullRom are golang.org/x/image/draw kernels. Like PIL's
// resize (and unlike OpenCV's cv2.resize INTER_LINEAR, which MNAD used),
// the kernel is widened when shrinking, so downscaled frames are
// anti-aliased rather than sampled. Upscaling matches ordinary bilinear /
// bicubic interpolation. The result passes through 8-bit RGBA (x/image/draw
// rounds to 16 bits and keeps the top 8), so against PIL's resize of the
// same pixels a fifth to a third of the pixels are a level off, more often
// below (on Ped2 frames and photos at 64x64 and 256x256).
//
// PILBilinear is PIL's Image.resize(size, Image.BILINEAR) on mode "RGB" or
// "L" images, bit for bit: the same triangle filter with half-pixel centres
// and support widened by the downscale factor, PIL's 22-bit fixed-point
// weights, the horizontal pass first, and rounding to 8 bits after each
// pass as PIL does for 8-bit images. Gray output (C = 1) is PIL's
// convert("L") of the RGB image before resizing (L = (19595 R + 38470 G +
// 7471 B + 32768) >> 16), where the draw filters take the float luma of the
// resized RGB, and colour JPEGs are turned into RGB as libjpeg does
// (libjpegRGB). So fmam sees the values a pipeline that reads images with PIL
// (torchvision's default loader) sees, up to image/jpeg's inverse DCT: on
// Ped2 frames at most a level, on 1-2% of pixels.
type Filter int

const (
	// Bilinear is draw.BiLinear: a triangle kernel of support 1.
	Bilinear Filter = iota
	// CatmullRom is draw.CatmullRom: a sharper cubic kernel of support 2.
	CatmullRom
	// PILBilinear is PIL's BILINEAR resize and gray conversion.
	PILBilinear
)

func (f Filter) String() string {
	switch f {
	case Bilinear:
		return "bilinear"
	case CatmullRom:
		return "catmull-rom"
	case PILBilinear:
		return "pil-bilinear"
	}
	return fmt.Sprintf("Filter(%d)", int(f))
}

// ParseFilter reads a filter name as Filter.String writes it.
func ParseFilter(s string) (Filter, error) {
	for _, f := range []Filter{Bilinear, CatmullRom, PILBilinear} {
		if strings.EqualFold(strings.TrimSpace(s), f.String()) {
			return f, nil
		}
	}
	return 0, fmt.Errorf("resize filter %q: want bilinear, catmull-rom or pil-bilinear", s)
}

func (f Filter) kernel() *draw.Kernel {
	if f == CatmullRom {
		return draw.CatmullRom
	}
	return draw.BiLinear
}

// DecodeOptions says how an image file becomes an Image.
type DecodeOptions struct {
	// C is the number of output channels: 1 (gray, ITU-R 601 luma of colour
	// images) or 3 (RGB; gray images are replicated to all three channels).
	C int
	// H and W are the output size. Zero for both keeps the source size.
	H, W int
	// Range maps 8-bit values to floats.
	Range Range
	// Mean and Std normalise each channel after Range (see Input); nil for
	// none.
	Mean, Std []float64
	// Filter is the resize interpolation.
	Filter Filter
}

// Input returns the network input format part of o.
func (o DecodeOptions) Input() Input {
	return Input{C: o.C, Range: o.Range, Mean: o.Mean, Std: o.Std}
}

// WithInput returns o with its channels, range and normalisation set from
// in.
func (o DecodeOptions) WithInput(in Input) DecodeOptions {
	o.C, o.Range, o.Mean, o.Std = in.C, in.Range, in.Mean, in.Std
	return o
}

// Validate reports options that cannot produce an image.
func (o DecodeOptions) Validate() error {
	var errs []error
	if err := o.Input().Validate(); err != nil {
		errs = append(errs, err)
	}
	if o.H < 0 || o.W < 0 || (o.H == 0) != (o.W == 0) {
		errs = append(errs, fmt.Errorf("size must be both positive or both zero (keep source size), got %dx%d (HxW)", o.H, o.W))
	}
	if o.Filter != Bilinear && o.Filter != CatmullRom && o.Filter != PILBilinear {
		errs = append(errs, fmt.Errorf("unknown resize filter %d", int(o.Filter)))
	}
	return errors.Join(errs...)
}

// IsImageFile reports whether name has an extension this package decodes.
func IsImageFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp":
		return true
	}
	return false
}

// readImage decodes the whole file at path.
func readImage(path string) (image.Image, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode image %s (is it a complete PNG/JPEG/TIFF/BMP file?): %w", path, err)
	}
	return img, nil
}

// Size returns the width and height of the image at path reading only
// its header.
func Size(path string) (w, h int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return 0, 0, fmt.Errorf("read image header %s: %w", path, err)
	}
	return cfg.Width, cfg.Height, nil
}

// Decode reads the image at path and converts it as opt says. To
// decode many images of the same size use a Decoder.
func Decode(path string, opt DecodeOptions) (Image, error) {
	d, err := NewDecoder(opt)
	if err != nil {
		return Image{}, fmt.Errorf("decode image %s: %w", path, err)
	}
	return d.Decode(path)
}

// Decoder decodes image files with fixed options. It keeps the resize
// tables (and their scratch buffers) for each source size it meets, which
// saves rebuilding them for every frame of a video. It is safe for
// concurrent use.
type Decoder struct {
	opt     DecodeOptions
	mu      sync.Mutex
	scalers map[image.Point]draw.Scaler // by source size
	pil     map[image.Point]*pilResizer // by source size, for PILBilinear
}

// NewDecoder checks opt and returns a Decoder for it.
func NewDecoder(opt DecodeOptions) (*Decoder, error) {
	if err := opt.Validate(); err != nil {
		return nil, err
	}
	return &Decoder{opt: opt, scalers: make(map[image.Point]draw.Scaler), pil: make(map[image.Point]*pilResizer)}, nil
}

// Decode reads the image at path.
func (d *Decoder) Decode(path string) (Image, error) {
	img, _, err := d.DecodeWithSize(path)
	return img, err
}

// DecodeWithSize is Decode that also returns the size of the image in the
// file, before resizing, which batchers check masks against (see
// DecodeMaskWithSize).
func (d *Decoder) DecodeWithSize(path string) (Image, image.Point, error) {
	src, err := readImage(path)
	if err != nil {
		return Image{}, image.Point{}, err
	}
	src = opaque(src)
	var img Image
	if d.opt.Filter == PILBilinear {
		img = d.convertPIL(src)
	} else {
		img = d.convert(src)
	}
	d.opt.Input().Normalize(img.Pix, img.H*img.W)
	return img, src.Bounds().Size(), nil
}

func (d *Decoder) scaler(src image.Point) draw.Scaler {
	d.mu.Lock()
	defer d.mu.Unlock()
	s, ok := d.scalers[src]
	if !ok {
		// Datasets have a handful of image sizes; bound it anyway.
		if len(d.scalers) >= 64 {
			clear(d.scalers)
		}
		s = d.opt.Filter.kernel().NewScaler(d.opt.W, d.opt.H, src.X, src.Y)
		d.scalers[src] = s
	}
	return s
}

func (d *Decoder) pilResizer(src image.Point) *pilResizer {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.pil[src]
	if !ok {
		if len(d.pil) >= 64 {
			clear(d.pil)
		}
		r = newPILResizer(src.X, src.Y, d.opt.W, d.opt.H)
		d.pil[src] = r
	}
	return r
}

// convertPIL turns src into a CHW float image in Range units as PIL and
// torchvision's ToTensor would: 8-bit planes resized as PIL does, then
// each 8-bit value mapped once, with no other rounding.
func (d *Decoder) convertPIL(src image.Image) Image {
	opt := d.opt
	sb := src.Bounds()
	h, w := opt.H, opt.W
	if h == 0 {
		h, w = sb.Dy(), sb.Dx()
	}
	planes := pilPlanes(src, opt.C)
	if h != sb.Dy() || w != sb.Dx() {
		r := d.pilResizer(sb.Size())
		for i, p := range planes {
			planes[i] = r.resize(p)
		}
	}
	scale, offset := opt.Range.scale()
	n := h * w
	out := Image{C: opt.C, H: h, W: w, Pix: make([]float32, opt.C*n)}
	for c := range opt.C {
		p := planes[min(c, len(planes)-1)] // a gray source fills all channels
		ch := out.Pix[c*n : (c+1)*n]
		for i, v := range p {
			ch[i] = float32(v)*scale + offset
		}
	}
	return out
}

// convert turns src into a CHW float image in Range units with an
// x/image/draw filter.
func (d *Decoder) convert(src image.Image) Image {
	opt := d.opt
	sb := src.Bounds()
	h, w := opt.H, opt.W
	if h == 0 {
		h, w = sb.Dy(), sb.Dx()
	}
	if y, ok := src.(*image.YCbCr); ok && opt.C == 1 {
		// The luma plane is the gray image; skipping colour conversion
		// makes gray-content JPEGs (Ped2, Avenue) much cheaper.
		src = &image.Gray{Pix: y.Y, Stride: y.YStride, Rect: y.Rect}
	}
	// x/image/draw has fast paths for *image.RGBA destinations only.
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	if sb.Dx() == w && sb.Dy() == h {
		draw.Draw(dst, dst.Bounds(), src, sb.Min, draw.Src)
	} else {
		d.scaler(sb.Size()).Scale(dst, dst.Bounds(), src, sb, draw.Src, nil)
	}

	scale, offset := opt.Range.scale()
	n := h * w
	out := Image{C: opt.C, H: h, W: w, Pix: make([]float32, opt.C*n)}
	p := dst.Pix
	if opt.C == 3 {
		r, g, b := out.Pix[:n], out.Pix[n:2*n], out.Pix[2*n:]
		for i := range n {
			r[i] = float32(p[4*i])*scale + offset
			g[i] = float32(p[4*i+1])*scale + offset
			b[i] = float32(p[4*i+2])*scale + offset
		}
		return out
	}
	for i := range n {
		l := 0.299*float32(p[4*i]) + 0.587*float32(p[4*i+1]) + 0.114*float32(p[4*i+2])
		out.Pix[i] = l*scale + offset
	}
	return out
}

// DecodeMask reads a pixel mask (any decodable image; a pixel whose colour
// is not black is anomalous) and resizes it to h x w with nearest
// neighbour, so it stays binary. Zero h and w keep the source size.
func DecodeMask(path string, h, w int) (Mask, error) {
	m, _, err := DecodeMaskWithSize(path, h, w)
	return m, err
}

// DecodeMaskWithSize is DecodeMask that also returns the size of the mask
// in the file, before resizing.
func DecodeMaskWithSize(path string, h, w int) (Mask, image.Point, error) {
	if h < 0 || w < 0 || (h == 0) != (w == 0) {
		return Mask{}, image.Point{}, fmt.Errorf("decode mask %s: size must be both positive or both zero, got %dx%d (HxW)", path, h, w)
	}
	src, err := readImage(path)
	if err != nil {
		return Mask{}, image.Point{}, err
	}
	full := maskOf(src)
	return full.resize(h, w), image.Pt(full.W, full.H), nil
}

// maskOf marks the non-black pixels of img.
func maskOf(img image.Image) Mask {
	b := img.Bounds()
	m := Mask{H: b.Dy(), W: b.Dx(), Pix: make([]bool, b.Dx()*b.Dy())}
	seen := map[[3]uint32]bool{}
	level := func(r, g, bl uint32) {
		if len(m.Levels) >= MaxLevels || r == g && g == bl && (r == 0 || r == 0xffff) || seen[[3]uint32{r, g, bl}] {
			return
		}
		seen[[3]uint32{r, g, bl}] = true
		s := strconv.Itoa(int(r >> 8))
		if r != g || g != bl {
			s = fmt.Sprintf("%d,%d,%d", r>>8, g>>8, bl>>8)
		}
		m.Levels = append(m.Levels, s)
	}
	switch src := img.(type) {
	case *image.Gray:
		for y := range m.H {
			row := src.Pix[y*src.Stride : y*src.Stride+m.W]
			for x, v := range row {
				m.Pix[y*m.W+x] = v != 0
				if v != 0 && v != 0xff {
					level(uint32(v)<<8, uint32(v)<<8, uint32(v)<<8)
				}
			}
		}
	case *image.Paletted:
		// 8-bit BMPs (UCSD) decode as paletted: the index is not the value.
		nonzero := make([]bool, len(src.Palette))
		for i, c := range src.Palette {
			r, g, b, _ := c.RGBA()
			nonzero[i] = r|g|b != 0
		}
		used := make([]bool, len(src.Palette))
		for y := range m.H {
			row := src.Pix[y*src.Stride : y*src.Stride+m.W]
			for x, v := range row {
				m.Pix[y*m.W+x] = int(v) < len(nonzero) && nonzero[v]
				if int(v) < len(used) {
					used[v] = true
				}
			}
		}
		for i, u := range used {
			if u {
				r, g, b, _ := src.Palette[i].RGBA()
				level(r, g, b)
			}
		}
	default:
		for y := range m.H {
			for x := range m.W {
				r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				m.Pix[y*m.W+x] = r|g|bl != 0
				level(r, g, bl)
			}
		}
	}
	return m
}

// resize samples m at the centres of the h x w output pixels, the same rule
// as draw.NearestNeighbor. Zero h keeps m.
func (m Mask) resize(h, w int) Mask {
	if h == 0 || (h == m.H && w == m.W) {
		return m
	}
	out := Mask{H: h, W: w, Pix: make([]bool, h*w), Levels: m.Levels}
	if m.H == 0 || m.W == 0 {
		return out
	}
	xs := make([]int, w)
	for x := range w {
		xs[x] = (2*x + 1) * m.W / (2 * w)
	}
	for y := range h {
		sy := (2*y + 1) * m.H / (2 * h)
		src := m.Pix[sy*m.W : (sy+1)*m.W]
		dst := out.Pix[y*w : (y+1)*w]
		for x, sx := range xs {
			dst[x] = src[sx]
		}
	}
	return out
}

// Any reports whether any pixel of m is anomalous.
func (m Mask) Any() bool {
	for _, v := range m.Pix {
		if v {
			return true
		}
	}
	return false
}
