package objects

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/sharedtest"
)

// The real Jigsaw-VAD boxes of UCSD Ped2: the pickle and the CSV made from
// it hold the same boxes, in the counts the shared README gives, and the
// pickle lists every frame of every video.
func TestPed2BoxesPickleEqualsCSV(t *testing.T) {
	dir := sharedtest.Path(t, "data", "boxes")
	trainFrames := []int{120, 150, 150, 180, 180, 150, 150, 120, 180, 180, 180, 180, 180, 150, 150, 150}
	testFrames := []int{180, 180, 150, 180, 150, 180}
	for _, c := range []struct {
		split  string
		boxes  int
		frames []int
	}{{"train", 36663, trainFrames}, {"test", 20546, testFrames}} {
		t.Run(c.split, func(t *testing.T) {
			pk, err := Load(filepath.Join(dir, "ped2_"+c.split+"_detect_result_yolov3.pkl"))
			if err != nil {
				t.Fatal(err)
			}
			cs, err := Load(filepath.Join(dir, "ped2_"+c.split+"_boxes.csv"))
			if err != nil {
				t.Fatal(err)
			}
			if pk.Len() != c.boxes || cs.Len() != c.boxes {
				t.Fatalf("boxes: pickle %d, CSV %d, want %d", pk.Len(), cs.Len(), c.boxes)
			}
			if got := pk.Videos(); len(got) != len(c.frames) || got[0] != "01" {
				t.Fatalf("videos %v, want 01..%02d", got, len(c.frames))
			}
			for i, v := range pk.Videos() {
				if pk.NumFrames(v) != c.frames[i] {
					t.Errorf("video %s: pickle lists %d frames, the video has %d", v, pk.NumFrames(v), c.frames[i])
				}
			}
			a, b := pk.Video("01"), cs.Video("01")
			n := 0
			for _, v := range pk.Videos() {
				a, b = pk.Video(v), cs.Video(v)
				if len(a) != len(b) {
					t.Fatalf("video %s: %d pickle boxes, %d CSV boxes", v, len(a), len(b))
				}
				for i := range a {
					p, q := a[i], b[i]
					// The CSV rounds coordinates to 2 decimals, scores to 4.
					if p.Frame != q.Frame || p.Class != -1 || q.Class != -1 ||
						!near(p.X1, q.X1, 0.0051) || !near(p.Y1, q.Y1, 0.0051) || !near(p.X2, q.X2, 0.0051) || !near(p.Y2, q.Y2, 0.0051) ||
						!near(p.Score, q.Score, 0.000051) {
						t.Fatalf("video %s box %d: pickle %v frame %d, CSV %v frame %d", v, i, p, p.Frame, q, q.Frame)
					}
					n++
				}
			}
			if n != c.boxes {
				t.Errorf("compared %d boxes", n)
			}
			// First box of the test CSV, as printed in the file.
			if c.split == "test" {
				f := cs.Frame("01", 0)[0]
				if f.X1 != 104.82 || f.Y1 != 140.65 || f.X2 != 122.38 || f.Y2 != 172.81 || f.Score != 0.9817 {
					t.Errorf("first test box %v", f)
				}
			}
		})
	}
}

