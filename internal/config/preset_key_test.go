package config

import (
	"strings"
	"testing"
)

// An unknown key in a preset names the preset (issue 22: it was reported
// as the file's).
func TestUnknownPresetKeyNamesPreset(t *testing.T) {
	y := `
name: p
task: video
data: {kind: synth-video, size: 32, frames: 4, channels: 1}
presets:
  small:
    train: {stepz: 3}
`
	if _, err := Load("", []byte(y), "", nil); err != nil {
		t.Fatalf("without the preset: %v", err)
	}
	_, err := Load("", []byte(y), "small", nil)
	for _, want := range []string{"preset small: unknown key train.stepz", "known keys"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
}
