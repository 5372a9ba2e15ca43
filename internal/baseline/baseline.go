// Package baseline says what a baseline anomaly detector is to fmam and
// holds what baselines share. One package per baseline implements Baseline
// (internal/baseline/mnad, internal/baseline/draem, internal/baseline/jigsaw);
// package registry holds the list of them (registry.Baselines), and the
// experiment runner drives every command through this interface.
//
// Baseline is composed of small parts, each its own interface, so that a
// caller can ask for just the part it uses:
//
//   - method.Net, the network graph, itself four parts: method.Network (the
//     architecture's name, input, taps and builder), method.Objective (the
//     targets, the baseline's own loss L_o and the per-sample score
//     outputs), method.TeacherFormat (the metadata and checks of exported
//     and imported teachers) and method.Bench (what `fmam bench` times).
//     internal/method builds every graph from these.
//   - Trainer: the unit's training batches (Source).
//   - Evaluator: raw scores from an evaluation model (Score), the unit's
//     results table and pictures from raw scores (Results), and raw scores
//     re-scored at other fusion weights (Sweep).
//   - Baseline's own three methods: the kind of data it works on (Task),
//     its name in tables (Title) and the configurations it refuses
//     (CheckConfig).
//
// The package also holds what baselines share: the unit a stage works on
// (one video data set, or one image category) with its data sets, the run
// folder's layout, and the scoring and results code of frame-level video
// baselines (FrameScoring) and image baselines.
package baseline

import (
	"context"
	"io"
	"log/slog"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/method"
	"github.com/fmam/fmam/internal/nn"
	"github.com/fmam/fmam/internal/ort"
	"github.com/fmam/fmam/internal/report"
	"github.com/fmam/fmam/internal/results"
	"github.com/fmam/fmam/internal/train"
)

// Baseline is one anomaly detector fmam can boost: its network for the
// method, its training batches and its evaluation, plus what it is.
type Baseline interface {
	method.Net
	Trainer
	Evaluator
	// Task is the kind of data the baseline works on.
	Task() Task
	// Title names the baseline in tables ("MNAD", "DRAEM"), with the
	// settings that change what it is ("MNAD with memory").
	Title(cfg *config.Config) string
	// CheckConfig refuses configurations the baseline cannot run, before
	// anything trains.
	CheckConfig(cfg *config.Config) error
}

// Configurable is implemented by baselines whose network depends on the
// configuration beyond method.Spec (PKG-Net's variant and backbone):
// Configure returns the baseline of cfg, which registry.Lookup hands
// out in place of the unconfigured one.
type Configurable interface {
	Configure(cfg *config.Config) (Baseline, error)
}

// Trainer makes a unit's training batches.
type Trainer interface {
	// Source yields the unit's training batches, in the order of the
	// inputs method declares: the data input, then Net.Targets.
	Source(ctx context.Context, u *Unit, seed uint64) (train.Source, error)
}

// Evaluator turns evaluation models into raw scores, and raw scores into
// the paper's numbers.
type Evaluator interface {
	// Score runs an evaluation model over the unit's test split and
	// writes the raw scores into its stage folder.
	Score(ctx context.Context, u *Unit, m EvalModel) error
	// Results turns a stage's raw scores into the unit's results table
	// and pictures.
	Results(ctx context.Context, u *Unit, st Stage, r ResultsSpec) (*Eval, error)
	// Sweep re-scores a stage's raw scores at each lambda.
	Sweep(ctx context.Context, u *Unit, st Stage, lambdas []float64) ([]results.LambdaPoint, error)
}

// EvalModel is an exported evaluation model and where its scores go.
type EvalModel struct {
	Stage Stage
	// Path is the ONNX file; Inputs its inputs, the data input first.
	Path   string
	Inputs []string
	// TeacherOnly marks a model of the teacher alone (Net.Scores with no
	// student): only teacher scores are written.
	TeacherOnly bool
}