// Pickles in the wire forms numpy writes: protocol 2 (bytes through
// _codecs.encode), 3 (BINBYTES) and 5 (_frombuffer of a bytearray); float32/float64; little and big endian;
// C and Fortran order; [k, 5], [k, 6] with class, and empty [0, 5] / [0].
func TestReadPickleForms(t *testing.T) {
	rows := []float64{1, 2, 11, 22, 0.9, 5.5, 6.5, 30.25, 40.75, 0.125}
	arrays := []testArray{
		{dtype: "f8", order: '<', shape: []int{2, 5}, vals: rows},
		{dtype: "f8", order: '<', shape: []int{0, 5}},
		{dtype: "f4", order: '<', shape: []int{2, 5}, vals: rows},
		{dtype: "f8", order: '<', shape: []int{0}},
		{dtype: "f8", order: '>', shape: []int{2, 5}, vals: rows},
		{dtype: "f4", order: '<', shape: []int{2, 5}, fortran: true, vals: rows},
		{dtype: "f8", order: '<', shape: []int{1, 6}, vals: []float64{3, 4, 13, 24, 0.5, 1}},
	}
	want := func(video string) []Box {
		var out []Box
		for f, a := range arrays {
			for i := 0; i < len(a.vals); i += a.shape[1] {
				r := a.vals[i : i+a.shape[1]]
				b := Box{Video: video, Frame: f, X1: r[0], Y1: r[1], X2: r[2], Y2: r[3], Score: r[4], Class: -1}
				if a.dtype == "f4" {
					b.Score = float64(float32(r[4])) // 0.9 is not exact in float32
				}
				if len(r) == 6 {
					b.Class = int(r[5])
				}
				out = append(out, b)
			}
		}
		return out
	}
	for _, proto := range []int{2, 3, 5} {
		p := &pickler{proto: proto}
		b := p.dict([]string{"01", "10", "2"}, map[string][]testArray{"01": arrays, "2": arrays[:2], "10": arrays[1:2]})
		s, err := DecodePickle(bytes.NewReader(b), "test.pkl")
		if err != nil {
			t.Fatalf("protocol %d: %v", proto, err)
		}
		if got := s.Videos(); !reflect.DeepEqual(got, []string{"01", "2", "10"}) {
			t.Errorf("protocol %d: videos %v, want natural order 01, 2, 10", proto, got)
		}
		if got := s.Video("01"); !reflect.DeepEqual(got, want("01")) {
			t.Errorf("protocol %d: boxes\n got %v\nwant %v", proto, got, want("01"))
		}
		if s.NumFrames("01") != len(arrays) || s.NumFrames("10") != 1 || s.VideoLen("10") != 0 || s.VideoLen("2") != 2 {
			t.Errorf("protocol %d: frames %d/%d, boxes of 10 %d, of 2 %d", proto, s.NumFrames("01"), s.NumFrames("10"), s.VideoLen("10"), s.VideoLen("2"))
		}
	}
}

func TestReadPickleErrors(t *testing.T) {
	bad := []struct {
		name string
		arr  testArray
		want string
	}{
		{"ThreeColumns", testArray{dtype: "f8", order: '<', shape: []int{1, 3}, vals: []float64{1, 2, 3}}, "[1 3]"},
		{"Rank3", testArray{dtype: "f8", order: '<', shape: []int{1, 1, 5}, vals: []float64{1, 2, 3, 4, 5}}, "want [k, 5]"},
	}
	for _, c := range bad {
		p := &pickler{proto: 2}
		b := p.dict([]string{"07"}, map[string][]testArray{"07": {{dtype: "f8", order: '<', shape: []int{0}}, c.arr}})
		_, err := DecodePickle(bytes.NewReader(b), "bad.pkl")
		wantErr(t, err, "bad.pkl", "video 07 frame 1", c.want)
	}
	_, err := DecodePickle(strings.NewReader("\x80\x02]."), "list.pkl")
	wantErr(t, err, "list.pkl", "holds a list", "want a dict")
	_, err = DecodePickle(strings.NewReader("not a pickle"), "text.pkl")
	wantErr(t, err, "text.pkl", "not a readable pickle")
}

