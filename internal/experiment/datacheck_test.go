package experiment_test

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
	"github.com/fmam/fmam/internal/synth"
)

// The shipped Ped2 configs pass the data check on the real Ped2 in
// ../shared: every frame's header, the test frames decoded in full, the
// labels and, for Jigsaw-VAD and PKG-Net, the box files against the
// frames.
func TestDataCheckPed2(t *testing.T) {
	sharedtest.Path(t, "data", "ped2")
	gradcheck.Runtime(t)
	lib, _ := ort.FindLibrary("", "")
	for _, name := range []string{"ped2.yaml", "ped2-jigsaw.yaml", "ped2-pkgnet.yaml"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(filepath.Join("..", "..", "configs", name), nil, "cpu-small", map[string]any{"ort_lib": lib, "device": "cpu"})
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			dir := filepath.Join(t.TempDir(), "run")
			e, err := experiment.Open(cfg, dir, lib, log, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if err := e.CheckData(context.Background(), baseline.DataUse{Train: true, Test: true}); err != nil {
				t.Fatal(err)
			}
			line := ""
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "checked ") {
					line = l
				}
			}
			t.Log(line)
			// 2,550 training and 1,020 test frames, and the box files.
			if !strings.Contains(line, "checked 3,5") || !strings.Contains(line, "1,020 decoded in full") {
				t.Errorf("log line %q: want the 3,570 frames checked, the test frames decoded", line)
			}
		})
	}
}

// One Train call on generated data with four problems reports all four,
// with their paths, before any training step: a corrupt training frame
// (which cube extraction might never reach), a truncated test frame (its
// header is whole), a missing pixel mask and a test box entirely outside
// the frame. The run folder gets no stage folder, checkpoint or log.
func TestDataCheckBeforeTraining(t *testing.T) {
	root, train, test := jigsawData(t, false)
	corrupt := filepath.Join(root, "training", "frames", "02", "031.png")
	if err := os.WriteFile(corrupt, []byte("not an image at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(root, "testing", "frames", "01", "005.png")
	b, err := os.ReadFile(truncated)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(truncated, b[:len(b)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	maskDir := filepath.Join(root, "testing", "pixel_masks", "02")
	if err := os.Remove(filepath.Join(maskDir, "007.png")); err != nil {
		t.Fatal(err)
	}
	tb, err := os.ReadFile(test)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(test, append(tb, "02,9,70,1,90,20,0.9\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	e := open(t, jigsawYAML(root, "train_boxes: "+train+", test_boxes: "+test), nil)
	err = e.Train(context.Background(), experiment.StageAll)
	checkErr(t, err, []string{"data check: 4 problems", corrupt, truncated, maskDir, "frame 7 is missing",
		"data.objects.test_boxes", test, "video 02 frame 9", "entirely outside the 64x64 frame"})
	_ = filepath.WalkDir(e.RunDir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != "config.yaml" {
			t.Errorf("the failed check left %s in the run folder", p)
		}
		return nil
	})
}

// The same for an image data set: a corrupt training image, a truncated
// test image and an anomalous test image without its mask come back in
// one error from a teacher-only Train.
func TestDataCheckImages(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	root := filepath.Join(t.TempDir(), "mvtec")
	if _, err := synth.GenerateMVTec(context.Background(), synth.MVTecOptions{Out: root, Size: 64, Categories: []string{synth.CategoryObject}, Train: 6, TestGood: 2, TestDefect: 2}); err != nil {
		t.Fatal(err)
	}
	cat := filepath.Join(root, synth.CategoryObject)
	corrupt := filepath.Join(cat, "train", "good", "005.png")
	if err := os.WriteFile(corrupt, []byte{0x89, 'P', 'N', 'G', 0, 1, 2}, 0o644); err != nil {
		t.Fatal(err)
	}
	tests, _ := filepath.Glob(filepath.Join(cat, "test", "good", "*.png"))
	b, err := os.ReadFile(tests[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tests[0], b[:len(b)*2/3], 0o644); err != nil {
		t.Fatal(err)
	}
	masks, _ := filepath.Glob(filepath.Join(cat, "ground_truth", "*", "*_mask.png"))
	if err := os.Remove(masks[0]); err != nil {
		t.Fatal(err)
	}
	e := open(t, `
name: e2e-datacheck
task: image
data: {kind: mvtec, root: `+root+`, size: 64, categories: [`+synth.CategoryObject+`], textures: `+tex+`}
model: {arch: draem, width: 0.0625, taps: [bottleneck]}
train: {batch: 2, teacher_steps: 1, student_steps: 1}
`, nil)
	err = e.Train(context.Background(), experiment.StageTeacher)
	checkErr(t, err, []string{"data check: 3 problems", corrupt, tests[0], masks[0]})
	if _, err := os.Stat(filepath.Join(e.RunDir(), synth.CategoryObject)); err == nil {
		t.Error("the failed check left a stage folder")
	}
}
