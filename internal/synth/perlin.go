package synth

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Perlin2D returns an h×w map (row-major) of 2-D gradient (Perlin) noise with
// resY×resX lattice cells, as DRAEM's rand_perlin_2d_np computes it: a random
// unit gradient at each of the (resY+1)×(resX+1) lattice points (angles drawn
// row by row), the dot products of the four corner gradients with the offsets
// to the pixel, blended with the quintic fade 6t^5-15t^4+10t^3 and scaled by
// sqrt(2), so values lie in [-1, 1] and are 0 on lattice points.
//
// Pixel i of a row falls in cell floor(i*resY/h) at fraction i*resY/h minus
// that cell. This matches the reference exactly when res divides the size
// (the only case the reference supports) and extends it to the others.
//
// It panics if a size or resolution is not positive, like make does with a
// negative length: those are programming errors, not input errors.
func Perlin2D(h, w, resY, resX int, rng *rand.Rand) []float32 {
	if h <= 0 || w <= 0 || resY <= 0 || resX <= 0 {
		panic(fmt.Sprintf("synth.Perlin2D: size %dx%d and resolution %dx%d must be positive", h, w, resY, resX))
	}
	gw := resX + 1
	gy := make([]float64, (resY+1)*gw) // gradient component along rows
	gx := make([]float64, (resY+1)*gw) // gradient component along columns
	for k := range gy {
		a := 2 * math.Pi * rng.Float64()
		gy[k], gx[k] = math.Cos(a), math.Sin(a)
	}

	// Column terms are the same for every row: compute them once.
	cx := make([]int, w)
	tx := make([]float64, w)
	fx := make([]float64, w)
	for j := range w {
		cx[j] = j * resX / w
		tx[j] = float64(j*resX-cx[j]*w) / float64(w)
		fx[j] = fade(tx[j])
	}

	out := make([]float32, h*w)
	for i := range h {
		cy := i * resY / h
		ty := float64(i*resY-cy*h) / float64(h)
		fy := fade(ty)
		row0 := cy * gw
		row1 := row0 + gw
		for j := range w {
			c := cx[j]
			t := tx[j]
			n00 := gy[row0+c]*ty + gx[row0+c]*t
			n10 := gy[row1+c]*(ty-1) + gx[row1+c]*t
			n01 := gy[row0+c+1]*ty + gx[row0+c+1]*(t-1)
			n11 := gy[row1+c+1]*(ty-1) + gx[row1+c+1]*(t-1)
			n0 := lerp(n00, n10, fy)
			n1 := lerp(n01, n11, fy)
			out[i*w+j] = float32(math.Sqrt2 * lerp(n0, n1, fx[j]))
		}
	}
	return out
}

func fade(t float64) float64 { return t * t * t * (t*(t*6-15) + 10) }

func lerp(a, b, t float64) float64 { return a + (b-a)*t }
