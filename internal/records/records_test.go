package records_test

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fmam/fmam/internal/records"
)

// Records survive records.json unchanged, absent values included; a
// missing file names what to run.
func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "student", "records.json")
	if _, err := records.Read(path); err == nil || !strings.Contains(err.Error(), "fmam eval") {
		t.Errorf("missing file: %v", err)
	}
	want := []records.Record{{Unit: "bottle", Dataset: "MVTec AD", Method: "DRAEM", Teacher: true,
		Metrics: []records.Metric{records.NewMetric("P-AUROC", 0.9, true), records.NewMetric("P-AP", records.Metric{}.Float(), false)}}}
	if err := records.Write(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := records.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read %+v, want %+v", got, want)
	}
	if got[0].Metrics[1].Value != nil {
		t.Errorf("NaN written as %v, want null", *got[0].Metrics[1].Value)
	}
}

// The mean unit averages each metric over the units (worked by hand:
// (0.8+0.6)/2 = 0.7) and is absent for a method some unit lacks.
func TestWithMeanUnit(t *testing.T) {
	rec := func(unit, method string, v float64) records.Record {
		return records.Record{Unit: unit, Method: method, Metrics: []records.Metric{records.NewMetric("I-AUROC", v, true)}}
	}
	got := records.WithMeanUnit([]records.Record{rec("a", "T", 0.8), rec("b", "T", 0.6), rec("a", "S", 0.9)})
	if len(got) != 4 {
		t.Fatalf("%d records, want the three and one mean", len(got))
	}
	m := got[3]
	if m.Unit != records.MeanUnit || m.Method != "T" || m.Metrics[0].Float() < 0.7-1e-12 || m.Metrics[0].Float() > 0.7+1e-12 {
		t.Errorf("mean %+v, want T at 0.7", m)
	}
	if one := records.WithMeanUnit(got[:1]); len(one) != 1 {
		t.Errorf("one unit: %d records, want no mean", len(one))
	}
}
