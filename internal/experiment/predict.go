package experiment

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"codeberg.org/sbinet/npyio/npy"
	"github.com/fmam/fmam/internal/atomicfile"
	"github.com/fmam/fmam/internal/baseline"
	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/data"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/report"
)

// PredictOptions says what `fmam predict` scores and where it writes.
type PredictOptions struct {
	// Input is an image file, a folder of images (any layout, searched
	// recursively), a folder of frames (one video), a folder of frame
	// folders (several videos) or a video file (.avi, .mp4, .mov, .mkv:
	// extracted with ffmpeg).
	Input string
	// Out is the output folder: predictions.{csv,json}, maps/ and
	// overlays/ (maps/<video>/<frame>.npy for videos).
	Out string
	// Threshold is "" (the run's default, the label-free quantile),
	// "quantile", "f1" (the test set's F1-max) or a number on S_total.
	Threshold string
	// Category picks the unit of an image run with several categories.
	Category string
	// Lambda, when LambdaSet, picks the calibration `fmam eval --lambda`
	// wrote for that fusion weight (thresholds-lambda-L.json) in place of
	// eval.lambda's (thresholds.json).
	Lambda    float64
	LambdaSet bool
	// NoMaps writes scores only, no anomaly maps or overlays (a long
	// video gives one map of H*W float32 and one PNG per frame).
	NoMaps bool
	// Teacher predicts with the teacher alone (teacher_eval.onnx and the
	// thresholds of 'fmam eval --teacher-only'), as a run without a
	// student does: the baseline's own decision on the same input.
	Teacher bool
}

// Prediction is one scored image or frame.
type Prediction struct {
	ID        string  `json:"id"`
	Video     string  `json:"video,omitempty"`
	Frame     int     `json:"frame,omitempty"`
	SO        float64 `json:"s_o"`
	SFea      float64 `json:"s_fea"`
	STotal    float64 `json:"s_total"`
	Anomalous bool    `json:"anomalous"`
	// Map and Overlay are the anomaly map (.npy, H x W float32) and the
	// overlay (.png) written for the item, unless PredictOptions.NoMaps.
	Map     string `json:"map,omitempty"`
	Overlay string `json:"overlay,omitempty"`
}

// PredictReport is what predict wrote.
type PredictReport struct {
	Run   string `json:"run"`
	Model string `json:"model"`
	// TeacherOnly says that the run has no student and its teacher
	// scored alone (S_fea 0, S_total = n(S_o)).
	TeacherOnly bool         `json:"teacher_only,omitempty"`
	Threshold   float64      `json:"threshold"`
	ThresholdOf string       `json:"threshold_of"`
	Lambda      float64      `json:"lambda"`
	Items       []Prediction `json:"items"`
	Anomalous   int          `json:"anomalous"`
	CSV         string       `json:"csv"`
	JSON        string       `json:"json"`
}

