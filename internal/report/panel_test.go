package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestColormapAt(t *testing.T) {
	tests := []struct {
		cm   Colormap
		v    float64
		want color.RGBA
	}{
		// Jet: r, g, b = clamp(1.5 - |4v - c|) for c = 3, 2, 1, times 255.
		{Jet, 0, color.RGBA{0, 0, 128, 255}},
		{Jet, 0.25, color.RGBA{0, 128, 255, 255}},
		{Jet, 0.5, color.RGBA{128, 255, 128, 255}},
		{Jet, 0.75, color.RGBA{255, 128, 0, 255}},
		{Jet, 1, color.RGBA{128, 0, 0, 255}},
		{Jet, -3, color.RGBA{0, 0, 128, 255}},
		{Jet, 7, color.RGBA{128, 0, 0, 255}},
		{Jet, math.NaN(), color.RGBA{0, 0, 128, 255}},
		// Viridis: matplotlib's end points and middle, #440154, #21908d, #fde725.
		{Viridis, 0, color.RGBA{0x44, 0x01, 0x54, 255}},
		{Viridis, 0.5, color.RGBA{0x21, 0x90, 0x8d, 255}},
		{Viridis, 1, color.RGBA{0xfd, 0xe7, 0x25, 255}},
		// Half-way between the first two stops (68,1,84) and (71,44,122).
		{Viridis, 1.0 / 16, color.RGBA{70, 23, 103, 255}},
	}
	for _, tc := range tests {
		if got := tc.cm.At(tc.v); got != tc.want {
			t.Errorf("colormap %d At(%v) = %v, want %v", tc.cm, tc.v, got, tc.want)
		}
	}
}

