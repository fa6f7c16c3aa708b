package card

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// photoOptions describe a simulated phone photo of a card.
type photoOptions struct {
	cardWidth     int // width of the card in the photo, in pixels
	canvas        image.Point
	degrees       float64 // rotation, counter-clockwise
	noise         int     // amplitude of uniform noise added to each channel
	black, white  uint8   // the screen's black and white as the camera saw them
	jpegQuality   int
	gradientLight bool // light falls off from left to right
}

// photograph simulates a phone photo of the card image: reduced contrast,
// scaled, rotated, on a grey background with uneven light, noisy, saved as
// JPEG.
func photograph(t testing.TB, rng *rand.Rand, cardImg *image.RGBA, o photoOptions) []byte {
	t.Helper()
	cb := cardImg.Bounds()
	// A screen photographed: black is not black and white not white.
	screen := image.NewRGBA(cb)
	for i := 0; i < len(cardImg.Pix); i += 4 {
		l := int(cardImg.Pix[i+1]) // the card is grey but for its accents
		v := uint8(int(o.black) + l*(int(o.white)-int(o.black))/255)
		copy(screen.Pix[i:i+4], []uint8{v, v, v + 4, 0xff}) // a slightly blue screen
	}
	photo := image.NewRGBA(image.Rectangle{Max: o.canvas})
	draw.Draw(photo, photo.Bounds(), image.NewUniform(color.RGBA{0x80, 0x7a, 0x70, 0xff}), image.Point{}, draw.Src)

	scale := float64(o.cardWidth) / float64(cb.Dx())
	rad := o.degrees * math.Pi / 180
	sin, cos := math.Sincos(rad)
	cx, cy := float64(cb.Dx())/2, float64(cb.Dy())/2
	px, py := float64(o.canvas.X)/2, float64(o.canvas.Y)/2
	// dst = R·S·(src − centre) + photo centre
	a, b := scale*cos, scale*sin
	s2d := f64.Aff3{
		a, b, px - a*cx - b*cy,
		-b, a, py + b*cx - a*cy,
	}
	draw.BiLinear.Transform(photo, s2d, screen, cb, draw.Over, nil)

	noise := make([]int, 4096) // reused: drawing per pixel is slow under -race
	for i := range noise {
		noise[i] = rng.IntN(2*o.noise+1) - o.noise
	}
	for y := 0; y < o.canvas.Y; y++ {
		for x := 0; x < o.canvas.X; x++ {
			i := photo.PixOffset(x, y)
			light := 256
			if o.gradientLight {
				light = 256 - 90*x/o.canvas.X
			}
			for c := 0; c < 3; c++ {
				v := int(photo.Pix[i+c])*light/256 + noise[(i+c+y*7)%len(noise)]
				photo.Pix[i+c] = uint8(max(0, min(255, v)))
			}
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, photo, &jpeg.Options{Quality: o.jpegQuality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodePhoto(t *testing.T) {
	rng := newRand(10)
	for _, tt := range []struct {
		name string
		o    photoOptions
		slow bool // skipped under the race detector
	}{
		{"phone", photoOptions{cardWidth: 540, canvas: image.Pt(800, 1200), degrees: 4, noise: 24, black: 40, white: 215, jpegQuality: 60}, false},
		{"tilted the other way", photoOptions{cardWidth: 600, canvas: image.Pt(900, 1300), degrees: -7, noise: 16, black: 30, white: 230, jpegQuality: 60, gradientLight: true}, false},
		{"small in frame", photoOptions{cardWidth: 420, canvas: image.Pt(1000, 1000), degrees: 2, noise: 12, black: 50, white: 200, jpegQuality: 60}, true},
		{"big photo", photoOptions{cardWidth: 1500, canvas: image.Pt(2448, 3264), degrees: 5, noise: 20, black: 40, white: 220, jpegQuality: 60, gradientLight: true}, true},
	} {
		uri := testURI(t, rng, 265)
		seed := rng.Uint64()
		t.Run(tt.name, func(t *testing.T) {
			if tt.slow && raceEnabled {
				t.Skip("slow under the race detector")
			}
			t.Parallel()
			photo := photograph(t, newRand(seed), cardImage(t, uri, sampleDetails()), tt.o)
			start := time.Now()
			got, err := DecodeImage(bytes.NewReader(photo))
			t.Logf("%d-byte JPEG %v, decoded in %v", len(photo), tt.o.canvas, time.Since(start).Round(time.Millisecond))
			if err != nil {
				writeFailure(t, "photo.jpg", photo)
				t.Fatalf("DecodeImage: %v", err)
			}
			if got != uri {
				t.Errorf("DecodeImage = %q, want %q", got, uri)
			}
		})
	}
}

// writeFailure keeps an input that failed to decode when CARD_TEST_OUT names
// a folder, for looking at.
func writeFailure(t *testing.T, name string, data []byte) {
	dir := os.Getenv("CARD_TEST_OUT")
	if dir == "" {
		return
	}
	path := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+"-"+name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Logf("keeping failed input: %v", err)
		return
	}
	t.Logf("failed input kept in %s", path)
}

// TestDecodePhotoZbar checks that a second, independent decoder reads the
// simulated photo too: what the receiving staff's phones do is closer to
// zbar than to gozxing.
func TestDecodePhotoZbar(t *testing.T) {
	rng := newRand(11)
	uri := testURI(t, rng, 265)
	photo := photograph(t, rng, cardImage(t, uri, sampleDetails()), photoOptions{cardWidth: 540, canvas: image.Pt(800, 1200), degrees: 4, noise: 24, black: 40, white: 215, jpegQuality: 60})
	path := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(path, photo, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := zbarDecode(t, path); got != uri {
		t.Errorf("zbarimg read %q, want %q", got, uri)
	}
}

// TestDecodeInverted reads a light-on-dark code, as a screenshot of a
// terminal that dropped the colours would show it.
func TestDecodeInverted(t *testing.T) {
	uri := testURI(t, newRand(12), 265)
	q, err := encodeQR(uri)
	if err != nil {
		t.Fatal(err)
	}
	q.ForegroundColor, q.BackgroundColor = color.White, color.Black
	var buf bytes.Buffer
	if err := png.Encode(&buf, q.Image(-6)); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeImage(&buf)
	if err != nil || got != uri {
		t.Errorf("DecodeImage = %q, %v; want %q", got, err, uri)
	}
}

// TestDecodeSmall reads a code drawn at two pixels a module.
func TestDecodeSmall(t *testing.T) {
	uri := testURI(t, newRand(13), 265)
	q, err := encodeQR(uri)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, q.Image(-2)); err != nil {
		t.Fatal(err)
	}
	got, err := DecodeImage(&buf)
	if err != nil || got != uri {
		t.Errorf("DecodeImage = %q, %v; want %q", got, err, uri)
	}
}

// encodeImage encodes img as PNG or, when quality > 0, as JPEG.
func encodeImage(t testing.TB, img image.Image, quality int) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if quality > 0 {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality})
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestDecodeImageNoQRCode(t *testing.T) {
	rng := newRand(14)
	white := image.NewGray(image.Rect(0, 0, 640, 480))
	draw.Draw(white, white.Bounds(), image.White, image.Point{}, draw.Src)

	noise := image.NewGray(image.Rect(0, 0, 640, 480))
	for i := range noise.Pix {
		noise.Pix[i] = uint8(rng.Uint32())
	}

	// The card without its QR code: text and boxes only.
	text := image.NewRGBA(image.Rect(0, 0, CardWidth, CardHeight))
	draw.Draw(text, text.Bounds(), image.White, image.Point{}, draw.Src)
	q, err := encodeQR(testURI(t, rng, 265))
	if err != nil {
		t.Fatal(err)
	}
	l, err := layoutCard(q.Bitmap(), sampleDetails())
	if err != nil {
		t.Fatal(err)
	}
	l.qr = nil
	l.draw(text)

	for _, tt := range []struct {
		name string
		data []byte
	}{
		{"white png", encodeImage(t, white, 0)},
		{"noise png", encodeImage(t, noise, 0)},
		{"noise jpeg", encodeImage(t, noise, 60)},
		{"text only", encodeImage(t, text, 90)}, // JPEG: PNG is slow under -race
		{"one pixel", encodeImage(t, image.NewGray(image.Rect(0, 0, 1, 1)), 0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeImage(bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("DecodeImage = %q, want an error", got)
			}
			if !errors.Is(err, ErrNoQRCode) || !strings.Contains(err.Error(), "no QR code found") {
				t.Errorf("DecodeImage error %q, want ErrNoQRCode", err)
			}
		})
	}
}

// pngHeader returns a valid PNG signature and IHDR chunk for a w×h image
// with no image data after it.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecodeImageNotImage(t *testing.T) {
	q, err := encodeQR(testURI(t, newRand(15), 265))
	if err != nil {
		t.Fatal(err)
	}
	small := encodeImage(t, q.Image(-2), 0)
	for _, tt := range []struct {
		name     string
		data     []byte
		notImage bool   // wraps ErrNotImage
		contains string // in the message
	}{
		{"empty", nil, true, "not a PNG or JPEG image"},
		{"text", []byte("IMAGESHARE:V1:ABCDEFGH\n"), true, "not a PNG or JPEG image"},
		{"pdf", []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj\n"), true, "not a PNG or JPEG image"},
		{"gif", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;"), true, "not a PNG or JPEG image"},
		{"truncated png", small[:200], false, "png"},
		{"png header only", pngHeader(100, 100), false, "png"},
		{"too many pixels", pngHeader(10000, 10000), false, "exceeds the maximum"},
		{"no pixels", pngHeader(0, 10), false, "png"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeImage(bytes.NewReader(tt.data))
			if err == nil {
				t.Fatalf("DecodeImage = %q, want an error", got)
			}
			if errors.Is(err, ErrNotImage) != tt.notImage {
				t.Errorf("DecodeImage error %q: errors.Is(ErrNotImage) = %v, want %v", err, !tt.notImage, tt.notImage)
			}
			if errors.Is(err, ErrNoQRCode) {
				t.Errorf("DecodeImage error %q is ErrNoQRCode", err)
			}
			if !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("DecodeImage error %q, want it to mention %q", err, tt.contains)
			}
		})
	}
}

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestDecodeImageTooLarge(t *testing.T) {
	r := io.MultiReader(bytes.NewReader([]byte("\xff\xd8\xff")), zeros{})
	_, err := DecodeImage(r)
	if err == nil || !strings.Contains(err.Error(), "larger than the maximum") {
		t.Errorf("DecodeImage of an endless input: %v, want a size error", err)
	}
}

// failingReader fails after its data.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

func TestDecodeImageReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	_, err := DecodeImage(failingReader{boom})
	if !errors.Is(err, boom) {
		t.Errorf("DecodeImage error %v, want it to wrap %v", err, boom)
	}
}

