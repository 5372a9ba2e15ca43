package config_test

import (
	"strings"
	"testing"

	"github.com/fmam/fmam/configs"
	"github.com/fmam/fmam/internal/config"
)

// FMAM_* variables and flags are as strict as the YAML, and their errors
// name the variable or flag, not the config file.
func TestEnvAndFlagErrors(t *testing.T) {
	b, err := configs.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  map[string]string
		over map[string]any
		// want are fragments of the error; not, fragments it must lack.
		want []string
		not  []string
	}{
		{name: "empty value", env: map[string]string{"FMAM_TRAIN_TEACHER_STEPS": ""},
			want: []string{"FMAM_TRAIN_TEACHER_STEPS is set but empty: give train.teacher_steps a value or unset it"}},
		{name: "misspelt name", env: map[string]string{"FMAM_TRAIN_TEACHER_STEP": "10"},
			want: []string{"FMAM_TRAIN_TEACHER_STEP names no config key; did you mean FMAM_TRAIN_TEACHER_STEPS (train.teacher_steps)?"}},
		{name: "misspelt nested name", env: map[string]string{"FMAM_MODEL_ATENTION_KIND": "ca"},
			want: []string{"did you mean FMAM_MODEL_ATTENTION_KIND (model.attention.kind)?"}},
		{name: "all at once", env: map[string]string{"FMAM_EVAL_LAMDA": "0.5", "FMAM_DATA_SIZE": ""},
			want: []string{"FMAM_EVAL_LAMDA names no config key; did you mean FMAM_EVAL_LAMBDA (eval.lambda)?", "FMAM_DATA_SIZE is set but empty"}},
		{name: "not a number", env: map[string]string{"FMAM_TRAIN_LR": "abc"},
			want: []string{"FMAM_TRAIN_LR=abc: train.lr:", "abc"}, not: []string{"config "}},
		{name: "out of range", env: map[string]string{"FMAM_EVAL_LAMBDA": "2"},
			want: []string{"FMAM_EVAL_LAMBDA=2: eval.lambda 2 must be in [0, 1]"}, not: []string{"config "}},
		{name: "nested out of range", env: map[string]string{"FMAM_MODEL_ATTENTION_KIND": "xa"},
			want: []string{"FMAM_MODEL_ATTENTION_KIND=xa: model.attention:"}, not: []string{"config "}},
		{name: "top-level key", env: map[string]string{"FMAM_DEVICE": "tpu"},
			want: []string{`FMAM_DEVICE=tpu: device "tpu": use cpu, cuda or auto`}},
		{name: "flag", over: map[string]any{"threads": -1},
			want: []string{"--threads=-1: threads -1 must be >= 0"}, not: []string{"config "}},
		{name: "flag of a nested key", over: map[string]any{"train.teacher_steps": "many"},
			want: []string{"--teacher-steps=many: train.teacher_steps:"}},
		{name: "negative steps by flag", over: map[string]any{"train.student_steps": -3},
			want: []string{"--student-steps=-3: train.teacher_steps 300, train.student_steps -3"}, not: []string{"config "}},
		{name: "file and variable", env: map[string]string{"FMAM_EVAL_LAMBDA": "2", "FMAM_DATA_SIZE": "50"},
			want: []string{"FMAM_EVAL_LAMBDA=2: eval.lambda", "FMAM_DATA_SIZE=50: data.size 50 must be a multiple of 16"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			_, err := config.Load("", b, "", c.over)
			if err == nil {
				t.Fatal("accepted")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			for _, w := range c.not {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q has %q", err, w)
				}
			}
		})
	}
}

// Variables that are not config keys, and good ones, load.
func TestEnvAccepted(t *testing.T) {
	b, err := configs.Get("demo")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"FMAM_CACHE": "/tmp", "FMAM_REQUIRE": "", "FMAM_PIL_REF": "x", "FMAM_PROFILE": "p",
		"FMAM_TRAIN_TEACHER_STEPS": "7", "FMAM_MODEL_ATTENTION_KIND": "ca", "FMAM_TRAIN_SEEDS": "0,1", "FMAM_DATA_OBJECTS_TRAIN_STRIDE": "2",
		// An empty path clears it: a detector in place of a config's box files.
		"FMAM_DATA_OBJECTS_TEST_BOXES": "", "FMAM_MODEL_TEACHER": ""} {
		t.Setenv(k, v)
	}
	c, err := config.Load("", b, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Train.TeacherSteps != 7 || c.Model.Attention.Kind != "ca" || len(c.Train.Seeds) != 2 || c.Data.Objects.TrainStride != 2 || c.Data.Objects.TestBoxes != "" {
		t.Errorf("variables not applied: steps %d, attention %s, seeds %v, objects.train_stride %d", c.Train.TeacherSteps, c.Model.Attention.Kind, c.Train.Seeds, c.Data.Objects.TrainStride)
	}
}
