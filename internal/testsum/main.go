// Command testsum reads `go test -json` on standard input and prints what a
// person reads from a test run: one line per package (as go test does),
// the output of every failed test and failed build in full, the skipped
// tests with their reasons, and a closing line "N passed, N failed, N
// skipped". It exits 1 when anything failed, so `make test` can pipe into
// it; skips are listed so that a run which passed by skipping is visible.
// The slowest top-level tests are listed too, because `make test` has a
// time budget and the package times alone do not say which test spends it.
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// event is one record of `go test -json` (cmd/test2json).
type event struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string
}

type key struct{ pkg, test string }

// slowest is how many of the slowest top-level tests the summary lists.
const slowest = 8

// timed is a finished top-level test and its wall time.
type timed struct {
	key
	seconds float64
}

func main() {
	failed, err := summarize(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

// summarize reads the events from r and writes the summary to w; failed
// reports whether a test, a package or a build failed.
func summarize(r io.Reader, w io.Writer) (failed bool, err error) {
	out := map[key]*strings.Builder{}
	build := map[string]*strings.Builder{}
	var passed, nfailed, skipped int
	var skips, fails []key
	var times []timed
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil {
			// Not an event: go vet or the toolchain printing directly.
			fmt.Fprintln(w, string(line))
			continue
		}
		k := key{e.Package, e.Test}
		switch e.Action {
		case "build-output":
			b := build[e.ImportPath]
			if b == nil {
				b = &strings.Builder{}
				build[e.ImportPath] = b
			}
			b.WriteString(e.Output)
		case "build-fail":
			failed = true
			fmt.Fprintf(w, "FAIL\t%s [build failed]\n%s", e.ImportPath, build[e.ImportPath])
		case "output":
			b := out[k]
			if b == nil {
				b = &strings.Builder{}
				out[k] = b
			}
			b.WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test == "" {
				// A package's end.
				switch e.Action {
				case "pass":
					fmt.Fprintf(w, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
				case "skip":
					fmt.Fprintf(w, "?   \t%s\t[no test files]\n", e.Package)
				case "fail":
					failed = true
					fmt.Fprintf(w, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
					if b := out[k]; b != nil {
						fmt.Fprint(w, indent(b.String()))
					}
				}
				continue
			}
			if !strings.Contains(e.Test, "/") { // subtests are inside their parent's time
				times = append(times, timed{k, e.Elapsed})
			}
			switch e.Action {
			case "pass":
				passed++
			case "fail":
				nfailed++
				failed = true
				fails = append(fails, k)
				if b := out[k]; b != nil {
					fmt.Fprint(w, indent(b.String()))
				}
			case "skip":
				skipped++
				skips = append(skips, k)
			}
			// Subtests' output is kept for the parent's failure; a passed
			// test's output is no longer needed.
			if e.Action == "pass" {
				delete(out, k)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return true, err
	}
	if len(times) > 0 {
		sort.SliceStable(times, func(i, j int) bool { return times[i].seconds > times[j].seconds })
		fmt.Fprintf(w, "\nslowest tests:\n")
		for _, t := range times[:min(slowest, len(times))] {
			fmt.Fprintf(w, "  %7.1fs  %s %s\n", t.seconds, t.pkg, t.test)
		}
	}
	if len(skips) > 0 {
		sort.Slice(skips, func(i, j int) bool {
			if skips[i].pkg != skips[j].pkg {
				return skips[i].pkg < skips[j].pkg
			}
			return skips[i].test < skips[j].test
		})
		fmt.Fprintf(w, "\nskipped tests (%d):\n", len(skips))
		for _, k := range skips {
			fmt.Fprintf(w, "  %s %s: %s\n", k.pkg, k.test, skipReason(out[k]))
		}
	}
	if len(fails) > 0 {
		fmt.Fprintf(w, "\nfailed tests (%d):\n", len(fails))
		for _, k := range fails {
			fmt.Fprintf(w, "  %s %s\n", k.pkg, k.test)
		}
	}
	fmt.Fprintf(w, "\n%d passed, %d failed, %d skipped\n", passed, nfailed, skipped)
	return failed, nil
}

// skipReason is the message a skipped test logged, on one line.
func skipReason(b *strings.Builder) string {
	if b == nil {
		return "(no message)"
	}
	var lines []string
	for _, l := range strings.Split(b.String(), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- SKIP") {
			continue
		}
		lines = append(lines, l)
	}
	if len(lines) == 0 {
		return "(no message)"
	}
	return strings.Join(lines, " ")
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l == "" {
			continue
		}
		b.WriteString("    " + l)
	}
	return b.String()
}
