package experiment_test

import (
	"context"
	"image/png"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/metrics"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/score"
	"github.com/fmam/fmam/internal/sharedtest"
	"github.com/fmam/fmam/internal/synth"
)

// A folder data set of several categories, <root>/<category>/{train,test,
// ground_truth} with the categories linked in, runs as MVTec does: one
// unit per data.categories entry, tables grouped under the data set's
// name. A defect image whose mask is missing is left out of the pixel
// metrics (checked against pooled AUROC over the saved maps), said so in
// the notes, and drawn as "no mask" in maps.png.
func TestFolderCategories(t *testing.T) {
	tex := sharedtest.Path(t, "data", "textures")
	tmp := t.TempDir()
	src := filepath.Join(tmp, "src")
	if _, err := synth.GenerateMVTec(context.Background(), synth.MVTecOptions{Out: src, Size: 64, Train: 4, TestGood: 3, TestDefect: 2}); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(tmp, "parts")
	os.MkdirAll(filepath.Join(root, "notes"), 0o755) // no train/: not a category
	for _, c := range synth.MVTecCategories() {
		if err := os.Symlink(filepath.Join(src, c), filepath.Join(root, c)); err != nil {
			t.Fatal(err)
		}
	}
	cat := synth.CategoryObject
	ds, err := data.LoadImageFolderCategory(root, cat)
	if err != nil {
		t.Fatal(err)
	}
	var first data.ImageItem
	for _, it := range ds.Test {
		if it.Label == 1 {
			first = it
			break
		}
	}
	if err := os.Remove(first.MaskPath); err != nil {
		t.Fatal(err)
	}
	e := open(t, `
name: e2e-folder
task: image
data: {kind: folder, root: `+root+`, size: 64, categories: [`+synth.CategoryTexture+`, `+cat+`], textures: `+tex+`}
model: {arch: draem, width: 0.0625, init: normal0.02, taps: [bottleneck], attention: {kind: ca, reduction: 2}}
train: {batch: 2, teacher_steps: 2, student_steps: 2, lr: 0.001}
eval: {batch: 8, pictures: 2}
`, nil)
	ctx := context.Background()
	if err := e.Train(ctx, experiment.StageAll); err != nil {
		t.Fatal(err)
	}
	ev, err := e.Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ev.Units) != 2 || ev.Units[0].Unit != synth.CategoryTexture || ev.Units[1].Unit != cat {
		t.Fatalf("units %+v", ev.Units)
	}
	sum, err := os.ReadFile(ev.Table)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"| other", "folder"} {
		if strings.Contains(string(sum), bad) {
			t.Errorf("summary holds %q:\n%s", bad, sum)
		}
	}
	for _, want := range []string{"parts, taps bottleneck", "| parts | " + cat, cat + ": 1 of 6 defect images have no mask"} {
		if !strings.Contains(string(sum), want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	st := filepath.Join(e.RunDir(), cat, "student")
	md, _ := os.ReadFile(filepath.Join(st, "results.md"))
	if !strings.Contains(string(md), `1 of 6 defect images have no mask: pixel metrics leave them out; maps.png draws them as "no mask"`) {
		t.Errorf("category table lacks the note:\n%s", md)
	}
	if h := readCSV(t, filepath.Join(st, "teacher_scores.csv"))[0]; strings.Join(h, ",") != "id,category,defect,label,s_o,s_fea_student" {
		t.Errorf("teacher_scores.csv header %v", h)
	}

	// Pixel AUROC pooled over the saved student maps of the images with a
	// known mask, and with the no-mask image wrongly counted all normal.
	var known, all []float64
	var knownL, allL []bool
	for _, it := range ds.Test {
		name := strings.TrimSuffix(filepath.Base(it.Path), filepath.Ext(it.Path))
		m, _, _, err := score.LoadMapNPY(filepath.Join(st, "maps", "student", it.Defect, name+".npy"))
		if err != nil {
			t.Fatal(err)
		}
		mask := make([]bool, len(m))
		if it.Label == 1 && it.Path != first.Path {
			if mask, _, _, err = score.LoadMaskPNG(it.MaskPath); err != nil {
				t.Fatal(err)
			}
		}
		for j, v := range m {
			all, allL = append(all, float64(v)), append(allL, mask[j])
			if it.Path != first.Path {
				known, knownL = append(known, float64(v)), append(knownL, mask[j])
			}
		}
	}
	want, err := metrics.ROCAUC(known, knownL)
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := metrics.ROCAUC(all, allL)
	got := ev.Units[1].Images[1].PixelAUROC
	if math.Abs(got-want) > 1e-9 || math.Abs(got-wrong) < 1e-9 {
		t.Errorf("student pixel AUROC %v; pooled over known masks %v, with the no-mask image as normal %v", got, want, wrong)
	}

	// 'fmam metrics --maps' on the run's own maps and truth: the no-mask
	// image has no truth file, and is left out as the table leaves it out.
	if _, err := os.Stat(filepath.Join(st, "maps", "truth", first.Defect, strings.TrimSuffix(filepath.Base(first.Path), filepath.Ext(first.Path))+".png")); err == nil {
		t.Error("a truth mask was written for the image without a mask")
	}
	pr, err := score.EvaluateMapsDir(context.Background(), slog.New(slog.DiscardHandler), filepath.Join(st, "maps", "student"), filepath.Join(st, "maps", "truth"), score.PixelOptions{SkipUnmasked: true})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(pr.AUROC-got) > 1e-12 {
		t.Errorf("metrics --maps: pixel AUROC %v, the table's %v", pr.AUROC, got)
	}

	// The teacher alone gives the teacher rows of the full evaluation.
	tev, err := e.EvaluateTeacher(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tev.Table != filepath.Join(e.RunDir(), "results-teacher.md") || len(tev.Units) != 2 {
		t.Fatalf("teacher-only evaluation: table %s, %d units", tev.Table, len(tev.Units))
	}
	for i, u := range tev.Units {
		got, want := u.Images[0], ev.Units[i].Images[0]
		if len(u.Images) != 1 || got.ImageAUROC != want.ImageAUROC || got.PixelAUROC != want.PixelAUROC || got.PixelAP != want.PixelAP {
			t.Errorf("%s: teacher alone %+v, teacher column %+v", u.Unit, u.Images, want)
		}
	}

	// Without data.categories every folder with train/ is a category.
	cfg := *e.Cfg
	cfg.Data.Categories = nil
	noCats, err := experiment.Open(&cfg, t.TempDir(), e.RT.LibPath, quiet(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer noCats.Close()
	units, err := noCats.Units(ctx)
	if err != nil || len(units) != 2 || units[0].Name != synth.CategoryObject || units[1].Name != synth.CategoryTexture {
		t.Errorf("units without data.categories: %v, %v", units, err)
	}

	// maps.png: row 0 is the no-mask image (the first defect image), its
	// truth tile the note grey; row 1's truth is a mask.
	f, err := os.Open(filepath.Join(st, "maps.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// 64 px images are shown at 192 px, under a label line and the titles.
	const margin, title, tile = 6, 16, 192
	x := margin + tile + margin + 2 // inside tile 1 (truth), off its text
	for row, wantNote := range []bool{true, false} {
		y := row*(tile+2*title+2*margin) + margin + 2*title + 2
		r, g, b, _ := img.At(x, y).RGBA()
		isNote := r>>8 == report.NoteGray && g>>8 == report.NoteGray && b>>8 == report.NoteGray
		if isNote != wantNote {
			t.Errorf("maps.png row %d truth tile pixel (%d,%d) = %d,%d,%d; want the note grey %v", row, x, y, r>>8, g>>8, b>>8, wantNote)
		}
	}
}
