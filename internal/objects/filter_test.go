package objects

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/sharedtest"
)

func TestFilterFrame(t *testing.T) {
	box := func(x1, y1, x2, y2, s float64) Box {
		return Box{Video: "01", X1: x1, Y1: y1, X2: x2, Y2: y2, Score: s, Class: -1}
	}
	big := box(0, 0, 100, 100, 0.9)
	inside := box(10, 10, 50, 50, 0.95)      // strictly inside big
	touching := box(0, 10, 50, 50, 0.95)     // shares big's left edge: not strictly inside
	same := box(0, 0, 100, 100, 0.6)         // identical to big: not inside it
	small := box(200, 200, 209.9, 205, 0.99) // longest side 9.9 < 10
	ten := box(300, 300, 310, 301, 0.99)     // longest side exactly 10: kept
	inSmall := box(201, 201, 202, 202, 0.99) // inside the small box: dropped as contained
	atThr := box(400, 400, 450, 450, 0.5)    // score == 0.5 is not > 0.5
	lowInside := box(20, 20, 30, 30, 0.4)    // low score: gone before the containment test
	// A box inside a low-scoring box is kept: containment is tested on the
	// boxes that passed the score threshold only.
	lowOuter := box(500, 500, 600, 600, 0.3)
	inLow := box(510, 510, 520, 520, 0.7)

	c := FilterConfig{Score: 0.5, DropContained: true, MinSide: 10}
	in := []Box{big, inside, touching, same, small, ten, inSmall, atThr, lowInside, lowOuter, inLow}
	got, st := c.Frame(in)
	want := []Box{big, touching, same, ten, inLow}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("kept\n got %v\nwant %v", got, want)
	}
	if wantSt := (FilterStats{In: 11, Kept: 5, LowScore: 3, Contained: 2, Small: 1}); st != wantSt {
		t.Errorf("stats %+v, want %+v", st, wantSt)
	}
	// Without containment, inside and inSmall stay (inSmall is small: dropped).
	c.DropContained = false
	got, _ = c.Frame(in)
	if want := []Box{big, inside, touching, same, ten, inLow}; !reflect.DeepEqual(got, want) {
		t.Errorf("without containment\n got %v\nwant %v", got, want)
	}
	if f, err := FilterFor("Avenue"); err != nil || f.Score != 0.8 || !f.DropContained || f.MinSide != 10 {
		t.Errorf("FilterFor(Avenue) = %+v, %v", f, err)
	}
	if _, err := FilterFor("ucf"); err == nil {
		t.Error("FilterFor(ucf) gave no error")
	}
}

// The official data preparation on the real Ped2 training boxes: with score
// > 0.5 on the frames gen_patches.py uses (6 <= f < n-6 for T = 7), there
// are 27,660 cubes, the "# Patch (train)" the Jigsaw-VAD README reports
// for Ped2. Its training set then drops contained and small boxes:
// 27,499 left (58 contained, 103 small), counts of a numpy transcription of
// dataset.py run on the same pickle.
func TestPed2OfficialCounts(t *testing.T) {
	s, err := ReadPickle(filepath.Join(sharedtest.Path(t, "data", "boxes"), "ped2_train_detect_result_yolov3.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := CubeConfigFor("ped2", data.Train)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.T != 7 || cfg.Margin != 6 || cfg.Stride != 1 || cfg.Size != 64 {
		t.Fatalf("Ped2 training cube settings %+v", cfg)
	}
	count := func(s *Set) int {
		n := 0
		for _, v := range s.Videos() {
			n += len(cfg.Select(s, v, s.NumFrames(v)))
		}
		return n
	}
	scoreOnly, _ := FilterConfig{Score: 0.5}.Apply(s)
	if n := count(scoreOnly); n != 27660 {
		t.Errorf("cubes with score > 0.5: %d, want 27,660", n)
	}
	f, _ := FilterFor("ped2")
	// Count what the filter removes inside the used frames only, as
	// dataset.py does.
	var st FilterStats
	kept := 0
	for _, v := range s.Videos() {
		n := s.NumFrames(v)
		for fr := cfg.Margin; fr < n-cfg.Margin; fr++ {
			k, fs := f.Frame(s.Frame(v, fr))
			kept += len(k)
			st.Contained += fs.Contained
			st.Small += fs.Small
		}
	}
	if kept != 27499 || st.Contained != 58 || st.Small != 103 {
		t.Errorf("kept %d, contained %d, small %d; want 27,499, 58, 103", kept, st.Contained, st.Small)
	}
}
