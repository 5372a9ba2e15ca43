package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// writtenPath is a path key's value as written and what it was resolved
// against.
type writtenPath struct {
	written, against string
}

// PathKeys are the keys that name files or folders. A relative value in a
// config file is resolved against the file's folder; in an embedded
// config, an FMAM_* variable or a flag, against the working directory.
// runs_dir is not among them: like --run, it is where output goes, and is
// relative to the working directory.
func PathKeys() []string {
	return []string{"data.root", "data.labels", "data.textures", "model.teacher", "model.teacher_run", "model.mimic.backbone", "ort_lib",
		"data.objects.train_boxes", "data.objects.test_boxes", "data.objects.detector", "model.pkgnet.backbone"}
}

// path returns a pointer to the field of a path key.
func (c *Config) path(key string) *string {
	switch key {
	case "data.root":
		return &c.Data.Root
	case "data.labels":
		return &c.Data.Labels
	case "data.textures":
		return &c.Data.Textures
	case "model.teacher":
		return &c.Model.Teacher
	case "data.objects.train_boxes":
		return &c.Data.Objects.TrainBoxes
	case "data.objects.test_boxes":
		return &c.Data.Objects.TestBoxes
	case "data.objects.detector":
		return &c.Data.Objects.Detector
	case "model.teacher_run":
		return &c.Model.TeacherRun
	case "model.mimic.backbone":
		return &c.Model.Mimic.Backbone
	case "ort_lib":
		return &c.OrtLib
	case "model.pkgnet.backbone":
		return &c.Model.PKGNet.Backbone
	}
	panic("config: no path key " + key)
}

// resolvePaths makes every path key absolute. base is the config file's
// folder ("" for an embedded config); fromCWD marks keys set by FMAM_*
// variables or flags. A relative path of a file that names nothing there
// but does name something relative to the working directory is taken from
// there, with a warning: configs written before paths were resolved
// against their file (run folders' config.yaml among them) meant that.
func (c *Config) resolvePaths(base string, fromCWD map[string]bool, file string) error {
	c.paths = map[string]writtenPath{}
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("resolve paths: %w", err)
	}
	for _, k := range PathKeys() {
		p := c.path(k)
		w := *p
		if w == "" || notPath(k, w) {
			continue
		}
		against := cwd
		if base != "" && !fromCWD[k] {
			if against, err = filepath.Abs(base); err != nil {
				return fmt.Errorf("resolve %s: %w", k, err)
			}
		}
		r := w
		if !filepath.IsAbs(w) {
			r = filepath.Join(against, w)
			if against != cwd && !exists(r) && exists(filepath.Join(cwd, w)) {
				old := r
				r, against = filepath.Join(cwd, w), cwd
				c.warnings = append(c.warnings, fmt.Sprintf("%s %q: nothing at %s (relative to %s, where paths in a config resolve), using %s (relative to the working directory) as fmam did before; write the path relative to the config file", k, w, old, file, r))
			}
		}
		*p = filepath.Clean(r)
		c.paths[k] = writtenPath{written: w, against: against}
	}
	return nil
}

// notPath reports a path key's value that names no file: the built-in
// foreground detector or STC motion boxes.
func notPath(k, v string) bool {
	return k == "data.objects.detector" && (v == DetectorForeground || v == DetectorMotion)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// Warnings are notes on how the configuration was resolved, for the log.
func (c *Config) Warnings() []string { return c.warnings }

// Preset is the --preset the configuration was loaded with ("" for none).
func (c *Config) Preset() string { return c.preset }

// CheckPaths reports every path key whose file or folder does not exist,
// with the path as written and as resolved. data.root of a synth-* data
// set is generated when missing and is not checked.
func (c *Config) CheckPaths() error {
	var errs []error
	for _, k := range PathKeys() {
		p := *c.path(k)
		if p == "" || notPath(k, p) || k == "data.root" && strings.HasPrefix(c.Data.Kind, "synth-") {
			continue
		}
		if strings.Contains(p, SeedPlaceholder) { // one file per seed
			for _, seed := range c.Train.Seeds {
				sp := strings.ReplaceAll(p, SeedPlaceholder, strconv.FormatUint(seed, 10))
				if _, err := os.Stat(sp); err != nil {
					errs = append(errs, fmt.Errorf("%s (seed %d): %w", k, seed, err)) // err names sp
				}
			}
			continue
		}
		if _, err := os.Stat(p); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s", k, c.describe(k, err)))
		}
	}
	return errors.Join(errs...)
}

// describe says how a path key was written and where it was resolved,
// with why it cannot be used.
func (c *Config) describe(k string, err error) string {
	p := *c.path(k)
	wp, ok := c.paths[k]
	var perr *os.PathError
	if errors.As(err, &perr) {
		err = perr.Err
	}
	if !ok || wp.written == p {
		return fmt.Sprintf("%s: %v", p, err)
	}
	return fmt.Sprintf("%q resolved against %s is %s: %v", wp.written, wp.against, p, err)
}
