package objects

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fmam/fmam/internal/data"
)

// Every binary16 value converts back to itself; values half-way between
// two neighbours round to the even one, values just off half-way to the
// nearer; overflow and underflow follow IEEE 754.
func TestHalf(t *testing.T) {
	for h := range 1 << 16 {
		f := fromHalf(uint16(h))
		if math.IsNaN(float64(f)) {
			if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
				t.Fatalf("%#04x decodes to NaN", h)
			}
			continue
		}
		if back := toHalf(f); back != uint16(h) {
			t.Fatalf("%#04x -> %g -> %#04x", h, f, back)
		}
	}
	// Positive finite neighbours a < b, including subnormals and the step
	// into the normals.
	for h := uint16(0); h < 0x7bff; h++ {
		a, b := fromHalf(h), fromHalf(h+1)
		mid := (a + b) / 2 // exact in float32
		even := h
		if h&1 == 1 {
			even = h + 1
		}
		if got := toHalf(mid); got != even {
			t.Fatalf("midpoint of %#04x and %#04x (%g) -> %#04x, want %#04x", h, h+1, mid, got, even)
		}
		if got := toHalf(math.Nextafter32(mid, 0)); got != h {
			t.Fatalf("just below the midpoint of %#04x and %#04x -> %#04x", h, h+1, got)
		}
		if got := toHalf(math.Nextafter32(mid, 1e9)); got != h+1 {
			t.Fatalf("just above the midpoint of %#04x and %#04x -> %#04x", h, h+1, got)
		}
	}
	for _, c := range []struct {
		f    float32
		want uint16
	}{
		{65504, 0x7bff}, {65519, 0x7bff}, {65520, 0x7c00}, {1e10, 0x7c00}, {-1e10, 0xfc00},
		{float32(math.Inf(1)), 0x7c00}, {1, 0x3c00}, {-2, 0xc000}, {0.5, 0x3800},
		{float32(math.Ldexp(1, -24)), 0x0001}, {float32(math.Ldexp(1, -25)), 0}, {float32(math.Ldexp(1.5, -25)), 0x0001},
		{1e-30, 0}, {float32(math.Copysign(0, -1)), 0x8000},
	} {
		if got := toHalf(c.f); got != c.want {
			t.Errorf("toHalf(%g) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	if h := toHalf(float32(math.NaN())); h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
		t.Errorf("NaN -> %#04x", h)
	}
}

// tinyDataset writes videos of tinyVideo frames in the frames layout and
// loads it as the training split.
func tinyDataset(t *testing.T, lengths ...int) *data.VideoDataset {
	t.Helper()
	root := t.TempDir()
	dir := filepath.Join(root, "training", "frames")
	for i, n := range lengths {
		tinyVideo(t, dir, string(rune('a'+i)), n)
	}
	ds, err := data.LoadFrames(root, data.Train, data.FramesOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestCacheWriteReadResume(t *testing.T) {
	ds := tinyDataset(t, 5, 6, 4)
	cfg := CubeConfig{T: 3, Size: 2, Stride: 1, Margin: 1}
	s := NewSet()
	for _, v := range ds.Videos {
		for f := range len(v.Frames) {
			s.Add(Box{Video: v.Name, Frame: f, X1: 0.5, Y1: 0.5, X2: 2.5, Y2: 1.5, Score: 0.9, Class: -1})
			s.Add(Box{Video: v.Name, Frame: f, X1: 0, Y1: 0, X2: 3.7, Y2: 2.9, Score: 0.6, Class: 1})
		}
	}
	// Cubes straight from ExtractVideo, the reference for the cache.
	want := map[string][][]float32{}
	for _, v := range ds.Videos {
		err := ExtractVideo(context.Background(), v, cfg.Select(s, v.Name, len(v.Frames)), cfg, func(_ int, c []float32) error {
			want[v.Name] = append(want[v.Name], slices.Clone(c))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// a: frames 1-3, b: 1-4, c: 1-2, two boxes each.
	if len(want["a"]) != 6 || len(want["b"]) != 8 || len(want["c"]) != 4 {
		t.Fatalf("cubes per video %d %d %d, want 6 8 4", len(want["a"]), len(want["b"]), len(want["c"]))
	}

	for _, dt := range []DType{Float32, Float16} {
		t.Run(string(dt), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cubes")
			var calls []Progress
			opt := CacheOptions{DType: dt, Progress: func(p Progress) { calls = append(calls, p) }}
			sum, err := WriteCache(context.Background(), dir, ds, s, cfg, opt)
			if err != nil {
				t.Fatal(err)
			}
			if sum != (CacheSummary{Videos: 3, Written: 3, Cubes: 18}) {
				t.Errorf("summary %+v", sum)
			}
			if len(calls) != 18 || calls[17] != (Progress{Video: "c", VideoIndex: 2, Videos: 3, Done: 4, Total: 4}) {
				t.Errorf("%d progress calls, last %+v", len(calls), calls[len(calls)-1])
			}
			names, err := CachedVideos(dir)
			if err != nil || !slices.Equal(names, []string{"a", "b", "c"}) {
				t.Fatalf("cached videos %v, %v", names, err)
			}
			for _, name := range names {
				vc, err := OpenVideoCubes(dir, name)
				if err != nil {
					t.Fatal(err)
				}
				if vc.Len() != len(want[name]) || vc.Index.Box(1).Class != 1 || vc.Index.Box(2).Frame != 2 {
					t.Errorf("video %s: %d cubes, box 1 %v, box 2 %v", name, vc.Len(), vc.Index.Box(1), vc.Index.Box(2))
				}
				for i := range vc.Len() {
					got, err := vc.Cube(i, nil)
					if err != nil {
						t.Fatal(err)
					}
					for j, w := range want[name][i] {
						if dt == Float16 {
							w = fromHalf(toHalf(w))
						}
						if got[j] != w {
							t.Fatalf("video %s cube %d value %d = %g, want %g", name, i, j, got[j], w)
						}
					}
				}
				vc.Close()
			}
			st, _ := os.Stat(dataPath(dir, "b"))
			if st.Size() != int64(8*cfg.Len()*dt.size()) {
				t.Errorf("b.cubes has %d bytes, want %d", st.Size(), 8*cfg.Len()*dt.size())
			}

			// A second run finds everything done and writes nothing.
			before, _ := os.Stat(dataPath(dir, "a"))
			sum, err = WriteCache(context.Background(), dir, ds, s, cfg, CacheOptions{DType: dt})
			if err != nil || sum != (CacheSummary{Videos: 3, Skipped: 3, Cubes: 18}) {
				t.Errorf("second run: %+v, %v", sum, err)
			}
			after, _ := os.Stat(dataPath(dir, "a"))
			if !after.ModTime().Equal(before.ModTime()) {
				t.Error("a finished video was rewritten")
			}
		})
	}

	t.Run("Interrupted", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "cubes")
		ctx, cancel := context.WithCancel(context.Background())
		// Cancel in the middle of video b.
		_, err := WriteCache(ctx, dir, ds, s, cfg, CacheOptions{Progress: func(p Progress) {
			if p.Video == "b" && p.Done == 3 {
				cancel()
			}
		}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
		ents, _ := os.ReadDir(dir)
		var files []string
		for _, e := range ents {
			files = append(files, e.Name())
		}
		if !slices.Equal(files, []string{"a.cubes", "a.json"}) {
			t.Errorf("after the interruption the folder holds %v, want only video a (no temp files)", files)
		}
		sum, err := WriteCache(context.Background(), dir, ds, s, cfg, CacheOptions{})
		if err != nil || sum != (CacheSummary{Videos: 3, Written: 2, Skipped: 1, Cubes: 18}) {
			t.Errorf("resumed: %+v, %v", sum, err)
		}
		// Damage: a truncated data file, changed boxes, changed settings.
		os.Truncate(dataPath(dir, "a"), 10)
		s2 := s.MapFrames(func(video string, frame int, boxes []Box) []Box {
			if video == "c" && frame == 1 {
				return boxes[:1]
			}
			return boxes
		})
		sum, err = WriteCache(context.Background(), dir, ds, s2, cfg, CacheOptions{})
		if err != nil || sum != (CacheSummary{Videos: 3, Written: 2, Skipped: 1, Cubes: 17}) {
			t.Errorf("after damage: %+v, %v; want a and c redone", sum, err)
		}
		cfg2 := cfg
		cfg2.Size = 3
		sum, err = WriteCache(context.Background(), dir, ds, s2, cfg2, CacheOptions{})
		if err != nil || sum.Written != 3 {
			t.Errorf("after a settings change: %+v, %v; want all redone", sum, err)
		}
		vc, err := OpenVideoCubes(dir, "a")
		if err != nil || vc.Index.Config.Size != 3 {
			t.Fatalf("reopened: %v", err)
		}
		vc.Close()
		_, err = OpenVideoCubes(dir, "zz")
		wantErr(t, err, dir, "video zz is not cached")
	})

	other := NewSet()
	other.Add(Box{Video: "q", Frame: 1, X1: 0, Y1: 0, X2: 1, Y2: 1})
	_, err := WriteCache(context.Background(), t.TempDir(), ds, other, cfg, CacheOptions{})
	wantErr(t, err, "video q", "validate the boxes")
}
