package objects

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/sharedtest"
)

// rect is a moving textured rectangle: at frame t its top-left corner is
// (x + vx*t, y + vy*t).
type rect struct{ x, y, w, h, vx, vy int }

func (r rect) at(t int) Box {
	x, y := float64(r.x+r.vx*t), float64(r.y+r.vy*t)
	return Box{X1: x, Y1: y, X2: x + float64(r.w), Y2: y + float64(r.h)}
}

// movingScene writes n gray frames w x h into dir/<video>/NNN.png: a static
// dark noise background (0..100) and bright (150..255) rectangles whose
// texture moves with them.
func movingScene(t *testing.T, dir, video string, w, h, n int, rects []rect) data.Video {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, uint64(len(video))))
	bg := make([]uint8, w*h)
	for i := range bg {
		bg[i] = uint8(rng.IntN(101))
	}
	tex := make([][]uint8, len(rects))
	for i, r := range rects {
		tex[i] = make([]uint8, r.w*r.h)
		for j := range tex[i] {
			tex[i][j] = uint8(150 + rng.IntN(106))
		}
	}
	v := data.Video{Name: video}
	for f := range n {
		p := filepath.Join(dir, video, fmt.Sprintf("%03d.png", f))
		writeGrayPNG(t, p, w, h, func(x, y int) uint8 {
			for i, r := range rects {
				b := r.at(f)
				if ox, oy := x-int(b.X1), y-int(b.Y1); ox >= 0 && oy >= 0 && ox < r.w && oy < r.h {
					return tex[i][oy*r.w+ox]
				}
			}
			return bg[y*w+x]
		})
		v.Frames = append(v.Frames, p)
	}
	return v
}

// closeTo reports whether every coordinate of a is within tol px of b.
func closeTo(a, b Box, tol float64) bool {
	return near(a.X1, b.X1, tol) && near(a.Y1, b.Y1, tol) && near(a.X2, b.X2, tol) && near(a.Y2, b.Y2, tol)
}

