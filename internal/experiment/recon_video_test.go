package experiment_test

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/sharedtest"
)

// clipAutoencoder writes a small autoencoder of clips of ch channels
// built with fmam's graph package.
func clipAutoencoder(t *testing.T, ch, size int) string {
	t.Helper()
	g := graph.New("clip-ae")
	in := g.Input("clip", graph.Float, graph.Shape{1, int64(ch), int64(size), int64(size)})
	b := nn.New(g, false, 3)
	x := b.Relu(b.Conv2D(in, "enc1", 8, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true}))
	x = b.Relu(b.Conv2D(b.MaxPool2(x), "enc2", 16, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true}))
	x = b.Conv2D(b.Upsample2(x), "dec", ch, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})
	g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: "recon", Inputs: []string{x}, Outputs: []string{"recon"}})
	g.Output("recon")
	g.DynamicBatch = true
	p := filepath.Join(t.TempDir(), "clip-ae.onnx")
	if err := g.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// model.arch reconstruction on a video task: MNAD's PyTorch predictor
// (frames [N,12,64,64] -> prediction [N,3,64,64]) is told a next-frame
// predictor by its shapes, trained and scored as one (S_o the PSNR of the
// prediction error), with the control's rows, stored thresholds and
// predict; a clip autoencoder is told an autoencoder; model.recon_mode
// forces a mode, and a wrong one is refused before anything trains.
func TestReconstructionVideo(t *testing.T) {
	pred := sharedtest.Path(t, "teachers", "mnad_pred.onnx")
	dir := t.TempDir()
	e, logs := openLogged(t, `
name: recon-video
task: video
data: {kind: synth-video, size: 64, frames: 4, channels: 3, workers: 2, val_fraction: 0.25}
model: {arch: reconstruction, teacher: `+pred+`, recon_loss: l1, taps: [bottleneck], attention: {kind: sca, reduction: 8}}
train: {batch: 2, student_steps: 2, lr: 0.001}
eval: {batch: 8, grid: "0:1:0.5", pictures: 1}
`, dir)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "imported network is a predictor") {
		t.Errorf("the chosen mode is not logged:\n%s", logs)
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u := ev.Units[0]
	var methods []string
	for _, r := range u.Video {
		methods = append(methods, r.Method)
		if !(r.MicroAUC >= 0 && r.MicroAUC <= 1) {
			t.Errorf("%s: AUC %v", r.Method, r.MicroAUC)
		}
	}
	want := []string{"Reconstruction (teacher)", "Reconstruction+FM+SCA S_o (λ=0)", "Reconstruction+FM+SCA S_fea (λ=1)", "Reconstruction+FM+SCA (λ=0.5)",
		"Reconstruction control (L_o only) S_o (λ=0)", "Reconstruction control (L_o only) (λ=0.5)"}
	if !slices.Equal(methods, want) || u.Control != 2 {
		t.Errorf("rows %q (control %d), want %q", methods, u.Control, want)
	}
	stage := filepath.Join(dir, "student")
	head := readCSV(t, filepath.Join(stage, "log.csv"))[0]
	if !slices.Contains(head, "l1") {
		t.Errorf("student log header %v: want recon_loss l1's term", head)
	}
	c, _ := checkCalibration(t, stage, "held-out", -1)
	if c.SO.Direction != "lower-is-anomalous" {
		t.Errorf("s_o %+v: PSNR is lower-is-anomalous", c.SO)
	}
	g, err := graph.LoadFile(filepath.Join(stage, "model.onnx"), graph.ImportOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(g.Outputs, "s_map") || !slices.Equal(g.Shape("s_map"), graph.Shape{1, 64, 64}) {
		t.Errorf("model.onnx outputs %v (s_map %v): want the per-pixel map", g.Outputs, g.Shape("s_map"))
	}
	onnxChecker(t, filepath.Join(stage, "model.onnx"))
	test, err := data.LoadFrames(filepath.Join(dir, "data", "synth-video"), data.Test, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	rep, err := e.Predict(ctx, experiment.PredictOptions{Input: filepath.Dir(test.Videos[0].Frames[0]), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Items) == 0 {
		t.Fatal("predict scored nothing")
	}
	for _, p := range rep.Items {
		if !(p.SO > 0) || p.STotal != c.Total(p.SO, p.SFea) {
			t.Errorf("%+v", p)
		}
		checkFrameMap(t, p, out, test.Videos[0].Name, 64)
	}

	// An autoencoder of 4-frame RGB clips: told by its shapes.
	ae := clipAutoencoder(t, 12, 32)
	e2, logs2 := openLogged(t, `
name: recon-video-ae
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 3, workers: 2}
model: {arch: reconstruction, teacher: `+ae+`, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 2, student_steps: 2, lr: 0.001, control: false}
eval: {batch: 8}
`, t.TempDir())
	if err := e2.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs2.String(), "imported network is a autoencoder") {
		t.Errorf("the chosen mode is not logged:\n%s", logs2)
	}
	if ev, err := e2.Evaluate(ctx); err != nil || len(ev.Units[0].Video) != 4 {
		t.Fatalf("autoencoder eval: %v", err)
	}
	// Its map is the clip's error: its mean gives S_o too.
	test2, err := data.LoadFrames(filepath.Join(e2.RunDir(), "data", "synth-video"), data.Test, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out2 := t.TempDir()
	rep2, err := e2.Predict(ctx, experiment.PredictOptions{Input: filepath.Dir(test2.Videos[0].Frames[0]), Out: out2})
	if err != nil || len(rep2.Items) == 0 {
		t.Fatalf("autoencoder predict: %v", err)
	}
	for _, p := range rep2.Items {
		checkFrameMap(t, p, out2, test2.Videos[0].Name, 32)
	}

	// Forced the wrong way: refused with the key to change.
	e3, _ := openLogged(t, `
name: recon-video-forced
task: video
data: {kind: synth-video, size: 64, frames: 4, channels: 3}
model: {arch: reconstruction, teacher: `+pred+`, recon_mode: autoencoder, taps: [bottleneck]}
train: {batch: 2, student_steps: 2}
`, t.TempDir())
	if err := e3.Train(ctx, experiment.StageAll); err == nil || !strings.Contains(err.Error(), "model.recon_mode") {
		t.Errorf("a predictor forced to be an autoencoder: %v", err)
	}
}
