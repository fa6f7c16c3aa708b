package preview

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"math"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/frame"
	"github.com/suyashkumar/dicom/pkg/tag"
)

// maxPixels caps the pixels of one frame: more than any modality makes
// (a mammogram is 4096×5120), and few enough that the full-size image
// rendered before scaling stays in a few hundred megabytes.
const maxPixels = 1 << 25

// render renders the middle frame of the parsed file ds, whose attributes
// h are, at thumbnail size.
func render(h *header, ds *dicom.Dataset) (image.Image, error) {
	if h.rows*h.cols > maxPixels {
		return nil, fmt.Errorf("%d×%d pixels are more than the %d a preview reads", h.cols, h.rows, maxPixels)
	}
	e, err := ds.FindElementByTag(tag.PixelData)
	if err != nil || e.Value == nil {
		return nil, noPreview("no image in this file")
	}
	info, ok := e.Value.GetValue().(dicom.PixelDataInfo)
	if !ok {
		return nil, fmt.Errorf("the pixel data is a %T", e.Value.GetValue())
	}
	var full image.Image
	switch {
	case h.ts == tsJPEGBase:
		full, err = renderJPEG(h, info)
	case info.ParseErr != nil:
		if h.photometric != "YBR_FULL_422" || len(info.Frames) != 1 {
			return nil, fmt.Errorf("the pixel data: %w", info.ParseErr)
		}
		full, err = renderYBR422(h, info.Frames[0].EncapsulatedData.Data)
	case info.IsEncapsulated:
		return nil, errors.New("encapsulated pixel data in a native transfer syntax")
	default:
		if len(info.Frames) == 0 {
			return nil, noPreview("no image in this file: its pixel data has no frames")
		}
		f := info.Frames[middle(len(info.Frames))]
		if f == nil || f.NativeData == nil {
			return nil, errors.New("the pixel data has an empty frame")
		}
		full, err = renderNative(h, f.NativeData)
	}
	if err != nil {
		return nil, err
	}
	return shrink(full, MaxSide), nil
}

// renderNative renders a frame of native pixel data.
func renderNative(h *header, f frame.INativeFrame) (image.Image, error) {
	n := h.rows * h.cols
	if f.Rows() != h.rows || f.Cols() != h.cols || f.SamplesPerPixel() != h.samples {
		return nil, fmt.Errorf("a frame of %d×%d×%d samples in an image of %d×%d×%d",
			f.Cols(), f.Rows(), f.SamplesPerPixel(), h.cols, h.rows, h.samples)
	}
	var at func(i int) uint32
	switch raw := f.RawDataSlice().(type) {
	case []uint8:
		if len(raw) < n*h.samples {
			return nil, errors.New("a frame shorter than its image")
		}
		at = func(i int) uint32 { return uint32(raw[i]) }
	case []uint16:
		if len(raw) < n*h.samples {
			return nil, errors.New("a frame shorter than its image")
		}
		at = func(i int) uint32 { return uint32(raw[i]) }
	case []uint32:
		if len(raw) < n*h.samples {
			return nil, errors.New("a frame shorter than its image")
		}
		at = func(i int) uint32 { return raw[i] }
	default:
		return nil, fmt.Errorf("pixel data of %T", raw)
	}
	if h.samples == 1 {
		stored := make([]int64, n)
		for i := range stored {
			stored[i] = h.storedValue(at(i))
		}
		return grey(h, stored), nil
	}
	// Colour: each sample scaled to 8 bits.
	shift := max(h.bitsStored-8, 0)
	sample := func(pixel, s int) uint8 {
		var v uint32
		if h.planar {
			v = at(s*n + pixel)
		} else {
			v = at(pixel*3 + s)
		}
		v = v >> (h.highBit + 1 - h.bitsStored) & mask(h.bitsStored)
		return uint8(v >> shift)
	}
	img := image.NewRGBA(image.Rect(0, 0, h.cols, h.rows))
	for i := 0; i < n; i++ {
		a, b, c := sample(i, 0), sample(i, 1), sample(i, 2)
		if h.photometric != "RGB" {
			a, b, c = color.YCbCrToRGB(a, b, c)
		}
		img.Pix[4*i], img.Pix[4*i+1], img.Pix[4*i+2], img.Pix[4*i+3] = a, b, c, 0xff
	}
	return img, nil
}

// renderYBR422 renders the middle frame of native YBR_FULL_422 pixel data:
// for each pair of pixels of a row, Y Y Cb Cr (PS3.3 C.7.6.3.1.2).
func renderYBR422(h *header, data []byte) (image.Image, error) {
	if h.bitsAllocated != 8 || h.cols%2 != 0 {
		return nil, noPreview("YBR_FULL_422 with %d bits allocated and %d columns is not previewed", h.bitsAllocated, h.cols)
	}
	size := h.rows * h.cols * 2
	if len(data) < size*h.frames {
		return nil, fmt.Errorf("YBR_FULL_422 pixel data of %d bytes, for %d frames of %d", len(data), h.frames, size)
	}
	data = data[size*middle(h.frames):]
	img := image.NewRGBA(image.Rect(0, 0, h.cols, h.rows))
	for i := 0; i < h.rows*h.cols; i += 2 {
		q := data[2*i : 2*i+4]
		for k := range 2 {
			r, g, b := color.YCbCrToRGB(q[k], q[2], q[3])
			p := img.Pix[4*(i+k):]
			p[0], p[1], p[2], p[3] = r, g, b, 0xff
		}
	}
	return img, nil
}

