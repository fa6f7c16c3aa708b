package card

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // register the JPEG decoder for DecodeImage
	_ "image/png"  // register the PNG decoder for DecodeImage
	"io"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Limits on what DecodeImage reads, so that a hostile or mistaken file cannot
// exhaust memory. Phone photos are 12 to 50 megapixels and a few MiB.
const (
	MaxImageBytes  = 64 << 20   // bytes read from the reader
	MaxImagePixels = 64_000_000 // width × height, checked before decoding
)

// Errors from DecodeImage, to be tested with errors.Is.
var (
	// ErrNotImage means the input is not a PNG or JPEG image.
	ErrNotImage = errors.New("not a PNG or JPEG image")
	// ErrNoQRCode means the image decoded but no QR code could be read in it.
	// That includes a code that is there but blurred, cut off or damaged
	// beyond repair: the reader cannot tell those apart from no code at all,
	// as noise too passes its first checks.
	ErrNoQRCode = errors.New("no QR code found")
)

// Sizes, in pixels of the longer side, of the copies DecodeImage tries.
const (
	scanLarge = 1600 // big photos are tried at about this size first
	scanSmall = 800  // a second, smaller copy blurs away screen moiré and noise
	scanTiny  = 400  // images smaller than this are also tried enlarged
)

// DecodeImage finds and reads the QR code in a PNG or JPEG image, such as the
// card from WritePNG or a photo of a phone screen showing it, and returns its
// text. It tries hard, since staff scan in a hurry: full and reduced copies of
// big photos, a local (hybrid) then a global threshold, and an inverted image
// for light-on-dark codes. Its errors wrap ErrNotImage or ErrNoQRCode, or say
// which limit was hit: input over MaxImageBytes or MaxImagePixels is refused.
// When the image holds several QR codes, which one is returned is unspecified.
func DecodeImage(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImageBytes+1))
	if err != nil {
		return "", fmt.Errorf("reading image: %w", err)
	}
	if len(data) > MaxImageBytes {
		return "", fmt.Errorf("image larger than the maximum of %d bytes", MaxImageBytes)
	}
	if len(data) == 0 {
		return "", fmt.Errorf("%w: empty input", ErrNotImage)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if errors.Is(err, image.ErrFormat) {
		return "", ErrNotImage
	}
	if err != nil {
		return "", fmt.Errorf("reading %s image header: %w", format, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", fmt.Errorf("%s image has no pixels (%d×%d)", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxImagePixels {
		return "", fmt.Errorf("%s image of %d×%d pixels exceeds the maximum of %d pixels",
			format, cfg.Width, cfg.Height, MaxImagePixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return "", fmt.Errorf("decoding %s image: %w", format, err)
	}
	text, err := scan(luminance(img))
	if err != nil {
		return "", fmt.Errorf("%w in %s image of %d×%d pixels", err, format, cfg.Width, cfg.Height)
	}
	return text, nil
}

// grey is an 8-bit luminance image with no padding between rows.
type grey struct {
	pix  []byte
	w, h int
}

// luminance converts img to grey, compositing transparency over white as
// the card's background is white.
func luminance(img image.Image) grey {
	b := img.Bounds()
	g := grey{pix: make([]byte, b.Dx()*b.Dy()), w: b.Dx(), h: b.Dy()}
	switch m := img.(type) {
	case *image.YCbCr: // JPEG: Y is the luminance already
		for y := 0; y < g.h; y++ {
			off := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(g.pix[y*g.w:(y+1)*g.w], m.Y[off:off+g.w])
		}
	case *image.Gray:
		for y := 0; y < g.h; y++ {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(g.pix[y*g.w:(y+1)*g.w], m.Pix[off:off+g.w])
		}
	case *image.RGBA: // PNG, alpha premultiplied
		for y := 0; y < g.h; y++ {
			px := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < g.w; x++ {
				p := px[4*x : 4*x+4]
				lum := (uint32(p[0]) + 2*uint32(p[1]) + uint32(p[2])) / 4
				g.pix[y*g.w+x] = byte(lum + 255 - uint32(p[3]))
			}
		}
	case *image.NRGBA: // PNG with transparency, alpha not premultiplied
		for y := 0; y < g.h; y++ {
			px := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < g.w; x++ {
				p := px[4*x : 4*x+4]
				lum := (uint32(p[0]) + 2*uint32(p[1]) + uint32(p[2])) / 4
				a := uint32(p[3])
				g.pix[y*g.w+x] = byte((lum*a + 255*(255-a)) / 255)
			}
		}
	default:
		i := 0
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, gg, bb, a := img.At(x, y).RGBA() // premultiplied, 16 bits
				lum := (r + 2*gg + bb) / 4
				lum += 0xffff - a // composite over white
				g.pix[i] = byte(lum >> 8)
				i++
			}
		}
	}
	return g
}