// ResultsSpec says what a results table is about.
type ResultsSpec struct {
	Taps   []string
	Lambda float64
	// TeacherOnly: the stage holds teacher scores only.
	TeacherOnly bool
	// Control is the control's evaluation (Results on the control
	// stage), whose rows the student's table shows after its own (see
	// AddControl); nil for none.
	Control *Eval
	// Suffix is appended to the names of the tables and pictures Results
	// writes ("results" + Suffix), so that another lambda's results lie
	// beside the run's own.
	Suffix string
	// Notes are sentences about the data the table carries under it and
	// the run's summary repeats (test videos left out).
	Notes []string
}

// Eval is one unit's evaluation.
type Eval struct {
	Unit string
	// Headline is the number ablations compare, a fraction: frame micro
	// AUC at lambda for video, image AUROC for images; HeadlineName says
	// which.
	Headline     float64
	HeadlineName string
	// Teacher is the teacher's value of the same number.
	Teacher float64
	// Video are a video unit's rows (teacher; student S_o, S_fea, fused;
	// the control's)
	// and Frames the number of frames scored; Images the rows of an image
	// category (teacher, then student). Rows are in the results table's
	// order.
	Video  []results.VideoResult
	Frames int
	Images []results.ImageResult
	// Control is the number of rows at the end of Video or Images that
	// are the control's (ResultsSpec.AddControl); the student's rows come
	// before them.
	Control int
	// Table is the path of the unit's results table (Markdown).
	Table string
	// KindTable is the path of the table of AUCs per anomaly kind
	// (Markdown), where the data set names each frame's kind; "" for none.
	KindTable string
	// Notes are sentences about the unit the run's summary repeats (for
	// images: defect images without a mask).
	Notes []string
}

// Unit is what a stage works on: one video data set, or one category of
// an image data set.
type Unit struct {
	// Name is "" for a video data set and the category for images.
	Name string
	// Cfg is the run's configuration, narrowed to the unit (for images,
	// data.categories holds only Name).
	Cfg      *config.Config
	RT       *ort.Runtime
	Log      *slog.Logger
	Progress io.Writer
	// Layout is the run folder.
	Layout Layout
}

// ORT is the session options of the configuration.
func (u *Unit) ORT() ort.Options {
	d, _ := ort.ParseDevice(u.Cfg.Device) // validated with the config
	return ort.Options{Device: d, Threads: u.Cfg.Threads, Logger: u.Log}
}

// Spec turns the configuration into what the graph builders need, for a
// tap set.
func Spec(b method.Net, cfg *config.Config, taps []string) method.Spec {
	return method.Spec{
		Net: b, Width: cfg.Model.Width, Init: nn.Init(cfg.Model.Init), Seed: cfg.Seed,
		Batch: cfg.Train.Batch, Size: cfg.Data.Size, Frames: cfg.Data.Frames, Channels: cfg.Data.Channels,
		Taps: taps, Attention: cfg.Model.Attention, WFea: cfg.Model.WFea, StudentInit: cfg.Model.StudentInit,
		Memory: cfg.Model.Memory, Input: InputMeta(cfg),
	}
}

// Task is a kind of data: it lists the units a run iterates over and
// summarises their evaluations.
type Task interface {
	// Kind is the config's task.
	Kind() config.Task
	// DataKinds are the data.kind values it reads.
	DataKinds() []string
	// Units lists the units of a run.
	Units(ctx context.Context, u *Unit) ([]string, error)
	// Narrow returns the configuration of one unit.
	Narrow(cfg *config.Config, unit string) *config.Config
	// Summary is the run-level table over units' evaluations (for image
	// runs the paper's Table 4); ok is false when a run has nothing beyond
	// its one unit's table.
	Summary(title string, evals []*Eval) (t report.Table, ok bool, err error)
	// HeadlineName says what Eval.Headline is.
	HeadlineName() string
}