// Predict scores unlabelled inputs with the run's student model and its
// stored calibration (run 'fmam eval' first), and writes per-item scores,
// decisions, anomaly maps and overlays. A run without a student
// (train.student_steps: 0) predicts with its teacher alone: the
// evaluation model and thresholds 'fmam eval --teacher-only' stored.
func (e *Env) Predict(ctx context.Context, o PredictOptions) (*PredictReport, error) {
	p, ok := e.Baseline.(baseline.Predictor)
	if !ok {
		return nil, fmt.Errorf("predict: model.arch %s scores object cubes cut around the boxes of a whole split (objects/boxes/<split>: data.boxes or fmam's foreground detector) "+
			"and turns them into frame scores normalised over each whole video, so it has no per-frame score to threshold on new input, and eval stores no thresholds for it; "+
			"to predict, train a frame-level video baseline (model.arch mnad, or reconstruction with your own network) or an image one (draem, reconstruction)", e.Baseline.Arch())
	}
	if e.Cfg.Model.Memory {
		return nil, fmt.Errorf("predict: MNAD with model.memory scores a frame by fusing its PSNR and memory distance after min-max normalising each over the whole video (MNAD's rule), " +
			"so a frame has no score of its own to threshold, and eval stores no thresholds for it; to predict, train a run with model.memory: false (a new run folder)")
	}
	teacherOnly := e.TeacherOnly() || o.Teacher
	if teacherOnly && o.LambdaSet {
		why := "this run has no student (train.student_steps: 0) and predicts"
		if o.Teacher {
			why = "--teacher predicts"
		}
		return nil, fmt.Errorf("predict --lambda: %s with the teacher alone, which has no S_fea to fuse; drop --lambda", why)
	}
	if len(e.Cfg.Train.Seeds) > 0 {
		return nil, fmt.Errorf("predict: %s holds one run per seed; pick one: --run %s", e.Layout.Root, filepath.Join(e.Layout.Root, "seed-<k>"))
	}
	units, err := e.Units(ctx)
	if err != nil {
		return nil, err
	}
	u, err := pickUnit(units, o.Category)
	if err != nil {
		return nil, err
	}
	st := e.student(u, e.Cfg.Model.Taps)
	model, thrFile, evalCmd := st.Model(), st.Thresholds(), "fmam eval --run "+e.Layout.Root
	if teacherOnly {
		st = e.Layout.Teacher(u.Name)
		model, thrFile, evalCmd = st.TeacherEvalModel(), st.Thresholds(), evalCmd+" --teacher-only"
	}
	if o.LambdaSet {
		thrFile, evalCmd = st.ThresholdsAt(o.Lambda), evalCmd+" --lambda "+ff(o.Lambda)
	}
	cal, err := baseline.ReadCalibration(thrFile)
	if err != nil {
		hint := ""
		if tst := e.Layout.Teacher(u.Name); !teacherOnly && fileExists(tst.Thresholds()) && !fileExists(model) {
			// 'fmam eval --teacher-only' ran, the student was never trained.
			hint = fmt.Sprintf(", or add --teacher to predict with the teacher alone (calibrated in %s)", tst.Thresholds())
		}
		return nil, fmt.Errorf("predict: no stored thresholds (%w); run '%s' first%s", err, evalCmd, hint)
	}
	thr, of, err := chooseThreshold(cal, o.Threshold)
	if err != nil {
		return nil, err
	}
	input, err := dataInput(model)
	if err != nil {
		if teacherOnly {
			return nil, fmt.Errorf("predict: %w; run '%s' first", err, evalCmd)
		}
		return nil, fmt.Errorf("predict: %w; run 'fmam train' and 'fmam eval' first", err)
	}
	if teacherOnly {
		why := "the run has no student (train.student_steps: 0)"
		if o.Teacher {
			why = "--teacher"
		}
		e.Log.Info("predicting with the teacher alone ("+why+"); S_fea is 0 and S_total = n(S_o) with the teacher's thresholds",
			"model", model, "thresholds", thrFile)
	}
	if o.Out == "" {
		o.Out = filepath.Join(e.Layout.Root, "predict")
		if o.Teacher {
			o.Out = filepath.Join(e.Layout.Root, "predict-teacher") // beside the student's, not over them
		}
	}
	in, err := e.predictInput(ctx, o)
	if err != nil {
		return nil, err
	}
	in.Maps = !o.NoMaps
	rep := &PredictReport{Run: e.Layout.Root, Model: model, TeacherOnly: teacherOnly, Threshold: thr, ThresholdOf: of, Lambda: cal.Lambda,
		CSV: filepath.Join(o.Out, "predictions.csv"), JSON: filepath.Join(o.Out, "predictions.json")}
	names := uniqueNames(in.Images)
	mapLevel := func(so float64) float64 { return so } // DRAEM's map is on S_o's scale
	if ml, ok := e.Baseline.(baseline.MapLeveler); ok {
		mapLevel = ml.MapLevel
	}
	// One colour range for every heat map of this predict, so that the
	// overlays of a video's frames (or of a folder's images) compare by
	// eye: [0, 2*level] with the highest deciding level an item can have
	// (its S_fea as normal as the reference's most normal), which puts
	// every contour inside the scale; without a level (lambda 1), the
	// first map's range.
	var heat *report.Range
	if l := mapLevel(soAt(cal, thr, 0)); l > 0 && 2*l < math.MaxFloat32 {
		heat = &report.Range{Lo: 0, Hi: float32(2 * l)}
	}
	warned := false
	em := baseline.EvalModel{Stage: st, Path: model, Inputs: []string{input}, TeacherOnly: teacherOnly}
	err = p.Predict(ctx, u, em, in, func(it baseline.PredictItem) error {
		pr := Prediction{ID: it.ID, Video: it.Video, Frame: it.Frame, SO: it.SO, SFea: it.SFea, STotal: cal.Total(it.SO, it.SFea)}
		pr.Anomalous = pr.STotal >= thr
		if in.Maps && it.Map == nil && !warned {
			warned = true
			e.Log.Warn(model+" has no anomaly map output: it was exported by an fmam from before video maps; writing scores only. "+mapsHint(teacherOnly, e.Layout.Root), "model", model)
		}
		if it.Map != nil {
			name := names[it.ID]
			if it.Video != "" {
				name = filepath.Join(it.Video, strconv.Itoa(it.Frame))
			}
			pr.Map = filepath.Join(o.Out, "maps", name+".npy")
			pr.Overlay = filepath.Join(o.Out, "overlays", name+".png")
			if err := writeMap(pr.Map, it.Map, it.H, it.W); err != nil {
				return err
			}
			if heat == nil {
				r := report.JointRange(report.Map{Data: it.Map, H: it.H, W: it.W})
				heat = &r
			}
			if err := writeOverlay(pr.Overlay, it, mapLevel(pixelLevel(cal, thr, it.SFea)), *heat, pr, thr); err != nil {
				return err
			}
		}
		if pr.Anomalous {
			rep.Anomalous++
		}
		rep.Items = append(rep.Items, pr)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := writePredictions(rep); err != nil {
		return nil, err
	}
	e.Log.Info("predicted", "items", len(rep.Items), "anomalous", rep.Anomalous, "threshold", ff(thr), "of", of, "csv", rep.CSV)
	return rep, nil
}

// mapsHint says how to get an evaluation model with anomaly maps: 'fmam
// eval' saves teacher_eval.onnx again when it lacks an output, and
// re-exports a student's model.onnx from its final checkpoint.
func mapsHint(teacherOnly bool, run string) string {
	if teacherOnly {
		return "For maps, run 'fmam eval --run " + run + " --teacher-only' again."
	}
	return "For maps, run 'fmam eval --run " + run + "' again: it re-exports model.onnx from the final checkpoint with the maps (same weights and scores)."
}

func pickUnit(units []*baseline.Unit, category string) (*baseline.Unit, error) {
	var names []string
	for _, u := range units {
		if category == "" && len(units) == 1 || u.Name == category {
			return u, nil
		}
		names = append(names, u.Name)
	}
	if category == "" {
		return nil, fmt.Errorf("predict: the run has categories %s; pick one with --category", strings.Join(names, ", "))
	}
	return nil, fmt.Errorf("predict: --category %s is not one of the run's (%s)", category, strings.Join(names, ", "))
}

// chooseThreshold resolves --threshold against the calibration.
func chooseThreshold(c *baseline.Calibration, s string) (float64, string, error) {
	name := c.Default
	switch s {
	case "":
	case "quantile", baseline.ThresholdQuantile:
		name = baseline.ThresholdQuantile
	case "f1", baseline.ThresholdF1:
		name = baseline.ThresholdF1
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, "", fmt.Errorf("--threshold %q: give a number on S_total, quantile (label-free, the default) or f1 (F1-max on the test set)", s)
		}
		return v, "--threshold", nil
	}
	t, ok := c.Threshold(name)
	if !ok {
		return 0, "", fmt.Errorf("--threshold %s: the run stores no %s threshold; run 'fmam eval' again", s, name)
	}
	return t.Value, name, nil
}

// videoExts are the video files predict extracts with ffmpeg, as
// scripts/extract-frames.sh does.
var videoExts = []string{".avi", ".mp4", ".mov", ".mkv"}

func isVideoFile(p string) bool { return slices.Contains(videoExts, strings.ToLower(filepath.Ext(p))) }

// predictInput gathers the images or videos of o.Input.
func (e *Env) predictInput(ctx context.Context, o PredictOptions) (baseline.PredictInput, error) {
	var in baseline.PredictInput
	st, err := os.Stat(o.Input)
	if err != nil {
		return in, fmt.Errorf("predict --input: %w", err)
	}
	if e.Cfg.Task == config.TaskImage {
		if !st.IsDir() {
			in.Images = []string{o.Input}
			return in, nil
		}
		err := filepath.WalkDir(o.Input, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && imageio.IsImageFile(d.Name()) {
				in.Images = append(in.Images, p)
			}
			return err
		})
		if err == nil && len(in.Images) == 0 {
			err = fmt.Errorf("predict --input %s: no image files (.png, .jpg, ...)", o.Input)
		}
		return in, err
	}
	var sources []string // video files or frame folders
	switch {
	case !st.IsDir():
		sources = []string{o.Input}
	case hasImages(o.Input):
		sources = []string{o.Input}
	default:
		ents, err := os.ReadDir(o.Input)
		if err != nil {
			return in, err
		}
		for _, en := range ents {
			p := filepath.Join(o.Input, en.Name())
			if isVideoFile(p) || hasImages(p) {
				sources = append(sources, p)
			}
		}
	}
	for _, s := range sources {
		dir := s
		if isVideoFile(s) {
			if dir, err = extractFrames(ctx, s, filepath.Join(o.Out, "frames")); err != nil {
				return in, err
			}
		}
		frames, err := data.ListFrames(dir)
		if err != nil {
			return in, fmt.Errorf("predict --input: %w", err)
		}
		name := strings.TrimSuffix(filepath.Base(s), filepath.Ext(s))
		if isDirPath(s) {
			name = filepath.Base(filepath.Clean(s))
		}
		in.Videos = append(in.Videos, data.Video{Name: name, Frames: frames})
	}
	if len(in.Videos) == 0 {
		return in, fmt.Errorf("predict --input %s: no frame folders or video files (%s)", o.Input, strings.Join(videoExts, ", "))
	}
	return in, nil
}

