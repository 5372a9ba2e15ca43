package synth

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// The synthetic MVTec-layout categories.
const (
	// CategoryTexture is an 8-bit gray woven pattern (a regular sinusoidal
	// grid with a random phase, plus noise), like MVTec's texture classes.
	CategoryTexture = "synth_texture"
	// CategoryObject is an 8-bit RGB image of a shaded round part with a
	// ring and a centre bore, centred on a dark background with a small
	// random offset, like MVTec's object classes.
	CategoryObject = "synth_object"
)

// MVTecCategories lists the categories GenerateMVTec can make.
func MVTecCategories() []string { return []string{CategoryTexture, CategoryObject} }

// MVTecDefects lists the defect types GenerateMVTec draws, in the order
// their test folders are written.
func MVTecDefects() []string { return []string{"scratch", "hole", "stain"} }

// MVTecOptions sizes a synthetic MVTec-layout dataset. Zero values take the
// defaults noted on each field.
type MVTecOptions struct {
	Log        *slog.Logger // where the summary line goes; nil: nowhere
	Out        string       // output root (required)
	Categories []string     // default MVTecCategories()
	Size       int          // image width and height, default 64, at least 16
	Train      int          // train/good images per category, default 40
	TestGood   int          // test/good images per category, default 10
	TestDefect int          // test images per defect type and category, default 6
	Seed       uint64
	Force      bool // replace a non-empty Out
}

// MVTecSummary describes what GenerateMVTec wrote.
type MVTecSummary struct {
	Root       string
	Categories []string
	Defects    []string
	Size       int
	// Image counts summed over categories.
	TrainImages, TestGoodImages, TestDefectImages int
	Files                                         int
}

func (o *MVTecOptions) setDefaults() error {
	if len(o.Categories) == 0 {
		o.Categories = MVTecCategories()
	}
	if o.Size == 0 {
		o.Size = 64
	}
	if o.Train == 0 {
		o.Train = 40
	}
	if o.TestGood == 0 {
		o.TestGood = 10
	}
	if o.TestDefect == 0 {
		o.TestDefect = 6
	}
	if o.Size < 16 || o.Size > 4096 {
		return fmt.Errorf("mvtec synth: image size %d out of range, want 16..4096", o.Size)
	}
	if o.Train < 0 || o.TestGood < 0 || o.TestDefect < 0 {
		return fmt.Errorf("mvtec synth: image counts must not be negative (train %d, test good %d, test per defect %d)", o.Train, o.TestGood, o.TestDefect)
	}
	for i, c := range o.Categories {
		if !slices.Contains(MVTecCategories(), c) {
			return fmt.Errorf("mvtec synth: unknown category %q, want one of %s", c, strings.Join(MVTecCategories(), ", "))
		}
		if slices.Contains(o.Categories[:i], c) {
			return fmt.Errorf("mvtec synth: category %q given twice", c)
		}
	}
	return nil
}

// GenerateMVTec writes a small MVTec AD-layout dataset:
//
//	<Out>/<category>/train/good/NNN.png
//	<Out>/<category>/test/good/NNN.png
//	<Out>/<category>/test/<defect>/NNN.png
//	<Out>/<category>/ground_truth/<defect>/NNN_mask.png
//
// with 0-based 3-digit numbers, defects scratch, hole and stain, and masks as
// 0/255 8-bit gray PNGs of the image size that are 255 exactly on the pixels
// the defect changed. The output is byte-identical for equal options. It is
// built in a temporary folder beside Out and renamed into place.
func GenerateMVTec(ctx context.Context, opts MVTecOptions) (MVTecSummary, error) {
	if err := opts.setDefaults(); err != nil {
		return MVTecSummary{}, err
	}
	st, err := stage(opts.Out, opts.Force)
	if err != nil {
		return MVTecSummary{}, err
	}
	sum := MVTecSummary{Root: st.final, Categories: opts.Categories, Defects: MVTecDefects(), Size: opts.Size}
	if err := writeMVTec(ctx, st, opts, &sum); err != nil {
		st.abort()
		return MVTecSummary{}, err
	}
	if err := st.commit(); err != nil {
		st.abort()
		return MVTecSummary{}, err
	}
	logOrDiscard(opts.Log).Info("wrote synthetic MVTec-layout dataset", "root", sum.Root, "categories", sum.Categories, "files", sum.Files)
	return sum, nil
}