func TestJointRange(t *testing.T) {
	tests := []struct {
		name string
		maps []Map
		want Range
	}{
		{"two maps", []Map{{Data: []float32{1, 2}}, {Data: []float32{-1, float32(math.NaN()), 0.5}}}, Range{-1, 2}},
		{"infinities skipped", []Map{{Data: []float32{float32(math.Inf(1)), 3, 4}}}, Range{3, 4}},
		{"constant", []Map{{Data: []float32{2, 2}}}, Range{2, 3}},
		{"empty", nil, Range{0, 1}},
	}
	for _, tc := range tests {
		if got := JointRange(tc.maps...); got != tc.want {
			t.Errorf("%s: JointRange = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// panelFixture returns a 32x32 RGB image, red on the left half and blue on
// the right; a mask, 1 on the top half; and a 4x4 anomaly map that is 0 in
// its left column and 1 elsewhere.
func panelFixture() (ImageCHW, Map, Map) {
	const n = 32
	img := ImageCHW{Data: make([]float32, 3*n*n), C: 3, H: n, W: n}
	mask := Map{Data: make([]float32, n*n), H: n, W: n}
	for y := range n {
		for x := range n {
			if x < n/2 {
				img.Data[y*n+x] = 1
			} else {
				img.Data[2*n*n+y*n+x] = 1
			}
			if y < n/2 {
				mask.Data[y*n+x] = 1
			}
		}
	}
	m := Map{Data: make([]float32, 16), H: 4, W: 4}
	for i := range m.Data {
		if i%4 != 0 {
			m.Data[i] = 1
		}
	}
	return img, mask, m
}

func TestRenderPanels(t *testing.T) {
	img, mask, m := panelFixture()
	grey := ImageCHW{Data: make([]float32, 32*32), C: 1, H: 32, W: 32}
	for i := range grey.Data {
		grey.Data[i] = 128.0 / 255
	}
	ones := Map{Data: make([]float32, 8*8), H: 8, W: 8}
	for i := range ones.Data {
		ones.Data[i] = 1
	}
	p := Panel{Tiles: []Tile{
		ImageTile("image", img),
		MaskTile("mask", mask),
		HeatTile("map", m, Range{0, 1}),
		OverlayTile("overlay", grey, ones, Range{0, 1}),
		HeatTile("auto", Map{Data: []float32{2, 4, 2, 4}, H: 2, W: 2}, Range{}),
	}}
	out, err := RenderPanels(p)
	if err != nil {
		t.Fatal(err)
	}
	// Five 32 px tiles with 6 px margins; a 16 px title strip.
	if got, want := out.Bounds().Size(), image.Pt(5*32+6*6, 32+16+2*6); got != want {
		t.Fatalf("panel is %v, want %v", got, want)
	}
	at := func(tile, x, y int) color.RGBA {
		r := tileRect(tile, 32, 32, 0)
		return out.RGBAAt(r.Min.X+x, r.Min.Y+y)
	}
	tests := []struct {
		name       string
		tile, x, y int
		want       color.RGBA
	}{
		{"image left is red", 0, 4, 16, color.RGBA{255, 0, 0, 255}},
		{"image right is blue", 0, 28, 16, color.RGBA{0, 0, 255, 255}},
		{"mask top is white", 1, 16, 4, color.RGBA{255, 255, 255, 255}},
		{"mask bottom is black", 1, 16, 28, color.RGBA{0, 0, 0, 255}},
		{"map low column", 2, 0, 16, Jet.At(0)},
		{"map high area", 2, 28, 16, Jet.At(1)},
		// (1-0.5)*128 + 0.5*jet(1), jet(1) = (128, 0, 0).
		{"overlay blends half and half", 3, 16, 16, color.RGBA{128, 64, 64, 255}},
		{"auto range maps the maximum to the top", 4, 31, 0, Jet.At(1)},
		{"auto range maps the minimum to the bottom", 4, 0, 0, Jet.At(0)},
	}
	for _, tc := range tests {
		if got := at(tc.tile, tc.x, tc.y); !closeColor(got, tc.want, 1) {
			t.Errorf("%s: pixel (%d,%d) of tile %d = %v, want %v", tc.name, tc.x, tc.y, tc.tile, got, tc.want)
		}
	}
	// The 4x4 map is interpolated before colouring: across the edge of its
	// zero column the colour passes through the middle of the map (green).
	mid := 0
	for x := range 32 {
		if c := at(2, x, 16); c.G > 200 {
			mid++
		}
	}
	if mid == 0 {
		t.Error("resized map shows no intermediate colours; was it coloured before resizing?")
	}
	// Titles are drawn in black in the strip above each tile.
	r := tileRect(0, 32, 32, 0)
	dark := 0
	for y := r.Min.Y - titleStrip; y < r.Min.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if c := out.RGBAAt(x, y); c.R < 100 {
				dark++
			}
		}
	}
	if dark < 10 {
		t.Errorf("title strip of tile 0 has %d dark pixels, want a title", dark)
	}
}

func TestPanelSizing(t *testing.T) {
	img, mask, m := panelFixture()
	fixed := Panel{Tiles: []Tile{ImageTile("a", img), HeatTile("b", m, Range{})}, TileWidth: 50, TileHeight: 20, Colormap: Viridis}
	out, err := RenderPanels(fixed)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := out.Bounds().Size(), image.Pt(2*50+3*6, 20+16+12); got != want {
		t.Errorf("fixed tile size: panel is %v, want %v", got, want)
	}
	if got := out.RGBAAt(tileRect(1, 50, 20, 0).Max.X-1, tileRect(1, 50, 20, 0).Min.Y); got != Viridis.At(1) {
		t.Errorf("viridis panel: high corner = %v, want %v", got, Viridis.At(1))
	}

	// Two rows stack; the narrower one is padded with white.
	path := filepath.Join(t.TempDir(), "panels.png")
	one := Panel{Tiles: []Tile{MaskTile("m", mask)}}
	if err := WritePanels(path, fixed, one); err != nil {
		t.Fatal(err)
	}
	got := decodePNG(t, path)
	if size, want := got.Bounds().Size(), image.Pt(2*50+3*6, 20+16+12+32+16+12); size != want {
		t.Errorf("stacked panels are %v, want %v", size, want)
	}
	if c := rgbaAt(got, 2*50+3*6-1, 20+16+12+30); c != (color.RGBA{255, 255, 255, 255}) {
		t.Errorf("padding right of the narrow row = %v, want white", c)
	}
}

func TestPanelErrors(t *testing.T) {
	img, _, m := panelFixture()
	tests := []struct {
		name    string
		panel   Panel
		wantErr string
	}{
		{"no tiles", Panel{}, "no tiles"},
		{"two channels", Panel{Tiles: []Tile{ImageTile("x", ImageCHW{Data: make([]float32, 8), C: 2, H: 2, W: 2})}}, `tile "x": image has 2 channels`},
		{"short image", Panel{Tiles: []Tile{ImageTile("x", ImageCHW{Data: make([]float32, 5), C: 3, H: 2, W: 2})}}, "want C*H*W = 3*2*2"},
		{"short map", Panel{Tiles: []Tile{HeatTile("y", Map{Data: make([]float32, 3), H: 2, W: 2}, Range{})}}, `tile "y": map data has 3 values`},
		{"empty range", Panel{Tiles: []Tile{HeatTile("y", m, Range{1, 1})}}, "is empty"},
		{"overlay image checked", Panel{Tiles: []Tile{OverlayTile("z", ImageCHW{C: 3, H: 2, W: 2}, m, Range{})}}, `tile "z": image data`},
		{"alpha", Panel{Tiles: []Tile{ImageTile("x", img)}, Alpha: 1.5}, "alpha 1.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.png")
			err := WritePanels(path, tc.panel)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), path) {
				t.Errorf("error = %v, want one naming %s and containing %q", err, path, tc.wantErr)
			}
		})
	}
	if _, err := RenderPanels(); err == nil {
		t.Error("RenderPanels() with no panel succeeded")
	}
}

