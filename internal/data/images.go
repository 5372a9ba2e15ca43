package data

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fmam/fmam/internal/imageio"
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

// HasMask reports whether the item's pixel truth is known: a normal image
// (its mask is all normal, with or without a file) or an anomalous one with
// a mask file. It is false for an anomalous image without a mask (the
// folder layout allows that), whose all-normal Mask in a batch is a
// placeholder: leave it out of pixel metrics and draw it as "no mask".
func (it ImageItem) HasMask() bool {
	return it.Label == 0 || it.MaskPath != ""
}

// ImageDataset is one category of an image anomaly-detection dataset.
type ImageDataset struct {
	Name  string
	Root  string
	Train []ImageItem
	Test  []ImageItem
	// Val are training normals held out of Train (data.val_fraction) for
	// thresholds; empty unless the caller splits them off.
	Val []ImageItem
}

// HasMasks reports whether every anomalous test image has a pixel mask, so
// that pixel-level metrics are meaningful.
func (d *ImageDataset) HasMasks() bool {
	for _, it := range d.Test {
		if !it.HasMask() {
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
	return whole(ScanMVTec(root, category))
}

// whole is a loader's answer: the dataset, or nil with the error.
func whole[D any](ds *D, err error) (*D, error) {
	if err != nil {
		return nil, err
	}
	return ds, nil
}

// ScanMVTec is LoadMVTec that keeps what it found when the layout has
// problems: the dataset then holds every item that could be listed (it is
// nil only when the category folder itself is missing) beside the error
// that names every problem. A check of the files' contents (package
// datacheck) reads it, so that layout and content problems are reported
// together.
func ScanMVTec(root, category string) (*ImageDataset, error) {
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
		return ds, fmt.Errorf("load MVTec category %q from %s:\n%w", category, root, errors.Join(errs...))
	}
	return ds, nil
}

// LoadImageFolder loads a user's own image dataset of one category:
//
//	<root>/train/*.png (or train/<any>/*.png)      normal images
//	<root>/test/<class>/*.png                       class good or normal = normal
//	<root>/ground_truth/<class>/<name>_mask.png     optional masks
//
// Unlike MVTec, anomalous images need not have masks (ImageItem.HasMask,
// ImageDataset.HasMasks). For several categories under one root see
// ImageFolderCategories and LoadImageFolderCategory.
func LoadImageFolder(root string) (*ImageDataset, error) {
	return whole(ScanImageFolder(root))
}

// ScanImageFolder is LoadImageFolder that keeps what it found beside the
// error, as ScanMVTec does.
func ScanImageFolder(root string) (*ImageDataset, error) {
	ds, errs := loadImageFolder(root, filepath.Base(root), root)
	if len(errs) > 0 {
		return ds, fmt.Errorf("load image folder %s:\n%w", root, errors.Join(errs...))
	}
	return ds, nil
}

// ImageFolderCategories lists the categories of a folder dataset laid out
// as MVTec is, <root>/<category>/{train,test[,ground_truth]}: the
// sub-folders of root (links followed) that have a train folder, sorted by
// name. A root with no such folder is an error, which says so when root is
// itself one category (<root>/train: load it with LoadImageFolder).
func ImageFolderCategories(root string) ([]string, error) {
	if !isDir(root) {
		return nil, fmt.Errorf("list image folder categories: folder %s not found", root)
	}
	subs, err := subdirs(root)
	var cats []string
	for _, s := range subs {
		if isDir(filepath.Join(root, s, "train")) {
			cats = append(cats, s)
		}
	}
	if err != nil {
		return cats, fmt.Errorf("list image folder categories in %s: %w", root, err)
	}
	if len(cats) == 0 {
		if isDir(filepath.Join(root, "train")) {
			return nil, fmt.Errorf("list image folder categories: %s has train/ itself, so it is one category (the layout <root>/{train,test}), not <root>/<category>/train; give no categories", root)
		}
		return nil, fmt.Errorf("list image folder categories: no folder in %s has a train/ folder; want <root>/<category>/{train,test[,ground_truth]}", root)
	}
	return cats, nil
}

// LoadImageFolderCategory loads one category of a folder dataset laid out
// as <root>/<category>/{train,test[,ground_truth]}, each category as
// LoadImageFolder reads a root. The dataset is named after the category.
func LoadImageFolderCategory(root, category string) (*ImageDataset, error) {
	return whole(ScanImageFolderCategory(root, category))
}

// ScanImageFolderCategory is LoadImageFolderCategory that keeps what it
// found beside the error, as ScanMVTec does.
func ScanImageFolderCategory(root, category string) (*ImageDataset, error) {
	dir := filepath.Join(root, category)
	if category == "" || category != filepath.Base(dir) {
		return nil, fmt.Errorf("load image folder %s: category %q must be one folder name", root, category)
	}
	if !isDir(dir) {
		hint := ""
		if cats, err := ImageFolderCategories(root); err == nil {
			hint = "; categories found: " + strings.Join(cats, ", ")
		} else if isDir(filepath.Join(root, "train")) {
			hint = "; " + root + " has train/ itself (one category): give no categories"
		}
		return nil, fmt.Errorf("load image folder %s category %q: folder %s not found; want <root>/<category>/{train,test[,ground_truth]}%s", root, category, dir, hint)
	}
	ds, errs := loadImageFolder(dir, category, root)
	if len(errs) > 0 {
		return ds, fmt.Errorf("load image folder %s category %q:\n%w", root, category, errors.Join(errs...))
	}
	return ds, nil
}

// loadImageFolder reads the single-category layout in dir.
func loadImageFolder(dir, name, root string) (*ImageDataset, []error) {
	ds := &ImageDataset{Name: name, Root: root}
	var errs []error
	trainDir := filepath.Join(dir, "train")
	if !isDir(trainDir) {
		errs = append(errs, fmt.Errorf("training folder %s not found; want normal images in %s/train", trainDir, dir))
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
	test, testErrs := loadTestTree(filepath.Join(dir, "test"), filepath.Join(dir, "ground_truth"), false,
		func(d string) bool { d = strings.ToLower(d); return d == "good" || d == "normal" })
	ds.Test = test
	errs = append(errs, testErrs...)
	return ds, errs
}

// loadTestTree reads test/<class>/ images and their ground_truth masks.
func loadTestTree(testDir, gtDir string, needMasks bool, isNormal func(string) bool) ([]ImageItem, []error) {
	if !isDir(testDir) {
		return nil, []error{fmt.Errorf("test folder %s not found; want test/<class>/ image folders (good = normal)", testDir)}
	}
	classes, err := subdirs(testDir)
	var items []ImageItem
	var errs []error
	if err != nil {
		errs = append(errs, err)
	}
	if len(classes) == 0 && err == nil {
		return nil, []error{fmt.Errorf("test folder %s has no class folders; want test/good/ and test/<defect>/", testDir)}
	}
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
	iw, ih, err := imageio.Size(img)
	if err != nil {
		return err
	}
	mw, mh, err := imageio.Size(mask)
	if err != nil {
		return err
	}
	if iw != mw || ih != mh {
		return fmt.Errorf("mask %s is %dx%d but image %s is %dx%d (WxH); a mask must have its image's size", mask, mw, mh, img, iw, ih)
	}
	return nil
}

// listImages lists the image files directly in dir (links followed), in
// natural order. With broken links it returns the images found and an
// error naming the links.
func listImages(dir string) ([]string, error) {
	names, err := imageFiles(dir)
	slices.SortFunc(names, naturalCompare)
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = filepath.Join(dir, n)
	}
	return out, err
}
