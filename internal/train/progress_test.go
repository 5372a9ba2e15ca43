package train

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// logLines decodes the JSON lines a slog JSON handler wrote.
func logLines(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// logCase is a stage as the ProgressLog observer sees it.
type logCase struct {
	Steps     int
	Label     string
	LogEvery  time.Duration
	LongAfter time.Duration
	LongHint  string
}

// runProgress feeds a ProgressLog the finish times of steps
// start+1..steps on a fake clock: the first step ends at first, every later
// one dt after the previous. With bar, a progress bar shows progress.
func runProgress(t *testing.T, cfg logCase, start int, bar bool, first, dt time.Duration) []map[string]any {
	t.Helper()
	var b bytes.Buffer
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &ProgressLog{Log: slog.New(slog.NewJSONHandler(&b, nil)), Label: cfg.Label, Every: cfg.LogEvery, LongAfter: cfg.LongAfter, LongHint: cfg.LongHint}
	if bar {
		p.Every = -1
	}
	if err := p.Init(LoopInfo{Start: start, Steps: cfg.Steps, Time: t0}); err != nil {
		t.Fatal(err)
	}
	now := t0.Add(first)
	for done := start + 1; done <= cfg.Steps; done++ {
		if err := p.Record(StepInfo{Step: done, Result: Result{Loss: 1 / float64(done)}, Time: now}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(dt)
	}
	return logLines(t, &b)
}

func messages(lines []map[string]any, msg string) []map[string]any {
	return slices.DeleteFunc(slices.Clone(lines), func(m map[string]any) bool { return m["msg"] != msg })
}

func TestProgressLinesByTime(t *testing.T) {
	// Step 1 ends at 20 s (warm-up), then one step a second: step k ends at
	// 20+(k-1) s. Lines come once 30 s have passed since the last one (at
	// 30, 60, 90 s: steps 11, 41, 71) and at the end (step 100, 119 s).
	lines := runProgress(t, logCase{Steps: 100, Label: "teacher"}, 0, false, 20*time.Second, time.Second)
	prog := messages(lines, "training")
	var steps []float64
	for _, m := range prog {
		steps = append(steps, m["step"].(float64))
	}
	if want := []float64{11, 41, 71, 100}; !slices.Equal(steps, want) {
		t.Fatalf("progress lines at steps %v, want %v", steps, want)
	}
	// The rate excludes the warm-up step: 1 step/s, so 89 s left at step 11.
	if m := prog[0]; m["steps_per_s"] != "1" || m["eta"] != float64(89*time.Second) || m["stage"] != "teacher" || m["of"] != float64(100) {
		t.Errorf("first line %v", m)
	}
	// The estimate comes after 5 timed steps (step 6): 100 steps of 1 s.
	est := messages(lines, "training time estimate")
	if len(est) != 1 {
		t.Fatalf("%d estimate lines, want 1: %v", len(est), lines)
	}
	if m := est[0]; m["level"] != "INFO" || m["step_ms"] != "1000.0" || m["total"] != float64(100*time.Second) || m["left"] != float64(94*time.Second) || m["steps"] != float64(100) {
		t.Errorf("estimate %v", m)
	}
	if slices.IndexFunc(lines, func(m map[string]any) bool { return m["msg"] == "training time estimate" }) != 0 {
		t.Errorf("the estimate is not the first line: %v", lines)
	}
}

func TestProgressEstimate(t *testing.T) {
	hint := "use --preset cpu-small"
	tests := []struct {
		name      string
		cfg       logCase
		start     int
		bar       bool
		dt        time.Duration
		level     string
		total     time.Duration
		hint      bool
		periodic  int
		estimates int
	}{
		// 1000 steps of 2 s: 33 min, over the default 30 min.
		{"long warns with hint", logCase{Steps: 1000, LongHint: hint}, 0, false, 2 * time.Second, "WARN", 2000 * time.Second, true, -1, 1},
		{"long without hint", logCase{Steps: 1000}, 0, false, 2 * time.Second, "WARN", 2000 * time.Second, false, -1, 1},
		{"under the threshold", logCase{Steps: 100, LongHint: hint}, 0, false, 2 * time.Second, "INFO", 200 * time.Second, false, -1, 1},
		{"own threshold", logCase{Steps: 100, LongHint: hint, LongAfter: time.Minute}, 0, false, 2 * time.Second, "WARN", 200 * time.Second, true, -1, 1},
		{"never warn", logCase{Steps: 1000, LongHint: hint, LongAfter: -1}, 0, false, 2 * time.Second, "INFO", 2000 * time.Second, false, -1, 1},
		// Slow steps: the estimate comes after 10 s, here the second step.
		{"slow steps", logCase{Steps: 50}, 0, false, 20 * time.Second, "INFO", 1000 * time.Second, false, -1, 1},
		// Resumed at 900 of 1000: the estimate covers the 100 steps left.
		{"resumed", logCase{Steps: 1000, LongHint: hint}, 900, false, 2 * time.Second, "INFO", 200 * time.Second, false, -1, 1},
		// A bar shows progress: no periodic lines, but the estimate.
		{"bar", logCase{Steps: 100}, 0, true, 2 * time.Second, "INFO", 200 * time.Second, false, 0, 1},
		// Own interval: 2 s steps, a line every 10 s = 5 steps, 20 of 100.
		{"interval", logCase{Steps: 100, LogEvery: 10 * time.Second}, 0, false, 2 * time.Second, "INFO", 200 * time.Second, false, 20, 1},
		// Too short to estimate anything before it is over: the final line only.
		{"short", logCase{Steps: 3}, 0, false, time.Second, "", 0, false, 1, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			lines := runProgress(t, tc.cfg, tc.start, tc.bar, tc.dt, tc.dt)
			if tc.periodic >= 0 {
				if n := len(messages(lines, "training")); n != tc.periodic {
					t.Errorf("%d progress lines, want %d", n, tc.periodic)
				}
			}
			var est []map[string]any
			for _, m := range lines {
				if m["msg"] != "training" {
					est = append(est, m)
				}
			}
			if len(est) != tc.estimates {
				t.Fatalf("%d estimate lines, want %d: %v", len(est), tc.estimates, lines)
			}
			if tc.estimates == 0 {
				return
			}
			m := est[0]
			if m["level"] != tc.level || m["total"] != float64(tc.total) {
				t.Errorf("estimate level %v total %v, want %s %v", m["level"], m["total"], tc.level, tc.total)
			}
			if got, has := m["hint"]; has != tc.hint || has && got != hint {
				t.Errorf("hint %v (present %v), want present %v", got, has, tc.hint)
			}
		})
	}
}
