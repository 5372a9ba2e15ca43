package baseline

import (
	"strconv"
	"strings"

	"github.com/fmam/fmam/internal/config"
	"github.com/fmam/fmam/internal/imageio"
	"github.com/fmam/fmam/internal/method"
)

// DefaultRange is the input range of a task's baselines when data.range
// is empty: [-1, 1] for video (MNAD's frames), [0, 1] for images
// (DRAEM's).
func DefaultRange(t config.Task) imageio.Range {
	if t == config.TaskImage {
		return imageio.RangeUnit
	}
	return imageio.RangeSigned
}

// Decode is how the configuration's data are decoded for the network:
// data.channels, data.size, data.range (DefaultRange when empty),
// data.mean and data.std, data.filter.
func Decode(cfg *config.Config) imageio.DecodeOptions {
	o, _ := cfg.Data.Decode(DefaultRange(cfg.Task)) // validated with the config
	return o
}

// InputMeta is the input format of Decode as exported teachers record it
// (method.Spec.Input).
func InputMeta(cfg *config.Config) map[string]string {
	o := Decode(cfg)
	return map[string]string{
		method.MetaRange:  strings.Trim(o.Range.String(), "[]"),
		method.MetaMean:   floats(o.Mean),
		method.MetaStd:    floats(o.Std),
		method.MetaFilter: o.Filter.String(),
	}
}

func floats(v []float64) string {
	if len(v) == 0 {
		return "none"
	}
	parts := make([]string, len(v))
	for i, f := range v {
		parts[i] = strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strings.Join(parts, ",")
}
