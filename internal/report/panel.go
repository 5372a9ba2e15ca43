package report

import (
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"strconv"

	"github.com/fmam/fmam/internal/atomicfile"
	"golang.org/x/image/draw"
	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
	"gonum.org/v1/plot/vg"
)

// ImageCHW is an image in channel-major layout (all of channel 0, then
// channel 1, ...), values in [0, 1], with C = 1 (grey) or 3 (RGB).
type ImageCHW struct {
	Data    []float32
	C, H, W int
}

// Map is a single-channel H x W grid in row-major order: an anomaly map or a
// ground-truth mask.
type Map struct {
	Data []float32
	H, W int
}

// Range is the span of map values stretched over the colour map. The zero
// Range means "this map's own minimum and maximum"; give two maps the same
// Range (see JointRange) to make their colours comparable.
type Range struct {
	Lo, Hi float32
}

// JointRange returns the smallest Range holding every finite value of maps.
func JointRange(maps ...Map) Range {
	lo, hi := float32(math.Inf(1)), float32(math.Inf(-1))
	for _, m := range maps {
		for _, v := range m.Data {
			if !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
	}
	if lo > hi {
		return Range{0, 1}
	}
	if lo == hi {
		return Range{lo, lo + 1}
	}
	return Range{lo, hi}
}

type tileKind int

const (
	tileImage tileKind = iota
	tileMask
	tileHeat
	tileOverlay
	tileNote
)

// Tile is one picture of a panel; make it with ImageTile, MaskTile,
// HeatTile or OverlayTile.
type Tile struct {
	title string
	kind  tileKind
	img   ImageCHW
	m     Map
	r     Range
	note  string
}

// ImageTile shows an image as it is.
func ImageTile(title string, img ImageCHW) Tile {
	return Tile{title: title, kind: tileImage, img: img}
}

// MaskTile shows a ground-truth mask in grey levels: 0 black, 1 white.
func MaskTile(title string, mask Map) Tile {
	return Tile{title: title, kind: tileMask, m: mask}
}

// HeatTile shows an anomaly map through the panel's colour map, r mapping to
// its two ends.
func HeatTile(title string, m Map, r Range) Tile {
	return Tile{title: title, kind: tileHeat, m: m, r: r}
}

// OverlayTile shows an anomaly map through the colour map blended over img
// with the panel's Alpha.
func OverlayTile(title string, img ImageCHW, m Map, r Range) Tile {
	return Tile{title: title, kind: tileOverlay, img: img, m: m, r: r}
}

// NoteTile is a light grey w x h tile with a short text in its middle,
// for a picture that does not exist (a defect image without a mask):
// drawn black, it would read as "no anomalous pixel".
func NoteTile(title, text string, w, h int) Tile {
	return Tile{title: title, kind: tileNote, note: text, m: Map{H: h, W: w}}
}

// NoteGray is the grey level of a NoteTile's background.
const NoteGray = 0xd8

// Panel is a row of tiles side by side, each with its title above it, in the
// manner of the paper's Figure 3. Tiles of other sizes are resized (maps are
// interpolated before colouring, so a coarse map shows smooth colours; masks
// are resized by nearest neighbour and stay crisp).
type Panel struct {
	Tiles []Tile
	// TileWidth and TileHeight are the size every tile is shown at, in
	// pixels; zero takes the largest tile's width and height.
	TileWidth, TileHeight int
	Colormap              Colormap
	// Alpha is the opacity of the colour map in overlay tiles; zero means 0.5.
	Alpha float64
	// Label is a line above the row (which image it is, its score); ""
	// leaves no room for one.
	Label string
	// Bar, when set, adds a colour bar after the tiles from Bar.Lo (bottom)
	// to Bar.Hi (top), labelled with both: the scale of the heat tiles
	// drawn with that Range.
	Bar *Range
}

// Panel geometry in pixels: margin around and between tiles, and the strip
// above each tile holding its title in basicfont's 7x13 face.
const (
	panelMargin = 6
	titleStrip  = 16
)

// RenderPanels draws panels one under the other on a white background.
func RenderPanels(rows ...Panel) (*image.RGBA, error) {
	if len(rows) == 0 {
		return nil, fmt.Errorf("render panels: no panel")
	}
	imgs := make([]*image.RGBA, len(rows))
	w, h := 0, 0
	for i, p := range rows {
		img, err := p.render()
		if err != nil {
			return nil, fmt.Errorf("panel %d: %w", i, err)
		}
		imgs[i] = img
		w = max(w, img.Bounds().Dx())
		h += img.Bounds().Dy()
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	y := 0
	for _, img := range imgs {
		r := img.Bounds()
		draw.Draw(out, image.Rect(0, y, r.Dx(), y+r.Dy()), img, r.Min, draw.Src)
		y += r.Dy()
	}
	return out, nil
}

// WritePanels renders panels one under the other and writes them to path as
// PNG.
func WritePanels(path string, rows ...Panel) error { return WritePanelsAs(path, nil, rows...) }

// panelDPI is the resolution at which a panel picture's pixels are placed
// in its SVG and PDF copies: 878 pixels (a DRAEM maps row) are 5.9 inches,
// a page's width.
const panelDPI = 150

// WritePanelsAs is WritePanels with, for each of formats that is "svg" or
// "pdf", the same picture beside the PNG with that extension. The maps
// are pixels, so the vector files embed the PNG's pixels unscaled (a paper
// can place the figure as a PDF like its plots) rather than redraw them.
func WritePanelsAs(path string, formats []string, rows ...Panel) error {
	if err := CheckFormats(formats); err != nil {
		return fmt.Errorf("panel picture %s: %w", path, err)
	}
	img, err := RenderPanels(rows...)
	if err != nil {
		return fmt.Errorf("panel picture %s: %w", path, err)
	}
	if err := atomicfile.WriteFunc(path, func(w io.Writer) error { return png.Encode(w, img) }); err != nil {
		return err
	}
	b := img.Bounds()
	W, H := vg.Length(b.Dx())/panelDPI*vg.Inch, vg.Length(b.Dy())/panelDPI*vg.Inch
	return writeVectors(path, formats, W, H, func(c vg.CanvasSizer) { c.DrawImage(vg.Rectangle{Max: vg.Point{X: W, Y: H}}, img) })
}

// tileRect returns where tile i of a panel with tiles of tw x th pixels is
// drawn, top is the height of the label strip above the titles.
func tileRect(i, tw, th, top int) image.Rectangle {
	x := panelMargin + i*(tw+panelMargin)
	y := panelMargin + top + titleStrip
	return image.Rect(x, y, x+tw, y+th)
}

// Colour bar geometry: the bar's width, and room for its labels.
const (
	barWidth  = 14
	barLabels = 8 * 7 // eight characters of basicfont
)

func (p Panel) render() (*image.RGBA, error) {
	if len(p.Tiles) == 0 {
		return nil, fmt.Errorf("no tiles")
	}
	tw, th := p.TileWidth, p.TileHeight
	for _, t := range p.Tiles {
		if err := t.validate(); err != nil {
			return nil, err
		}
		w, h := t.size()
		if p.TileWidth <= 0 {
			tw = max(tw, w)
		}
		if p.TileHeight <= 0 {
			th = max(th, h)
		}
	}
	alpha := p.Alpha
	if alpha == 0 {
		alpha = 0.5
	}
	if alpha < 0 || alpha > 1 {
		return nil, fmt.Errorf("overlay alpha %v is outside [0, 1]", p.Alpha)
	}
	n := len(p.Tiles)
	top := 0
	if p.Label != "" {
		top = titleStrip
	}
	w := n*tw + (n+1)*panelMargin
	if p.Bar != nil {
		if !(p.Bar.Hi > p.Bar.Lo) {
			return nil, fmt.Errorf("colour bar range [%v, %v] is empty", p.Bar.Lo, p.Bar.Hi)
		}
		w += barWidth + 4 + barLabels + panelMargin
	}
	out := image.NewRGBA(image.Rect(0, 0, w, th+top+titleStrip+2*panelMargin))
	draw.Draw(out, out.Bounds(), image.White, image.Point{}, draw.Src)
	if p.Label != "" {
		drawText(out, p.Label, panelMargin, panelMargin+titleStrip-3, w-2*panelMargin)
	}
	for i, t := range p.Tiles {
		r := tileRect(i, tw, th, top)
		t.draw(out, r, p.Colormap, alpha)
		drawTitle(out, t.title, r)
	}
	if p.Bar != nil {
		r := tileRect(n, tw, th, top)
		r.Max.X = r.Min.X + barWidth
		for y := r.Min.Y; y < r.Max.Y; y++ {
			c := p.Colormap.At(float64(r.Max.Y-1-y) / float64(max(1, r.Dy()-1)))
			for x := r.Min.X; x < r.Max.X; x++ {
				out.SetRGBA(x, y, c)
			}
		}
		lx := r.Max.X + 4
		drawText(out, barValue(p.Bar.Hi), lx, r.Min.Y+10, barLabels)
		drawText(out, barValue(p.Bar.Lo), lx, r.Max.Y, barLabels)
	}
	return out, nil
}

// barValue is a colour bar's label: four significant digits.
func barValue(v float32) string { return strconv.FormatFloat(float64(v), 'g', 4, 32) }

// drawText writes s with its baseline at (x, y), cut short to width.
func drawText(dst *image.RGBA, s string, x, y, width int) {
	d := font.Drawer{Dst: dst, Src: image.Black, Face: basicfont.Face7x13}
	runes := []rune(s)
	for len(runes) > 0 && d.MeasureString(string(runes)).Ceil() > width {
		runes = runes[:len(runes)-1]
	}
	d.Dot = fixed.P(x, y)
	d.DrawString(string(runes))
}

func (t Tile) size() (w, h int) {
	if t.kind == tileImage || t.kind == tileOverlay {
		return t.img.W, t.img.H
	}
	return t.m.W, t.m.H
}

func (t Tile) validate() error {
	if t.kind == tileImage || t.kind == tileOverlay {
		im := t.img
		if im.C != 1 && im.C != 3 {
			return fmt.Errorf("tile %q: image has %d channels, want 1 or 3", t.title, im.C)
		}
		if im.H <= 0 || im.W <= 0 || len(im.Data) != im.C*im.H*im.W {
			return fmt.Errorf("tile %q: image data has %d values, want C*H*W = %d*%d*%d", t.title, len(im.Data), im.C, im.H, im.W)
		}
	}
	if t.kind == tileImage {
		return nil
	}
	if t.kind == tileNote {
		if t.m.H <= 0 || t.m.W <= 0 {
			return fmt.Errorf("tile %q: note tile size %dx%d must be positive", t.title, t.m.W, t.m.H)
		}
		return nil
	}
	if t.m.H <= 0 || t.m.W <= 0 || len(t.m.Data) != t.m.H*t.m.W {
		return fmt.Errorf("tile %q: map data has %d values, want H*W = %d*%d", t.title, len(t.m.Data), t.m.H, t.m.W)
	}
	if t.r != (Range{}) && !(t.r.Hi > t.r.Lo) {
		return fmt.Errorf("tile %q: range [%v, %v] is empty; want Lo < Hi, or the zero Range for automatic", t.title, t.r.Lo, t.r.Hi)
	}
	return nil
}

// draw paints the tile into dst's rectangle r.
func (t Tile) draw(dst *image.RGBA, r image.Rectangle, cm Colormap, alpha float64) {
	switch t.kind {
	case tileImage:
		draw.BiLinear.Scale(dst, r, t.img.rgba(), image.Rect(0, 0, t.img.W, t.img.H), draw.Src, nil)
	case tileNote:
		draw.Draw(dst, r, image.NewUniform(color.RGBA{NoteGray, NoteGray, NoteGray, 255}), image.Point{}, draw.Src)
		d := font.Drawer{Dst: dst, Src: image.Black, Face: basicfont.Face7x13}
		x := r.Min.X + (r.Dx()-d.MeasureString(t.note).Ceil())/2
		d.Dot = fixed.P(x, r.Min.Y+r.Dy()/2+5)
		d.DrawString(t.note)
	case tileMask:
		g := unitGray(t.m, Range{0, 1})
		draw.NearestNeighbor.Scale(dst, r, g, g.Bounds(), draw.Src, nil)
	case tileHeat, tileOverlay:
		rng := t.r
		if rng == (Range{}) {
			rng = JointRange(t.m)
		}
		src := unitGray(t.m, rng)
		g := image.NewGray16(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.BiLinear.Scale(g, g.Bounds(), src, src.Bounds(), draw.Src, nil)
		if t.kind == tileOverlay {
			draw.BiLinear.Scale(dst, r, t.img.rgba(), image.Rect(0, 0, t.img.W, t.img.H), draw.Src, nil)
		}
		for y := 0; y < r.Dy(); y++ {
			for x := 0; x < r.Dx(); x++ {
				c := cm.At(float64(g.Gray16At(x, y).Y) / 0xffff)
				px := r.Min.Add(image.Pt(x, y))
				if t.kind == tileOverlay {
					c = blend(dst.RGBAAt(px.X, px.Y), c, alpha)
				}
				dst.SetRGBA(px.X, px.Y, c)
			}
		}
	}
}

// blend mixes overlay over base with opacity a.
func blend(base, overlay color.RGBA, a float64) color.RGBA {
	mix := func(b, o uint8) uint8 { return uint8(math.Round((1-a)*float64(b) + a*float64(o))) }
	return color.RGBA{mix(base.R, overlay.R), mix(base.G, overlay.G), mix(base.B, overlay.B), 255}
}

// unitGray stretches m over r into 16-bit grey, so that maps can be resized
// by x/image/draw before being coloured.
func unitGray(m Map, r Range) *image.Gray16 {
	g := image.NewGray16(image.Rect(0, 0, m.W, m.H))
	span := float64(r.Hi) - float64(r.Lo)
	for i, v := range m.Data {
		u := 0.0
		if !math.IsNaN(float64(v)) {
			u = clamp01((float64(v) - float64(r.Lo)) / span)
		}
		q := uint16(math.Round(u * 0xffff))
		g.Pix[2*i], g.Pix[2*i+1] = uint8(q>>8), uint8(q)
	}
	return g
}

// rgba converts the image to 8-bit RGB, clamping values to [0, 1].
func (im ImageCHW) rgba() *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, im.W, im.H))
	plane := im.H * im.W
	level := func(v float32) uint8 {
		if math.IsNaN(float64(v)) {
			return 0
		}
		return uint8(math.Round(255 * clamp01(float64(v))))
	}
	for i := range plane {
		var r, g, b uint8
		if im.C == 1 {
			r = level(im.Data[i])
			g, b = r, r
		} else {
			r, g, b = level(im.Data[i]), level(im.Data[plane+i]), level(im.Data[2*plane+i])
		}
		out.Pix[4*i], out.Pix[4*i+1], out.Pix[4*i+2], out.Pix[4*i+3] = r, g, b, 255
	}
	return out
}

// drawTitle centres title above the tile rectangle r, cut short to fit.
func drawTitle(dst *image.RGBA, title string, r image.Rectangle) {
	face := basicfont.Face7x13
	d := font.Drawer{Dst: dst, Src: image.Black, Face: face}
	runes := []rune(title)
	for len(runes) > 0 && d.MeasureString(string(runes)).Ceil() > r.Dx() {
		runes = runes[:len(runes)-1]
	}
	s := string(runes)
	x := r.Min.X + (r.Dx()-d.MeasureString(s).Ceil())/2
	// The baseline sits 3 px above the tile, leaving room for descenders.
	d.Dot = fixed.P(x, r.Min.Y-3)
	d.DrawString(s)
}
