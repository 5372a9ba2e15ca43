// Package results holds the result types the baselines produce: frame-level
// AUCs of a video data set (VideoResult), the metrics of an image category
// (ImageResult) and one point of a fusion-weight sweep (LambdaPoint). All
// metrics are fractions in [0, 1], NaN where a value was not computed.
// Package report renders them as tables and pictures.
package results

// VideoAUC is the frame-level AUC of one test video, a fraction in [0, 1].
type VideoAUC struct {
	Video string
	AUC   float64
}

// KindAUC is the frame-level AUC of one anomaly kind: the test frames of
// that kind against all normal frames, pooled. Frames counts the kind's
// frames.
type KindAUC struct {
	Kind   string
	AUC    float64
	Frames int
}

// VideoResult holds one method's frame-level results on one video data set,
// as fractions in [0, 1]. MicroAUC is over all frames of the test set pooled;
// MacroAUC, the mean of per-video AUCs, is NaN when not computed. Videos is
// optional; Kinds is set where the data set names each frame's anomaly
// kind.
type VideoResult struct {
	Dataset  string
	Method   string
	MicroAUC float64
	MacroAUC float64
	Videos   []VideoAUC
	Kinds    []KindAUC
}

// ImageResult holds one method's metrics on one image category, as fractions
// in [0, 1]. NaN marks a metric that was not computed; note that the zero
// value 0 is a real (terrible) score, not an absent one, so set the σ=4
// fields to NaN when they were not computed.
type ImageResult struct {
	Category string
	Method   string // e.g. "DRAEM" for the teacher, "DRAEM+CA" for the student
	// Group names the category's row group (the data set, for categories
	// that are not MVTec AD's); empty puts MVTec AD categories under
	// textures or objects and others under other.
	Group string

	PixelAUROC float64
	PixelAP    float64
	ImageAUROC float64
	// Pixel metrics on anomaly maps smoothed with a Gaussian of sigma 4.
	PixelAUROCSigma float64
	PixelAPSigma    float64
	// AUPRO is the normalised area under the per-region-overlap curve up
	// to FPR 0.3 (MVTec AD's); NaN when not computed.
	AUPRO float64
}

// LambdaPoint is the result of one fusion weight lambda in a sweep, AUCs as
// fractions in [0, 1]; MacroAUC is NaN when not computed.
type LambdaPoint struct {
	Lambda   float64
	MicroAUC float64
	MacroAUC float64
}