// Two textured rectangles moving over a static noisy background are found
// in every inner frame within 2 px, and nothing else; with Union the box
// covers the rectangle's positions at t-1, t and t+1.
func TestForegroundMovingRectangles(t *testing.T) {
	rects := []rect{{x: 4, y: 6, w: 10, h: 8, vx: 2}, {x: 60, y: 28, w: 8, h: 12, vx: -3, vy: 1}}
	v := movingScene(t, t.TempDir(), "01", 80, 48, 9, rects)
	cfg := DefaultForegroundConfig()
	cfg.MinArea = 30
	f, err := NewForeground(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int][]Box{}
	err = f.DetectVideo(context.Background(), v, func(frame int, boxes []Box) error {
		for _, b := range boxes {
			if b.Video != "01" || b.Frame != frame || b.Score != 1 || b.Class != -1 {
				t.Errorf("frame %d: box %+v", frame, b)
			}
		}
		got[frame] = append([]Box(nil), boxes...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 9 {
		t.Fatalf("boxes for %d frames, want 9", len(got))
	}
	for fr := 1; fr < 8; fr++ {
		if len(got[fr]) != len(rects) {
			t.Errorf("frame %d: %d boxes %v, want %d", fr, len(got[fr]), got[fr], len(rects))
			continue
		}
		for _, r := range rects {
			want := r.at(fr)
			found := false
			for _, b := range got[fr] {
				found = found || closeTo(b, want, 2)
			}
			if !found {
				t.Errorf("frame %d: no box within 2 px of %v among %v", fr, want, got[fr])
			}
		}
	}
	// The first frame has one neighbour: its box spans both positions.
	span := Box{X1: rects[0].at(0).X1, Y1: rects[0].at(0).Y1, X2: rects[0].at(1).X2, Y2: rects[0].at(0).Y2}
	found := false
	for _, b := range got[0] {
		found = found || closeTo(b, span, 1)
	}
	if !found {
		t.Errorf("frame 0: no box within 1 px of %v (positions at frames 0 and 1) among %v", span, got[0])
	}

	cfg.Union = true
	f, _ = NewForeground(cfg)
	dec, _ := imageio.NewDecoder(imageio.DecodeOptions{C: 1, Range: imageio.RangeUnit})
	img := make([]imageio.Image, 3)
	for i := range img {
		img[i], _ = dec.Decode(v.Frames[3+i])
	}
	boxes := f.FrameBoxes(&img[0], &img[1], &img[2])
	r := rects[0]
	want := Box{X1: r.at(3 - 1).X1, Y1: r.at(3).Y1, X2: r.at(3 + 1).X2, Y2: r.at(3).Y2}
	found = false
	for _, b := range boxes {
		found = found || closeTo(b, want, 2)
	}
	if !found {
		t.Errorf("union: no box within 2 px of %v among %v", want, boxes)
	}
	if _, err := NewForeground(ForegroundConfig{Threshold: 2, MinArea: 0}); err == nil {
		t.Error("threshold 2 and minimum area 0 accepted")
	}
}

func TestMorphologyAndComponents(t *testing.T) {
	parse := func(rows ...string) ([]bool, int, int) {
		w, h := len(rows[0]), len(rows)
		m := make([]bool, w*h)
		for y, r := range rows {
			for x, c := range r {
				m[y*w+x] = c == '#'
			}
		}
		return m, w, h
	}
	show := func(m []bool, w int) []string {
		var rows []string
		for y := 0; y < len(m)/w; y++ {
			r := ""
			for x := range w {
				if m[y*w+x] {
					r += "#"
				} else {
					r += "."
				}
			}
			rows = append(rows, r)
		}
		return rows
	}
	m, w, h := parse(
		"#......",
		"...#...",
		".......",
		"......#",
	)
	if got, want := show(morph(m, w, h, 1, false), w), []string{
		"#####..",
		"#####..",
		"..#####",
		".....##",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("dilate r=1:\n%v\nwant\n%v", got, want)
	}
	m, w, h = parse(
		"####...",
		"####.##",
		"####.##",
		"......#",
	)
	// Outside the image counts as set: the block at the left border stays
	// 3 columns wide at rows 0-1 (row 2 is eroded by the empty row 3).
	if got, want := show(morph(m, w, h, 1, true), w), []string{
		"###....",
		"###....",
		".......",
		".......",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("erode r=1:\n%v\nwant\n%v", got, want)
	}
	// Closing joins parts 1 px apart and fills the hole, but does not grow
	// the region towards the border one pixel away.
	m, w, h = parse(
		".......",
		".##.##.",
		".#.###.",
		".......",
	)
	if got, want := show(closing(m, w, h, 1), w), []string{
		".......",
		".#####.",
		".#####.",
		".......",
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("close r=1:\n%v\nwant\n%v", got, want)
	}
	m, w, h = parse(
		"##.....",
		".#...##",
		"..#..##",
		"....#..",
	)
	// 8-connectivity joins diagonal steps: two components, the first of
	// 4 pixels spanning x 0-2, y 0-2, the second of 5 pixels.
	boxes := componentBoxes(m, w, h, 1)
	want := []Box{
		{X1: 0, Y1: 0, X2: 3, Y2: 3, Score: 1, Class: -1},
		{X1: 4, Y1: 1, X2: 7, Y2: 4, Score: 1, Class: -1},
	}
	if !reflect.DeepEqual(boxes, want) {
		t.Errorf("components %v, want %v", boxes, want)
	}
	if boxes := componentBoxes(m, w, h, 5); len(boxes) != 1 || boxes[0].X1 != 4 {
		t.Errorf("components of >= 5 pixels: %v, want the second only", boxes)
	}
}

// On real Ped2 frames (test video 01) the foreground boxes lie on people:
// each overlaps a Jigsaw-VAD YOLOv3 box (score >= 0.5) that covers at
// least 20% of it, and most are at least half covered. Groups of walkers
// merge into one region, so the boxes are not expected to match one by one.
func TestForegroundPed2(t *testing.T) {
	frames := sharedtest.Path(t, "data", "ped2", "testing", "frames", "01")
	yolo, err := ReadCSV(sharedtest.Path(t, "data", "boxes", "ped2_test_boxes.csv"))
	if err != nil {
		t.Fatal(err)
	}
	f, _ := NewForeground(DefaultForegroundConfig())
	dec, _ := imageio.NewDecoder(imageio.DecodeOptions{C: 1, Range: imageio.RangeUnit})
	total, half := 0, 0
	for _, fr := range []int{30, 119, 150} {
		var img [3]imageio.Image
		for i := range img {
			if img[i], err = dec.Decode(filepath.Join(frames, fmt.Sprintf("%03d.jpg", fr-1+i))); err != nil {
				t.Fatal(err)
			}
		}
		boxes := f.FrameBoxes(&img[0], &img[1], &img[2])
		if len(boxes) < 3 {
			t.Errorf("frame %d: %d foreground boxes, want several (about 20 people walk)", fr, len(boxes))
		}
		for _, b := range boxes {
			best := 0.0
			for _, r := range yolo.Frame("01", fr) {
				iw, ih := min(b.X2, r.X2)-max(b.X1, r.X1), min(b.Y2, r.Y2)-max(b.Y1, r.Y1)
				if r.Score >= 0.5 && iw > 0 && ih > 0 {
					best = max(best, iw*ih/b.Area())
				}
			}
			if best < 0.2 {
				t.Errorf("frame %d: foreground box %v is not on a detected person (covered %.2f)", fr, b, best)
			}
			total++
			if best >= 0.5 {
				half++
			}
		}
	}
	t.Logf("%d foreground boxes, %d at least half covered by a YOLOv3 box", total, half)
	if 2*half < total {
		t.Errorf("only %d of %d foreground boxes are at least half covered by a YOLOv3 box", half, total)
	}
}
