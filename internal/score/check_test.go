package score

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	rows := []VideoRow{
		{ID: "01/4", Video: "01", Frame: 4, SO: 30, SFea: 0.1},
		{ID: "01/5", Video: "01", Frame: 5, Label: true, SO: 20, SFea: 0.3},
		{ID: "02/4", Video: "02", Frame: 4, SO: 31, SFea: 0.2},
	}
	want := []Sample{{ID: "01/4"}, {ID: "01/5", Label: true}, {ID: "02/4"}}
	student := filepath.Join(dir, "scores.csv")
	teacher := filepath.Join(dir, "teacher_scores.csv")
	teacherAlone := filepath.Join(dir, "teacher_alone.csv")
	if err := WriteVideoCSV(student, rows); err != nil {
		t.Fatal(err)
	}
	if err := WriteTeacherVideoCSV(teacher, rows, true); err != nil {
		t.Fatal(err)
	}
	if err := WriteTeacherVideoCSV(teacherAlone, rows, false); err != nil {
		t.Fatal(err)
	}
	images := filepath.Join(dir, "images.csv")
	if err := WriteImageCSV(images, []ImageRow{
		{ID: "good/000.png", Category: "c", Defect: "good", SO: 0.1, SFea: 1},
		{ID: "crack/000.png", Category: "c", Defect: "crack", Label: true, SO: 0.9, SFea: 2},
	}); err != nil {
		t.Fatal(err)
	}
	wantImages := []Sample{{ID: "good/000.png"}, {ID: "crack/000.png", Label: true}}

	for _, c := range []struct {
		path    string
		student bool
		want    []Sample
	}{
		{student, true, want},
		{teacher, false, want},
		{teacherAlone, false, want},
		{student, false, want}, // a teacher's file may have s_fea (Jigsaw-VAD, PKG-Net write one)
		{images, true, wantImages},
		{images, true, []Sample{wantImages[1], wantImages[0]}}, // any order
	} {
		if err := Check(c.path, c.student, c.want); err != nil {
			t.Errorf("Check(%s, student %v): %v", filepath.Base(c.path), c.student, err)
		}
	}

	text, _ := os.ReadFile(student)
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	edit := func(name string, f func(lines []string) []string) string {
		p := filepath.Join(dir, name)
		out := f(append([]string(nil), lines...))
		if err := os.WriteFile(p, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cutColumn := edit("cut.csv", func(l []string) []string {
		for i := range l {
			l[i] = l[i][:strings.LastIndex(l[i], ",")]
		}
		return l
	})
	for _, c := range []struct {
		name, path string
		student    bool
		want       []Sample
		msg        []string
	}{
		{"cut s_fea", cutColumn, true, want, []string{"cut.csv", "missing column s_fea"}},
		{"teacher file as a student's", teacherAlone, true, want, []string{"missing column s_fea"}},
		{"teacher without s_o", edit("no_so.csv", func(l []string) []string {
			for i := range l {
				f := strings.Split(l[i], ",")
				l[i] = strings.Join(f[:4], ",")
			}
			return l
		}), false, want, []string{"missing column s_o"}},
		{"deleted rows", edit("deleted.csv", func(l []string) []string { return append(l[:1], l[2:]...) }), true, want,
			[]string{"deleted.csv has 2 rows where the test set has 3 scored samples", `1 samples have no row, the first "01/4"`}},
		{"extra rows", edit("extra.csv", func(l []string) []string { return append(l, "03/4,03,4,0,1,1") }), true, want,
			[]string{"has 4 rows where the test set has 3", `1 rows are not samples of the test set, the first "03/4"`}},
		{"shuffled ids", edit("shuffled.csv", func(l []string) []string {
			a, b := strings.SplitN(l[1], ",", 2), strings.SplitN(l[3], ",", 2)
			l[1], l[3] = b[0]+","+a[1], a[0]+","+b[1]
			return l
		}), true, want, []string{"shuffled.csv: row 1 has id \"02/4\" but its other columns say \"01/4\""}},
		{"foreign ids", edit("foreign.csv", func(l []string) []string {
			l[3] = strings.ReplaceAll(l[3], "02", "07")
			return l
		}), true, want, []string{`row 3, id "07/4", is not a scored sample of the test set`, `the first "02/4"`}},
		{"label changed", edit("label.csv", func(l []string) []string {
			l[2] = strings.Replace(l[2], ",1,", ",0,", 1)
			return l
		}), true, want, []string{`row 2, id "01/5", has label 0 where the test set has 1`}},
		{"empty", edit("empty.csv", func([]string) []string { return nil }), true, want, []string{"empty.csv"}},
		{"image from another defect", images, true, []Sample{{ID: "good/000.png"}, {ID: "hole/000.png", Label: true}},
			[]string{`"crack/000.png", is not a scored sample`}},
	} {
		err := Check(c.path, c.student, c.want)
		for _, m := range c.msg {
			if err == nil || !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error %v, want one with %q", c.name, err, m)
			}
		}
	}
}
