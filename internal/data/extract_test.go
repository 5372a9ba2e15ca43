package data

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/sharedtest"
)

// TestExtractFramesScript runs scripts/extract-frames.sh on tiny videos made
// with ffmpeg's test source and loads the result.
func TestExtractFramesScript(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		sharedtest.Missing(t, sharedtest.FFmpeg, "ffmpeg not installed; skipping the frame extraction script test")
	}
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "..", "..", "scripts", "extract-frames.sh")
	if !isFile(script) {
		t.Fatalf("%s not found", script)
	}
	root := t.TempDir()
	videos := filepath.Join(root, "testing_videos")
	if err := os.MkdirAll(videos, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, frames := range map[string]string{"01.avi": "12", "02.avi": "7"} {
		out, err := exec.Command(ffmpeg, "-nostdin", "-loglevel", "error", "-f", "lavfi",
			"-i", "testsrc=size=64x48:rate=25", "-frames:v", frames, "-c:v", "mjpeg", filepath.Join(videos, name)).CombinedOutput()
		if err != nil {
			t.Fatalf("make %s: %v\n%s", name, err, out)
		}
	}
	frames := filepath.Join(root, "avenue", "testing", "frames")
	run := func(args ...string) string {
		t.Helper()
		out, err := exec.Command(script, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", script, args, err, out)
		}
		return string(out)
	}
	run(videos, frames)
	writeNPY(t, filepath.Join(root, "avenue", "frame_labels_avenue.npy"), make([]uint8, 19))
	ds, err := LoadAvenue(filepath.Join(root, "avenue"), Test, FrameLabels{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Videos) != 2 || len(ds.Videos[0].Frames) != 12 || len(ds.Videos[1].Frames) != 7 {
		t.Fatalf("extracted %+v", ds.Videos)
	}
	if got := filepath.Base(ds.Videos[0].Frames[0]); got != "0000.jpg" {
		t.Errorf("first frame %s, want 0000.jpg", got)
	}
	img, err := imageio.Decode(ds.Videos[1].Frames[6], imageio.DecodeOptions{C: 3})
	if err != nil || img.W != 64 || img.H != 48 {
		t.Errorf("frame: %dx%d, %v", img.W, img.H, err)
	}

	// Idempotent: a second run skips both videos and changes nothing.
	st, err := os.Stat(ds.Videos[0].Frames[0])
	if err != nil {
		t.Fatal(err)
	}
	if out := run(videos, frames); !strings.Contains(out, "skipped 2") {
		t.Errorf("second run: %s", out)
	}
	if st2, err := os.Stat(ds.Videos[0].Frames[0]); err != nil || !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("second run rewrote frames")
	}
	entries, _ := os.ReadDir(frames)
	if len(entries) != 2 {
		t.Errorf("%d entries in %s, want the 2 video folders only", len(entries), frames)
	}
	if out := run("-f", videos, frames); !strings.Contains(out, "extracted 2") {
		t.Errorf("forced run: %s", out)
	}

	// No ffmpeg on PATH: a clear message.
	cmd := exec.Command("/bin/bash", script, videos, frames)
	cmd.Env = append(os.Environ(), "PATH=/nonexistent")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "ffmpeg not found") {
		t.Errorf("without ffmpeg: %v\n%s", err, out)
	}
}
