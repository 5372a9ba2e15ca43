package synth

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func smallMVTec(out string) MVTecOptions {
	return MVTecOptions{Out: out, Size: 32, Train: 3, TestGood: 2, TestDefect: 2, Seed: 5}
}

func TestGenerateMVTecLayout(t *testing.T) {
	parent := t.TempDir()
	out := filepath.Join(parent, "mvtec")
	sum, err := GenerateMVTec(context.Background(), smallMVTec(out))
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, cat := range []string{"synth_object", "synth_texture"} {
		for _, f := range []string{
			"ground_truth/hole/000_mask.png", "ground_truth/hole/001_mask.png",
			"ground_truth/scratch/000_mask.png", "ground_truth/scratch/001_mask.png",
			"ground_truth/stain/000_mask.png", "ground_truth/stain/001_mask.png",
			"test/good/000.png", "test/good/001.png",
			"test/hole/000.png", "test/hole/001.png",
			"test/scratch/000.png", "test/scratch/001.png",
			"test/stain/000.png", "test/stain/001.png",
			"train/good/000.png", "train/good/001.png", "train/good/002.png",
		} {
			want = append(want, cat+"/"+f)
		}
	}
	if got := listFiles(t, out); !slices.Equal(got, want) {
		t.Errorf("files:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	wantSum := MVTecSummary{
		Root: out, Categories: []string{"synth_texture", "synth_object"}, Defects: []string{"scratch", "hole", "stain"},
		Size: 32, TrainImages: 6, TestGoodImages: 4, TestDefectImages: 12, Files: 34,
	}
	if fmt.Sprint(sum) != fmt.Sprint(wantSum) {
		t.Errorf("summary %+v, want %+v", sum, wantSum)
	}
	onlyEntries(t, parent, "mvtec")
	if info, err := os.Stat(out); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("output root: %v, %v; want mode 0755 like any folder fmam writes", info.Mode(), err)
	}

	// Images: the texture category is 8-bit gray, the object one RGB.
	for _, tc := range []struct {
		path string
		gray bool
	}{
		{"synth_texture/train/good/000.png", true},
		{"synth_texture/test/stain/001.png", true},
		{"synth_object/train/good/000.png", false},
		{"synth_object/test/hole/000.png", false},
	} {
		img := readPNG(t, filepath.Join(out, tc.path))
		if img.Bounds() != image.Rect(0, 0, 32, 32) {
			t.Errorf("%s: bounds %v, want 32x32", tc.path, img.Bounds())
		}
		if _, isGray := img.(*image.Gray); isGray != tc.gray {
			t.Errorf("%s: decoded as %T, gray %v wanted", tc.path, img, tc.gray)
		}
	}
}

