package experiment_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/registry"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/synth"
)

// jigsawData generates a small video set (64x64 frames, 2 training and 2
// test videos of 32 frames) and box CSVs for both splits: two boxes on
// every frame, one also on one anomalous test frame's video only, and
// none in test video 02 when noBoxes is set. It returns the data root
// and the two CSV paths.
func jigsawData(t *testing.T, noBoxes bool) (root, train, test string) {
	t.Helper()
	dir := t.TempDir()
	root = filepath.Join(dir, "video")
	if _, err := synth.GenerateVideo(context.Background(), synth.VideoOptions{Out: root, Width: 64, Height: 64, TrainVideos: 2, TestVideos: 2, Frames: 32, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	write := func(name string, videos []string, skip string) string {
		var b strings.Builder
		b.WriteString("video,frame,x1,y1,x2,y2,score\n")
		for _, v := range videos {
			if v == skip {
				continue
			}
			for f := range 32 {
				fmt.Fprintf(&b, "%s,%d,4,6,36,40,0.9\n%s,%d,%d,20,%d,60,0.7\n", v, f, v, f, 10+f, 40+f)
			}
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	skip := ""
	if noBoxes {
		skip = "02"
	}
	return root, write("train.csv", []string{"01", "02"}, ""), write("test.csv", []string{"01", "02"}, skip)
}

func jigsawYAML(root, objects string) string {
	return `
name: e2e-jigsaw
task: video
data: {kind: frames, root: ` + root + `, labels: ` + filepath.Join(root, "frame_labels_synth.npy") + `, size: 16, frames: 3, channels: 3, workers: 1,
  objects: {` + objects + `}}
model: {arch: jigsaw, width: 0.125, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 4, teacher_steps: 6, student_steps: 6, lr: 0.001, checkpoint_every: 4}
eval: {batch: 16, lambda: 0.5, grid: "0:1:0.5", pictures: 1}
`
}

// Jigsaw-VAD end to end on generated video and box files: teacher and
// SCA student, evaluation through the official frame chain, the lambda
// sweep (whose lambda 0 and 1 are the table's S_o and S_fea rows), a
// two-row layer ablation with a 5-D tap, and a second Train that is a
// no-op. Test video 02 has no boxes at all and still scores.
func TestJigsawPipeline(t *testing.T) {
	root, train, test := jigsawData(t, true)
	e := open(t, jigsawYAML(root, "train_boxes: "+train+", test_boxes: "+test), nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	rows := readCSV(t, filepath.Join(e.RunDir(), "student", "log.csv"))
	if len(rows) != 7 || strings.Join(rows[0], ",") != "step,lr,loss,l_temporal,l_spatial,l_fea,grad_norm" {
		t.Errorf("student log: %d rows, header %v", len(rows), rows[0])
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := ev.Units[0]
	if len(u.Video) != 6 || u.Control != 2 || u.Frames != 64 {
		t.Fatalf("evaluation: %d rows (%d the control's), %d frames; want 6 rows (teacher, S_o, S_fea, fused, the control's S_o and fused) and 2 x 32 frames", len(u.Video), u.Control, u.Frames)
	}
	if u.Video[4].Method != "Jigsaw control (L_o only) S_o = S_total (λ=0)" {
		t.Errorf("control row %q", u.Video[4].Method)
	}
	if u.Headline != u.Video[1].MicroAUC {
		t.Errorf("headline %v is not the student's S_o micro AUC %v", u.Headline, u.Video[1].MicroAUC)
	}
	for _, r := range u.Video {
		if !(r.MicroAUC >= 0 && r.MicroAUC <= 1 && r.MacroAUC >= 0 && r.MacroAUC <= 1) {
			t.Errorf("%s: AUC %v / %v out of [0,1]", r.Method, r.MicroAUC, r.MacroAUC)
		}
	}
	// Objects: video 01 has two boxes on each of frames 1..30 (margin
	// T/2 = 1), video 02 none.
	objs := readCSV(t, filepath.Join(e.RunDir(), "student", "objects.csv"))
	if len(objs) != 1+60 || strings.Join(objs[0], ",") != "video,frame,x1,y1,x2,y2,temporal,spatial,s_fea" {
		t.Errorf("objects.csv: %d rows, header %v", len(objs), objs[0])
	}
	frames := readCSV(t, filepath.Join(e.RunDir(), "student", "scores.csv"))
	if len(frames) != 1+64 {
		t.Errorf("scores.csv has %d frame rows, want 64", len(frames)-1)
	}
	for _, f := range []string{"results.md", "roc.png", "teacher_objects.csv", "teacher_scores.csv"} {
		if _, err := os.Stat(filepath.Join(e.RunDir(), "student", f)); err != nil {
			t.Errorf("missing student/%s", f)
		}
	}
	checkKinds(t, e.RunDir(), root, u.Video)
	// 'fmam metrics --scores' reads the frame scores as the table does.
	for _, c := range []struct {
		file  string
		which baseline.Which
		want  results.VideoResult
	}{{"scores.csv", baseline.ScoreO, u.Video[1]}, {"scores.csv", baseline.ScoreFea, u.Video[2]}, {"teacher_scores.csv", baseline.ScoreO, u.Video[0]}} {
		tab, opts, err := baseline.ScoringOf(e.Baseline).Rescore(filepath.Join(e.RunDir(), "student", c.file), c.which, 0.5)
		if err != nil {
			t.Fatal(err)
		}
		res, err := metrics.EvaluateScores(tab, opts)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(res.Video.Micro-c.want.MicroAUC) > 1e-12 || math.Abs(res.Video.Macro-c.want.MacroAUC) > 1e-12 {
			t.Errorf("metrics %s --score %s: micro %v macro %v, the table's %s %v %v", c.file, c.which, res.Video.Micro, res.Video.Macro, c.want.Method, c.want.MicroAUC, c.want.MacroAUC)
		}
	}
	if _, _, err := baseline.ScoringOf(e.Baseline).Rescore(filepath.Join(e.RunDir(), "student", "scores.csv"), baseline.ScoreTotal, 0.5); err == nil {
		t.Error("a per-frame fusion of Jigsaw's scores was accepted; it fuses per object")
	}
	sw, err := e.Sweep(ctx, "0:1:0.5")
	if err != nil {
		t.Fatal(err)
	}
	pts := sw.Points[0]
	if len(pts) != 3 || pts[0].MicroAUC != u.Video[1].MicroAUC || pts[2].MicroAUC != u.Video[2].MicroAUC || pts[1].MicroAUC != u.Video[3].MicroAUC {
		t.Errorf("sweep %v does not agree with the table's S_o, fused and S_fea rows %v", pts, u.Video)
	}
	if _, err := e.Ablate(ctx, [][]string{{"bottleneck"}, {"stage2"}}); err != nil {
		t.Fatal(err)
	}
	md, _ := os.ReadFile(filepath.Join(e.RunDir(), "ablation.md"))
	if !strings.Contains(string(md), "stage2") {
		t.Errorf("ablation table lacks the tap set:\n%s", md)
	}
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatalf("second train: %v", err)
	}
}

// A student of an exported Jigsaw teacher with the foreground detector's
// boxes: the detector runs once per split into the run folder, and no
// attention trains too.
func TestJigsawForegroundImportedTeacher(t *testing.T) {
	root, train, test := jigsawData(t, false)
	first := open(t, jigsawYAML(root, "train_boxes: "+train+", test_boxes: "+test), nil)
	ctx := context.Background()
	if err := first.Train(ctx, experiment.StageTeacher); err != nil {
		t.Fatal(err)
	}
	teacher := filepath.Join(first.RunDir(), "teacher", "teacher.onnx")
	y := strings.Replace(jigsawYAML(root, "detector: foreground, fg_union: true, fg_min_area: 20, min_side: 0"), "taps: [bottleneck]", "teacher: "+teacher+", taps: [feature]", 1)
	y = strings.Replace(y, "kind: sca", "kind: none", 1)
	e := open(t, y, nil)
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"train", "test"} {
		if rows := readCSV(t, filepath.Join(e.RunDir(), "objects", s+"_boxes.csv")); len(rows) < 2 {
			t.Errorf("the foreground detector found no %s boxes", s)
		}
	}

	// The same teacher without fmam's metadata is a foreign ONNX model: its
	// student is a clone of the graph, tapped by tensor name.
	g, err := graph.LoadFile(teacher, graph.ImportOptions{Batch: 16})
	if err != nil {
		t.Fatal(err)
	}
	g.DeleteMeta("fmam.arch")
	g.DynamicBatch = true
	foreign := filepath.Join(t.TempDir(), "foreign.onnx")
	if err := g.Save(foreign); err != nil {
		t.Fatal(err)
	}
	y = strings.Replace(jigsawYAML(root, "train_boxes: "+train+", test_boxes: "+test), "taps: [bottleneck]", "teacher: "+foreign+", taps: [tap.bottleneck]", 1)
	f := open(t, y, nil)
	if err := f.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	fe, err := f.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []*experiment.Evaluation{ev, fe} {
		if h := r.Units[0].Headline; math.IsNaN(h) || h < 0 || h > 1 {
			t.Errorf("headline %v", h)
		}
	}
}

// Bad inputs are errors naming the file at fault.
func TestJigsawBadInput(t *testing.T) {
	root, train, test := jigsawData(t, false)
	ctx := context.Background()
	bad := func(name, body string) string {
		p := filepath.Join(t.TempDir(), name)
		if err := os.WriteFile(p, []byte("video,frame,x1,y1,x2,y2,score\n"+body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	onnx := filepath.Join(t.TempDir(), "det.onnx")
	odd := squareDetector(t)
	cases := []struct {
		name    string
		objects string
		want    []string
	}{
		{"unknown video", "train_boxes: " + bad("v.csv", "01,3,1,1,20,20,0.9\n07,3,1,1,20,20,0.9\n02,1,1,1,9,9,0.9\n") + ", test_boxes: " + test,
			[]string{"data.objects.train_boxes", "v.csv", "no video 07"}},
		{"frame past the end", "train_boxes: " + train + ", test_boxes: " + test, nil},
		{"outside the frame", "train_boxes: " + bad("o.csv", "01,3,70,1,90,20,0.9\n02,3,1,1,20,20,0.9\n") + ", test_boxes: " + test,
			[]string{"o.csv", "video 01 frame 3", "entirely outside the 64x64 frame"}},
		{"missing file", "train_boxes: /no/such/boxes.csv, test_boxes: " + test, []string{"data.objects.train_boxes", "/no/such/boxes.csv"}},
		{"detector file missing", "detector: " + onnx, []string{"data.objects.detector", onnx}},
		{"unknown layout", "detector: " + onnx + ", layout: yolov9", []string{"data.objects.layout", "yolov9"}},
		{"undecidable output layout", "detector: " + odd, []string{"data.objects.detector", odd, "ambiguous output layout", "set the layout"}},
	}
	cases[1].objects = "train_boxes: " + bad("f.csv", "01,40,1,1,20,20,0.9\n02,3,1,1,20,20,0.9\n") + ", test_boxes: " + test
	cases[1].want = []string{"f.csv", "video 01 frame 40", "32 frames"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			y := jigsawYAML(root, c.objects)
			if c.name == "unknown layout" {
				_, err := registry.Lookup(mustLoad(t, y))
				checkErr(t, err, c.want)
				return
			}
			if strings.Contains(c.name, "missing") { // checked when the run opens
				_, err := experiment.Open(mustLoad(t, y), t.TempDir(), "", quiet(), nil)
				checkErr(t, err, c.want)
				return
			}
			e := open(t, y, nil)
			checkErr(t, e.Train(ctx, experiment.StageTeacher), c.want)
		})
	}
}

// squareDetector writes an ONNX "detector" whose output [1, 6, 6] could
// be either YOLO layout.
func squareDetector(t *testing.T) string {
	g := graph.New("square_detector")
	x := g.Input("images", graph.Float, graph.Shape{1, 3, 32, 32})
	y := g.Op(graph.OpReshape, []string{g.Op(graph.OpSlice, []string{x, g.Const1D(0, 0, 0, 0), g.Const1D(1, 1, 6, 6)}, nil), g.Const1D(1, 6, 6)}, nil)
	g.Output(y)
	p := filepath.Join(t.TempDir(), "square.onnx")
	if err := g.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func mustLoad(t *testing.T, yaml string) *config.Config {
	t.Helper()
	c, err := config.Load("", []byte(yaml), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %v", want)
	}
	t.Logf("error: %v", err)
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
}