// opaque hides an image's concrete type, forcing the generic conversion.
type opaque struct{ image.Image }

// TestLuminanceFastPaths checks that each fast path of luminance agrees with
// the generic one, to within rounding.
func TestLuminanceFastPaths(t *testing.T) {
	rng := newRand(16)
	r := image.Rect(3, 5, 40, 31) // not at the origin
	rgba := image.NewRGBA(r)
	nrgba := image.NewNRGBA(r)
	gray := image.NewGray(r)
	ycc := image.NewYCbCr(r, image.YCbCrSubsampleRatio420)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBA{uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32()), uint8(rng.Uint32())}
			nrgba.SetNRGBA(x, y, c)
			rgba.Set(x, y, c)
			gray.SetGray(x, y, color.Gray{c.R})
			ycc.Y[ycc.YOffset(x, y)] = c.G
			ycc.Cb[ycc.COffset(x, y)] = 128 // neutral: Y is the grey level
			ycc.Cr[ycc.COffset(x, y)] = 128
		}
	}
	for name, img := range map[string]image.Image{"rgba": rgba, "nrgba": nrgba, "gray": gray, "ycbcr": ycc} {
		fast, slow := luminance(img), luminance(opaque{img})
		if fast.w != r.Dx() || fast.h != r.Dy() {
			t.Fatalf("%s: luminance is %d×%d, want %d×%d", name, fast.w, fast.h, r.Dx(), r.Dy())
		}
		for i := range fast.pix {
			if d := int(fast.pix[i]) - int(slow.pix[i]); d < -2 || d > 2 {
				t.Fatalf("%s: pixel %d: fast %d, generic %d", name, i, fast.pix[i], slow.pix[i])
			}
		}
	}
}