func writeMVTec(ctx context.Context, st *staging, opts MVTecOptions, sum *MVTecSummary) error {
	pw := newPNGWriter()
	for _, cat := range opts.Categories {
		type item struct {
			folder, defect string
			n              int
		}
		items := []item{{"train/good", "", opts.Train}, {"test/good", "", opts.TestGood}}
		for _, d := range MVTecDefects() {
			items = append(items, item{"test/" + d, d, opts.TestDefect})
		}
		for _, it := range items {
			for i := range it.n {
				if err := ctx.Err(); err != nil {
					return fmt.Errorf("mvtec synth: %w", err)
				}
				name := fmt.Sprintf("%03d", i)
				r, mask := renderMVTec(cat, it.folder, it.defect, i, opts.Size, opts.Seed)
				if err := pw.write(st.path(cat, it.folder, name+".png"), r.image()); err != nil {
					return err
				}
				sum.Files++
				switch {
				case it.defect != "":
					sum.TestDefectImages++
					if err := pw.write(st.path(cat, "ground_truth", it.defect, name+"_mask.png"), maskImage(mask, r.h, r.w)); err != nil {
						return err
					}
					sum.Files++
				case it.folder == "train/good":
					sum.TrainImages++
				default:
					sum.TestGoodImages++
				}
			}
		}
	}
	return nil
}

// renderMVTec draws one image of the dataset and, for a defect, its mask.
// The clean picture and the defect use separate random streams, so the
// clean version of a defective image can be re-rendered on its own.
func renderMVTec(cat, folder, defect string, idx, size int, seed uint64) (*raster, []bool) {
	name := fmt.Sprintf("%s/%s/%03d", cat, folder, idx)
	r, g := renderClean(cat, size, streamRNG(seed, name+"/clean"))
	if defect == "" {
		return r, nil
	}
	mask := drawDefect(r, g, defect, streamRNG(seed, name+"/defect"))
	return r, mask
}

// region is where defects go: a disk (the object) or the whole image inset.
type region struct {
	cx, cy, radius float64 // radius 0: the whole image
}

func renderClean(cat string, size int, rng *rand.Rand) (*raster, region) {
	if cat == CategoryObject {
		return renderObject(size, rng)
	}
	return renderTexture(size, rng), region{}
}

func renderTexture(size int, rng *rand.Rand) *raster {
	r := newRaster(1, size, size)
	period := float64(size) / 8
	ox, oy := period*rng.Float64(), period*rng.Float64()
	level := 128 + uniform(rng, -6, 6)
	for y := range size {
		sy := math.Sin(2 * math.Pi * (float64(y) + oy) / period)
		for x := range size {
			sx := math.Sin(2 * math.Pi * (float64(x) + ox) / period)
			r.pix[y*size+x] = byte8(level + 45*sx*sy + 6*rng.NormFloat64())
		}
	}
	return r
}

func renderObject(size int, rng *rand.Rand) (*raster, region) {
	r := newRaster(3, size, size)
	s := float64(size)
	cx := s/2 + uniform(rng, -1, 1)*s/32
	cy := s/2 + uniform(rng, -1, 1)*s/32
	rad := 0.32 * s * uniform(rng, 0.97, 1.03)
	bg := [3]float64{52, 56, 60}
	body := [3]float64{200, 160, 70}
	for y := range size {
		for x := range size {
			i := y*size + x
			d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy) / rad
			n := rng.NormFloat64() * 3
			var col [3]float64
			switch {
			case d < 0.15 || d > 1: // centre bore and background
				col = bg
			case d >= 0.35 && d <= 0.45: // machined ring
				for k := range col {
					col[k] = body[k] * 0.6
				}
			default:
				shade := 1 - 0.35*d*d
				for k := range col {
					col[k] = body[k] * shade
				}
			}
			p := r.pixel(i)
			for k := range p {
				p[k] = byte8(col[k] + n)
			}
		}
	}
	return r, region{cx: cx, cy: cy, radius: rad}
}

