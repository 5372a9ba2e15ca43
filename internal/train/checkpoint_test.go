package train_test

import (
	"bytes"
	"encoding/gob"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/train"
)

// A checkpoint round-trips; a flipped byte anywhere in it, a cut file and
// an appended byte are refused with the file and the way out; a format 1
// checkpoint (a bare gob, no checksum) still loads and says its format.
func TestCheckpointIntegrity(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "checkpoint.bin")
	want := &train.Checkpoint{Step: 7, Tensors: map[string][]float32{"w": {0.0565, -1, 2.5}, "b": {3}}, Data: []byte{1, 2, 3}, Fingerprint: "fp"}
	if err := train.SaveCheckpoint(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := train.LoadCheckpoint(path)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: %+v, %v; want %+v", got, err, want)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damaged := map[string][]byte{
		"flipped in the payload": flip(good, len(good)-5),
		"flipped in the header":  flip(good, 10),
		"flipped in the magic":   flip(good, 0),
		"truncated":              good[:len(good)-9],
		"cut in the header":      good[:12],
		"appended to":            append(bytes.Clone(good), 0),
		"empty":                  {},
	}
	for name, b := range damaged {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := train.LoadCheckpoint(path)
		if err == nil {
			t.Errorf("%s: accepted (step %d)", name, c.Step)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, path) || !strings.Contains(msg, "delete it to restart this stage") {
			t.Errorf("%s: %q does not name the file and the way out", name, msg)
		}
	}

	// A checkpoint of an older fmam: the gob alone, format 1.
	var old bytes.Buffer
	v1 := *want
	v1.Format = 1
	if err := gob.NewEncoder(&old).Encode(&v1); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, old.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = train.LoadCheckpoint(path)
	if err != nil || got.Format != 1 || !reflect.DeepEqual(got.Tensors, want.Tensors) {
		t.Errorf("format 1 checkpoint: %+v, %v", got, err)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0x40
	return c
}
