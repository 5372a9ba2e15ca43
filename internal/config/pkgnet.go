package config

import "fmt"

// PKGNet are PKG-Net's settings (model.arch pkgnet, internal/baseline/
// pkgnet). Zero values of K, NumObj and Hybrid take the data set's
// official values (PKG-Net's config/*.yaml).
type PKGNet struct {
	// K is the student variant: 1 (strided-conv encoder, one distilled
	// block) or 2 (max-pool encoder, two); 0 is the data set's official k
	// (ped2 2, avenue and shanghaitech 1).
	K int `mapstructure:"k" yaml:"k"`
	// Backbone is the ONNX file of the frozen ImageNet backbone, the
	// prior-knowledge teacher; Layers are its output names, block 1 then
	// block 2 (k = 2).
	Backbone string   `mapstructure:"backbone" yaml:"backbone"`
	Layers   []string `mapstructure:"layers" yaml:"layers"`
	// BackboneSize is the square input size the backbone is imported at;
	// the target patch is resized to it bilinearly.
	BackboneSize int `mapstructure:"backbone_size" yaml:"backbone_size"`
	// BGR feeds the backbone the target patch in B, G, R order, as the
	// official code (OpenCV frames) does.
	BGR bool `mapstructure:"bgr" yaml:"bgr"`
	// NumObj is how many of a frame's largest object scores its score
	// averages; 0 is the data set's official number.
	NumObj int `mapstructure:"num_obj" yaml:"num_obj"`
	// Hybrid weights the z-scored components (prediction MSE, then block 1
	// and block 2); empty is the data set's official weights.
	Hybrid []float64 `mapstructure:"hybrid" yaml:"hybrid"`
	// Stats are given z-scoring constants, one per component; empty
	// computes them from the training cubes.
	Stats PKGNetStats `mapstructure:"stats" yaml:"stats"`
	// Median is the per-video median filter's kernel (odd).
	Median int `mapstructure:"median" yaml:"median"`
}

// PKGNetStats are z-scoring constants, one mean and std per component.
type PKGNetStats struct {
	Mean []float64 `mapstructure:"mean" yaml:"mean"`
	Std  []float64 `mapstructure:"std" yaml:"std"`
}

func pkgnetDefaults() map[string]any {
	return map[string]any{"k": 0, "backbone": "", "layers": []string{}, "backbone_size": 64, "bgr": true,
		"num_obj": 0, "hybrid": []float64{}, "stats": map[string]any{"mean": []float64{}, "std": []float64{}}, "median": 19}
}

// validate checks what can be checked without the data set or the
// backbone file; the baseline checks the rest (internal/baseline/pkgnet).
func (p PKGNet) validate() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if p.K < 0 || p.K > 2 {
		bad("model.pkgnet.k %d: use 1, 2 or 0 (the data set's official k)", p.K)
	}
	if p.BackboneSize < 8 {
		bad("model.pkgnet.backbone_size %d must be >= 8 pixels", p.BackboneSize)
	}
	if p.NumObj < 0 {
		bad("model.pkgnet.num_obj %d must be >= 0 (0: the data set's official number)", p.NumObj)
	}
	if p.Median < 1 || p.Median%2 == 0 {
		bad("model.pkgnet.median %d must be odd and positive (19 as the official eval.py)", p.Median)
	}
	if len(p.Stats.Mean) != len(p.Stats.Std) {
		bad("model.pkgnet.stats has %d means and %d stds; give one of each per score component", len(p.Stats.Mean), len(p.Stats.Std))
	}
	for i, s := range p.Stats.Std {
		if !(s > 0) {
			bad("model.pkgnet.stats.std[%d] %v must be > 0", i, s)
		}
	}
	return errs
}