func isDirPath(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func hasImages(dir string) bool {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	return slices.ContainsFunc(ents, func(en os.DirEntry) bool { return !en.IsDir() && imageio.IsImageFile(en.Name()) })
}

// extractFrames decodes a video into out/<name>/0000.jpg, ... with the
// ffmpeg command of scripts/extract-frames.sh (every frame, numbered from
// 0); an existing folder is reused.
func extractFrames(ctx context.Context, video, out string) (string, error) {
	name := strings.TrimSuffix(filepath.Base(video), filepath.Ext(video))
	dst := filepath.Join(out, name)
	if hasImages(dst) {
		return dst, nil
	}
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return "", fmt.Errorf("predict --input %s: a video file needs ffmpeg (Debian: apt-get install ffmpeg), or give a folder of frames", video)
	}
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", video, "-map", "0:v:0",
		"-fps_mode", "passthrough", "-q:v", "2", "-start_number", "0", filepath.Join(tmp, "%04d.jpg"))
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("ffmpeg %s: %w: %s", video, err, strings.TrimSpace(string(b)))
	}
	if err := os.Rename(tmp, dst); err != nil {
		return "", err
	}
	return dst, nil
}

// uniqueNames gives each image a file name for its map and overlay: its
// path relative to the common folder, with separators replaced.
func uniqueNames(paths []string) map[string]string {
	out := map[string]string{}
	if len(paths) == 0 {
		return out
	}
	common := filepath.Dir(paths[0])
	for _, p := range paths[1:] {
		for !strings.HasPrefix(p, common+string(filepath.Separator)) && common != filepath.Dir(common) {
			common = filepath.Dir(common)
		}
	}
	for _, p := range paths {
		rel, err := filepath.Rel(common, p)
		if err != nil {
			rel = filepath.Base(p)
		}
		rel = strings.TrimSuffix(rel, filepath.Ext(rel))
		out[p] = strings.ReplaceAll(rel, string(filepath.Separator), "__")
	}
	return out
}