// TestMVTecMaskIsChange re-renders each defective image without its defect
// and checks that the mask file marks exactly the pixels that differ.
func TestMVTecMaskIsChange(t *testing.T) {
	out := filepath.Join(t.TempDir(), "m")
	opts := smallMVTec(out)
	opts.TestDefect = 4
	if _, err := GenerateMVTec(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	for _, cat := range MVTecCategories() {
		for _, d := range MVTecDefects() {
			for i := range opts.TestDefect {
				name := fmt.Sprintf("%03d", i)
				img := readPNG(t, filepath.Join(out, cat, "test", d, name+".png"))
				mask := maskFromPNG(t, filepath.Join(out, cat, "ground_truth", d, name+"_mask.png"))
				clean, _ := renderMVTec(cat, "test/"+d, "", i, opts.Size, opts.Seed)
				changed := 0
				for p := range mask {
					diff := rgbAt(img, p%32, p/32) != rasterRGB(clean, p)
					if diff != mask[p] {
						t.Fatalf("%s/%s/%s pixel %d: changed %v, mask %v", cat, d, name, p, diff, mask[p])
					}
					if diff {
						changed++
					}
				}
				if changed == 0 || changed > 32*32/4 {
					t.Errorf("%s/%s/%s: %d changed pixels, want a small non-empty defect", cat, d, name, changed)
				}
			}
		}
	}
}

func TestGenerateMVTecDeterministic(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	for _, name := range []string{"a", "b"} {
		if _, err := GenerateMVTec(ctx, smallMVTec(filepath.Join(dir, name))); err != nil {
			t.Fatal(err)
		}
	}
	other := smallMVTec(filepath.Join(dir, "c"))
	other.Seed = 6
	if _, err := GenerateMVTec(ctx, other); err != nil {
		t.Fatal(err)
	}
	if !sameTrees(t, filepath.Join(dir, "a"), filepath.Join(dir, "b")) {
		t.Error("same seed wrote different files")
	}
	if sameTrees(t, filepath.Join(dir, "a"), filepath.Join(dir, "c")) {
		t.Error("seeds 5 and 6 wrote identical files")
	}
	// Items have their own streams: more training images leave the test set
	// unchanged.
	more := smallMVTec(filepath.Join(dir, "d"))
	more.Train = 5
	if _, err := GenerateMVTec(ctx, more); err != nil {
		t.Fatal(err)
	}
	if !sameTrees(t, filepath.Join(dir, "a", "synth_object", "test"), filepath.Join(dir, "d", "synth_object", "test")) {
		t.Error("changing the train count changed the test images")
	}
}

func TestGenerateMVTecOverwrite(t *testing.T) {
	ctx := context.Background()
	parent := t.TempDir()
	out := filepath.Join(parent, "ds")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// An existing empty directory is fine.
	if _, err := GenerateMVTec(ctx, smallMVTec(out)); err != nil {
		t.Fatalf("empty existing dir: %v", err)
	}
	keep := filepath.Join(out, "mine.txt")
	if err := os.WriteFile(keep, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := GenerateMVTec(ctx, smallMVTec(out))
	if err == nil || !strings.Contains(err.Error(), out) || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("non-empty dir: error %v, want one naming %s and --force", err, out)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Fatalf("refused run touched the directory: %v", err)
	}
	opts := smallMVTec(out)
	opts.Force = true
	if _, err := GenerateMVTec(ctx, opts); err != nil {
		t.Fatalf("with Force: %v", err)
	}
	if _, err := os.Stat(keep); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Force kept the old content: %v", err)
	}
	onlyEntries(t, parent, "ds")

	// A file in the way is an error even with Force.
	file := filepath.Join(parent, "file")
	os.WriteFile(file, nil, 0o644)
	opts.Out = file
	if _, err := GenerateMVTec(ctx, opts); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file as output: error %v", err)
	}
}

func TestGenerateMVTecCancel(t *testing.T) {
	parent := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := GenerateMVTec(ctx, smallMVTec(filepath.Join(parent, "ds")))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	onlyEntries(t, parent) // neither the output nor a temporary folder
}

func TestMVTecOptionErrors(t *testing.T) {
	out := filepath.Join(t.TempDir(), "ds")
	tests := []struct {
		name   string
		edit   func(*MVTecOptions)
		wantIn string
	}{
		{"unknown category", func(o *MVTecOptions) { o.Categories = []string{"bottle"} }, `"bottle"`},
		{"duplicate category", func(o *MVTecOptions) { o.Categories = []string{CategoryObject, CategoryObject} }, "twice"},
		{"tiny", func(o *MVTecOptions) { o.Size = 8 }, "size 8"},
		{"negative", func(o *MVTecOptions) { o.Train = -1 }, "negative"},
		{"no output", func(o *MVTecOptions) { o.Out = "" }, "output directory"},
	}
	for _, tc := range tests {
		o := smallMVTec(out)
		tc.edit(&o)
		if _, err := GenerateMVTec(context.Background(), o); err == nil || !strings.Contains(err.Error(), tc.wantIn) {
			t.Errorf("%s: error %v, want one mentioning %s", tc.name, err, tc.wantIn)
		}
	}
}

func TestMVTecDefaults(t *testing.T) {
	var o MVTecOptions
	if err := o.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if o.Size != 64 || o.Train != 40 || o.TestGood != 10 || o.TestDefect != 6 || !slices.Equal(o.Categories, MVTecCategories()) {
		t.Errorf("defaults %+v", o)
	}
}
