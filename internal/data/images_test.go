package data

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// makeMVTec writes a category with train/good (3 images), test/good (2),
// test/crack (2, with masks) and test/hole (1, with mask).
func makeMVTec(t *testing.T, root, cat string) string {
	t.Helper()
	dir := filepath.Join(root, cat)
	img := func(p string) {
		writeGrayPNG(t, filepath.Join(dir, p), 6, 4, func(x, y int) uint8 { return uint8(x + y) })
	}
	for _, p := range []string{"train/good/000.png", "train/good/001.png", "train/good/002.png",
		"test/good/000.png", "test/good/001.png", "test/crack/000.png", "test/crack/001.png", "test/hole/000.png"} {
		img(p)
	}
	for _, p := range []string{"ground_truth/crack/000_mask.png", "ground_truth/crack/001_mask.png", "ground_truth/hole/000_mask.png"} {
		writeGrayPNG(t, filepath.Join(dir, p), 6, 4, func(x, y int) uint8 {
			if x == 1 && y == 2 {
				return 255
			}
			return 0
		})
	}
	return dir
}

func TestLoadMVTec(t *testing.T) {
	root := t.TempDir()
	dir := makeMVTec(t, root, "carpet")
	ds, err := LoadMVTec(root, "carpet")
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Train) != 3 || len(ds.Test) != 5 || !ds.HasMasks() {
		t.Fatalf("got %d train, %d test, masks %v", len(ds.Train), len(ds.Test), ds.HasMasks())
	}
	want := []ImageItem{
		{filepath.Join(dir, "test/crack/000.png"), filepath.Join(dir, "ground_truth/crack/000_mask.png"), "crack", 1},
		{filepath.Join(dir, "test/crack/001.png"), filepath.Join(dir, "ground_truth/crack/001_mask.png"), "crack", 1},
		{filepath.Join(dir, "test/good/000.png"), "", "good", 0},
		{filepath.Join(dir, "test/good/001.png"), "", "good", 0},
		{filepath.Join(dir, "test/hole/000.png"), filepath.Join(dir, "ground_truth/hole/000_mask.png"), "hole", 1},
	}
	for i, w := range want {
		if ds.Test[i] != w {
			t.Errorf("test[%d] = %+v, want %+v", i, ds.Test[i], w)
		}
	}
}

func TestLoadMVTecErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
		parts  []string
	}{
		{"no train/good", func(dir string) error { return os.RemoveAll(filepath.Join(dir, "train", "good")) },
			[]string{"train/good", "not found"}},
		{"empty category", func(dir string) error {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			return os.Mkdir(dir, 0o755)
		}, []string{"train/good", "test", "not found"}},
		{"defect without masks", func(dir string) error { return os.RemoveAll(filepath.Join(dir, "ground_truth", "hole")) },
			[]string{"test/hole", "no mask folder", "ground_truth/hole"}},
		{"one mask missing", func(dir string) error { return os.Remove(filepath.Join(dir, "ground_truth", "crack", "001_mask.png")) },
			[]string{"test/crack/001.png has no mask", "001_mask.png"}},
		{"mask of different size", func(dir string) error {
			writeGrayPNG(t, filepath.Join(dir, "ground_truth", "crack", "000_mask.png"), 5, 4, func(int, int) uint8 { return 0 })
			return nil
		}, []string{"ground_truth/crack/000_mask.png is 5x4", "test/crack/000.png is 6x4"}},
		{"empty defect folder", func(dir string) error {
			return os.MkdirAll(filepath.Join(dir, "test", "scratch"), 0o755)
		}, []string{"test/scratch has no images"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			dir := makeMVTec(t, root, "wood")
			if err := tc.damage(dir); err != nil {
				t.Fatal(err)
			}
			_, err := LoadMVTec(root, "wood")
			wantErr(t, err, append([]string{`category "wood"`}, tc.parts...)...)
		})
	}
	_, err := LoadMVTec(t.TempDir(), "bottle")
	wantErr(t, err, "bottle", "not found", "metal_nut")
}

func TestLoadImageFolder(t *testing.T) {
	root := t.TempDir()
	px := func(int, int) uint8 { return 9 }
	writeGrayPNG(t, filepath.Join(root, "train", "a.png"), 3, 3, px)
	writeGrayPNG(t, filepath.Join(root, "train", "more", "b.png"), 3, 3, px)
	writeGrayPNG(t, filepath.Join(root, "test", "Normal", "c.png"), 3, 3, px)
	writeGrayPNG(t, filepath.Join(root, "test", "dent", "d.png"), 3, 3, px)
	writeGrayPNG(t, filepath.Join(root, "test", "dent", "e.png"), 3, 3, px)
	writeGrayPNG(t, filepath.Join(root, "ground_truth", "dent", "d_mask.png"), 3, 3, px)
	ds, err := LoadImageFolder(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Train) != 2 || len(ds.Test) != 3 || ds.HasMasks() {
		t.Fatalf("%d train, %d test, masks %v", len(ds.Train), len(ds.Test), ds.HasMasks())
	}
	// Sorted by class folder: Normal before dent (byte order).
	got := []ImageItem{ds.Test[0], ds.Test[1], ds.Test[2]}
	if got[0].Label != 0 || got[1].Label != 1 || got[1].MaskPath == "" || got[2].Label != 1 || got[2].MaskPath != "" {
		t.Errorf("test items %+v", got)
	}
	_, err = LoadImageFolder(t.TempDir())
	wantErr(t, err, "train", "test", "not found")
}

