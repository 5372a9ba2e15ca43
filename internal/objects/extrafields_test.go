package objects

import (
	"strings"
	"testing"
)

// A row with more fields than the header is refused with the file, the
// line and the expected columns (issue 22: it was read from the first
// columns and the rest ignored). A row without the optional class stays
// accepted.
func TestBoxCSVRefusesExtraFields(t *testing.T) {
	good := "video,frame,x1,y1,x2,y2,score,class\n01,0,1,2,3,4,0.9,0\n01,1,1,2,3,4,0.9\n"
	if s, err := DecodeCSV(strings.NewReader(good), "good.csv"); err != nil || s.Len() != 2 {
		t.Fatalf("good file: %v", err)
	}
	bad := good + "01,2,1,2,3,4,0.9,0,7\n"
	_, err := DecodeCSV(strings.NewReader(bad), "bad.csv")
	for _, want := range []string{"bad.csv line 4", "9 fields", "video,frame,x1,y1,x2,y2,score,class"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("extra field: error %v lacks %q", err, want)
		}
	}
	vec := "video,frame,x1,y1,x2,y2\n01,0,1,2,3,4\n01,1,1,2,3,4,5\n"
	_, err = decodeVECCSV(strings.NewReader(vec), "stc.csv")
	for _, want := range []string{"stc.csv line 3", "7 fields", "video,frame,x1,y1,x2,y2 has 6"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("STC CSV extra field: error %v lacks %q", err, want)
		}
	}
}
