package score

import "math"

// DRAEMImageScore is DRAEM's image score: the maximum of the map after a
// 21x21 mean filter (edges averaged over the pixels inside the image).
func DRAEMImageScore(m []float32, h, w int) float64 {
	const k = 10
	// Summed-area table makes every window O(1).
	sat := make([]float64, (h+1)*(w+1))
	for y := 0; y < h; y++ {
		row := 0.0
		for x := 0; x < w; x++ {
			row += float64(m[y*w+x])
			sat[(y+1)*(w+1)+x+1] = sat[y*(w+1)+x+1] + row
		}
	}
	best := math.Inf(-1)
	for y := 0; y < h; y++ {
		y0, y1 := max(0, y-k), min(h, y+k+1)
		for x := 0; x < w; x++ {
			x0, x1 := max(0, x-k), min(w, x+k+1)
			s := sat[y1*(w+1)+x1] - sat[y0*(w+1)+x1] - sat[y1*(w+1)+x0] + sat[y0*(w+1)+x0]
			best = max(best, s/float64((y1-y0)*(x1-x0)))
		}
	}
	return best
}
