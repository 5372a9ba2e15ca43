package baseline

import (
	"path/filepath"
	"strconv"
	"strings"
)

// Layout names every file and folder of a run folder, so that no other
// code spells a run-folder path:
//
//	<root>/config.yaml
//	<root>/data/                       generated data sets
//	<root>/results.{md,csv,json}       image runs: the summary over categories
//	<root>/ablation.{md,csv,json}      ablate-layer's table (summary for image runs)
//	<unit>/teacher/                    a Stage: teacher.onnx, checkpoint.bin, log.csv, ...
//	<unit>/student[-<taps>]/           a Stage: model.onnx, scores.csv, results.*, records.json, ...
//	<unit>/control/                    a Stage: the control (L_o only), laid out as a student
//	<root>/seed-<k>/                   multi-seed runs: one run folder per seed (Seed)
//	<root>/objects/                    object baselines: detected boxes, cube cache
//
// <unit> is the root for video runs and <root>/<category> for image runs.
type Layout struct {
	Root string
	// data is the generated-data folder of a seed folder: its run's, so
	// that the seeds share one copy.
	data string
}

// Seed is the run folder of seed k of a multi-seed run; its data sets are
// generated into the top run folder's data/.
func (l Layout) Seed(k uint64) Layout {
	return Layout{Root: filepath.Join(l.Root, "seed-"+strconv.FormatUint(k, 10)), data: l.DataDir()}
}

// Config is the resolved configuration the run was made with.
func (l Layout) Config() string { return filepath.Join(l.Root, "config.yaml") }

// DataDir is where data sets generated for the run live.
func (l Layout) DataDir() string {
	if l.data != "" {
		return l.data
	}
	return filepath.Join(l.Root, "data")
}

// Unit is the folder of one unit: the root itself for the unit "".
func (l Layout) Unit(name string) string {
	if name == "" {
		return l.Root
	}
	return filepath.Join(l.Root, SafeName(name))
}

// Teacher is the teacher stage of a unit.
func (l Layout) Teacher(unit string) Stage {
	return Stage{filepath.Join(l.Unit(unit), "teacher")}
}

// Student is the student stage of a unit trained with taps; the run's own
// tap set (the config's) gets the plain name "student".
func (l Layout) Student(unit string, taps []string, own bool) Stage {
	if own {
		return Stage{filepath.Join(l.Unit(unit), "student")}
	}
	return Stage{filepath.Join(l.Unit(unit), "student-"+TapSetName(taps))}
}

// Control is the control stage of a unit: the student network trained on
// L_o alone, one per unit (it has no taps to vary), laid out as a student.
func (l Layout) Control(unit string) Stage {
	return Stage{filepath.Join(l.Unit(unit), "control")}
}

// Table is the base path (no extension) of a table in a unit folder.
func (l Layout) Table(unit, name string) string { return filepath.Join(l.Unit(unit), name) }

// Boxes is the CSV of the boxes a detector found in one split ("train",
// "test") of an object baseline's data.
func (l Layout) Boxes(split string) string {
	return filepath.Join(l.Root, "objects", split+"_boxes.csv")
}

// Cubes is the default cube cache folder of one split.
func (l Layout) Cubes(split string) string { return filepath.Join(l.Root, "objects", "cubes", split) }

// Stage is the folder of one training stage and what it holds.
type Stage struct {
	Dir string
}

// Files of a stage folder.
func (s Stage) Checkpoint() string { return filepath.Join(s.Dir, "checkpoint.bin") }
func (s Stage) Log() string        { return filepath.Join(s.Dir, "log.csv") }
func (s Stage) LossPlot() string   { return filepath.Join(s.Dir, "loss.png") }
func (s Stage) Summary() string    { return filepath.Join(s.Dir, "summary.json") }

// TeacherModel is the exported teacher of a teacher stage.
func (s Stage) TeacherModel() string { return filepath.Join(s.Dir, "teacher.onnx") }

// TeacherEvalModel is a teacher stage's evaluation model of the teacher
// alone (trained here, imported, or another run's), for `fmam eval
// --teacher-only`; its scores and results land beside it.
func (s Stage) TeacherEvalModel() string { return filepath.Join(s.Dir, "teacher_eval.onnx") }

// Model is a student stage's evaluation model (teacher and student).
func (s Stage) Model() string { return filepath.Join(s.Dir, "model.onnx") }

// Scores and TeacherScores are the raw per-sample scores of the student
// and of its teacher (whose s_fea_student column is the student's S_fea,
// score.StudentFea); MemoryScores and TeacherMemoryScores MNAD's raw parts
// when it has a memory.
func (s Stage) Scores() string              { return filepath.Join(s.Dir, "scores.csv") }
func (s Stage) TeacherScores() string       { return filepath.Join(s.Dir, "teacher_scores.csv") }
func (s Stage) MemoryScores() string        { return filepath.Join(s.Dir, "memory_scores.csv") }
func (s Stage) TeacherMemoryScores() string { return filepath.Join(s.Dir, "teacher_memory_scores.csv") }

// ObjectScores and TeacherObjectScores are an object baseline's raw
// per-object scores, from which its frame scores are made.
func (s Stage) ObjectScores() string        { return filepath.Join(s.Dir, "objects.csv") }
func (s Stage) TeacherObjectScores() string { return filepath.Join(s.Dir, "teacher_objects.csv") }

// Records is the stage's evaluation as rows of metrics (JSON), the input
// of seed summaries and of 'fmam compare'.
func (s Stage) Records() string { return filepath.Join(s.Dir, "records.json") }

// Table is the base path (no extension) of a table in the stage folder:
// "results", "lambda".
func (s Stage) Table(name string) string { return filepath.Join(s.Dir, name) }

// Picture is a PNG in the stage folder: "roc", "lambda", "maps".
func (s Stage) Picture(name string) string { return filepath.Join(s.Dir, name+".png") }

// Curves is the folder of per-video score curves.
func (s Stage) Curves() string { return filepath.Join(s.Dir, "curves") }

// Maps is the folder of saved anomaly maps (<category>/<name>.npy).
func (s Stage) Maps() string { return filepath.Join(s.Dir, "maps") }

// TapSetName joins taps for folder and table names.
func TapSetName(taps []string) string {
	var s []string
	for _, t := range taps {
		s = append(s, SafeName(t))
	}
	return strings.Join(s, "+")
}

// SafeName makes a tap, video or category name usable as a file name.
func SafeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}
