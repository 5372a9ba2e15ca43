// Package trainlog is the schema of log.csv, the per-step training log a
// stage folder holds: the header "step,lr,loss,<terms...>,grad_norm" and
// one row per step. The writer (the training loop's CSV observer) and the
// reader (the loss plots) both use it, so the two cannot drift apart.
package trainlog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/fmam/fmam/internal/atomicfile"
)

// The fixed columns. Every other column is a loss term.
const (
	ColStep     = "step"
	ColLR       = "lr"
	ColLoss     = "loss"
	ColGradNorm = "grad_norm"
)

// Header is the header of a log whose loss has the reported terms, in
// file order: step, lr, loss, terms..., grad_norm.
func Header(terms []string) []string {
	h := append([]string{ColStep, ColLR, ColLoss}, terms...)
	return append(h, ColGradNorm)
}

// Row is one step of the log.
type Row struct {
	Step     int // counted from 1 over the whole stage
	LR       float64
	Loss     float64
	Terms    []float64 // one per term of the header, in its order
	GradNorm float64
}

// Record is the row as CSV fields, in Header's order.
func (r Row) Record() []string {
	rec := []string{strconv.Itoa(r.Step), FormatFloat(r.LR), FormatFloat(r.Loss)}
	for _, v := range r.Terms {
		rec = append(rec, FormatFloat(v))
	}
	return append(rec, FormatFloat(r.GradNorm))
}

// FormatFloat is how the log writes a number: 7 significant digits, which
// float32 training values hold.
func FormatFloat(f float64) string { return strconv.FormatFloat(f, 'g', 7, 64) }

// Writer appends rows to a log file, flushing each so that a killed run
// leaves every finished step on disk.
type Writer struct {
	f *os.File
	w *csv.Writer
}

// Create (re)starts the log at path for a stage resumed at step from (0: a
// fresh start): the header for terms, then the rows of steps up to from
// that the file already holds. Rows past a resumed step are dropped, so
// the log never holds steps the checkpoint does not.
func Create(path string, terms []string, from int) (*Writer, error) {
	var keep [][]string
	if from > 0 {
		if b, err := os.ReadFile(path); err == nil {
			rows, _ := csv.NewReader(bytes.NewReader(b)).ReadAll()
			for i, row := range rows {
				if i == 0 {
					continue
				}
				if s, err := strconv.Atoi(row[0]); err == nil && s <= from {
					keep = append(keep, row)
				}
			}
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(Header(terms))
	_ = w.WriteAll(keep)
	if err := atomicfile.Write(path, buf.Bytes()); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open training log %s: %w", path, err)
	}
	return &Writer{f: f, w: csv.NewWriter(f)}, nil
}

// Write appends one row.
func (l *Writer) Write(r Row) error {
	if err := l.w.Write(r.Record()); err != nil {
		return err
	}
	l.w.Flush()
	return l.w.Error()
}

// Close flushes and closes the file.
func (l *Writer) Close() error {
	l.w.Flush()
	return errors.Join(l.w.Error(), l.f.Close())
}

// Log is a training log read back.
type Log struct {
	Steps []float64
	LR    []float64
	// Terms names the loss columns in file order, the total "loss" among
	// them; Values[i] holds column Terms[i], one value per step.
	Terms    []string
	Values   [][]float64
	GradNorm []float64 // nil when the log has no grad_norm column
}

// Read reads a training log. It requires the columns step, lr and loss,
// one finite number per field and strictly increasing steps; every column
// other than step, lr and grad_norm is a loss term.
func Read(path string) (*Log, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read training log %s: %w", path, err)
	}
	defer f.Close()
	tl, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("read training log %s: %w", path, err)
	}
	return tl, nil
}

// Parse is Read from a reader; errors name the line and column.
func Parse(r io.Reader) (*Log, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty; it gets a header when training starts")
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for j, name := range header {
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("column %q appears twice in the header", name)
		}
		col[name] = j
	}
	for _, need := range []string{ColStep, ColLR, ColLoss} {
		if _, ok := col[need]; !ok {
			return nil, fmt.Errorf("header %q lacks the column %q; is this a log.csv of fmam train?", header, need)
		}
	}
	tl := &Log{}
	var termCols []int
	for j, name := range header {
		switch name {
		case ColStep, ColLR, ColGradNorm:
		default:
			tl.Terms = append(tl.Terms, name)
			termCols = append(termCols, j)
		}
	}
	tl.Values = make([][]float64, len(tl.Terms))
	gradCol, hasGrad := col[ColGradNorm]
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		line, _ := cr.FieldPos(0)
		num := func(j int) (float64, error) {
			v, err := strconv.ParseFloat(rec[j], 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("line %d, column %q: %q is not a finite number", line, header[j], rec[j])
			}
			return v, nil
		}
		step, err := num(col[ColStep])
		if err != nil {
			return nil, err
		}
		if n := len(tl.Steps); n > 0 && step <= tl.Steps[n-1] {
			return nil, fmt.Errorf("line %d: step %v does not follow step %v; steps must increase", line, step, tl.Steps[n-1])
		}
		lr, err := num(col[ColLR])
		if err != nil {
			return nil, err
		}
		tl.Steps = append(tl.Steps, step)
		tl.LR = append(tl.LR, lr)
		for i, j := range termCols {
			v, err := num(j)
			if err != nil {
				return nil, err
			}
			tl.Values[i] = append(tl.Values[i], v)
		}
		if hasGrad {
			g, err := num(gradCol)
			if err != nil {
				return nil, err
			}
			tl.GradNorm = append(tl.GradNorm, g)
		}
	}
	if len(tl.Steps) == 0 {
		return nil, errors.New("no steps after the header; train at least one step first")
	}
	return tl, nil
}
