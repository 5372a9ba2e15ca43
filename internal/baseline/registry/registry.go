// Package registry is the list of baselines; adding one is one line here.
package registry

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/baseline/draem"
	"github.com/fmam/fmam/internal/baseline/jigsaw"
	"github.com/fmam/fmam/internal/baseline/mnad"
	"github.com/fmam/fmam/internal/baseline/pkgnet"
	"github.com/fmam/fmam/internal/baseline/recon"
	"github.com/fmam/fmam/internal/config"
)

// Baselines lists the baselines fmam can boost. Adding one is its package
// under internal/baseline and one line here.
func Baselines() []baseline.Baseline {
	return []baseline.Baseline{
		mnad.New(),
		draem.New(),
		jigsaw.New(),
		pkgnet.New(),
		recon.New(),
		recon.NewVideo(),
	}
}

// Lookup returns the baseline model.arch names, checked against the
// config's task and data kind.
func Lookup(cfg *config.Config) (baseline.Baseline, error) {
	var names []string
	for _, b := range Baselines() {
		if !slices.Contains(names, b.Arch()) {
			names = append(names, b.Arch())
		}
		if b.Arch() != cfg.Model.Arch {
			continue
		}
		t := b.Task()
		if t.Kind() != cfg.Task && hasTask(cfg.Model.Arch, cfg.Task) {
			continue // the arch has a baseline of the config's task too (reconstruction)
		}
		if t.Kind() != cfg.Task {
			return nil, fmt.Errorf("model.arch %s is a %s baseline but task is %s: for %s data set model.arch to %s; for %s data set task: %s",
				b.Arch(), t.Kind(), cfg.Task, cfg.Task, orList(archsOf(cfg.Task)), t.Kind(), t.Kind())
		}
		if !slices.Contains(t.DataKinds(), cfg.Data.Kind) {
			if other, ok := taskOfKind(cfg.Data.Kind); ok {
				return nil, fmt.Errorf("data.kind %q is not a %s data set but %s one: set task: %s (task is %s; video is the default) and model.arch to %s",
					cfg.Data.Kind, t.Kind(), article(string(other)), other, cfg.Task, orList(archsOf(other)))
			}
			return nil, fmt.Errorf("data.kind %q is not a %s data set: use one of %v", cfg.Data.Kind, t.Kind(), t.DataKinds())
		}
		if err := b.CheckConfig(cfg); err != nil {
			return nil, err
		}
		if c, ok := b.(baseline.Configurable); ok {
			return c.Configure(cfg)
		}
		return b, nil
	}
	return nil, fmt.Errorf("model.arch %q: use one of %s", cfg.Model.Arch, strings.Join(names, ", "))
}

// hasTask says whether some baseline named arch works on task.
func hasTask(arch string, task config.Task) bool {
	return slices.ContainsFunc(Baselines(), func(b baseline.Baseline) bool { return b.Arch() == arch && b.Task().Kind() == task })
}

// LookupArch returns the baseline of an architecture name, for commands
// that take no config (bench).
func LookupArch(arch string) (baseline.Baseline, error) {
	var names []string
	for _, b := range Baselines() {
		if b.Arch() == arch {
			return b, nil
		}
		names = append(names, b.Arch())
	}
	return nil, fmt.Errorf("unknown model %q: use one of %s", arch, strings.Join(names, ", "))
}

// archsOf lists the baselines of a task.
func archsOf(task config.Task) []string {
	var out []string
	for _, b := range Baselines() {
		if b.Task().Kind() == task && !slices.Contains(out, b.Arch()) {
			out = append(out, b.Arch())
		}
	}
	return out
}

// taskOfKind is the task whose baselines read a data kind.
func taskOfKind(kind string) (config.Task, bool) {
	for _, b := range Baselines() {
		if slices.Contains(b.Task().DataKinds(), kind) {
			return b.Task().Kind(), true
		}
	}
	return "", false
}

func orList(names []string) string {
	switch len(names) {
	case 0:
		return "none"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// article is "an image" or "a video".
func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an " + word
	}
	return "a " + word
}
