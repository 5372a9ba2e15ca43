package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgpdf"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/fmam/fmam/internal/atomicfile"
)

// printDPI is the resolution of PNG figures: sizes are given in pixels at
// plotDPI (how large the figure reads on a screen), and the PNG holds
// printDPI/plotDPI times as many pixels, sharp in print at that size.
const printDPI = 300

// printPixels is the PNG size of a length of n pixels at plotDPI.
func printPixels(n int) int { return int(math.Round(float64(n) * printDPI / plotDPI)) }

// FigureFormats are the file formats a figure can be written in: PNG
// always, SVG and PDF (vector, for papers) on request.
var FigureFormats = []string{"png", "svg", "pdf"}

// CheckFormats reports a format outside FigureFormats.
func CheckFormats(formats []string) error {
	for _, f := range formats {
		if !slices.Contains(FigureFormats, f) {
			return fmt.Errorf("figure format %q: want some of %s", f, strings.Join(FigureFormats, ", "))
		}
	}
	return nil
}

// ParseFormats reads a comma-separated format list ("png,svg,pdf").
func ParseFormats(s string) ([]string, error) {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out, CheckFormats(out)
}

// writeFigure draws a w x h figure (pixels at plotDPI) as a PNG at path
// and, for each of formats that is "svg" or "pdf", the same figure beside
// it with that extension.
func writeFigure(path string, w, h int, formats []string, drawFn func(draw.Canvas)) error {
	if err := CheckFormats(formats); err != nil {
		return fmt.Errorf("figure %s: %w", path, err)
	}
	W, H := vg.Length(w)/plotDPI*vg.Inch, vg.Length(h)/plotDPI*vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(W, H), vgimg.UseDPI(printDPI), vgimg.UseBackgroundColor(color.White))
	drawFn(draw.New(img))
	if err := atomicfile.WriteFunc(path, func(wr io.Writer) error { _, err := vgimg.PngCanvas{Canvas: img}.WriteTo(wr); return err }); err != nil {
		return err
	}
	return writeVectors(path, formats, W, H, func(c vg.CanvasSizer) { drawFn(draw.New(c)) })
}

// writeVectors writes, for each of formats that is "svg" or "pdf", a W x H
// canvas that paint drew on beside path with that extension (the PDF with
// its fonts embedded).
func writeVectors(path string, formats []string, W, H vg.Length, paint func(vg.CanvasSizer)) error {
	base := strings.TrimSuffix(path, filepath.Ext(path))
	for _, f := range formats {
		var c interface {
			vg.CanvasSizer
			io.WriterTo
		}
		switch f {
		case "svg":
			c = vgsvg.New(W, H)
		case "pdf":
			p := vgpdf.New(W, H)
			p.EmbedFonts(true)
			c = p
		default:
			continue
		}
		paint(c)
		if err := atomicfile.WriteFunc(base+"."+f, func(wr io.Writer) error { _, err := c.WriteTo(wr); return err }); err != nil {
			return err
		}
	}
	return nil
}

// legendStrip is the height a legend needs below the data.
func legendStrip(l plot.Legend, dc draw.Canvas) vg.Length {
	r := l.Rectangle(dc)
	if r.Size().Y <= 0 {
		return 0
	}
	return r.Size().Y + vg.Points(6)
}

// drawWithLegendBelow draws p with its legend in a strip under the plot,
// where it cannot cover data, and returns the canvas the plot itself was
// drawn on (for DataCanvas).
func drawWithLegendBelow(p *plot.Plot, dc draw.Canvas) draw.Canvas {
	leg := p.Legend
	h := legendStrip(leg, dc)
	if h == 0 {
		p.Draw(dc)
		return dc
	}
	top := draw.Crop(dc, 0, 0, h, 0)
	p.Legend = plot.NewLegend()
	p.Draw(top)
	p.Legend = leg
	drawLegend(leg, dc, h)
	return top
}

// drawLegend draws l left-aligned in the bottom strip of height h of dc.
func drawLegend(l plot.Legend, dc draw.Canvas, h vg.Length) {
	strip := dc
	strip.Max.Y = dc.Min.Y + h
	l.Top, l.Left = true, true
	l.XOffs = vg.Points(8)
	l.Draw(strip)
}

// integerTicks label whole numbers only (steps, frames), at multiples of
// 1, 2 or 5 times a power of ten, about five labels over the axis, with
// unlabelled minor ticks between them where those are whole numbers too.
type integerTicks struct{}