// shrink returns g reduced by an integer factor so that its longer side is at
// most maxSide, averaging each factor×factor block; ok is false when g is
// already small enough.
func (g grey) shrink(maxSide int) (out grey, ok bool) {
	f := (max(g.w, g.h) + maxSide - 1) / maxSide
	if f <= 1 {
		return g, false
	}
	out = grey{w: g.w / f, h: g.h / f}
	out.pix = make([]byte, out.w*out.h)
	for y := 0; y < out.h; y++ {
		for x := 0; x < out.w; x++ {
			sum := 0
			for dy := 0; dy < f; dy++ {
				row := g.pix[(y*f+dy)*g.w+x*f:]
				for dx := 0; dx < f; dx++ {
					sum += int(row[dx])
				}
			}
			out.pix[y*out.w+x] = byte(sum / (f * f))
		}
	}
	return out, true
}

// enlarge returns g scaled up by an integer factor, repeating pixels.
func (g grey) enlarge(f int) grey {
	out := grey{w: g.w * f, h: g.h * f}
	out.pix = make([]byte, out.w*out.h)
	for y := 0; y < out.h; y++ {
		src := g.pix[(y/f)*g.w:]
		dst := out.pix[y*out.w:]
		for x := 0; x < out.w; x++ {
			dst[x] = src[x/f]
		}
	}
	return out
}

// candidates lists the copies of g to scan, most promising first: for a big
// photo a reduced copy (faster, and finder patterns span fewer pixels), then
// the original, then a small copy; small images are also tried enlarged.
func (g grey) candidates() []grey {
	var out []grey
	side := max(g.w, g.h)
	if side > 2*scanLarge {
		if s, ok := g.shrink(scanLarge); ok {
			out = append(out, s)
		}
	}
	out = append(out, g)
	if s, ok := g.shrink(scanSmall); ok {
		out = append(out, s)
	}
	if side < scanTiny {
		out = append(out, g.enlarge(3))
	}
	return out
}

// rotate returns g turned a quarter turn clockwise.
func (g grey) rotate() grey {
	out := grey{w: g.h, h: g.w, pix: make([]byte, len(g.pix))}
	for y := 0; y < g.h; y++ {
		for x := 0; x < g.w; x++ {
			out.pix[x*out.w+(g.h-1-y)] = g.pix[y*g.w+x]
		}
	}
	return out
}

// scan looks for a QR code in g and its copies, with a hybrid then a
// global-histogram binarizer, normal then inverted; then in copies turned
// a quarter, half and three quarters. gozxing's finder-pattern search
// misses some well-formed codes in one orientation and finds them in
// another (seen with version 8 cards printed by the sender), so the turns
// are not only for photos taken sideways.
func scan(g grey) (string, error) {
	if text, err := scanUpright(g); err == nil {
		return text, nil
	}
	r := g
	for range 3 {
		r = r.rotate()
		if text, err := scanUpright(r); err == nil {
			return text, nil
		}
	}
	return "", ErrNoQRCode
}

// scanUpright is scan without the turns.
func scanUpright(g grey) (string, error) {
	hints := map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_TRY_HARDER: true,
	}
	binarizers := []func(gozxing.LuminanceSource) gozxing.Binarizer{
		gozxing.NewHybridBinarizer,
		gozxing.NewGlobalHistgramBinarizer,
	}
	for _, invert := range []bool{false, true} {
		for _, c := range g.candidates() {
			src, err := gozxing.NewPlanarYUVLuminanceSource(c.pix, c.w, c.h, 0, 0, c.w, c.h, false)
			if err != nil {
				return "", fmt.Errorf("preparing image for the qr reader: %w", err)
			}
			if invert {
				src = src.Invert()
			}
			for _, newBinarizer := range binarizers {
				if text, err := decodeOnce(newBinarizer(src), hints); err == nil {
					return text, nil
				}
			}
		}
	}
	return "", ErrNoQRCode
}

// decodeOnce runs the QR reader once.
func decodeOnce(b gozxing.Binarizer, hints map[gozxing.DecodeHintType]any) (string, error) {
	bmp, err := gozxing.NewBinaryBitmap(b)
	if err != nil {
		return "", err
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", err
	}
	return res.GetText(), nil
}
