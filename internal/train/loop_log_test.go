package train_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/fmam/fmam/internal/gradcheck"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/train"
)

// The ProgressLog observer's lines and estimate reach the caller's logger: with a
// 1 ns interval every step logs, and with a 1 ns threshold the estimate is
// a warning carrying the hint.
func TestLoopLogsProgressAndEstimate(t *testing.T) {
	rt := gradcheck.Runtime(t)
	r, err := train.NewRunner(rt, buildTrain(t), ort.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b bytes.Buffer
	const steps, hint = 10, "use --preset cpu-small"
	log := slog.New(slog.NewJSONHandler(&b, nil))
	_, err = train.Loop(context.Background(), r, &source{seed: 4}, train.LoopConfig{Steps: steps, LR: 0.01, Logger: log,
		Observers: []train.Observer{&train.ProgressLog{Log: log, Label: "student", Every: time.Nanosecond, LongAfter: time.Nanosecond, LongHint: hint}}})
	if err != nil {
		t.Fatal(err)
	}
	var progress, warns int
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		switch m["msg"] {
		case "training":
			progress++
			if m["stage"] != "student" || m["of"] != float64(steps) {
				t.Errorf("progress line %v", m)
			}
		case "long training stage":
			warns++
			if m["level"] != "WARN" || m["hint"] != hint || m["steps"] != float64(steps) {
				t.Errorf("estimate line %v", m)
			}
			if ms, _ := m["step_ms"].(string); ms == "" || ms == "0.0" {
				t.Errorf("estimate measured no step time: %v", m)
			}
		}
	}
	if progress != steps || warns != 1 {
		t.Errorf("%d progress lines and %d warnings, want %d and 1:\n%s", progress, warns, steps, b.String())
	}
}