// drawDefect paints a defect and returns its mask: exactly the changed pixels.
func drawDefect(r *raster, g region, defect string, rng *rand.Rand) []bool {
	s := float64(r.w)
	// Defect centre: on the object's body, or anywhere away from the edges.
	var px, py float64
	if g.radius > 0 {
		a := 2 * math.Pi * rng.Float64()
		d := g.radius * uniform(rng, 0.25, 0.75)
		px, py = g.cx+d*math.Cos(a), g.cy+d*math.Sin(a)
	} else {
		px, py = s*uniform(rng, 0.2, 0.8), s*uniform(rng, 0.2, 0.8)
	}

	var inside func(x, y float64) bool
	var colour func(i int) []uint8
	switch defect {
	case "scratch":
		a := math.Pi * rng.Float64()
		half := s * uniform(rng, 0.25, 0.45) / 2
		dx, dy := math.Cos(a)*half, math.Sin(a)*half
		width := math.Max(0.5, s/128) + 0.25
		inside = func(x, y float64) bool {
			return segmentDist(x, y, px-dx, py-dy, px+dx, py+dy) <= width
		}
		// One colour for the whole scratch, contrasting with what it crosses.
		bright := meanLuma(r, inside) < 128
		colour = func(int) []uint8 {
			if bright {
				return []uint8{235, 235, 235}[:r.c]
			}
			return []uint8{20, 20, 20}[:r.c]
		}
	case "hole":
		rad := math.Max(1.5, s*uniform(rng, 0.05, 0.09))
		inside = func(x, y float64) bool { return math.Hypot(x-px, y-py) <= rad }
		colour = func(int) []uint8 {
			v := byte8(12 + 2*rng.NormFloat64())
			return []uint8{v, v - v/8, v - v/8}[:r.c]
		}
	case "stain":
		base := s * uniform(rng, 0.07, 0.13)
		ax, ay := base*uniform(rng, 0.7, 1.3), base*uniform(rng, 0.7, 1.3)
		phi, psi := math.Pi*rng.Float64(), 2*math.Pi*rng.Float64()
		sin, cos := math.Sincos(phi)
		inside = func(x, y float64) bool {
			u := ((x-px)*cos + (y-py)*sin) / ax
			v := (-(x-px)*sin + (y-py)*cos) / ay
			return math.Hypot(u, v) <= 1+0.2*math.Sin(3*math.Atan2(v, u)+psi)
		}
		tint := []float64{110, 70, 20}
		if r.c == 1 {
			tint = []float64{40}
		}
		colour = func(i int) []uint8 {
			p := r.pixel(i)
			out := make([]uint8, r.c)
			for k := range out {
				out[k] = byte8(0.45*float64(p[k]) + 0.55*tint[k])
			}
			return out
		}
	default:
		panic("synth: unknown defect " + defect)
	}

	mask := make([]bool, r.h*r.w)
	painted := false
	for y := range r.h {
		for x := range r.w {
			if inside(float64(x)+0.5, float64(y)+0.5) {
				i := y*r.w + x
				r.paint(i, colour(i), mask)
				painted = true
			}
		}
	}
	if !painted {
		// A tiny defect on a small image can miss every pixel centre: keep
		// the pixel under its centre so a defective image is never clean.
		i := int(py)*r.w + int(px)
		r.paint(i, colour(i), mask)
	}
	return mask
}

// meanLuma is the mean luma of the pixels whose centres satisfy inside.
func meanLuma(r *raster, inside func(x, y float64) bool) float64 {
	sum, n := 0.0, 0
	for y := range r.h {
		for x := range r.w {
			if inside(float64(x)+0.5, float64(y)+0.5) {
				sum += r.luma(y*r.w + x)
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// segmentDist is the distance from (x, y) to the segment (ax, ay)-(bx, by).
func segmentDist(x, y, ax, ay, bx, by float64) float64 {
	dx, dy := bx-ax, by-ay
	t := ((x-ax)*dx + (y-ay)*dy) / (dx*dx + dy*dy)
	t = math.Max(0, math.Min(1, t))
	return math.Hypot(x-ax-t*dx, y-ay-t*dy)
}
