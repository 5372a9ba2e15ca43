package data

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ImageItem is one image of an image dataset.
type ImageItem struct {
	Path string
	// MaskPath is the pixel mask; "" means no mask file. For a normal
	// image (Label 0) that means an all-normal mask; for an anomalous one
	// in the folder layout it means the anomaly is not localised.
	MaskPath string
	// Defect is the test sub-folder ("good", "crack", ...); "good" for
	// training images.
	Defect string
	Label  uint8
}

// ImageDataset is one category of an image anomaly-detection dataset.
type ImageDataset struct {
	Name  string
	Root  string
	Train []ImageItem
	Test  []ImageItem
}

// HasMasks reports whether every anomalous test image has a pixel mask, so
// that pixel-level metrics are meaningful.
func (d *ImageDataset) HasMasks() bool {
	for _, it := range d.Test {
		if it.Label == 1 && it.MaskPath == "" {
			return false
		}
	}
	return true
}

// MVTecCategories returns the 15 MVTec AD categories, objects then
// textures, in alphabetical order within each group.
func MVTecCategories() []string {
	return []string{
		"bottle", "cable", "capsule", "hazelnut", "metal_nut", "pill", "screw",
		"toothbrush", "transistor", "zipper",
		"carpet", "grid", "leather", "tile", "wood",
	}
}

// IsTexture reports whether an MVTec AD category is a texture (carpet, grid,
// leather, tile, wood) rather than an object.
func IsTexture(category string) bool {
	switch category {
	case "carpet", "grid", "leather", "tile", "wood":
		return true
	}
	return false
}

// LoadMVTec loads one category of MVTec AD (or a dataset in its layout):
//
//	<root>/<category>/train/good/*.png
//	<root>/<category>/test/<defect>/*.png           (defect "good" = normal)
//	<root>/<category>/ground_truth/<defect>/<name>_mask.png
//
// Every anomalous test image must have a mask of its own size; the sizes are
// checked from the file headers.
func LoadMVTec(root, category string) (*ImageDataset, error) {
	dir := filepath.Join(root, category)
	if !isDir(dir) {
		return nil, fmt.Errorf("load MVTec category %q: folder %s not found; want <root>/<category>/{train/good,test,ground_truth} (categories: %s)",
			category, dir, strings.Join(MVTecCategories(), ", "))
	}
	ds := &ImageDataset{Name: category, Root: root}
	var errs []error
	trainDir := filepath.Join(dir, "train", "good")
	if !isDir(trainDir) {
		errs = append(errs, fmt.Errorf("training folder %s not found; MVTec keeps normal training images in train/good", trainDir))
	} else {
		imgs, err := listImages(trainDir)
		switch {
		case err != nil:
			errs = append(errs, err)
		case len(imgs) == 0:
			errs = append(errs, fmt.Errorf("training folder %s has no images", trainDir))
		}
		for _, p := range imgs {
			ds.Train = append(ds.Train, ImageItem{Path: p, Defect: "good"})
		}
	}
	test, testErrs := loadTestTree(filepath.Join(dir, "test"), filepath.Join(dir, "ground_truth"), true,
		func(d string) bool { return d == "good" })
	ds.Test = test
	errs = append(errs, testErrs...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("load MVTec category %q from %s:\n%w", category, root, errors.Join(errs...))
	}
	return ds, nil
}

