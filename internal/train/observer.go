package train

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fmam/fmam/internal/progress"
	"github.com/fmam/fmam/internal/trainlog"
)

// Observer watches a training loop, as gonum's optimize.Recorder watches
// an optimisation: Loop calls Init once before the first step, Record after
// every step and Done once when it stops, however it stops. An error from
// Init or Record stops the loop. The loop's caller chooses its observers
// (LoopConfig.Observers): a progress bar, periodic log lines, the log.csv
// writer.
type Observer interface {
	Init(LoopInfo) error
	Record(StepInfo) error
	Done() error
}

// LoopInfo is what observers learn before the first step.
type LoopInfo struct {
	Start int       // steps already done (a resumed stage), 0 otherwise
	Steps int       // the stage's total, resumed steps included
	Time  time.Time // when the loop starts
}

// StepInfo is what observers learn after each step.
type StepInfo struct {
	Step   int // counted from 1 over the whole stage, resumed steps included
	LR     float64
	Result Result
	Time   time.Time // when the step finished
}

// CSVLog is the observer that writes log.csv (internal/trainlog's schema):
// a row per step, the loss terms in the order the train step reports them.
type CSVLog struct {
	path  string
	terms []string
	w     *trainlog.Writer
}

// NewCSVLog writes the log at path with the reported loss terms.
func NewCSVLog(path string, terms []string) *CSVLog { return &CSVLog{path: path, terms: terms} }

// Init (re)starts the file, keeping the rows of a resumed stage's steps.
func (c *CSVLog) Init(li LoopInfo) error {
	w, err := trainlog.Create(c.path, c.terms, li.Start)
	if err != nil {
		return err
	}
	c.w = w
	return nil
}

// Record appends the step's row.
func (c *CSVLog) Record(s StepInfo) error {
	return c.w.Write(trainlog.Row{Step: s.Step, LR: s.LR, Loss: s.Result.Loss, Terms: s.Result.Report, GradNorm: s.Result.GradNorm})
}

// Done closes the file.
func (c *CSVLog) Done() error {
	if c.w == nil {
		return nil
	}
	err := c.w.Close()
	c.w = nil
	if err != nil {
		return fmt.Errorf("close training log %s: %w", c.path, err)
	}
	return nil
}

// ProgressBar is the observer that draws a progress bar of the steps with
// the latest loss.
type ProgressBar struct {
	w     io.Writer
	label string
	bar   *progress.Bar
}

// NewProgressBar draws on w, labelled label (the stage).
func NewProgressBar(w io.Writer, label string) *ProgressBar {
	return &ProgressBar{w: w, label: label}
}

// Init starts the bar at the resumed step; a finished stage gets none.
func (p *ProgressBar) Init(li LoopInfo) error {
	var w io.Writer
	if li.Start < li.Steps {
		w = p.w
	}
	p.bar = progress.NewBar(w, li.Steps, p.label, "steps")
	p.bar.Set(li.Start)
	return nil
}

// Record advances the bar and shows the step's loss.
func (p *ProgressBar) Record(s StepInfo) error {
	p.bar.Describe(fmt.Sprintf("%s loss %.4g", p.label, s.Result.Loss))
	p.bar.Add()
	return nil
}

// Done completes and clears the bar.
func (p *ProgressBar) Done() error {
	p.bar.Finish()
	return nil
}

// observers runs a list of observers; Done reaches each inited one once.
type observers struct {
	list   []Observer
	inited int
}

func (o *observers) init(li LoopInfo) error {
	for _, ob := range o.list {
		if err := ob.Init(li); err != nil {
			return err
		}
		o.inited++
	}
	return nil
}

func (o *observers) record(s StepInfo) error {
	for _, ob := range o.list {
		if err := ob.Record(s); err != nil {
			return err
		}
	}
	return nil
}

func (o *observers) done() error {
	var errs []error
	for _, ob := range o.list[:o.inited] {
		errs = append(errs, ob.Done())
	}
	o.inited = 0
	return errors.Join(errs...)
}
