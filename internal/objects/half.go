package objects

import "math"

// toHalf converts f to IEEE 754 binary16 bits, rounding to nearest with
// ties to even, keeping subnormals, infinities and NaN (cube values in
// [0, 1] lose at most 2^-12 relative precision; npyio's float16 truncates
// and flushes subnormals, hence this one).
func toHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	switch {
	case exp == 0xff: // Inf or NaN
		if man != 0 {
			return sign | 0x7e00
		}
		return sign | 0x7c00
	case exp > 127+15: // too large: overflows to Inf
		return sign | 0x7c00
	}
	e := exp - 127 + 15
	if e >= 1 {
		// Normal half: keep 10 of 23 mantissa bits, round the 13 dropped.
		h := uint32(e)<<10 | man>>13
		rest := man & 0x1fff
		if rest > 0x1000 || (rest == 0x1000 && h&1 == 1) {
			h++ // may carry into the exponent, up to Inf: still correct
		}
		return sign | uint16(h)
	}
	// Subnormal half (or zero): value = m * 2^-24.
	if e < -10 {
		return sign // below half the smallest subnormal: rounds to 0
	}
	full := man | 0x800000 // implicit leading 1
	shift := uint(14 - e)  // 13 + (1 - e)
	h := full >> shift
	rest := full & (1<<shift - 1)
	halfway := uint32(1) << (shift - 1)
	if rest > halfway || (rest == halfway && h&1 == 1) {
		h++
	}
	return sign | uint16(h)
}

// fromHalf converts binary16 bits to float32 exactly.
func fromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		// Zero or subnormal: m * 2^-24.
		v := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}
