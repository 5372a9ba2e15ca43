package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestIntegerTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{1, 300, "50,100,150,200,250,300"},
		{0, 4, "0,1,2,3,4"},
		{-0.5, 99.5, "0,20,40,60,80"},
		{0, 0.5, "0"},
	} {
		var labels []string
		for _, tk := range (integerTicks{}).Ticks(tc.lo, tc.hi) {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if got := strings.Join(labels, ","); got != tc.want {
			t.Errorf("ticks over [%v, %v]: %s, want %s", tc.lo, tc.hi, got, tc.want)
		}
	}
}

func TestSubscripts(t *testing.T) {
	for in, want := range map[string]string{
		"teacher S_o":             "teacher S_{o}",
		"MNAD S_fea (λ=1)":        "MNAD S_{fea} (λ=1)",
		"(L_fea)":                 "(L_{fea})",
		"runs/x_y_z.png":          "runs/x_y_z.png",
		"grad_norm":               "grad_norm",
		"plain text, no markup":   "plain text, no markup",
		"l_separate, S_total: 3%": "l_{separate}, S_{total}: 3%",
	} {
		if got := subscripts(in); got != want {
			t.Errorf("subscripts(%q) = %q, want %q", in, got, want)
		}
	}
	if got := plainText("a S_{o} b"); got != "a So b" {
		t.Errorf("plainText = %q", got)
	}
}

// Every plot is also written as SVG and PDF when asked.
func TestVectorFormats(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "roc.png")
	curves := []ROCCurve{{Name: "teacher S_o", FPR: []float64{0, 0.5, 1}, TPR: []float64{0, 0.8, 1}, AUC: 0.8}}
	if err := WriteROCPlot(path, curves, PlotOptions{Formats: []string{"svg", "pdf"}}); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "roc.svg"))
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Errorf("roc.svg: %v", err)
	}
	pdf, err := os.ReadFile(filepath.Join(dir, "roc.pdf"))
	if err != nil || !strings.HasPrefix(string(pdf), "%PDF") {
		t.Errorf("roc.pdf: %v", err)
	}
	if err := WriteROCPlot(path, curves, PlotOptions{Formats: []string{"jpg"}}); err == nil {
		t.Error("format jpg accepted")
	}
	if f, err := ParseFormats("png, SVG,pdf"); err != nil || strings.Join(f, ",") != "png,svg,pdf" {
		t.Errorf("ParseFormats: %v, %v", f, err)
	}
}
