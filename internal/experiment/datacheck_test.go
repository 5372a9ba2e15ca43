package experiment_test

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/experiment"
	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/sharedtest"
)

// The shipped Ped2 configs pass the data check on the real Ped2 in
// ../shared: every frame's header, the test frames decoded in full, the
// labels and, for Jigsaw-VAD and PKG-Net, the box files against the
// frames.
func TestDataCheckPed2(t *testing.T) {
	sharedtest.Path(t, "data", "ped2")
	gradcheck.Runtime(t)
	lib, _ := ort.FindLibrary("", "")
	for _, name := range []string{"ped2.yaml", "ped2-jigsaw.yaml", "ped2-pkgnet.yaml"} {
		t.Run(name, func(t *testing.T) {
			cfg, err := config.Load(filepath.Join("..", "..", "configs", name), nil, "cpu-small", map[string]any{"ort_lib": lib, "device": "cpu"})
			if err != nil {
				t.Fatal(err)
			}
			var logs bytes.Buffer
			log := slog.New(slog.NewTextHandler(&logs, nil))
			dir := filepath.Join(t.TempDir(), "run")
			e, err := experiment.Open(cfg, dir, lib, log, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if err := e.CheckData(context.Background(), baseline.DataUse{Train: true, Test: true}); err != nil {
				t.Fatal(err)
			}
			line := ""
			for _, l := range strings.Split(logs.String(), "\n") {
				if strings.Contains(l, "checked ") {
					line = l
				}
			}
			t.Log(line)
			// 2,550 training and 1,020 test frames, and the box files.
			if !strings.Contains(line, "checked 3,5") || !strings.Contains(line, "1,020 decoded in full") {
				t.Errorf("log line %q: want the 3,570 frames checked, the test frames decoded", line)
			}
		})
	}
}
