package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
)

// DefaultMaxFPR is the FPR limit of AUPRO in the MVTec AD papers.
const DefaultMaxFPR = 0.3

// PixelResult holds the pixel-level metrics of a whole test set.
type PixelResult struct {
	AUROC float64 `json:"pixel_auroc"`
	AP    float64 `json:"pixel_ap"`
	// AUPRO is the normalised area under the PRO curve up to MaxFPR; zero
	// when it was not asked for (see PixelMetrics).
	AUPRO  float64 `json:"aupro"`
	MaxFPR float64 `json:"aupro_max_fpr"`

	Images          int   `json:"images"`
	Width           int   `json:"width"`
	Height          int   `json:"height"`
	Pixels          int64 `json:"pixels"`
	AnomalousPixels int64 `json:"anomalous_pixels"`
	Regions         int   `json:"regions"`
}

// NaNPixelError is a NaN in an anomaly map. Map is the map's index in
// the slice given; callers that know the maps' files name the file
// (NameNaNMap).
type NaNPixelError struct {
	Map, X, Y int
}

func (e *NaNPixelError) Error() string {
	return fmt.Sprintf("anomaly map %d: pixel (x=%d, y=%d) is NaN", e.Map, e.X, e.Y)
}

// NameNaNMap rewrites a NaNPixelError in err to name the map by name(index)
// and say what to do; other errors are returned as they are.
func NameNaNMap(err error, name func(int) string) error {
	var ne *NaNPixelError
	if !errors.As(err, &ne) {
		return err
	}
	return fmt.Errorf("anomaly map %s: pixel (x=%d, y=%d) is NaN; the network gave NaN for this image: check the image, and the training log for a NaN loss, then run 'fmam eval' again", name(ne.Map), ne.X, ne.Y)
}

// PixelMetrics returns the pixel AUROC and AP of anomaly maps against
// ground-truth masks, all pixels of all images pooled (scikit-learn's
// roc_auc_score and average_precision_score on the flattened arrays). Each map
// and mask holds w*h pixels in row-major order.
func PixelMetrics(ctx context.Context, maps [][]float32, masks [][]bool, w, h int) (auroc, ap float64, err error) {
	r, err := evaluatePixels(ctx, maps, masks, w, h, 0, countMinDefault, nil)
	if err != nil {
		return 0, 0, err
	}
	return r.AUROC, r.AP, nil
}

// AUPRO returns the area under the per-region-overlap curve up to maxFPR,
// divided by maxFPR, as MVTec AD's evaluation code computes it (see the
// package comment). maxFPR must be in (0, 1]; DefaultMaxFPR is the usual one.
func AUPRO(ctx context.Context, maps [][]float32, masks [][]bool, w, h int, maxFPR float64) (float64, error) {
	if err := CheckMaxFPR(maxFPR); err != nil {
		return 0, err
	}
	r, err := evaluatePixels(ctx, maps, masks, w, h, maxFPR, countMinDefault, nil)
	if err != nil {
		return 0, err
	}
	return r.AUPRO, nil
}

// EvaluatePixels computes pixel AUROC, pixel AP and AUPRO (up to maxFPR) in
// one pass over the scores; it costs little more than PixelMetrics alone.
func EvaluatePixels(ctx context.Context, maps [][]float32, masks [][]bool, w, h int, maxFPR float64) (PixelResult, error) {
	if err := CheckMaxFPR(maxFPR); err != nil {
		return PixelResult{}, err
	}
	return evaluatePixels(ctx, maps, masks, w, h, maxFPR, countMinDefault, nil)
}

// EvaluatePixelsProgress is EvaluatePixels that tells progress (nil: no
// one) how far it got, for a bar or log lines over a large test set: done
// of total steps, one per image in each of the two passes over the pixels
// and one for the walk over the thresholds, so total is 2*len(maps)+1.
// The calls come one at a time, with done increasing.
func EvaluatePixelsProgress(ctx context.Context, maps [][]float32, masks [][]bool, w, h int, maxFPR float64, progress func(done, total int)) (PixelResult, error) {
	if err := CheckMaxFPR(maxFPR); err != nil {
		return PixelResult{}, err
	}
	return evaluatePixels(ctx, maps, masks, w, h, maxFPR, countMinDefault, progress)
}

// PixelSteps is the total that EvaluatePixelsProgress counts to for n
// images.
func PixelSteps(n int) int { return 2*n + 1 }

// counter reports the steps done to a progress function from several
// goroutines, one call at a time and in increasing order.
type counter struct {
	mu       sync.Mutex
	done, of int
	f        func(done, total int)
}

