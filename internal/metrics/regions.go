package metrics

// labeler finds the 8-connected components of binary masks, as
// scipy.ndimage.label with a 3x3 structure of ones (the structure MVTec AD's
// evaluation code uses). Its buffers are reused from mask to mask.
type labeler struct {
	labels []int32 // 0 = background, r+1 = pixel belongs to region r
	sizes  []int   // sizes[r] = number of pixels of region r
	stack  []int32
}

// label fills l.labels and l.sizes for a w x h mask and returns the number of
// regions. Regions are numbered in raster order of their first pixel.
func (l *labeler) label(mask []bool, w, h int) int {
	n := w * h
	if cap(l.labels) < n {
		l.labels = make([]int32, n)
	}
	l.labels = l.labels[:n]
	clear(l.labels)
	l.sizes = l.sizes[:0]
	for start, on := range mask {
		if !on || l.labels[start] != 0 {
			continue
		}
		id := int32(len(l.sizes) + 1)
		size := 0
		l.labels[start] = id
		l.stack = append(l.stack[:0], int32(start))
		for len(l.stack) > 0 {
			p := int(l.stack[len(l.stack)-1])
			l.stack = l.stack[:len(l.stack)-1]
			size++
			x, y := p%w, p/w
			for dy := -1; dy <= 1; dy++ {
				yy := y + dy
				if yy < 0 || yy >= h {
					continue
				}
				for dx := -1; dx <= 1; dx++ {
					xx := x + dx
					if xx < 0 || xx >= w {
						continue
					}
					q := yy*w + xx
					if mask[q] && l.labels[q] == 0 {
						l.labels[q] = id
						l.stack = append(l.stack, int32(q))
					}
				}
			}
		}
		l.sizes = append(l.sizes, size)
	}
	return len(l.sizes)
}
