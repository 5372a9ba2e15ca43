package data

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/imageio"
)

func frames(dir string, n int) []string {
	var out []string
	for i := range n {
		out = append(out, filepath.Join(dir, string(rune('a'+i))+".png"))
	}
	return out
}

// Test videos too short for a clip are listed and named in a note (issue
// 22: they were dropped from the evaluation without a word).
func TestShortVideosAreNamed(t *testing.T) {
	ds := &VideoDataset{Root: "/d", Split: Test, Videos: []Video{
		{Name: "01", Frames: frames("/d/testing/01", 10)},
		{Name: "02", Frames: frames("/d/testing/02", 4)},
		{Name: "03", Frames: frames("/d/testing/03", 5)},
	}}
	spec := ClipSpec{T: 4}
	short := ShortVideos(ds, spec)
	if len(short) != 1 || short[0].Name != "02" {
		t.Fatalf("short videos %v, want 02 alone", short)
	}
	note := ShortVideosNote(short, spec)
	for _, want := range []string{"1 test video(s) left out", "data.frames + 1 = 5", "02 (4 frames)"} {
		if !strings.Contains(note, want) {
			t.Errorf("note %q lacks %q", note, want)
		}
	}
	if ShortVideosNote(nil, spec) != "" {
		t.Error("a note without short videos")
	}
}

// No clip at all: the error names the split's folder and data.frames
// (issue 22: "no video of  train has more than 4 frames").
func TestNoClipErrorNamesFolderAndKey(t *testing.T) {
	ds := &VideoDataset{Root: "/d", Split: Train, Videos: []Video{{Name: "01", Frames: frames("/d/training/01", 3)}}}
	_, err := NewVideoBatcher(ds, VideoBatchConfig{Clip: ClipSpec{T: 4}, Decode: imageio.DecodeOptions{C: 1, H: 16, W: 16}, BatchSize: 1})
	for _, want := range []string{"/d/training", "the longest 3 frames", "data.frames 4", "lower data.frames"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
