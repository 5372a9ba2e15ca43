// Package trainlogtest writes training logs in internal/train's layout for
// the tests of the packages that read or plot them.
package trainlogtest

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Write writes a log.csv of the given number of steps into a temporary
// folder of t and returns its path: total loss, a term falling over three
// decades, a hinge term that reaches zero, a cosine learning rate and a
// gradient norm.
func Write(t testing.TB, steps int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("step,lr,loss,l_o,l_separate,grad_norm\n")
	for s := 1; s <= steps; s++ {
		lo := 1000 * math.Exp(-float64(s)/30)
		sep := max(0, 0.5-float64(s)/100)
		lr := 0.01 * 0.5 * (1 + math.Cos(math.Pi*float64(s-1)/float64(steps)))
		fmt.Fprintf(&b, "%d,%g,%g,%g,%g,%g\n", s, lr, lo+sep, lo, sep, 1/float64(s))
	}
	path := filepath.Join(t.TempDir(), "log.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
