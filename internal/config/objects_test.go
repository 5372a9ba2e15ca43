package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/config"
)

// data.objects: unset keys stay nil (the official setting) and the block
// is left out of config.yaml; set keys survive the round trip through the
// resolved YAML; bad values are errors naming the key.
func TestObjectsKeys(t *testing.T) {
	c, err := config.Load("", []byte("name: x\n"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	o := c.Data.Objects
	if o.Score != nil || o.MinSide != nil || o.DropInside != nil || o.StaticThreshold != nil || o.TrainStride != 0 {
		t.Errorf("unset objects block decoded as %+v", o)
	}
	y, _ := c.YAML()
	if strings.Contains(string(y), "objects") {
		t.Errorf("an unset objects block is written:\n%s", y)
	}

	c, err = config.Load("", []byte(`name: x
data:
  objects: {test_boxes: t.csv, train_boxes: a.pkl, score: 0, min_side: 12.5, drop_inside: false, train_stride: 3, static_threshold: 0.2, cache: c}
`), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	o = c.Data.Objects
	if o.Score == nil || *o.Score != 0 || *o.MinSide != 12.5 || *o.DropInside || o.TrainStride != 3 || *o.StaticThreshold != 0.2 || filepath.Base(o.TrainBoxes) != "a.pkl" || !filepath.IsAbs(o.TrainBoxes) || o.Cache != "c" {
		t.Errorf("objects block decoded as %+v", o)
	}
	y, _ = c.YAML()
	p := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(p, y, 0o644); err != nil {
		t.Fatal(err)
	}
	c2, err := config.Load(p, nil, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if y2, _ := c2.YAML(); string(y2) != string(y) {
		t.Errorf("objects block changes on reload:\n%s\n---\n%s", y, y2)
	}

	for _, tc := range []struct{ yaml, want string }{
		{"detector: yolo.pt", "data.objects.detector"},
		{"detector: foreground, test_boxes: t.csv", "not both"},
		{"layout: yolov8, detector: foreground", "data.objects.layout"},
		{"score: 1", "data.objects.score"},
		{"fg_union: true, test_boxes: t.csv", "foreground detector"},
		{"detector: foreground, fg_threshold: 0", "data.objects.fg_threshold"},
		{"detector: foreground, fg_min_area: -5", "data.objects.fg_min_area"},
		{"min_side: -1", "data.objects.min_side"},
		{"train_stride: -2", "data.objects.train_stride"},
		{"static_threshold: 2", "data.objects.static_threshold"},
		{"scroe: 0.5", "unknown key data.objects.scroe"},
	} {
		_, err := config.Load("", []byte("name: x\ndata: {objects: {"+tc.yaml+"}}\n"), "", nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %q", tc.yaml, err, tc.want)
		}
	}
}
