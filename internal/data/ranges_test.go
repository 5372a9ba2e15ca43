package data

import (
	"fmt"
	"path/filepath"
	"testing"
)

func TestReadUCSDm(t *testing.T) {
	got, err := ReadUCSDm(filepath.Join(ped2Dir(t), "UCSDped2.m"))
	if err != nil {
		t.Fatal(err)
	}
	// shared/data/ped2/README.md: anomalous frames per test video.
	wantCounts := []int{120, 86, 146, 150, 129, 159, 135, 180, 120, 150, 180, 93}
	lengths := Ped2TestVideos()
	if len(got) != 12 {
		t.Fatalf("got %d videos, want 12", len(got))
	}
	total := 0
	for i, r := range got {
		l, err := ExpandRanges(r, lengths[i].Frames)
		if err != nil {
			t.Fatalf("video %d: %v", i+1, err)
		}
		if count(l) != wantCounts[i] {
			t.Errorf("video %d: %d anomalous, want %d", i+1, count(l), wantCounts[i])
		}
		total += count(l)
	}
	if total != 1648 {
		t.Errorf("total %d anomalous, want 1648", total)
	}

	dir := t.TempDir()
	for _, tc := range []struct {
		name, text, want, errPart string
	}{
		{"ped1 multi", "TestVideoFile = {};\n% comment [1:2]\nTestVideoFile{end+1}.gt_frame = [60:152];\nTestVideoFile{end+1}.gt_frame = [5:90, 140:200];\nTestVideoFile{end+1}.gt_frame = [7];\n",
			"[[{60 152}] [{5 90} {140 200}] [{7 7}]]", ""},
		{"empty range", "TestVideoFile{end+1}.gt_frame = [];\n", "[[]]", ""},
		{"bad number", "TestVideoFile{end+1}.gt_frame = [1:x];\n", "", "UCSDped.m:1"},
		{"reversed", "a = 1;\nTestVideoFile{end+1}.gt_frame = [9:3];\n", "", "UCSDped.m:2"},
		{"no lines", "TestVideoFile = {};\n", "", "no line like"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name, "UCSDped.m")
			writeFile(t, path, []byte(tc.text))
			got, err := ReadUCSDm(path)
			if tc.errPart != "" {
				wantErr(t, err, tc.errPart)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s := fmt.Sprint(got); s != tc.want {
				t.Errorf("got %s, want %s", s, tc.want)
			}
		})
	}
}

func TestExpandRanges(t *testing.T) {
	for _, tc := range []struct {
		ranges []FrameRange
		n      int
		want   string
	}{
		{[]FrameRange{{2, 3}}, 5, "[0 1 1 0 0]"},
		{[]FrameRange{{1, 1}, {5, 5}}, 5, "[1 0 0 0 1]"},
		{nil, 3, "[0 0 0]"},
		{[]FrameRange{{4, 6}}, 5, "error"},
		{[]FrameRange{{0, 2}}, 5, "error"},
	} {
		got, err := ExpandRanges(tc.ranges, tc.n)
		s := fmt.Sprint(got)
		if err != nil {
			s = "error"
		}
		if s != tc.want {
			t.Errorf("ExpandRanges(%v, %d) = %s, want %s", tc.ranges, tc.n, s, tc.want)
		}
	}
}