// A note tile is light grey with its text in dark pixels across the middle
// (not a black mask), and its corners stay background.
func TestNoteTile(t *testing.T) {
	out, err := RenderPanels(Panel{Tiles: []Tile{NoteTile("truth", "no mask", 64, 64)}})
	if err != nil {
		t.Fatal(err)
	}
	r := tileRect(0, 64, 64, 0)
	bg := color.RGBA{NoteGray, NoteGray, NoteGray, 255}
	for _, p := range []image.Point{r.Min, {r.Max.X - 1, r.Min.Y}, {r.Min.X, r.Max.Y - 1}, {r.Max.X - 1, r.Max.Y - 1}} {
		if c := out.RGBAAt(p.X, p.Y); c != bg {
			t.Errorf("corner %v = %v, want the note grey %v", p, c, bg)
		}
	}
	dark, black := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := out.RGBAAt(x, y)
			if c.R < 100 {
				dark++
				if y < r.Min.Y+20 || y > r.Max.Y-20 {
					t.Fatalf("dark pixel at (%d,%d), far from the middle line", x, y)
				}
			}
			if c.R == 0 {
				black++
			}
		}
	}
	// "no mask" in the 7x13 face: some tens of pixels, far from a full tile.
	if dark < 20 || black > 64*64/4 {
		t.Errorf("note tile has %d dark and %d black pixels; want the text only", dark, black)
	}
	if _, err := RenderPanels(Panel{Tiles: []Tile{NoteTile("t", "x", 0, 5)}}); err == nil {
		t.Error("a 0x5 note tile was accepted")
	}
}

