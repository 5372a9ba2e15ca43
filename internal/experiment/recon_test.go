package experiment_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/graph"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/sharedtest"
)

// smallAutoencoder writes an autoencoder built with fmam's graph package:
// conv-relu, pool, conv-relu (the bottleneck), upsample, conv back to RGB.
func smallAutoencoder(t *testing.T, size int) string {
	t.Helper()
	g := graph.New("ae")
	in := g.Input("img", graph.Float, graph.Shape{1, 3, int64(size), int64(size)})
	b := nn.New(g, false, 3)
	x := b.Relu(b.Conv2D(in, "enc1", 8, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true}))
	x = b.Relu(b.Conv2D(b.MaxPool2(x), "enc2", 16, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true}))
	x = b.Conv2D(b.Upsample2(x), "dec", 3, nn.ConvOpts{Kernel: 3, Pad: 1, Bias: true})
	g.AddNode(&graph.Node{Op: graph.OpIdentity, Name: "recon", Inputs: []string{x}, Outputs: []string{"recon"}})
	g.Output("recon")
	g.DynamicBatch = true
	p := filepath.Join(t.TempDir(), "ae.onnx")
	if err := g.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// draemReconstructive cuts DRAEM's reconstructive sub-network (its
// 'reconstruction' output) out of the PyTorch export.
func draemReconstructive(t *testing.T) string { return draemCut(t, "reconstruction") }

// draemCut is the PyTorch DRAEM export cut at one of its outputs.
func draemCut(t *testing.T, output string) string {
	t.Helper()
	g, err := graph.LoadFile(sharedtest.Path(t, "teachers", "draem.onnx"), graph.ImportOptions{Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := g.Cut(output)
	if err != nil {
		t.Fatal(err)
	}
	c.DynamicBatch = true
	p := filepath.Join(t.TempDir(), output+".onnx")
	if err := c.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// model.arch reconstruction boosts any imported autoencoder: a small one
// built here, and DRAEM's reconstructive sub-network; the run evaluates,
// stores thresholds and predicts like the built-in baselines.
func TestReconstructionArch(t *testing.T) {
	for _, c := range []struct {
		name, teacher, loss string
		size                int
	}{
		{"graph-ae", smallAutoencoder(t, 32), "l1", 32},
		{"draem-rec", draemReconstructive(t), "ssim", 64},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := open(t, `
name: recon
task: image
data: {kind: synth-mvtec, size: `+strconv.Itoa(c.size)+`, categories: [synth_object], val_fraction: 0.25}
model: {arch: reconstruction, teacher: `+c.teacher+`, recon_loss: `+c.loss+`, taps: [bottleneck], attention: {kind: sca, reduction: 2}}
train: {batch: 2, student_steps: 3, lr: 0.001}
eval: {batch: 4, pictures: 1}
`, nil)
			ctx := context.Background()
			if err := e.Train(ctx, experiment.StageAll); err != nil {
				t.Fatal(err)
			}
			ev, err := e.Evaluate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			rows := ev.Units[0].Images
			// Teacher and student first (other rows, a control student, may follow).
			if len(rows) < 2 || rows[0].Method != "Reconstruction (teacher)" || rows[1].Method != "Reconstruction+SCA" || !(rows[1].ImageAUROC >= 0 && rows[1].ImageAUROC <= 1) {
				t.Fatalf("rows %+v", rows)
			}
			stage := filepath.Join(e.RunDir(), "synth_object", "student")
			logHead, err := os.ReadFile(filepath.Join(stage, "log.csv"))
			if err != nil || !strings.Contains(strings.SplitN(string(logHead), "\n", 2)[0], map[string]string{"l1": "l1", "ssim": "ssim"}[c.loss]) {
				t.Errorf("student log.csv header for recon_loss %s: %q (%v)", c.loss, strings.SplitN(string(logHead), "\n", 2)[0], err)
			}
			cal, _ := checkCalibration(t, stage, "held-out", -1)
			onnxChecker(t, filepath.Join(stage, "model.onnx"))
			rep, err := e.Predict(ctx, experiment.PredictOptions{Input: filepath.Join(e.RunDir(), "data", "synth-mvtec", "synth_object", "test"), Out: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range rep.Items {
				if !(p.SO >= 0) || p.STotal != cal.Total(p.SO, p.SFea) || p.Map == "" {
					t.Errorf("%+v", p)
				}
			}
		})
	}
	// Not an autoencoder (DRAEM's mask logits, 2 channels): the error says
	// what the arch wants, before anything trains.
	e := open(t, `
name: recon-bad
task: image
data: {kind: synth-mvtec, size: 64, categories: [synth_object]}
model: {arch: reconstruction, teacher: `+draemCut(t, "mask_logits")+`, taps: [bottleneck]}
train: {batch: 2, student_steps: 3}
`, nil)
	if err := e.Train(context.Background(), experiment.StageAll); err == nil || !strings.Contains(err.Error(), "an autoencoder reconstructs its input") {
		t.Errorf("mask logits as a reconstruction: %v", err)
	}
}