func TestCSVReadWrite(t *testing.T) {
	dir := t.TempDir()
	in := "score,video,frame,x1,y1,x2,y2,class,note\n" +
		"0.5,02,3,1.5,2,10,20.25,0,a\n" +
		"0.75,02,3,4,5,6,7,1,b\n" +
		"0.1,1,0,0,0,1,1,,c\n"
	p := filepath.Join(dir, "in.csv")
	os.WriteFile(p, []byte(in), 0o644)
	s, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	want := []Box{
		{Video: "1", Frame: 0, X1: 0, Y1: 0, X2: 1, Y2: 1, Score: 0.1, Class: -1},
		{Video: "02", Frame: 3, X1: 1.5, Y1: 2, X2: 10, Y2: 20.25, Score: 0.5, Class: 0},
		{Video: "02", Frame: 3, X1: 4, Y1: 5, X2: 6, Y2: 7, Score: 0.75, Class: 1},
	}
	var got []Box
	for b := range s.All() {
		got = append(got, b)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read\n got %v\nwant %v", got, want)
	}
	// Round trip through the writer is exact, awkward floats included.
	s.Add(Box{Video: "02", Frame: 9, X1: 0.1 + 0.2, Y1: 1.0 / 3, X2: 100.00000000000001, Y2: 200, Score: 0.123456789012345678, Class: 79})
	out := filepath.Join(dir, "sub", "out.csv")
	if err := WriteCSV(out, s); err != nil {
		t.Fatal(err)
	}
	back, err := ReadCSV(out)
	if err != nil {
		t.Fatal(err)
	}
	var a, b []Box
	for x := range s.All() {
		a = append(a, x)
	}
	for x := range back.All() {
		b = append(b, x)
	}
	if !reflect.DeepEqual(a, b) {
		t.Errorf("round trip\n got %v\nwant %v", b, a)
	}
	head, _ := os.ReadFile(out)
	if !strings.HasPrefix(string(head), "video,frame,x1,y1,x2,y2,score,class\n") {
		t.Errorf("header of written CSV: %q", strings.SplitN(string(head), "\n", 2)[0])
	}

	for _, c := range []struct{ text, want string }{
		{"video,frame,x1,y1,x2,score\n", "lacks column(s) y2"},
		{"video,frame,x1,y1,x2,y2,score\n01,0,1,2,3,4,0.5\n01,x,1,2,3,4,0.5\n", "line 3: frame \"x\""},
		{"video,frame,x1,y1,x2,y2,score\n01,0,1,2,3,zz,0.5\n", "line 2: y2 \"zz\""},
		{"video,frame,x1,y1,x2,y2,score\n01,-1,1,2,3,4,0.5\n", "frame \"-1\""},
		{"", "empty file"},
	} {
		p := filepath.Join(dir, "bad.csv")
		os.WriteFile(p, []byte(c.text), 0o644)
		_, err := Load(p)
		wantErr(t, err, p, c.want)
	}
}

func TestReadNPYDir(t *testing.T) {
	dir := t.TempDir()
	rows := []float64{1, 2, 11, 22, 0.9, 5, 6, 30, 40, 0.25}
	writeNPY(t, filepath.Join(dir, "01", "000.npy"), testArray{dtype: "f8", order: '<', shape: []int{2, 5}, vals: rows})
	writeNPY(t, filepath.Join(dir, "01", "002.npy"), testArray{dtype: "f4", order: '<', shape: []int{1, 6}, vals: []float64{3, 4, 13, 24, 0.5, 2}})
	writeNPY(t, filepath.Join(dir, "01", "003.npy"), testArray{dtype: "f4", order: '<', shape: []int{0, 5}})
	writeNPY(t, filepath.Join(dir, "10", "7.npy"), testArray{dtype: "f8", order: '<', shape: []int{2, 5}, fortran: true, vals: rows})
	os.WriteFile(filepath.Join(dir, "01", "notes.txt"), []byte("ignored"), 0o644)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 5 || s.NumFrames("01") != 4 || s.NumFrames("10") != 8 {
		t.Fatalf("%d boxes, frames %d/%d; want 5 boxes, 4 and 8 frames", s.Len(), s.NumFrames("01"), s.NumFrames("10"))
	}
	if got, want := s.Frame("01", 2)[0], (Box{Video: "01", Frame: 2, X1: 3, Y1: 4, X2: 13, Y2: 24, Score: 0.5, Class: 2}); got != want {
		t.Errorf("frame 2: %v, want %v", got, want)
	}
	if got, want := s.Frame("10", 7)[1], (Box{Video: "10", Frame: 7, X1: 5, Y1: 6, X2: 30, Y2: 40, Score: 0.25, Class: -1}); got != want {
		t.Errorf("Fortran-order frame: %v, want %v", got, want)
	}
	writeNPY(t, filepath.Join(dir, "10", "x8.npy"), testArray{dtype: "f8", order: '<', shape: []int{0, 5}})
	_, err = Load(dir)
	wantErr(t, err, "x8.npy", "not a 0-based frame number")
	os.Remove(filepath.Join(dir, "10", "x8.npy"))
	writeNPY(t, filepath.Join(dir, "10", "9.npy"), testArray{dtype: "f8", order: '<', shape: []int{1, 4}, vals: []float64{1, 2, 3, 4}})
	_, err = Load(dir)
	wantErr(t, err, "9.npy", "[1 4]")

	_, err = Load(filepath.Join(dir, "missing.csv"))
	wantErr(t, err, "missing.csv")
	other := filepath.Join(dir, "boxes.txt")
	os.WriteFile(other, []byte("hello"), 0o644)
	_, err = Load(other)
	wantErr(t, err, "boxes.txt", "unknown form")
}