func TestShrinkEnlarge(t *testing.T) {
	g := grey{w: 7, h: 5, pix: make([]byte, 35)}
	for i := range g.pix {
		g.pix[i] = byte(i)
	}
	if _, ok := g.shrink(7); ok {
		t.Error("shrink(7) of a 7×5 image shrank it")
	}
	s, ok := g.shrink(4)
	if !ok || s.w != 3 || s.h != 2 {
		t.Fatalf("shrink(4) of 7×5 = %d×%d, %v; want 3×2", s.w, s.h, ok)
	}
	if want := byte((0 + 1 + 7 + 8) / 4); s.pix[0] != want {
		t.Errorf("shrunk pixel 0 = %d, want the average %d", s.pix[0], want)
	}
	e := g.enlarge(3)
	if e.w != 21 || e.h != 15 || e.pix[3*21+5] != g.pix[1*7+1] {
		t.Errorf("enlarge(3) wrong: %d×%d", e.w, e.h)
	}
}

// FuzzDecodeImage feeds DecodeImage arbitrary bytes: it must return text or
// an error, never panic or hang. The seeds are made here, so they cannot go
// missing.
func FuzzDecodeImage(f *testing.F) {
	uri := testURI(f, newRand(17), 265)
	q, err := encodeQR(uri)
	if err != nil {
		f.Fatal(err)
	}
	small := encodeImage(f, q.Image(-2), 0)
	f.Add(small)
	f.Add(encodeImage(f, q.Image(-2), 50))
	f.Add(small[:len(small)/2])
	f.Add(pngHeader(10, 10))
	f.Add([]byte("not an image"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		text, err := DecodeImage(bytes.NewReader(data))
		if err == nil && text == "" {
			t.Skip("decoded an empty code") // possible, and fine
		}
	})
}

