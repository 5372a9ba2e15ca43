package compare

import (
	"bytes"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"

	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/baseline"
)

// compareHTML is the comparison page: the table, its notes, the figures
// over all runs, then each run's pictures under a heading per category.
// Every picture is a copy in the page's folder (base-pictures/), so that
// the folder can be moved or mailed on its own.
var compareHTML = template.Must(template.New("compare").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: sans-serif; margin: 2em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
img { max-width: 640px; height: auto; }
figcaption { font-size: small; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<table>
<tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>
{{range .Rows}}<tr>{{range .}}<td{{if .Num}} class="num"{{end}}>{{.Text}}</td>{{end}}</tr>
{{end}}</table>
{{range .Notes}}<p>{{.}}</p>
{{end}}{{if .Figures}}<h2>All runs</h2>
{{range .Figures}}{{template "figure" .}}{{end}}{{end}}{{range .Runs}}<h2>{{.Name}}</h2>
<p>{{.Dir}}</p>
{{range .Units}}{{if .Name}}<h3>{{.Name}}</h3>
{{end}}{{range .Pictures}}{{template "figure" .}}{{end}}{{end}}{{end}}</body>
</html>
{{define "figure"}}<figure><a href="{{.Src}}"><img src="{{.Src}}" alt="{{.Caption}}"></a><figcaption>{{.Caption}}{{range .Also}} · <a href="{{.Src}}">{{.Format}}</a>{{end}}</figcaption></figure>
{{end}}`))

type htmlCell struct {
	Text string
	Num  bool
}

// htmlFigure is one picture as the page links it, with the vector forms
// (SVG, PDF) written beside it.
type htmlFigure struct {
	Src, Caption string
	Also         []htmlAlt
}

type htmlAlt struct{ Src, Format string }

type htmlUnit struct {
	Name     string
	Pictures []htmlFigure
}

type htmlRun struct {
	Name, Dir string
	Units     []htmlUnit
}

// vectorFormats are the forms a picture may also have beside its PNG.
var vectorFormats = []string{"svg", "pdf"}

func (c *Comparison) writeHTML(path string, figures []string) error {
	t, err := c.Markdown()
	if err != nil {
		return err
	}
	page := struct {
		Title   string
		Columns []string
		Rows    [][]htmlCell
		Notes   []string
		Figures []htmlFigure
		Runs    []htmlRun
	}{Title: t.Title, Columns: t.Columns, Notes: t.Notes}
	for _, r := range t.Rows {
		var row []htmlCell
		for _, cell := range r {
			row = append(row, htmlCell{Text: cell.String(), Num: cell.Numeric})
		}
		page.Rows = append(page.Rows, row)
	}
	dir := filepath.Dir(path)
	base := strings.TrimSuffix(filepath.Base(path), ".html")
	captions := map[string]string{"roc": "ROC curves of all runs (each distinct teacher once)", "lambda": "each run's headline measure against λ"}
	for _, f := range figures {
		kind := strings.TrimPrefix(strings.TrimSuffix(filepath.Base(f), ".png"), base+"-")
		page.Figures = append(page.Figures, withVectors(f, filepath.Base(f), captions[kind]))
	}
	pics := base + "-pictures"
	for _, r := range c.Runs {
		hr := htmlRun{Name: r.Name, Dir: r.Dir}
		for _, p := range r.Pictures {
			rel, err := filepath.Rel(r.Dir, p.Path)
			if err != nil || strings.HasPrefix(rel, "..") {
				rel = filepath.Base(p.Path)
			}
			dst := filepath.Join(pics, baseline.SafeName(r.Name), rel)
			if err := copyWithVectors(p.Path, filepath.Join(dir, dst)); err != nil {
				return fmt.Errorf("comparison page %s: %w", path, err)
			}
			if len(hr.Units) == 0 || hr.Units[len(hr.Units)-1].Name != p.Unit {
				hr.Units = append(hr.Units, htmlUnit{Name: p.Unit})
			}
			u := &hr.Units[len(hr.Units)-1]
			u.Pictures = append(u.Pictures, withVectors(filepath.Join(dir, dst), filepath.ToSlash(dst), p.Caption))
		}
		page.Runs = append(page.Runs, hr)
	}
	var b bytes.Buffer
	if err := compareHTML.Execute(&b, page); err != nil {
		return fmt.Errorf("comparison page %s: %w", path, err)
	}
	return atomicfile.Write(path, b.Bytes())
}

// withVectors is the figure of the PNG at path (linked as src), with
// links to its SVG and PDF forms where they exist.
func withVectors(path, src, caption string) htmlFigure {
	f := htmlFigure{Src: src, Caption: caption}
	for _, ext := range vectorFormats {
		if _, err := os.Stat(strings.TrimSuffix(path, ".png") + "." + ext); err == nil {
			f.Also = append(f.Also, htmlAlt{Src: strings.TrimSuffix(src, ".png") + "." + ext, Format: strings.ToUpper(ext)})
		}
	}
	return f
}

// copyWithVectors copies the PNG src to dst, with its SVG and PDF forms
// where they exist.
func copyWithVectors(src, dst string) error {
	for i, ext := range append([]string{"png"}, vectorFormats...) {
		from := strings.TrimSuffix(src, ".png") + "." + ext
		b, err := os.ReadFile(from)
		if err != nil {
			if i > 0 && os.IsNotExist(err) {
				continue
			}
			return fmt.Errorf("copy picture: %w", err)
		}
		if err := atomicfile.Write(strings.TrimSuffix(dst, ".png")+"."+ext, b); err != nil {
			return fmt.Errorf("copy picture: %w", err)
		}
	}
	return nil
}
