package experiment_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/sharedtest"
)

func pkgnetYAML(root, backbone, objects string) string {
	return `
name: e2e-pkgnet
task: video
data: {kind: frames, root: ` + root + `, labels: ` + filepath.Join(root, "frame_labels_synth.npy") + `, size: 16, frames: 5, channels: 3, workers: 1,
  objects: {` + objects + `}}
model: {arch: pkgnet, width: 0.125, taps: [bottleneck], attention: {kind: sca, reduction: 2},
  pkgnet: {k: 2, backbone: ` + backbone + `, layers: [feat_s16, feat_s8], backbone_size: 64, num_obj: 1, hybrid: [0.2, 0.5, 0.3]}}
train: {batch: 4, teacher_steps: 4, student_steps: 4, lr: 0.001, checkpoint_every: 4}
eval: {batch: 16, lambda: 0.5, grid: "0:1:0.5", pictures: 1}
`
}

// PKG-Net end to end on generated video and an STC box CSV: teacher (with
// the MobileNetV2 prior, resized to the student's feature sizes) and SCA
// student, evaluation through the official chain with statistics from the
// training cubes, the teacher alone, the lambda sweep (its 0 and 1 are the
// table's S_o and S_fea rows) and a two-row layer ablation. Test video 02
// has no boxes: its frames get the empty-frame score.
func TestPKGNetPipeline(t *testing.T) {
	root, train, test := jigsawData(t, true)
	bb := sharedtest.Path(t, "models", "mobilenet_v2_imagenet.onnx")
	e := open(t, pkgnetYAML(root, bb, "train_boxes: "+train+", test_boxes: "+test), nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(e.RunDir(), "student", "log.csv"))
	if len(rows) != 5 || strings.Join(rows[0], ",") != "step,lr,loss,l_gen,l_grad,l_prior,l_fea,grad_norm" {
		t.Errorf("student log: %d rows, header %v", len(rows), rows[0])
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := ev.Units[0]
	if len(u.Video) != 6 || u.Control != 2 || u.Frames != 64 {
		t.Fatalf("evaluation: %d rows (%d the control's), %d frames; want 6 rows (teacher, S_o, S_fea, S_total, the control's S_o and S_total) and 2 x 32 frames", len(u.Video), u.Control, u.Frames)
	}
	if u.Headline != u.Video[3].MicroAUC {
		t.Errorf("headline %v is not S_total's micro AUC %v", u.Headline, u.Video[3].MicroAUC)
	}
	for _, r := range u.Video {
		if !(r.MicroAUC >= 0 && r.MicroAUC <= 1 && r.MacroAUC >= 0 && r.MacroAUC <= 1) {
			t.Errorf("%s: AUC %v / %v out of [0,1]", r.Method, r.MicroAUC, r.MacroAUC)
		}
	}
	checkKinds(t, e.RunDir(), root, u.Video)
	// Every box of video 01 is an object (no margin: early frames repeat).
	objs := readCSV(t, filepath.Join(e.RunDir(), "student", "objects.csv"))
	if len(objs) != 1+64 || strings.Join(objs[0], ",") != "video,frame,x1,y1,x2,y2,mse,cos1,cos2,s_fea" {
		t.Errorf("objects.csv: %d rows, header %v", len(objs), objs[0])
	}
	var z struct {
		Source  string
		Teacher []struct{ Mean, Std float64 }
		Student []struct{ Mean, Std float64 }
	}
	b, err := os.ReadFile(filepath.Join(e.RunDir(), "student", "zstats.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &z); err != nil || z.Source != "training cubes" || len(z.Teacher) != 3 || len(z.Student) != 3 {
		t.Errorf("zstats.json %s: %v", b, err)
	}
	frames := readCSV(t, filepath.Join(e.RunDir(), "student", "scores.csv"))
	if len(frames) != 1+64 {
		t.Errorf("scores.csv has %d frame rows, want 64", len(frames)-1)
	}
	md, _ := os.ReadFile(filepath.Join(e.RunDir(), "student", "results.md"))
	for _, want := range []string{"Frames without objects score -1", "adapter", "mobilenet_v2_imagenet.onnx"} {
		if !strings.Contains(string(md), want) {
			t.Errorf("results.md lacks %q:\n%s", want, md)
		}
	}
	tev, err := e.EvaluateTeacher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tu := tev.Units[0]; len(tu.Video) != 1 {
		t.Errorf("teacher-only evaluation: %d rows", len(tu.Video))
	}
	sw, err := e.Sweep(ctx, "0:1:0.5")
	if err != nil {
		t.Fatal(err)
	}
	pts := sw.Points[0]
	if len(pts) != 3 || pts[0].MicroAUC != u.Video[1].MicroAUC || pts[2].MicroAUC != u.Video[2].MicroAUC || pts[1].MicroAUC != u.Video[3].MicroAUC {
		t.Errorf("sweep %v does not agree with the table's S_o, S_total and S_fea rows %v", pts, u.Video)
	}
	if _, err := e.Ablate(ctx, [][]string{{"bottleneck"}, {"encoder", "decoder"}}); err != nil {
		t.Fatal(err)
	}
	abl, _ := os.ReadFile(filepath.Join(e.RunDir(), "ablation.md"))
	if !strings.Contains(string(abl), "decoder") {
		t.Errorf("ablation table lacks the tap set:\n%s", abl)
	}
}
