package compare

import (
	"bytes"
	"fmt"
	"html/template"
	"path/filepath"

	"github.com/fmam/fmam/internal/atomicfile"
)

// compareHTML is the comparison page: the table, its notes, and each run's
// pictures linked by relative path, so the page works wherever the run
// folders and the page move together.
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
figure { display: inline-block; margin: 0.5em; }
img { max-width: 480px; }
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
{{end}}{{range .Runs}}<h2>{{.Name}}</h2>
<p>{{.Dir}}</p>
{{range .Pictures}}<figure><a href="{{.}}"><img src="{{.}}" alt="{{.}}"></a><figcaption>{{.}}</figcaption></figure>
{{end}}{{end}}</body>
</html>
`))

type htmlCell struct {
	Text string
	Num  bool
}

type htmlRun struct {
	Name, Dir string
	Pictures  []string
}

func (c *Comparison) writeHTML(path string) error {
	t, err := c.Markdown()
	if err != nil {
		return err
	}
	page := struct {
		Title   string
		Columns []string
		Rows    [][]htmlCell
		Notes   []string
		Runs    []htmlRun
	}{Title: t.Title, Columns: t.Columns, Notes: t.Notes}
	for _, r := range t.Rows {
		var row []htmlCell
		for _, cell := range r {
			row = append(row, htmlCell{Text: cell.String(), Num: cell.Numeric})
		}
		page.Rows = append(page.Rows, row)
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return err
	}
	for _, r := range c.Runs {
		hr := htmlRun{Name: r.Name, Dir: r.Dir}
		for _, p := range r.Pictures {
			abs, err := filepath.Abs(p)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(dir, abs)
			if err != nil {
				rel = abs
			}
			hr.Pictures = append(hr.Pictures, filepath.ToSlash(rel))
		}
		page.Runs = append(page.Runs, hr)
	}
	var b bytes.Buffer
	if err := compareHTML.Execute(&b, page); err != nil {
		return fmt.Errorf("comparison page %s: %w", path, err)
	}
	return atomicfile.Write(path, b.Bytes())
}