// LoadImageFolder loads a user's own image dataset:
//
//	<root>/train/*.png (or train/<any>/*.png)      normal images
//	<root>/test/<class>/*.png                       class good or normal = normal
//	<root>/ground_truth/<class>/<name>_mask.png     optional masks
//
// Unlike MVTec, anomalous images need not have masks (ImageDataset.HasMasks).
func LoadImageFolder(root string) (*ImageDataset, error) {
	ds := &ImageDataset{Name: filepath.Base(root), Root: root}
	var errs []error
	trainDir := filepath.Join(root, "train")
	if !isDir(trainDir) {
		errs = append(errs, fmt.Errorf("training folder %s not found; want normal images in <root>/train", trainDir))
	} else {
		imgs, err := listImages(trainDir)
		if err != nil {
			errs = append(errs, err)
		}
		subs, err := subdirs(trainDir)
		if err != nil {
			errs = append(errs, err)
		}
		for _, s := range subs {
			more, err := listImages(filepath.Join(trainDir, s))
			if err != nil {
				errs = append(errs, err)
			}
			imgs = append(imgs, more...)
		}
		if len(imgs) == 0 && len(errs) == 0 {
			errs = append(errs, fmt.Errorf("training folder %s has no images", trainDir))
		}
		for _, p := range imgs {
			ds.Train = append(ds.Train, ImageItem{Path: p, Defect: "good"})
		}
	}
	test, testErrs := loadTestTree(filepath.Join(root, "test"), filepath.Join(root, "ground_truth"), false,
		func(d string) bool { d = strings.ToLower(d); return d == "good" || d == "normal" })
	ds.Test = test
	errs = append(errs, testErrs...)
	if len(errs) > 0 {
		return nil, fmt.Errorf("load image folder %s:\n%w", root, errors.Join(errs...))
	}
	return ds, nil
}

// loadTestTree reads test/<class>/ images and their ground_truth masks.
func loadTestTree(testDir, gtDir string, needMasks bool, isNormal func(string) bool) ([]ImageItem, []error) {
	if !isDir(testDir) {
		return nil, []error{fmt.Errorf("test folder %s not found; want test/<class>/ image folders (good = normal)", testDir)}
	}
	classes, err := subdirs(testDir)
	if err != nil {
		return nil, []error{err}
	}
	if len(classes) == 0 {
		return nil, []error{fmt.Errorf("test folder %s has no class folders; want test/good/ and test/<defect>/", testDir)}
	}
	var items []ImageItem
	var errs []error
	for _, c := range classes {
		imgs, err := listImages(filepath.Join(testDir, c))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if len(imgs) == 0 {
			errs = append(errs, fmt.Errorf("test folder %s has no images", filepath.Join(testDir, c)))
			continue
		}
		if isNormal(c) {
			for _, p := range imgs {
				items = append(items, ImageItem{Path: p, Defect: c})
			}
			continue
		}
		cgt := filepath.Join(gtDir, c)
		if needMasks && !isDir(cgt) {
			errs = append(errs, fmt.Errorf("defect folder %s has no mask folder %s; want <name>_mask.png for each image", filepath.Join(testDir, c), cgt))
			continue
		}
		for _, p := range imgs {
			it := ImageItem{Path: p, Defect: c, Label: 1}
			base := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
			mask := findMask(cgt, base)
			switch {
			case mask != "":
				if err := sameSize(p, mask); err != nil {
					errs = append(errs, err)
					continue
				}
				it.MaskPath = mask
			case needMasks:
				errs = append(errs, fmt.Errorf("image %s has no mask: want %s", p, filepath.Join(cgt, base+"_mask.png")))
				continue
			}
			items = append(items, it)
		}
	}
	return items, errs
}

// findMask returns dir/<base>_mask.<ext> for any image extension, or "".
func findMask(dir, base string) string {
	for _, ext := range []string{".png", ".bmp", ".tif", ".tiff", ".jpg", ".jpeg"} {
		if p := filepath.Join(dir, base+"_mask"+ext); isFile(p) {
			return p
		}
	}
	return ""
}

func sameSize(img, mask string) error {
	iw, ih, err := ImageSize(img)
	if err != nil {
		return err
	}
	mw, mh, err := ImageSize(mask)
	if err != nil {
		return err
	}
	if iw != mw || ih != mh {
		return fmt.Errorf("mask %s is %dx%d but image %s is %dx%d (WxH); a mask must have its image's size", mask, mw, mh, img, iw, ih)
	}
	return nil
}

// listImages lists the image files directly in dir, in natural order.
func listImages(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && !strings.HasPrefix(e.Name(), ".") && IsImageFile(e.Name()) {
			names = append(names, e.Name())
		}
	}
	slices.SortFunc(names, naturalCompare)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out, nil
}