// renderJPEG decodes the middle frame of JPEG Baseline pixel data.
func renderJPEG(h *header, info dicom.PixelDataInfo) (image.Image, error) {
	frames := jpegFrames(info.Frames, h.frames)
	if len(frames) == 0 {
		return nil, noPreview("no image in this file: its pixel data has no frames")
	}
	data := frames[middle(len(frames))]
	// The decoder allocates the image its header describes before it
	// reads a pixel: it must be the image the data set describes.
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decoding the JPEG frame: %w", err)
	}
	if cfg.Width != h.cols || cfg.Height != h.rows {
		return nil, fmt.Errorf("a JPEG frame of %d×%d pixels in an image of %d×%d", cfg.Width, cfg.Height, h.cols, h.rows)
	}
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decoding the JPEG frame: %w", err)
	}
	b := img.Bounds()
	if g, ok := img.(*image.Gray); ok {
		// Stored values, 8 bits: the grey steps apply as to native data.
		gh := *h
		gh.rows, gh.cols = b.Dy(), b.Dx()
		gh.bitsStored, gh.highBit = 8, 7
		stored := make([]int64, 0, b.Dx()*b.Dy())
		for y := range b.Dy() {
			for _, v := range g.Pix[y*g.Stride : y*g.Stride+b.Dx()] {
				stored = append(stored, gh.storedValue(uint32(v)))
			}
		}
		return grey(&gh, stored), nil
	}
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := range b.Dy() {
		for x := range b.Dx() {
			rgba.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	return rgba, nil
}

// jpegFrames returns the frames of encapsulated pixel data, given as its
// fragments: one fragment a frame when there are as many as frames, all of
// them when there is one frame, and otherwise a frame from each fragment
// that starts a JPEG stream (SOI, FFD8H) to the next.
func jpegFrames(fragments []*frame.Frame, n int) [][]byte {
	var data [][]byte
	for _, f := range fragments {
		if f != nil {
			data = append(data, f.EncapsulatedData.Data)
		}
	}
	switch {
	case len(data) == n:
		return data
	case n == 1:
		return [][]byte{bytes.Join(data, nil)}
	}
	var frames [][]byte
	for _, d := range data {
		if bytes.HasPrefix(d, []byte{0xff, 0xd8}) || len(frames) == 0 {
			frames = append(frames, append([]byte(nil), d...))
			continue
		}
		frames[len(frames)-1] = append(frames[len(frames)-1], d...)
	}
	return frames
}

// mask returns the low bits ones.
func mask(bits int) uint32 {
	if bits >= 32 {
		return math.MaxUint32
	}
	return 1<<bits - 1
}

// storedValue is the value a grey sample stores: its Bits Stored bits ending
// at High Bit, signed when Pixel Representation says so.
func (h *header) storedValue(raw uint32) int64 {
	v := int64(raw >> (h.highBit + 1 - h.bitsStored) & mask(h.bitsStored))
	if h.signed && v&(1<<(h.bitsStored-1)) != 0 {
		v -= 1 << h.bitsStored
	}
	return v
}

// grey renders stored grey values: modality values (rescaled), through the
// window or the values' range to 8 bits, inverted for MONOCHROME1.
func grey(h *header, stored []int64) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, h.cols, h.rows))
	modality := func(v int64) float64 { return float64(v)*h.slope + h.intercept }
	var voi func(x float64) float64 // to 0..1
	c, w := h.center, h.width
	switch {
	case h.hasWindow && h.voiFunction == "SIGMOID" && w > 0:
		voi = func(x float64) float64 { return 1 / (1 + math.Exp(-4*(x-c)/w)) }
	case h.hasWindow && h.voiFunction == "LINEAR_EXACT" && w > 0:
		voi = func(x float64) float64 { return (x-c)/w + 0.5 }
	case h.hasWindow && w > 1:
		// LINEAR (PS3.3 C.11.2.1.2.1), the default.
		voi = func(x float64) float64 { return (x-(c-0.5))/(w-1) + 0.5 }
	case h.hasWindow && w == 1:
		voi = func(x float64) float64 {
			if x <= c-0.5 {
				return 0
			}
			return 1
		}
	default:
		// No window: the range of the modality values, but for padding.
		// The padding value is read as US or SS by the VR the file
		// gives it, or the dictionary's (US) in implicit VR: compare
		// its stored bits.
		pad := h.storedValue(uint32(h.padding) & mask(h.bitsStored) << (h.highBit + 1 - h.bitsStored))
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for _, v := range stored {
			if h.hasPadding && v == pad {
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		if lo > hi { // only padding
			for _, v := range stored {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		mlo, mhi := modality(lo), modality(hi)
		if mlo > mhi {
			mlo, mhi = mhi, mlo
		}
		span := mhi - mlo
		voi = func(x float64) float64 {
			if span == 0 {
				return 0
			}
			return (x - mlo) / span
		}
	}
	invert := h.photometric == "MONOCHROME1"
	for i, v := range stored {
		y := voi(modality(v))
		y = math.Round(min(max(y, 0), 1) * 255)
		if invert {
			y = 255 - y
		}
		img.Pix[i] = uint8(y)
	}
	return img
}
