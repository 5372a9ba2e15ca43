package report

import (
	"image/color"
	"math"
)

// Colormap maps a value in [0, 1] to a colour for anomaly-map pictures.
type Colormap int

const (
	// Jet runs dark blue, cyan, yellow, dark red: the map most
	// anomaly-detection papers print their anomaly maps with.
	Jet Colormap = iota
	// Viridis runs dark purple, teal, yellow; its lightness rises steadily,
	// so it stays readable in grey-scale print.
	Viridis
)

// viridisStops samples matplotlib's viridis at 0, 1/8, ..., 1; in between
// the map is linear, which stays within a few levels of the original.
func viridisStops() [9][3]float64 {
	return [9][3]float64{
		{68, 1, 84}, {71, 44, 122}, {59, 81, 139}, {44, 113, 142}, {33, 144, 141},
		{39, 173, 129}, {92, 200, 99}, {170, 220, 50}, {253, 231, 37},
	}
}

// At returns the colour of v; values outside [0, 1] are clamped and NaN is
// treated as 0.
func (m Colormap) At(v float64) color.RGBA {
	if math.IsNaN(v) || v < 0 {
		v = 0
	}
	if v > 1 {
		v = 1
	}
	switch m {
	case Viridis:
		stops := viridisStops()
		x := v * float64(len(stops)-1)
		i := min(int(x), len(stops)-2)
		f := x - float64(i)
		var c [3]uint8
		for k := range c {
			c[k] = uint8(math.Round(stops[i][k] + f*(stops[i+1][k]-stops[i][k])))
		}
		return color.RGBA{c[0], c[1], c[2], 255}
	default:
		// MATLAB's jet: three ramps offset by a quarter of the range.
		ramp := func(centre float64) uint8 {
			return uint8(math.Round(255 * clamp01(1.5-math.Abs(4*v-centre))))
		}
		return color.RGBA{ramp(3), ramp(2), ramp(1), 255}
	}
}

func clamp01(x float64) float64 {
	return math.Max(0, math.Min(1, x))
}