// Every card the sender prints must read back with our own decoder. Cards
// the size of a sender's (QR version 8) with random contents cover all
// masks; before DecodeImage tried turned copies, about one in 150 failed
// here while zbarimg read them.
func TestEveryRenderedCardDecodes(t *testing.T) {
	n := 100
	if raceEnabled {
		n = 8
	}
	rng := newRand(20261128)
	for i := range n {
		u := testURI(t, rng, 125+rng.IntN(12))
		got, err := DecodeImage(bytes.NewReader(cardPNG(t, u, sampleDetails())))
		if err != nil || got != u {
			v, _ := QRVersion(u)
			t.Errorf("card %d (QR version %d, %d characters): %v", i, v, len(u), err)
		}
	}
}

// The card from a CI run that gozxing could not read upright.
func TestRegressionVersion8Card(t *testing.T) {
	const u = "IMAGESHARE:V1:AETAAJAIAEJCBIGVM46GT7BQJZODD47VS5YHRT4OHEJTGGIMJCOJMQZPFUPZNGQFAIQJ5MELOZSGXUDQEIYDUFOMFT2RWE57OGMXBTKF257L2DPCOHUSQWQDBDFIKWSOVIH7G7IEAXRM3OGYAYCRBZJZW27FPIO3MOSRHCMQLPPGJ3YGBACH6AAAAEDKUTY7ETZ6G"
	got, err := DecodeImage(bytes.NewReader(cardPNG(t, u, sampleDetails())))
	if err != nil || got != u {
		t.Fatalf("got %v", err)
	}
}
