package main

import (
	"strings"
	"testing"
)

// TestSummarize feeds a hand-written `go test -json` stream: one passing,
// one failing and one skipped test, a failed build, and a package without
// tests.
func TestSummarize(t *testing.T) {
	in := strings.Join([]string{
		`{"Action":"run","Package":"p","Test":"TestA"}`,
		`{"Action":"output","Package":"p","Test":"TestA","Output":"=== RUN   TestA\n"}`,
		`{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.01}`,
		`{"Action":"pass","Package":"p","Test":"TestA/sub","Elapsed":7}`,
		`{"Action":"run","Package":"p","Test":"TestB"}`,
		`{"Action":"output","Package":"p","Test":"TestB","Output":"    b_test.go:9: want 1, got 2\n"}`,
		`{"Action":"fail","Package":"p","Test":"TestB","Elapsed":2.5}`,
		`{"Action":"run","Package":"p","Test":"TestC"}`,
		`{"Action":"output","Package":"p","Test":"TestC","Output":"    c_test.go:3: ONNX Runtime not installed\n"}`,
		`{"Action":"output","Package":"p","Test":"TestC","Output":"--- SKIP: TestC (0.00s)\n"}`,
		`{"Action":"skip","Package":"p","Test":"TestC","Elapsed":0}`,
		`{"Action":"fail","Package":"p","Elapsed":0.5}`,
		`{"ImportPath":"q","Action":"build-output","Output":"q/x.go:1: syntax error\n"}`,
		`{"ImportPath":"q","Action":"build-fail"}`,
		`{"Action":"skip","Package":"r","Elapsed":0}`,
	}, "\n")
	var out strings.Builder
	failed, err := summarize(strings.NewReader(in), &out)
	if err != nil {
		t.Fatal(err)
	}
	if !failed {
		t.Error("a failed test and a failed build must fail the run")
	}
	got := out.String()
	for _, want := range []string{
		"want 1, got 2", // a failed test's output in full
		"FAIL\tq [build failed]\nq/x.go:1: syntax error",   // the build error
		"p TestC: c_test.go:3: ONNX Runtime not installed", // skip reason
		"?   \tr\t[no test files]",
		"slowest tests:\n      2.5s  p TestB\n      0.0s  p TestA\n", // top-level tests only, slowest first
		"\n2 passed, 1 failed, 1 skipped\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
	if failed, _ := summarize(strings.NewReader(`{"Action":"pass","Package":"p","Test":"TestA"}`), &out); failed {
		t.Error("a passing run reported as failed")
	}
}
