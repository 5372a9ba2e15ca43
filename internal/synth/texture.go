package synth

import (
	"fmt"
	"image"
	_ "image/jpeg" // texture sets (DTD) are JPEG
	_ "image/png"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	_ "golang.org/x/image/bmp"
	"golang.org/x/image/draw"
	_ "golang.org/x/image/tiff"
)

// textureExts are the file extensions taken as anomaly source images.
var textureExts = []string{".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}

// findTextures lists the image files under dir, recursively (DTD keeps its
// images in one folder per class), in sorted order so that an index drawn
// from a seeded generator always names the same file.
func findTextures(dir string) ([]string, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("anomaly texture directory %s: %w (point it at a folder of texture images, e.g. DTD's images/)", dir, err)
	}
	if !info.IsDir() {
		return nil, fmt.Errorf("anomaly texture directory %s is not a directory", dir)
	}
	var paths []string
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && slices.Contains(textureExts, strings.ToLower(filepath.Ext(path))) {
			paths = append(paths, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list anomaly textures in %s: %w", dir, err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("anomaly texture directory %s holds no images (looked for %s, recursively)", dir, strings.Join(textureExts, " "))
	}
	slices.Sort(paths)
	return paths, nil
}

// checkTexture reads only the header of an image file, to catch unreadable
// files early without decoding a whole large texture set.
func checkTexture(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open anomaly texture %s: %w", path, err)
	}
	defer f.Close()
	if _, _, err := image.DecodeConfig(f); err != nil {
		return fmt.Errorf("anomaly texture %s is not a readable image: %w", path, err)
	}
	return nil
}

// loadTexture decodes an image file and resizes it bilinearly to h×w, as the
// reference's cv2.resize does, returning a 3-channel image.
func loadTexture(path string, h, w int) (Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return Image{}, fmt.Errorf("open anomaly texture %s: %w", path, err)
	}
	defer f.Close()
	src, _, err := image.Decode(f)
	if err != nil {
		return Image{}, fmt.Errorf("decode anomaly texture %s: %w", path, err)
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.BiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	return fromGoImage(dst), nil
}

// TextureFiles lists the anomaly source images a Synthesizer reads from
// dir, in its order; an error says why dir gives none.
func TextureFiles(dir string) ([]string, error) { return findTextures(dir) }