// pixelLevel is the S_o at which an item's S_total reaches the
// threshold given its S_fea: the S_o that would decide it, which the
// baseline's MapLevel (if any) turns into a level of the raw map. For
// DRAEM, whose S_o is the maximum of the filtered map, the contour at
// this level outlines where the map is as high as a deciding score.
// With lambda 1 S_o plays no part and there is no level (NaN).
func pixelLevel(c *baseline.Calibration, thr, sfea float64) float64 {
	return soAt(c, thr, c.SFea.Apply(sfea))
}

// soAt is the S_o at which S_total reaches thr when n(S_fea) is nfea;
// NaN with lambda 1.
func soAt(c *baseline.Calibration, thr, nfea float64) float64 {
	if c.Lambda >= 1 {
		return nan()
	}
	need := (thr - c.Lambda*nfea) / (1 - c.Lambda) // n(S_o) needed
	n := c.SO
	if n.Direction != "higher-is-anomalous" {
		need = 1 - need
	}
	span := n.Max - n.Min
	if !(span > 0) {
		span = 1
	}
	return n.Min + need*span
}

func writeMap(path string, m []float32, h, w int) error {
	rows := make([][]float32, h)
	for y := range rows {
		rows[y] = m[y*w : (y+1)*w]
	}
	return atomicfile.WriteFunc(path, func(wr io.Writer) error { return npy.Write(wr, rows) })
}

