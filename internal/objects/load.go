package objects

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Load reads boxes from path, picking the reader from its form: a folder
// is read by ReadNPYDir (<dir>/<video>/<frame>.npy), a .csv file by
// ReadCSV, a .pkl/.pickle file (or any file starting with a pickle
// protocol marker) by ReadPickle.
func Load(path string) (*Set, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	if st.IsDir() {
		return ReadNPYDir(path)
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		return ReadCSV(path)
	case ".pkl", ".pickle":
		return ReadPickle(path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("load boxes %s: %w", path, err)
	}
	var head [1]byte
	_, err = f.Read(head[:])
	f.Close()
	if err == nil && head[0] == 0x80 { // PROTO opcode: protocol 2 and later
		return ReadPickle(path)
	}
	return nil, fmt.Errorf("load boxes %s: unknown form; want a .csv file (video,frame,x1,y1,x2,y2,score[,class]), a Jigsaw-VAD .pkl, or a folder <video>/<frame>.npy", path)
}