func (c *counter) add() {
	if c == nil || c.f == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.done++
	c.f(c.done, c.of)
}

// CheckMaxFPR reports an AUPRO FPR limit outside (0, 1], so that callers can
// refuse it before loading any map.
func CheckMaxFPR(maxFPR float64) error {
	if !(maxFPR > 0 && maxFPR <= 1) {
		return fmt.Errorf("aupro: max FPR %v is outside (0, 1]; the usual value is %v", maxFPR, DefaultMaxFPR)
	}
	return nil
}

// Scores are sorted by a uint32 key whose order is the float order. The top
// 16 bits of the key pick a bucket; within a bucket only the low 16 bits are
// stored (2 bytes per normal pixel), and a bucket is either sorted or, when it
// is large, counted with one counter per low value. This is an exact sort of
// every score that needs no index array and no radix scratch copy.
const (
	bucketBits = 16
	numBuckets = 1 << bucketBits
	lowMask    = numBuckets - 1

	// countMinDefault is the bucket size from which counting (a scan of up to
	// 65,536 counters) is cheaper than sorting; with it the scan never costs
	// more than 4 steps per pixel.
	countMinDefault = numBuckets / 4
)

// pixelKey maps a score to a key with the same order; -0 and +0 share one key
// because they are one threshold. ok is false for NaN.
func pixelKey(v float32) (key uint32, ok bool) {
	if v != v {
		return 0, false
	}
	if v == 0 {
		return 1 << 31, true
	}
	u := math.Float32bits(v)
	if u&(1<<31) != 0 {
		return ^u, true
	}
	return u | 1<<31, true
}

// evaluatePixels computes AUROC and AP, and AUPRO when maxFPR > 0. countMin
// is a parameter so that tests can force both ways of walking a bucket.
// progress (nil: none) is told of every step (EvaluatePixelsProgress).
func evaluatePixels(ctx context.Context, maps [][]float32, masks [][]bool, w, h int, maxFPR float64, countMin int, progress func(done, total int)) (PixelResult, error) {
	withPRO := maxFPR > 0
	res := PixelResult{MaxFPR: maxFPR, Images: len(maps), Width: w, Height: h}
	if err := checkPixelInput(maps, masks, w, h); err != nil {
		return res, err
	}

	steps := &counter{of: PixelSteps(len(maps)), f: progress}
	sc, err := scanPixels(ctx, maps, masks, w, h, withPRO, steps)
	if err != nil {
		return res, err
	}
	nNeg, nPos := len(sc.negLow), len(sc.pos)
	res.Pixels = int64(nNeg + nPos)
	res.AnomalousPixels = int64(nPos)
	res.Regions = len(sc.weights)
	if nNeg == 0 || nPos == 0 {
		return res, fmt.Errorf("pixel metrics: %d anomalous and %d normal pixels: %w", nPos, nNeg, ErrOneClass)
	}

	acc := pixelAcc{p: int64(nPos), n: int64(nNeg), withPRO: withPRO, maxFPR: maxFPR, regions: float64(len(sc.weights))}
	if err := sc.walk(ctx, &acc, countMin); err != nil {
		return res, err
	}
	steps.add()
	if acc.tp != acc.p || acc.fp != acc.n {
		return res, errors.New("pixel metrics: internal error: walk lost pixels")
	}
	res.AUROC = float64(acc.twiceAUC) / (2 * float64(acc.p) * float64(acc.n))
	res.AP = acc.ap.value()
	if withPRO {
		res.AUPRO = acc.area.value() / maxFPR
	}
	return res, nil
}

// scanned holds every pixel's key, grouped by bucket: bucket b of the normal
// pixels is negLow[negOff[b]:negOff[b+1]] (low 16 key bits), of the
// anomalous ones pos[posOff[b]:posOff[b+1]] (low bits << 32 | region).
type scanned struct {
	negLow         []uint16
	pos            []uint64
	negOff, posOff []int
	weights        []float64 // 1/|region r|, regions of all images in order
}

// scanChunk is one goroutine's share of the images, maps[lo:hi].
type scanChunk struct {
	lo, hi         int
	negCur, posCur []int // bucket sizes after pass 1, write positions in pass 2
	lab            labeler
	err            error
}