// writeOverlay draws the image, the heat map in the colour range heat,
// and the image with the contour of the map at level in red.
func writeOverlay(path string, it baseline.PredictItem, level float64, heat report.Range, pr Prediction, thr float64) error {
	img := report.ImageCHW{Data: it.Image, C: it.C, H: it.H, W: it.W}
	m := report.Map{Data: it.Map, H: it.H, W: it.W}
	// The contour goes on items decided anomalous only: on a normal one,
	// single pixels above the deciding level (a frame predictor's per-pixel
	// error is noisy around its mean) would draw red where nothing was
	// decided.
	last := report.ImageTile("normal", img)
	verb := "<"
	if pr.Anomalous {
		last, verb = report.ImageTile("anomaly", contour(img, it.Map, level)), ">="
	}
	// Tiles are scaled up by a whole factor to at least 192 pixels, as in
	// maps.png, so a 64-pixel frame is still readable.
	tile := it.W * max(1, (192+it.W-1)/it.W)
	return report.WritePanels(path, report.Panel{
		Tiles:     []report.Tile{report.ImageTile("image", img), report.HeatTile("map", m, heat), last},
		TileWidth: tile, TileHeight: tile * it.H / it.W,
		Label: fmt.Sprintf("%s  S_total %.4g %s %.4g", pr.ID, pr.STotal, verb, thr),
		Bar:   &heat,
	})
}

// contour copies img (as RGB) and paints red the pixels of m at or above
// level that have a 4-neighbour below it (or lie on the border).
func contour(img report.ImageCHW, m []float32, level float64) report.ImageCHW {
	h, w := img.H, img.W
	n := h * w
	out := report.ImageCHW{Data: make([]float32, 3*n), C: 3, H: h, W: w}
	for c := range 3 {
		src := c
		if img.C == 1 {
			src = 0
		}
		copy(out.Data[c*n:(c+1)*n], img.Data[src*n:(src+1)*n])
	}
	in := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < w && y < h && float64(m[y*w+x]) >= level
	}
	red := color.RGBA{R: 255}
	for y := range h {
		for x := range w {
			if !in(x, y) || in(x-1, y) && in(x+1, y) && in(x, y-1) && in(x, y+1) {
				continue
			}
			i := y*w + x
			out.Data[i], out.Data[n+i], out.Data[2*n+i] = float32(red.R)/255, 0, 0
		}
	}
	return out
}

// writePredictions writes the CSV and JSON files of a report.
func writePredictions(r *PredictReport) error {
	var rows [][]string
	for _, p := range r.Items {
		frame := "" // images have none
		if p.Video != "" {
			frame = strconv.Itoa(p.Frame)
		}
		rows = append(rows, []string{p.ID, p.Video, frame, ff(p.SO), ff(p.SFea), ff(p.STotal), strconv.FormatBool(p.Anomalous), p.Map, p.Overlay})
	}
	if err := writeCSV(r.CSV, []string{"id", "video", "frame", "s_o", "s_fea", "s_total", "anomalous", "map", "overlay"}, rows); err != nil {
		return err
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(r.JSON, append(b, '\n'))
}

func nan() float64 { return math.NaN() }
