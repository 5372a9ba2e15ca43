package objects

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/sharedtest"
)

func TestValidate(t *testing.T) {
	d := Dataset{Videos: []VideoInfo{{"01", 10}, {"02", 5}}, Width: 20, Height: 10}
	ok := func() *Set {
		s := NewSet()
		s.Add(Box{Video: "01", Frame: 0, X1: 1, Y1: 1, X2: 5, Y2: 5, Score: 0.9, Class: -1})
		s.Add(Box{Video: "02", Frame: 4, X1: -3, Y1: 2, X2: 25, Y2: 12, Score: 0.8, Class: 0}) // sticks out: clipped
		return s
	}
	out, rep, err := Validate(ok(), "b.csv", d)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Boxes != 2 || rep.Clipped != 1 {
		t.Errorf("report %+v, want 2 boxes, 1 clipped", rep)
	}
	if got := out.Frame("02", 4)[0]; got.X1 != 0 || got.Y1 != 2 || got.X2 != 20 || got.Y2 != 10 || got.Score != 0.8 || got.Class != 0 {
		t.Errorf("clipped box %v, want [0 2 20 10]", got)
	}
	if out.NumFrames("01") != 10 || out.NumFrames("02") != 5 {
		t.Errorf("validated set knows %d and %d frames, want the dataset's 10 and 5", out.NumFrames("01"), out.NumFrames("02"))
	}

	cases := []struct {
		name string
		box  Box
		want []string
	}{
		{"NoVideo", Box{Video: "03", Frame: 2, X1: 1, Y1: 1, X2: 2, Y2: 2}, []string{"video 03 frame 2", "no video 03", "01, 02"}},
		{"NoFrame", Box{Video: "02", Frame: 5, X1: 1, Y1: 1, X2: 2, Y2: 2}, []string{"video 02 frame 5", "5 frames (0-4)"}},
		{"Outside", Box{Video: "01", Frame: 3, X1: 21, Y1: 1, X2: 30, Y2: 2}, []string{"video 01 frame 3", "[21 1 30 2]", "entirely outside the 20x10 frame"}},
		{"OutsideNegative", Box{Video: "01", Frame: 3, X1: -9, Y1: 1, X2: 0, Y2: 2}, []string{"video 01 frame 3", "[-9 1 0 2]", "entirely outside"}},
		{"Inverted", Box{Video: "01", Frame: 7, X1: 5, Y1: 1, X2: 4, Y2: 2}, []string{"video 01 frame 7", "[5 1 4 2]", "x2 <= x1"}},
		{"Flat", Box{Video: "01", Frame: 7, X1: 1, Y1: 2, X2: 4, Y2: 2}, []string{"video 01 frame 7", "y2 <= y1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := ok()
			s.Add(c.box)
			_, _, err := Validate(s, "b.csv", d)
			wantErr(t, err, append([]string{"b.csv"}, c.want...)...)
		})
	}
	// A video without boxes names the video and suggests what to do.
	s := NewSet()
	s.Add(Box{Video: "01", Frame: 0, X1: 1, Y1: 1, X2: 5, Y2: 5})
	_, _, err = Validate(s, "few.pkl", d)
	wantErr(t, err, "few.pkl", "video 02 has no boxes", "lower the detector's score threshold", "--foreground")
	// ... unless the dataset accepts empty videos, which the result still knows.
	de := d
	de.EmptyOK = true
	if out, rep, err := Validate(s, "few.pkl", de); err != nil || out.NumFrames("02") != 5 || out.VideoLen("02") != 0 || !slices.Equal(rep.Empty, []string{"02"}) {
		t.Errorf("empty video accepted: error %v, empty videos reported %v", err, rep.Empty)
	}
	// Many problems are all counted, 20 listed.
	s = ok()
	for i := range 30 {
		s.Add(Box{Video: "01", Frame: 9, X1: float64(i), Y1: 1, X2: float64(i), Y2: 2})
	}
	_, _, err = Validate(s, "b.csv", d)
	wantErr(t, err, "30 problems", "and 10 more")
	if n := strings.Count(err.Error(), "x2 <= x1"); n != 20 {
		t.Errorf("%d problems listed, want 20", n)
	}
}

// The shared Jigsaw-VAD boxes fit the shared Ped2 test frames.
func TestValidatePed2(t *testing.T) {
	ds, err := data.LoadVideo("ped2", sharedtest.Path(t, "data", "ped2"), data.Test, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := DatasetOf(ds)
	if err != nil {
		t.Fatal(err)
	}
	if d.Width != 360 || d.Height != 240 || len(d.Videos) != 6 || d.Videos[0] != (VideoInfo{"01", 180}) {
		t.Fatalf("dataset %dx%d, videos %v", d.Width, d.Height, d.Videos)
	}
	path := filepath.Join(sharedtest.Path(t, "data", "boxes"), "ped2_test_detect_result_yolov3.pkl")
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	out, rep, err := Validate(s, path, d)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Boxes != 20546 || out.Len() != 20546 {
		t.Errorf("checked %d, kept %d; want all 20,546", rep.Boxes, out.Len())
	}
	t.Logf("%d of %d boxes clipped to the frame", rep.Clipped, rep.Boxes)
}