// scanPixels buckets all pixels in two passes over the maps, each spread over
// the cores by contiguous runs of images: pass 1 counts bucket sizes and
// measures the ground-truth regions, pass 2 writes each pixel's key to its
// chunk's own part of its bucket, so no two goroutines write one place.
// steps is told of each image in each pass.
func scanPixels(ctx context.Context, maps [][]float32, masks [][]bool, w, h int, withPRO bool, steps *counter) (scanned, error) {
	nChunks := min(runtime.GOMAXPROCS(0), len(maps))
	chunks := make([]scanChunk, nChunks)
	for c := range chunks {
		chunks[c].lo = c * len(maps) / nChunks
		chunks[c].hi = (c + 1) * len(maps) / nChunks
	}
	// sizes[i] are the region sizes of image i; nil when it has none.
	sizes := make([][]int, len(maps))

	parallel := func(f func(ch *scanChunk) error) error {
		var wg sync.WaitGroup
		for c := range chunks {
			wg.Go(func() { chunks[c].err = f(&chunks[c]) })
		}
		wg.Wait()
		for c := range chunks { // the first failing image wins, whatever the timing
			if chunks[c].err != nil {
				return chunks[c].err
			}
		}
		return nil
	}

	err := parallel(func(ch *scanChunk) error {
		ch.negCur = make([]int, numBuckets)
		ch.posCur = make([]int, numBuckets)
		for i := ch.lo; i < ch.hi; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			mask := masks[i]
			hasPos := false
			for j, v := range maps[i] {
				k, ok := pixelKey(v)
				if !ok {
					return &NaNPixelError{Map: i, X: j % w, Y: j / w}
				}
				if mask[j] {
					ch.posCur[k>>bucketBits]++
					hasPos = true
				} else {
					ch.negCur[k>>bucketBits]++
				}
			}
			if withPRO && hasPos {
				ch.lab.label(mask, w, h)
				sizes[i] = slices.Clone(ch.lab.sizes)
			}
			steps.add()
		}
		return nil
	})
	if err != nil {
		return scanned{}, err
	}

	// Bucket offsets, and each chunk's first write position in each bucket.
	sc := scanned{negOff: make([]int, numBuckets+1), posOff: make([]int, numBuckets+1)}
	for b := range numBuckets {
		negAt, posAt := sc.negOff[b], sc.posOff[b]
		for c := range chunks {
			n, p := chunks[c].negCur[b], chunks[c].posCur[b]
			chunks[c].negCur[b], chunks[c].posCur[b] = negAt, posAt
			negAt += n
			posAt += p
		}
		sc.negOff[b+1], sc.posOff[b+1] = negAt, posAt
	}
	regionBase := make([]int, len(maps))
	for i, s := range sizes {
		regionBase[i] = len(sc.weights)
		for _, n := range s {
			sc.weights = append(sc.weights, 1/float64(n))
		}
	}
	sc.negLow = make([]uint16, sc.negOff[numBuckets])
	sc.pos = make([]uint64, sc.posOff[numBuckets])
	if len(sc.negLow) == 0 || len(sc.pos) == 0 {
		return sc, nil
	}

	err = parallel(func(ch *scanChunk) error {
		for i := ch.lo; i < ch.hi; i++ {
			if err := ctx.Err(); err != nil {
				return err
			}
			mask := masks[i]
			if sizes[i] != nil {
				ch.lab.label(mask, w, h) // the same numbering as in pass 1
			}
			for j, v := range maps[i] {
				k, _ := pixelKey(v)
				b := k >> bucketBits
				if mask[j] {
					var region uint64
					if sizes[i] != nil {
						region = uint64(regionBase[i] + int(ch.lab.labels[j]) - 1)
					}
					sc.pos[ch.posCur[b]] = uint64(k&lowMask)<<32 | region
					ch.posCur[b]++
				} else {
					sc.negLow[ch.negCur[b]] = uint16(k)
					ch.negCur[b]++
				}
			}
			steps.add()
		}
		return nil
	})
	return sc, err
}

