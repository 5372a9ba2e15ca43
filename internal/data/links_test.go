package data

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"github.com/fmam/fmam/internal/matfile"
	"github.com/fmam/fmam/internal/matfile/matfiletest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// mirror recreates the tree at src under dst with real folders above depth
// and a symbolic link to the source entry for every entry at depth (files
// above depth are linked too): depth 1 links the top-level entries, the
// deepest depth links single files.
func mirror(t *testing.T, src, dst string, depth int) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	des, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		s, d := filepath.Join(src, de.Name()), filepath.Join(dst, de.Name())
		if depth > 1 && de.IsDir() {
			mirror(t, s, d, depth-1)
			continue
		}
		if err := os.Symlink(s, d); err != nil {
			t.Fatal(err)
		}
	}
}

// treeDepth is the depth of the deepest entry under dir.
func treeDepth(t *testing.T, dir string) int {
	t.Helper()
	deepest := 0
	err := filepath.WalkDir(dir, func(p string, _ os.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		if n := len(strings.Split(rel, string(filepath.Separator))); rel != "." && n > deepest {
			deepest = n
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return deepest
}

// relPaths rewrites every path under root in a loaded dataset to be
// relative to it, so that datasets loaded from two roots compare equal.
func relPaths(t *testing.T, v any, root string) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return strings.ReplaceAll(string(b), root, "<root>")
}

func writeAvenueLabels(t *testing.T, path string, anom ...bool) {
	t.Helper()
	w := matfiletest.Writer{Order: binary.LittleEndian}
	var cells [][]byte
	for _, a := range anom {
		m := []byte{0, 0, 0, 0}
		if a {
			m[3] = 1
		}
		cells = append(cells, w.Matrix(matfile.Uint8, 0, []int32{2, 2}, "", w.Element(matfiletest.TypeUint8, m)))
	}
	writeFile(t, path, w.File(w.Compressed(w.Matrix(matfile.Cell, 0, []int32{1, int32(len(anom))}, "volLabel", cells...))))
}

// linkLayouts are one small dataset of each layout the loaders read, with
// the loader to read it.
var linkLayouts = []struct {
	name string
	// base is the root's folder name (UCSD's loader reads it).
	base  string
	make  func(t *testing.T, root string)
	load  func(root string) (any, error)
	check func(t *testing.T, ds any)
}{
	{"frames", "ped2", func(t *testing.T, root string) {
		makeFrames(t, filepath.Join(root, "training", "frames"), map[string]int{"01": 3, "02": 4}, 0)
		makeFrames(t, filepath.Join(root, "testing", "frames"), map[string]int{"01": 3, "02": 2}, 0)
		makeFrames(t, filepath.Join(root, "testing", "pixel_masks"), map[string]int{"Test001_gt": 3}, 1)
		writeNPY(t, filepath.Join(root, "frame_labels_ped2.npy"), []uint8{0, 1, 1, 1, 0})
	}, func(root string) (any, error) {
		tr, err := LoadFrames(root, Train, FramesOptions{Name: "ped2"})
		if err != nil {
			return nil, err
		}
		te, err := LoadFrames(root, Test, FramesOptions{Name: "ped2"})
		return []*VideoDataset{tr, te}, err
	}, func(t *testing.T, ds any) {
		v := ds.([]*VideoDataset)
		if v[0].NumFrames() != 7 || v[1].NumFrames() != 5 || len(v[1].Videos[0].Masks) != 3 || fmt.Sprint(v[1].Labels()) != "[0 1 1 1 0]" {
			t.Errorf("frames layout: %+v", v)
		}
	}},
	{"ucsd", "UCSDped2", func(t *testing.T, root string) {
		makeFrames(t, filepath.Join(root, "Train"), map[string]int{"Train001": 3}, 1)
		makeFrames(t, filepath.Join(root, "Test"), map[string]int{"Test001": 3, "Test002": 2, "Test001_gt": 3}, 1)
		writeFile(t, filepath.Join(root, "Test", "UCSDped2.m"), []byte("TestVideoFile{end+1}.gt_frame = [2:3];\nTestVideoFile{end+1}.gt_frame = [1:1];\n"))
	}, func(root string) (any, error) {
		tr, err := LoadUCSD(root, Train)
		if err != nil {
			return nil, err
		}
		te, err := LoadUCSD(root, Test)
		return []*VideoDataset{tr, te}, err
	}, func(t *testing.T, ds any) {
		v := ds.([]*VideoDataset)
		if v[0].NumFrames() != 3 || len(v[1].Videos) != 2 || len(v[1].Videos[0].Masks) != 3 || fmt.Sprint(v[1].Labels()) != "[0 1 1 1 0]" {
			t.Errorf("UCSD layout: %+v", v)
		}
	}},
	{"avenue", "avenue", func(t *testing.T, root string) {
		makeFrames(t, filepath.Join(root, "testing", "frames"), map[string]int{"01": 3, "02": 2}, 0)
		writeAvenueLabels(t, filepath.Join(root, "testing_label_mask", "1_label.mat"), false, true, true)
		writeAvenueLabels(t, filepath.Join(root, "testing_label_mask", "2_label.mat"), true, false)
	}, func(root string) (any, error) {
		return LoadAvenue(root, Test, FrameLabels{})
	}, func(t *testing.T, ds any) {
		if got := fmt.Sprint(ds.(*VideoDataset).Labels()); got != "[0 1 1 1 0]" {
			t.Errorf("avenue labels %s", got)
		}
	}},
	{"shanghaitech", "shanghaitech", func(t *testing.T, root string) {
		makeFrames(t, filepath.Join(root, "testing", "frames"), map[string]int{"01_0014": 3, "12_0142": 2}, 0)
		writeNPY(t, filepath.Join(root, "testing", "test_frame_mask", "01_0014.npy"), []int64{0, 1, 0})
		writeNPY(t, filepath.Join(root, "testing", "test_frame_mask", "12_0142.npy"), []int64{1, 1})
		writeFile(t, filepath.Join(root, "testing", "test_pixel_mask", "01_0014.npy"), rawNPY("|u1", false, []int{3, 1, 1}, []byte{0, 1, 0}))
	}, func(root string) (any, error) {
		return LoadShanghaiTech(root, Test, FrameLabels{})
	}, func(t *testing.T, ds any) {
		v := ds.(*VideoDataset)
		if fmt.Sprint(v.Labels()) != "[0 1 0 1 1]" || v.Videos[0].MaskVolume == "" {
			t.Errorf("shanghaitech: %+v", v)
		}
	}},
	{"mvtec", "mvtec", func(t *testing.T, root string) {
		makeMVTec(t, root, "carpet")
	}, func(root string) (any, error) {
		return LoadMVTec(root, "carpet")
	}, func(t *testing.T, ds any) {
		v := ds.(*ImageDataset)
		if len(v.Train) != 3 || len(v.Test) != 5 || !v.HasMasks() {
			t.Errorf("mvtec: %+v", v)
		}
	}},
	{"folder", "mine", func(t *testing.T, root string) {
		px := func(x, y int) uint8 { return uint8(x + y) }
		writeGrayPNG(t, filepath.Join(root, "train", "a.png"), 3, 3, px)
		writeGrayPNG(t, filepath.Join(root, "train", "more", "b.png"), 3, 3, px)
		writeGrayPNG(t, filepath.Join(root, "test", "good", "c.png"), 3, 3, px)
		writeGrayPNG(t, filepath.Join(root, "test", "dent", "d.png"), 3, 3, px)
		writeGrayPNG(t, filepath.Join(root, "test", "dent", "e.png"), 3, 3, px)
		writeGrayPNG(t, filepath.Join(root, "ground_truth", "dent", "d_mask.png"), 3, 3, px)
	}, func(root string) (any, error) {
		return LoadImageFolder(root)
	}, func(t *testing.T, ds any) {
		v := ds.(*ImageDataset)
		if len(v.Train) != 2 || len(v.Test) != 3 || v.Test[0].MaskPath == "" || v.Test[1].HasMask() {
			t.Errorf("folder: %+v", v)
		}
	}},
	{"folder categories", "mine", func(t *testing.T, root string) {
		px := func(x, y int) uint8 { return uint8(x * y) }
		for _, c := range []string{"mono", "poly"} {
			writeGrayPNG(t, filepath.Join(root, c, "train", "sub", "a.png"), 3, 3, px)
			writeGrayPNG(t, filepath.Join(root, c, "test", "good", "b.png"), 3, 3, px)
			writeGrayPNG(t, filepath.Join(root, c, "test", "bad", "c.png"), 3, 3, px)
			writeGrayPNG(t, filepath.Join(root, c, "ground_truth", "bad", "c_mask.png"), 3, 3, px)
		}
	}, func(root string) (any, error) {
		cats, err := ImageFolderCategories(root)
		if err != nil {
			return nil, err
		}
		var out []*ImageDataset
		for _, c := range cats {
			ds, err := LoadImageFolderCategory(root, c)
			if err != nil {
				return nil, err
			}
			out = append(out, ds)
		}
		return out, nil
	}, func(t *testing.T, ds any) {
		v := ds.([]*ImageDataset)
		if len(v) != 2 || v[0].Name != "mono" || len(v[1].Train) != 1 || len(v[1].Test) != 2 || !v[1].HasMasks() {
			t.Errorf("folder categories: %+v", v)
		}
	}},
}

// TestLoadersFollowLinks loads every layout from a copy made of symbolic
// links at each depth (video and class folders, train/<sub>, mask and label
// folders, single files) and wants the same dataset as from the original.
func TestLoadersFollowLinks(t *testing.T) {
	for _, l := range linkLayouts {
		t.Run(l.name, func(t *testing.T) {
			store := filepath.Join(t.TempDir(), l.base)
			l.make(t, store)
			want, err := l.load(store)
			if err != nil {
				t.Fatal(err)
			}
			l.check(t, want)
			for depth := 1; depth <= treeDepth(t, store); depth++ {
				root := filepath.Join(t.TempDir(), l.base)
				mirror(t, store, root, depth)
				got, err := l.load(root)
				if err != nil {
					t.Fatalf("links at depth %d: %v", depth, err)
				}
				if g, w := relPaths(t, got, root), relPaths(t, want, store); g != w {
					t.Errorf("links at depth %d:\n got %s\nwant %s", depth, g, w)
				}
			}
		})
	}
}

// TestLoadersRefuseLinkLoops puts a link to a folder that contains it
// where each loader lists folders, and a broken link where a folder or a
// frame was meant to be.
func TestLoadersRefuseLinkLoops(t *testing.T) {
	layout := func(name string) (string, func(string) (any, error)) {
		for _, l := range linkLayouts {
			if l.name == name {
				root := filepath.Join(t.TempDir(), l.base)
				l.make(t, root)
				return root, l.load
			}
		}
		t.Fatalf("no layout %s", name)
		return "", nil
	}
	for _, tc := range []struct {
		layout, link, target string
		parts                []string
	}{
		{"frames", "testing/frames/03", "..", []string{"loop"}},
		{"frames", "training/frames/03", "../../training", []string{"loop"}},
		{"frames", "testing/pixel_masks/02", "../..", []string{"loop"}},
		{"ucsd", "Test/Test002_gt", ".", []string{"loop"}},
		{"mvtec", "carpet/test/bent", "../..", []string{"loop"}},
		{"mvtec", "carpet/train/good/x", ".", nil}, // a folder among images is ignored
		{"folder", "train/again", ".", []string{"loop"}},
		{"folder", "test/dent/f.png", "missing.png", []string{"cannot follow", "missing.png"}},
		{"folder", "test/gone", "/nonexistent/folder", []string{"cannot follow", "/nonexistent/folder"}},
		{"folder categories", "wood", "wood", []string{"cannot follow", "wood"}}, // a link to itself
		{"frames", "testing/frames/02/009.png", "/nonexistent/009.png", []string{"cannot follow"}},
	} {
		t.Run(tc.layout+" "+tc.link, func(t *testing.T) {
			root, load := layout(tc.layout)
			link := filepath.Join(root, tc.link)
			if err := os.Symlink(tc.target, link); err != nil {
				t.Fatal(err)
			}
			_, err := load(root)
			if tc.parts == nil {
				if err != nil {
					t.Fatalf("a link to a folder among images: %v", err)
				}
				return
			}
			wantErr(t, err, append([]string{link}, tc.parts...)...)
		})
	}
}

func TestReadDirKinds(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "data", "f.png"), []byte("x"))
	writeFile(t, filepath.Join(dir, "data", ".hidden"), []byte("x"))
	links := map[string]string{"to-file.png": "data/f.png", "to-dir": "data", "broken": "nope", "dot-link": "data/.hidden"}
	for name, target := range links {
		if err := os.Symlink(filepath.Join(dir, target), filepath.Join(dir, "data", name)); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := readDir(filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	type kind struct{ dir, file, bad bool }
	got := map[string]kind{}
	for _, e := range entries {
		got[e.name] = kind{e.dir, e.file, e.err != nil}
	}
	want := map[string]kind{
		"f.png": {file: true}, "to-file.png": {file: true}, "to-dir": {dir: true}, "broken": {bad: true}, "dot-link": {file: true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
