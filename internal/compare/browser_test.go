package compare_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/compare"
	"github.com/fmam/fmam/internal/sharedtest"
)

// checkScript marks, once the page has loaded, every image with whether
// the browser decoded it (naturalWidth > 0), for --dump-dom to show.
const checkScript = `<script>
window.addEventListener("load", () => {
  for (const img of document.images) img.setAttribute("data-loaded", img.complete && img.naturalWidth > 0 ? "yes" : "no");
  document.body.setAttribute("data-images", String(document.images.length));
});
</script>
</body>`

// The comparison page still shows every picture after its folder has
// been moved away from the run folders, as a real browser loads it.
func TestComparePageInBrowser(t *testing.T) {
	chromium := sharedtest.ChromiumPath(t)
	root := t.TempDir()
	a, b := filepath.Join(root, "runs", "sca"), filepath.Join(root, "runs", "ca")
	fakeRun(t, a, nil, [2]float64{0.8, 0.7}, [2]float64{0.85, 0})
	fakeRun(t, b, map[string]any{"model.attention.kind": "ca"}, [2]float64{0.8, 0.7}, [2]float64{0.78, 0})
	roc := `{"curves": [{"name": "teacher", "auc": 0.8, "fpr": [0, 0.5, 1], "tpr": [0, 0.8, 1]},
 {"name": "student", "auc": 0.85, "fpr": [0, 0.4, 1], "tpr": [0, 0.9, 1]}]}`
	for _, r := range []string{a, b} {
		for name, body := range map[string][]byte{"student/roc.json": []byte(roc), "student/roc.png": tinyPNG(t), "teacher/loss.png": tinyPNG(t)} {
			if err := atomicfile.Write(filepath.Join(r, name), body); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := compare.Compare(context.Background(), []string{a, b})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(root, "report")
	if err := c.Write(out, "compare"); err != nil {
		t.Fatal(err)
	}
	// Moved, and the run folders gone: nothing may point back at them.
	moved := filepath.Join(t.TempDir(), "mailed")
	if err := os.Rename(out, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "runs")); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(moved, "compare.html"))
	if err != nil {
		t.Fatal(err)
	}
	// The checking copy sits beside the page, so relative links resolve
	// the same.
	check := filepath.Join(moved, "check.html")
	if err := os.WriteFile(check, []byte(strings.Replace(string(page), "</body>", checkScript, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--allow-file-access-from-files", "--virtual-time-budget=10000", "--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+check)
	dom, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium: %v", err)
	}
	n := regexp.MustCompile(`data-images="(\d+)"`).FindSubmatch(dom)
	if n == nil {
		t.Fatalf("the check script did not run; DOM:\n%s", dom)
	}
	yes := strings.Count(string(dom), `data-loaded="yes"`)
	if string(n[1]) != "5" || yes != 5 {
		t.Errorf("%d of %s images loaded, want all of the 5 (the overlaid ROC, and each run's ROC and teacher loss)\n%s", yes, n[1], dom)
	}
}