func (integerTicks) Ticks(lo, hi float64) []plot.Tick {
	span := hi - lo
	step := 1.0
	if span > 0 {
		mag := math.Pow10(int(math.Floor(math.Log10(span / 5))))
		for _, m := range []float64{1, 2, 5, 10} {
			if step = math.Max(1, m*mag); span/step <= 6 {
				break
			}
		}
	}
	minor := step / 5
	if step == 2 {
		minor = 1
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: strconv.FormatFloat(v+0, 'f', 0, 64)}) // +0: no "-0"
	}
	if minor >= 1 && minor == math.Trunc(minor) {
		for v := math.Ceil(lo/minor) * minor; v <= hi; v += minor {
			if math.Mod(v, step) != 0 {
				out = append(out, plot.Tick{Value: v})
			}
		}
	}
	return out
}

// subscripts marks the names of scores and loss terms for subscripts as
// the paper writes them: "S_o" becomes "S_{o}", which subHandler draws
// as S with a lowered, smaller o. Only a word made of one letter, "_" and
// letters is marked (S_o, L_fea, l_separate), not file names or other
// underscores.
func subscripts(s string) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		words[i] = subscriptWord(w)
	}
	return strings.Join(words, " ")
}

func subscriptWord(w string) string {
	k := strings.IndexByte(w, '_')
	if k < 1 || k != strings.LastIndexByte(w, '_') || k == len(w)-1 {
		return w
	}
	head, sub := w[:k], w[k+1:]
	trail := ""
	for len(sub) > 0 && !isLetter(sub[len(sub)-1]) {
		trail = sub[len(sub)-1:] + trail
		sub = sub[:len(sub)-1]
	}
	lead := ""
	for len(head) > 0 && !isLetter(head[0]) {
		lead += head[:1]
		head = head[1:]
	}
	if len(head) != 1 || sub == "" || strings.IndexFunc(sub, func(r rune) bool { return r > 127 || !isLetter(byte(r)) }) >= 0 {
		return w
	}
	return lead + head + "_{" + sub + "}" + trail
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// subHandler is gonum's plain text handler that also draws "_{...}" as a
// subscript (gonum's LaTeX handler has none). Text without that markup,
// rotated or on several lines, is plain text (the markup then dropped).
type subHandler struct{ text.Plain }

// subScale and subDrop size and lower a subscript relative to its text.
const subScale, subDrop = 0.7, 0.25

func newSubHandler() subHandler {
	return subHandler{text.Plain{Fonts: plot.DefaultTextHandler.Cache()}}
}

// segments splits marked text into runs of plain text and subscripts.
func segments(txt string) (parts []string, sub []bool) {
	for {
		i := strings.Index(txt, "_{")
		if i < 0 {
			break
		}
		j := strings.IndexByte(txt[i:], '}')
		if j < 0 {
			break
		}
		parts, sub = append(parts, txt[:i], txt[i+2:i+j]), append(sub, false, true)
		txt = txt[i+j+1:]
	}
	return append(parts, txt), append(sub, false)
}

func plainText(txt string) string {
	parts, _ := segments(txt)
	return strings.Join(parts, "")
}

func (h subHandler) simple(txt string, rot float64) bool {
	return !strings.Contains(txt, "_{") || strings.Contains(txt, "\n") || rot != 0
}

func (h subHandler) Box(txt string, fnt font.Font) (width, height, depth vg.Length) {
	if !strings.Contains(txt, "_{") {
		return h.Plain.Box(txt, fnt)
	}
	parts, sub := segments(txt)
	_, height, depth = h.Plain.Box("", fnt)
	for i, p := range parts {
		f := fnt
		if sub[i] {
			f.Size = fnt.Size * subScale
		}
		w, _, _ := h.Plain.Box(p, f)
		width += w
	}
	return width, height, depth + fnt.Size*subDrop/2
}

func (h subHandler) Draw(c vg.Canvas, txt string, sty text.Style, pt vg.Point) {
	if h.simple(txt, sty.Rotation) {
		h.Plain.Draw(c, plainText(txt), sty, pt)
		return
	}
	parts, sub := segments(txt)
	width, _, _ := h.Box(txt, sty.Font)
	face := h.Fonts.Lookup(sty.Font, sty.Font.Size)
	c.SetColor(sty.Color)
	x := pt.X + vg.Length(sty.XAlign)*width
	base := pt.Y + sty.Height(txt)*vg.Length(sty.YAlign) - face.Extents().Ascent + sty.Font.Size
	for i, p := range parts {
		if p == "" {
			continue
		}
		f, y := face, base
		if sub[i] {
			f = h.Fonts.Lookup(sty.Font, sty.Font.Size*subScale)
			y -= sty.Font.Size * subDrop
		}
		c.FillString(f, vg.Point{X: x, Y: y}, p)
		x += f.Width(p)
	}
}
