package experiment

import (
	"context"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/datacheck"
)

// dataChecks remembers the data checks that passed, so that 'fmam run'
// (train, then eval) and the seeds of a multi-seed run check each file
// once. Seed Envs share their run's.
type dataChecks struct {
	mu   sync.Mutex
	done map[string]bool
}

func (d *dataChecks) seen(key string) bool {
	if d == nil {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.done[key]
}

func (d *dataChecks) mark(key string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.done[key] = true
}

func newDataChecks() *dataChecks { return &dataChecks{done: map[string]bool{}} }

// CheckData checks every file a command reads before it reads any for
// real (package datacheck): the splits use names, of every unit, the
// ONNX files the config names and the baseline's own files (box files).
// All problems come back as one error that lists them with their paths;
// the log says how many files were checked and how long it took.
// Synthetic data sets are generated first (into the run folder), as the
// stages would.
func (e *Env) CheckData(ctx context.Context, use baseline.DataUse) error {
	key := e.dataKey(use)
	for _, k := range []string{key, e.dataKey(baseline.DataUse{Train: true, Test: true})} {
		if e.checks.seen(k) {
			return nil
		}
	}
	t0 := time.Now()
	units, err := e.Units(ctx)
	if err != nil {
		return err
	}
	p := &datacheck.Plan{}
	e.planModels(units, p)
	for _, u := range units {
		if err := u.PlanData(ctx, e.Baseline, use, p); err != nil {
			p.Problem(inUnit(u, err))
		}
	}
	rep, err := datacheck.Run(ctx, p, datacheck.Options{Log: e.Log, Start: t0})
	if err != nil {
		return err
	}
	if err := rep.Err(); err != nil {
		return err
	}
	e.checks.mark(key)
	return nil
}

// dataKey names a check of the run's data for dataChecks. A seed folder
// reads its own generated data set but the run's real one.
func (e *Env) dataKey(use baseline.DataUse) string {
	var b strings.Builder
	b.WriteString(e.Cfg.Data.Root)
	if strings.HasPrefix(e.Cfg.Data.Kind, "synth-") {
		b.WriteString("|" + e.Layout.Root)
	}
	if use.Train {
		b.WriteString("|train")
	}
	if use.Test {
		b.WriteString("|test")
	}
	return b.String()
}

// planModels adds the ONNX files the config names: the imported teacher,
// another run's teacher when it is trained already (TrainTeacher says
// what to do when it is not), the mimic and PKG-Net backbones and an
// ONNX box detector.
func (e *Env) planModels(units []*baseline.Unit, p *datacheck.Plan) {
	m := e.Cfg.Model
	switch {
	case m.Teacher != "":
		p.Models = append(p.Models, datacheck.Model{Path: m.Teacher, Key: "model.teacher"})
	case m.TeacherRun != "":
		for _, u := range units {
			if t := e.TeacherPath(u); fileExists(t) {
				p.Models = append(p.Models, datacheck.Model{Path: t, Key: "model.teacher_run " + m.TeacherRun})
			}
		}
	}
	if m.Mimic.Backbone != "" {
		p.Models = append(p.Models, datacheck.Model{Path: m.Mimic.Backbone, Key: "model.mimic.backbone"})
	}
	if m.PKGNet.Backbone != "" && m.Arch == "pkgnet" {
		p.Models = append(p.Models, datacheck.Model{Path: m.PKGNet.Backbone, Key: "model.pkgnet.backbone"})
	}
	if d := e.Cfg.Data.Objects.Detector; strings.HasSuffix(strings.ToLower(d), ".onnx") {
		p.Models = append(p.Models, datacheck.Model{Path: d, Key: "data.objects.detector"})
	}
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