// A labelled row with a colour bar: the label strip above the titles, the
// bar after the tiles running from the colour of Lo at the bottom to Hi's.
func TestPanelLabelAndBar(t *testing.T) {
	m := Map{Data: []float32{0, 1, 2, 3}, H: 2, W: 2}
	r := JointRange(m)
	p := Panel{Tiles: []Tile{HeatTile("map", m, r)}, TileWidth: 40, TileHeight: 40, Label: "bottle / crack / 003.png", Bar: &r}
	out, err := RenderPanels(p)
	if err != nil {
		t.Fatal(err)
	}
	want := image.Pt(40+2*panelMargin+barWidth+4+barLabels+panelMargin, 40+2*titleStrip+2*panelMargin)
	if got := out.Bounds().Size(); got != want {
		t.Fatalf("size %v, want %v", got, want)
	}
	bar := tileRect(1, 40, 40, titleStrip)
	if got := out.RGBAAt(bar.Min.X+2, bar.Max.Y-1); got != p.Colormap.At(0) {
		t.Errorf("bar bottom %v, want the colour of Lo %v", got, p.Colormap.At(0))
	}
	if got := out.RGBAAt(bar.Min.X+2, bar.Min.Y); got != p.Colormap.At(1) {
		t.Errorf("bar top %v, want the colour of Hi %v", got, p.Colormap.At(1))
	}
	dark := 0
	for x := 0; x < out.Bounds().Dx(); x++ {
		for y := panelMargin; y < panelMargin+titleStrip; y++ {
			if c := out.RGBAAt(x, y); c.R < 100 {
				dark++
			}
		}
	}
	if dark < 50 {
		t.Errorf("label strip has %d dark pixels; label missing?", dark)
	}
	bad := p
	bad.Bar = &Range{1, 1}
	if _, err := RenderPanels(bad); err == nil {
		t.Error("an empty colour bar range was accepted")
	}
}

// TestWritePanelsAs checks the SVG and PDF copies of a panel picture: the
// SVG embeds a PNG whose pixels equal the PNG file's, at panelDPI (its
// width in points is 72/panelDPI of its pixels), and the PDF is a PDF
// holding one image of the panel's size.
func TestWritePanelsAs(t *testing.T) {
	_, _, m := panelFixture()
	path := filepath.Join(t.TempDir(), "maps.png")
	p := Panel{Tiles: []Tile{HeatTile("map", m, JointRange(m))}, Label: "a / b / c.png"}
	if err := WritePanelsAs(path, []string{"png", "svg", "pdf"}, p); err != nil {
		t.Fatal(err)
	}
	want := decodePNG(t, path)
	b, err := os.ReadFile(strings.TrimSuffix(path, ".png") + ".svg")
	if err != nil {
		t.Fatal(err)
	}
	svg := string(b)
	const tag = ";base64," // vgsvg labels the PNG it embeds image/jpg
	i := strings.Index(svg, tag)
	if i < 0 {
		t.Fatalf("the SVG embeds no PNG:\n%.300s", svg)
	}
	enc := svg[i+len(tag):]
	enc = enc[:strings.IndexAny(enc, `"'`)]
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	got, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if got.Bounds() != want.Bounds() {
		t.Fatalf("embedded image %v, PNG %v", got.Bounds(), want.Bounds())
	}
	for y := want.Bounds().Min.Y; y < want.Bounds().Max.Y; y++ {
		for x := want.Bounds().Min.X; x < want.Bounds().Max.X; x++ {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				t.Fatalf("pixel (%d,%d): SVG %v, PNG %v", x, y, got.At(x, y), want.At(x, y))
			}
		}
	}
	wPt := float64(want.Bounds().Dx()) * 72 / panelDPI
	if !strings.Contains(svg, fmt.Sprintf(`width="%gpt"`, wPt)) && !strings.Contains(svg, fmt.Sprintf(`width="%g`, wPt)) {
		t.Errorf("SVG width is not %g pt (%d px at %d dpi):\n%.300s", wPt, want.Bounds().Dx(), panelDPI, svg)
	}
	pdf, err := os.ReadFile(strings.TrimSuffix(path, ".png") + ".pdf")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) || !bytes.Contains(pdf, []byte("/Subtype /Image")) ||
		!bytes.Contains(pdf, []byte(fmt.Sprintf("/Width %d", want.Bounds().Dx()))) {
		t.Errorf("the PDF does not hold the %d-pixel-wide image", want.Bounds().Dx())
	}
	if err := WritePanelsAs(path, []string{"eps"}, p); err == nil || !strings.Contains(err.Error(), `"eps"`) {
		t.Errorf("format eps: err %v, want one naming it", err)
	}
}
