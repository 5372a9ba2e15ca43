package data

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/fmam/fmam/internal/imageio"
)

// entry is one name in a folder with symbolic links followed: datasets are
// often assembled from links into a shared copy (video folders, class
// folders, single frames), and a link must count as what it points to.
type entry struct {
	name string
	dir  bool // a folder or a link to one
	file bool // a regular file or a link to one
	// err is set for a link that cannot be followed (broken, or a chain
	// of links that never ends); such an entry is neither dir nor file.
	err error
}

// readDir lists dir, skipping hidden names, with every link followed. When
// dir is itself a link to a folder that contains it (a loop: the dataset
// would contain itself), readDir refuses it with an error naming both, so
// every loader that lists a folder is guarded by this one check.
func readDir(dir string) ([]entry, error) {
	if err := checkLoop(dir); err != nil {
		return nil, err
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := make([]entry, 0, len(des))
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		e := entry{name: name}
		mode := de.Type()
		if mode&fs.ModeSymlink != 0 {
			p := filepath.Join(dir, name)
			st, err := os.Stat(p)
			if err != nil {
				target, _ := os.Readlink(p)
				e.err = fmt.Errorf("%s: cannot follow the symbolic link to %q: %w; fix or remove the link", p, target, err)
				out = append(out, e)
				continue
			}
			mode = st.Mode()
		}
		e.dir, e.file = mode.IsDir(), mode.IsRegular()
		out = append(out, e)
	}
	return out, nil
}

// checkLoop reports dir when it is a symbolic link to a folder that
// contains it. Listing through such a link would read the dataset's own
// parent folders as if they were its videos or classes.
func checkLoop(dir string) error {
	st, err := os.Lstat(dir)
	if err != nil || st.Mode()&fs.ModeSymlink == 0 {
		return nil // os.ReadDir reports a missing folder
	}
	target, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return nil // os.ReadDir reports a broken link
	}
	parent, err := filepath.EvalSymlinks(filepath.Dir(dir))
	if err != nil {
		return nil
	}
	if parent == target || strings.HasPrefix(parent, target+string(filepath.Separator)) {
		return fmt.Errorf("%s is a symbolic link to %s, which contains it (a loop); link to the data folder itself instead", dir, target)
	}
	return nil
}

// subdirs lists the folders in dir (links to folders included) sorted by
// name, the order MNAD's concatenated label files use. Links that cannot be
// followed are returned joined in the error, next to the folders found;
// those with an image extension are left to listImages and listFrames.
func subdirs(dir string) ([]string, error) {
	entries, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	var errs []error
	for _, e := range entries {
		switch {
		case e.dir:
			out = append(out, e.name)
		case e.err != nil && !imageio.IsImageFile(e.name):
			errs = append(errs, e.err)
		}
	}
	return out, errors.Join(errs...)
}

// imageFiles lists the names of the image files in dir (links to files
// included) in directory order. Broken links with an image extension are
// errors: they stand where a frame or an image was meant to be.
func imageFiles(dir string) ([]string, error) {
	entries, err := readDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	var errs []error
	for _, e := range entries {
		if !imageio.IsImageFile(e.name) {
			continue
		}
		switch {
		case e.err != nil:
			errs = append(errs, e.err)
		case e.file:
			names = append(names, e.name)
		}
	}
	return names, errors.Join(errs...)
}

// isDir reports whether path is a folder or a link to one.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// isFile reports whether path is a regular file or a link to one.
func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}
