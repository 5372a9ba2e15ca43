package baseline

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/score"
)

// ScoredSampler is implemented by baselines whose Score does not write a
// row for every frame of every test video (video baselines) or every test
// image (image baselines): MNAD scores only the target frames of its clips.
type ScoredSampler interface {
	// ScoredSamples are the rows Score writes for the unit's test split,
	// in its order.
	ScoredSamples(ctx context.Context, u *Unit) ([]score.Sample, error)
}

// FrameID is the id of a frame's row in a raw scores file.
func FrameID(video string, frame int) string { return video + "/" + strconv.Itoa(frame) }

// ImageID is the id of a test image's row in a raw scores file: its defect
// folder and file name.
func ImageID(it data.ImageItem) string { return it.Defect + "/" + filepath.Base(it.Path) }

// FrameSample is the sample of frame f of a test video.
func FrameSample(v data.Video, f int) score.Sample {
	return score.Sample{ID: FrameID(v.Name, f), Label: v.Labels != nil && f < len(v.Labels) && v.Labels[f] == 1}
}

// TestSamples are the samples b's Score writes a row for: its
// ScoredSamples, else every frame of every test video or every test image.
func TestSamples(ctx context.Context, b Baseline, u *Unit) ([]score.Sample, error) {
	if s, ok := b.(ScoredSampler); ok {
		return s.ScoredSamples(ctx, u)
	}
	var out []score.Sample
	if b.Task().Kind() == config.TaskImage {
		ds, err := u.ImageSet(ctx)
		if err != nil {
			return nil, err
		}
		for _, it := range ds.Test {
			out = append(out, score.Sample{ID: ImageID(it), Label: it.Label == 1})
		}
		return out, nil
	}
	_, test, err := u.VideoSets(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range test.Videos {
		for f := range v.Frames {
			out = append(out, FrameSample(v, f))
		}
	}
	return out, nil
}

// CheckScores checks a stage's raw scores files against the unit's test
// set before anything is computed from them: teacher_scores.csv, and
// scores.csv unless teacherOnly. A file edited, cut short or copied from
// another run is an error naming it and what differs, so that no results
// table is written from it. Every command that reads raw scores of a run
// (eval, sweep-lambda, metrics --scores) checks them here.
func CheckScores(ctx context.Context, b Baseline, u *Unit, st Stage, teacherOnly bool) error {
	want, err := TestSamples(ctx, b, u)
	if err != nil {
		return fmt.Errorf("check raw scores in %s: %w", st.Dir, err)
	}
	if err := checkFile(u, st.TeacherScores(), false, want); err != nil || teacherOnly {
		return err
	}
	return checkFile(u, st.Scores(), true, want)
}

// CheckScoresFile is CheckScores for one file of a stage of u: a
// student's scores.csv (student true) or a teacher_scores.csv.
func CheckScoresFile(ctx context.Context, b Baseline, u *Unit, path string, student bool) error {
	want, err := TestSamples(ctx, b, u)
	if err != nil {
		return fmt.Errorf("check raw scores %s: %w", path, err)
	}
	return checkFile(u, path, student, want)
}

func checkFile(u *Unit, path string, student bool, want []score.Sample) error {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("no raw scores %s: run 'fmam eval --run %s' first", path, u.Layout.Root)
	}
	if err := score.Check(path, student, want); err != nil {
		return fmt.Errorf("raw scores do not match the run's test set: %w; no table was written: delete %s and run 'fmam eval --run %s' to score the test set anew", err, path, u.Layout.Root)
	}
	return nil
}
