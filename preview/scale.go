package preview

import (
	"image"
)

// thumbSize returns the size of a w×h image scaled down to at most side on
// its long side, the aspect ratio kept; a smaller image keeps its size.
func thumbSize(w, h, side int) (int, int) {
	if w <= side && h <= side {
		return w, h
	}
	if w >= h {
		return side, max(1, (h*side+w/2)/w)
	}
	return max(1, (w*side+h/2)/h), side
}

// span returns the source pixels [lo, hi) that thumbnail pixel i of n
// covers, of src in all.
func span(i, n, src int) (int, int) {
	lo, hi := i*src/n, (i+1)*src/n
	return lo, max(hi, lo+1)
}

// shrink scales img, a *image.Gray or *image.RGBA with its origin at 0,0, down
// to at most side pixels on its long side with a box filter: each pixel of the
// result is the mean of the pixels it covers.
func shrink(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := thumbSize(b.Dx(), b.Dy(), side)
	if w == b.Dx() && h == b.Dy() {
		return img
	}
	var src []uint8
	var stride, channels int
	switch m := img.(type) {
	case *image.Gray:
		src, stride, channels = m.Pix, m.Stride, 1
	case *image.RGBA:
		src, stride, channels = m.Pix, m.Stride, 4
	default:
		panic("preview: shrink of a " + b.String())
	}
	out := make([]uint8, w*h*channels)
	sum := make([]uint64, channels)
	for ty := range h {
		y0, y1 := span(ty, h, b.Dy())
		for tx := range w {
			x0, x1 := span(tx, w, b.Dx())
			clear(sum)
			for y := y0; y < y1; y++ {
				row := src[y*stride+x0*channels : y*stride+x1*channels]
				for i, v := range row {
					sum[i%channels] += uint64(v)
				}
			}
			count := uint64((y1 - y0) * (x1 - x0))
			for c := range channels {
				out[(ty*w+tx)*channels+c] = uint8((sum[c] + count/2) / count)
			}
		}
	}
	r := image.Rect(0, 0, w, h)
	if channels == 1 {
		return &image.Gray{Pix: out, Stride: w, Rect: r}
	}
	return &image.RGBA{Pix: out, Stride: 4 * w, Rect: r}
}
