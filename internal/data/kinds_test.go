package data

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadFrameKinds(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, FrameKindsFile)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadFrameKinds(write("video,frame,kind\n01,1,odd\n01,0,normal\n02,0,fast\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !slices.Equal(got["01"], []string{"normal", "odd"}) || !slices.Equal(got["02"], []string{"fast"}) {
		t.Errorf("got %v", got)
	}
	for _, c := range []struct{ text, want string }{
		{"v,f,k\n", "header"},
		{"video,frame,kind\n01,x,normal\n", `frame "x"`},
		{"video,frame,kind\n01,0,normal\n01,0,odd\n", "appears twice"},
		{"video,frame,kind\n01,1,normal\n", "no row for frame 0"},
		{"video,frame,kind\n01,0,\n", "empty"},
	} {
		if _, err := ReadFrameKinds(write(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one mentioning %s", c.text, err, c.want)
		}
	}
}