func TestMVTecCategories(t *testing.T) {
	cats := MVTecCategories()
	seen := map[string]bool{}
	textures := 0
	for _, c := range cats {
		seen[c] = true
		if IsTexture(c) {
			textures++
		}
	}
	if len(cats) != 15 || len(seen) != 15 || textures != 5 || IsTexture("bottle") || !IsTexture("grid") {
		t.Errorf("%d categories (%d distinct), %d textures", len(cats), len(seen), textures)
	}
}

func TestImageFolderCategories(t *testing.T) {
	root := t.TempDir()
	px := func(x, y int) uint8 { return uint8(x + 2*y) }
	// mono: train/*.png, one defect with a mask and one without; poly:
	// train/<sub>/; docs has no train/ and is not a category.
	writeGrayPNG(t, filepath.Join(root, "mono", "train", "a.png"), 4, 2, px)
	writeGrayPNG(t, filepath.Join(root, "mono", "train", "b.png"), 4, 2, px)
	writeGrayPNG(t, filepath.Join(root, "mono", "test", "good", "c.png"), 4, 2, px)
	writeGrayPNG(t, filepath.Join(root, "mono", "test", "crack", "d.png"), 4, 2, px)
	writeGrayPNG(t, filepath.Join(root, "mono", "test", "crack", "e.png"), 4, 2, px)
	writeGrayPNG(t, filepath.Join(root, "mono", "ground_truth", "crack", "d_mask.png"), 4, 2, px)
	writeGrayPNG(t, filepath.Join(root, "poly", "train", "x", "f.png"), 4, 2, px)
	writeGrayPNG(t, filepath.Join(root, "poly", "test", "normal", "g.png"), 4, 2, px)
	writeGrayPNG(t, filepath.Join(root, "docs", "test", "good", "h.png"), 4, 2, px)

	cats, err := ImageFolderCategories(root)
	if err != nil || strings.Join(cats, ",") != "mono,poly" {
		t.Fatalf("categories %v, %v; want mono,poly", cats, err)
	}
	mono, err := LoadImageFolderCategory(root, "mono")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "mono")
	want := []ImageItem{
		{filepath.Join(dir, "test/crack/d.png"), filepath.Join(dir, "ground_truth/crack/d_mask.png"), "crack", 1},
		{filepath.Join(dir, "test/crack/e.png"), "", "crack", 1},
		{filepath.Join(dir, "test/good/c.png"), "", "good", 0},
	}
	if mono.Name != "mono" || mono.Root != root || len(mono.Train) != 2 || !reflect.DeepEqual(mono.Test, want) {
		t.Errorf("mono: %+v", mono)
	}
	if hm := []bool{mono.Test[0].HasMask(), mono.Test[1].HasMask(), mono.Test[2].HasMask()}; !reflect.DeepEqual(hm, []bool{true, false, true}) || mono.HasMasks() {
		t.Errorf("HasMask %v, HasMasks %v; want [true false true], false", hm, mono.HasMasks())
	}
	poly, err := LoadImageFolderCategory(root, "poly")
	if err != nil || len(poly.Train) != 1 || len(poly.Test) != 1 || poly.Test[0].Label != 0 || !poly.HasMasks() {
		t.Errorf("poly: %+v, %v", poly, err)
	}

	// The old single-category layout is one category, not a root of them.
	single := filepath.Join(root, "mono")
	if ds, err := LoadImageFolder(single); err != nil || ds.Name != "mono" || len(ds.Test) != 3 {
		t.Errorf("single layout: %+v, %v", ds, err)
	}
	_, err = ImageFolderCategories(single)
	wantErr(t, err, single, "has train/ itself", "give no categories")
	_, err = LoadImageFolderCategory(single, "crack")
	wantErr(t, err, filepath.Join(single, "crack"), "not found", "has train/ itself")

	_, err = LoadImageFolderCategory(root, "wood")
	wantErr(t, err, filepath.Join(root, "wood"), "not found", "categories found: mono, poly")
	_, err = LoadImageFolderCategory(root, "docs")
	wantErr(t, err, `category "docs"`, filepath.Join(root, "docs", "train"), "not found")
	for _, bad := range []string{"", "mono/train", ".."} {
		_, err = LoadImageFolderCategory(root, bad)
		wantErr(t, err, "must be one folder name")
	}
	_, err = ImageFolderCategories(filepath.Join(root, "docs"))
	wantErr(t, err, "no folder in", "has a train/ folder")
	_, err = ImageFolderCategories(filepath.Join(root, "absent"))
	wantErr(t, err, "absent", "not found")
}
