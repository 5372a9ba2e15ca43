package data

import (
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/fmam/fmam/internal/matfile"
	"github.com/fmam/fmam/internal/matfile/matfiletest"
	"github.com/fmam/fmam/internal/sharedtest"
)

func TestReadRangesMATPed2(t *testing.T) {
	ranges, err := ReadRangesMAT(filepath.Join(ped2Dir(t), "ped2.mat"), "gt")
	if err != nil {
		t.Fatal(err)
	}
	// The table of shared/data/ped2/README.md.
	want := "[[{61 180}] [{95 180}] [{1 146}] [{31 180}] [{1 129}] [{1 159}] [{46 180}] [{1 180}] [{1 120}] [{1 150}] [{1 180}] [{88 180}]]"
	if got := fmt.Sprint(ranges); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	_, err = ReadRangesMAT(filepath.Join(ped2Dir(t), "ped2.mat"), "labels")
	wantErr(t, err, "ped2.mat", `no variable "labels"`, `"gt"`)
}

// avenueMasks are the frame and non-empty-mask counts of CUHK Avenue's
// testing_label_mask files, from shared/data/labels/README.md.
var avenueMasks = [][2]int{
	{1439, 408}, {1211, 89}, {923, 87}, {947, 93}, {1007, 318}, {1283, 429}, {605, 123}, {36, 36},
	{1175, 289}, {841, 133}, {472, 144}, {1271, 190}, {549, 75}, {507, 74}, {1001, 90}, {740, 109},
	{426, 384}, {294, 294}, {248, 140}, {273, 154}, {76, 53},
}

func TestReadAvenueMaskLabels(t *testing.T) {
	dir := filepath.Join(sharedtest.Path(t), "data", "labels", "avenue", "ground_truth_demo", "testing_label_mask")
	videos := []int{8, 21, 19, 20, 18}
	if !testing.Short() {
		videos = videos[:0]
		for v := range avenueMasks {
			videos = append(videos, v+1)
		}
	}
	got := make([][2]int, len(videos))
	errs := make([]error, len(videos))
	var wg sync.WaitGroup
	for i, v := range videos {
		wg.Go(func() {
			l, err := ReadAvenueMaskLabels(filepath.Join(dir, fmt.Sprintf("%d_label.mat", v)))
			got[i], errs[i] = [2]int{len(l), count(l)}, err
		})
	}
	wg.Wait()
	frames, nonEmpty := 0, 0
	for i, v := range videos {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i] != avenueMasks[v-1] {
			t.Errorf("video %d: got %d frames, %d non-empty masks; want %v", v, got[i][0], got[i][1], avenueMasks[v-1])
		}
		frames += got[i][0]
		nonEmpty += got[i][1]
	}
	if !testing.Short() && (frames != 15324 || nonEmpty != 3712) {
		t.Errorf("totals: %d frames, %d non-empty; want 15324, 3712", frames, nonEmpty)
	}
}

func TestReadRangesMATShapes(t *testing.T) {
	w := matfiletest.Writer{Order: binary.LittleEndian}
	u8 := func(dims []int32, v ...byte) []byte {
		return w.Matrix(matfile.Uint8, 0, dims, "", w.Element(matfiletest.TypeUint8, v))
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.mat")
	writeFile(t, good, w.File(w.Compressed(w.Matrix(matfile.Cell, 0, []int32{1, 4}, "gt",
		u8([]int32{2, 1}, 3, 5),
		u8([]int32{2, 2}, 1, 2, 7, 9), // two ranges, column-major
		u8([]int32{1, 2}, 4, 4),
		w.Matrix(matfile.Double, 0, []int32{0, 0}, "", w.Element(matfiletest.TypeDouble, nil)),
	))))
	got, err := ReadRangesMAT(good, "gt")
	if err != nil {
		t.Fatal(err)
	}
	if s := fmt.Sprint(got); s != "[[{3 5}] [{1 2} {7 9}] [{4 4}] []]" {
		t.Errorf("got %s", s)
	}
	bad := filepath.Join(dir, "bad.mat")
	writeFile(t, bad, w.File(w.Matrix(matfile.Cell, 0, []int32{1, 2}, "gt", u8([]int32{2, 1}, 3, 5), u8([]int32{3, 1}, 1, 2, 3))))
	_, err = ReadRangesMAT(bad, "gt")
	wantErr(t, err, bad, "gt{2}", "2xK")
	notCell := filepath.Join(dir, "notcell.mat")
	writeFile(t, notCell, w.File(u8AsVar(w, "gt")))
	_, err = ReadRangesMAT(notCell, "gt")
	wantErr(t, err, notCell, "cell array")
}

func u8AsVar(w matfiletest.Writer, name string) []byte {
	return w.Matrix(matfile.Uint8, 0, []int32{2, 1}, name, w.Element(matfiletest.TypeUint8, []byte{1, 2}))
}