// walk feeds acc the thresholds from the highest score down. Buckets with
// at least countMin pixels are counted, smaller ones sorted in place.
func (sc scanned) walk(ctx context.Context, acc *pixelAcc, countMin int) error {
	cntNeg := make([]uint32, numBuckets)
	cntPos := make([]uint32, numBuckets)
	var wPos []float64
	if acc.withPRO {
		wPos = make([]float64, numBuckets)
	}
	for b := numBuckets - 1; b >= 0; b-- {
		if b%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		ns := sc.negLow[sc.negOff[b]:sc.negOff[b+1]]
		ps := sc.pos[sc.posOff[b]:sc.posOff[b+1]]
		switch {
		case len(ns)+len(ps) == 0:
		case len(ns)+len(ps) >= countMin:
			lo, hi := numBuckets, -1
			for _, l := range ns {
				cntNeg[l]++
				lo, hi = min(lo, int(l)), max(hi, int(l))
			}
			for _, p := range ps {
				l := p >> 32
				cntPos[l]++
				if acc.withPRO {
					wPos[l] += sc.weights[uint32(p)]
				}
				lo, hi = min(lo, int(l)), max(hi, int(l))
			}
			for l := hi; l >= lo; l-- {
				if cntNeg[l] == 0 && cntPos[l] == 0 {
					continue
				}
				var dw float64
				if acc.withPRO {
					dw, wPos[l] = wPos[l], 0
				}
				acc.step(int64(cntNeg[l]), int64(cntPos[l]), dw)
				cntNeg[l], cntPos[l] = 0, 0
			}
		default:
			slices.Sort(ns)
			slices.Sort(ps)
			i, j := len(ns)-1, len(ps)-1
			for i >= 0 || j >= 0 {
				cur := -1
				if i >= 0 {
					cur = int(ns[i])
				}
				if j >= 0 {
					cur = max(cur, int(ps[j]>>32))
				}
				var dn, dp int64
				var dw float64
				for ; i >= 0 && int(ns[i]) == cur; i-- {
					dn++
				}
				for ; j >= 0 && int(ps[j]>>32) == cur; j-- {
					dp++
					if acc.withPRO {
						dw += sc.weights[uint32(ps[j])]
					}
				}
				acc.step(dn, dp, dw)
			}
		}
	}
	return nil
}

func checkPixelInput(maps [][]float32, masks [][]bool, w, h int) error {
	if len(maps) != len(masks) {
		return fmt.Errorf("pixel metrics: %d anomaly maps but %d masks: need one mask per map", len(maps), len(masks))
	}
	if len(maps) == 0 {
		return errors.New("pixel metrics: no anomaly maps")
	}
	if w <= 0 || h <= 0 {
		return fmt.Errorf("pixel metrics: map size %dx%d must be positive", w, h)
	}
	// twiceAUC counts up to n^2/2 in an int64, and buckets count in uint32.
	if total := int64(len(maps)) * int64(w) * int64(h); total > 1<<31 {
		return fmt.Errorf("pixel metrics: %d pixels is more than the supported 2^31; evaluate fewer or smaller maps", total)
	}
	for i := range maps {
		if len(maps[i]) != w*h {
			return fmt.Errorf("pixel metrics: anomaly map %d has %d values, want %dx%d = %d", i, len(maps[i]), w, h, w*h)
		}
		if len(masks[i]) != w*h {
			return fmt.Errorf("pixel metrics: mask %d has %d values, want %dx%d = %d", i, len(masks[i]), w, h, w*h)
		}
	}
	return nil
}

// pixelAcc integrates the curves while thresholds arrive from the highest
// score down, each with the number of normal (dn) and anomalous (dp) pixels
// at that score and the PRO weight dw they carry.
type pixelAcc struct {
	p, n     int64
	tp, fp   int64
	twiceAUC int64 // twice the ROC area in units of 1/(p*n)
	ap       compensated

	withPRO bool
	maxFPR  float64
	regions float64
	pro     compensated // sum of 1/|region| over anomalous pixels so far
	px, py  float64     // last point of the PRO curve, starting at (0, 0)
	area    compensated
	done    bool
}

func (a *pixelAcc) step(dn, dp int64, dw float64) {
	a.twiceAUC += dn * (2*a.tp + dp)
	a.tp += dp
	a.fp += dn
	if dp > 0 {
		a.ap.add(float64(dp) / float64(a.p) * float64(a.tp) / float64(a.tp+a.fp))
	}
	if !a.withPRO || a.done {
		return
	}
	a.pro.add(dw)
	x := float64(a.fp) / float64(a.n)
	y := min(a.pro.value()/a.regions, 1) // MVTec clips rounding overshoot
	if x <= a.maxFPR {
		a.area.add(0.5 * (y + a.py) * (x - a.px))
		a.px, a.py = x, y
		return
	}
	// Past the limit: close the area with the interpolated point at maxFPR,
	// unless the previous point lies exactly on it.
	if a.px < a.maxFPR {
		yi := a.py + (y-a.py)*(a.maxFPR-a.px)/(x-a.px)
		a.area.add(0.5 * (yi + a.py) * (a.maxFPR - a.px))
	}
	a.done = true
}
