package preview

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/internal/browsertest"
	"imageshare/internal/testenv"
)

// lum returns the grey level of every pixel of img, row by row.
func lum(img image.Image) []float64 {
	b := img.Bounds()
	out := make([]float64, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out = append(out, float64(color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y))
		}
	}
	return out
}

func meanStd(v []float64) (float64, float64) {
	var s, ss float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)))
}

// regionMean is the mean grey level of img in r.
func regionMean(img image.Image, r image.Rectangle) float64 {
	sub := image.NewGray(r)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			sub.Set(x, y, img.At(x, y))
		}
	}
	m, _ := meanStd(lum(sub))
	return m
}

// save writes img as a PNG into the test's artifacts and returns its path.
func save(t *testing.T, img image.Image, name string) string {
	t.Helper()
	p := filepath.Join(browsertest.ArtifactsDir(t), name)
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WritePNG(f, img); err != nil {
		t.Fatal(err)
	}
	t.Logf("thumbnail: %s", p)
	return p
}

func sameImage(t *testing.T, a, b image.Image) {
	t.Helper()
	if a.Bounds() != b.Bounds() {
		t.Fatalf("sizes differ: %v and %v", a.Bounds(), b.Bounds())
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				t.Fatalf("pixel %d,%d differs: %v and %v", x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
}

// TestCTSeries renders the real CT series' thumbnail and checks it looks
// like a CT slice: not blank, the body brighter than the air around it.
func TestCTSeries(t *testing.T) {
	files := testenv.CTSeries(t, 134)
	img, err := Series(files)
	if err != nil {
		t.Fatal(err)
	}
	save(t, img, "ct-series.png")
	if b := img.Bounds(); b.Dx() != 256 || b.Dy() != 256 {
		t.Fatalf("thumbnail of 512×512 slices is %v, want 256×256", b)
	}
	px := lum(img)
	m, sd := meanStd(px)
	dark := len(slices.DeleteFunc(slices.Clone(px), func(v float64) bool { return v > 20 }))
	bright := len(slices.DeleteFunc(slices.Clone(px), func(v float64) bool { return v < 180 }))
	t.Logf("mean %.1f, standard deviation %.1f, %d dark and %d bright pixels", m, sd, dark, bright)
	if sd < 30 {
		t.Errorf("standard deviation %.1f: the thumbnail is nearly blank", sd)
	}
	if dark < len(px)/20 || bright < len(px)/100 {
		t.Errorf("%d dark and %d bright pixels of %d: want air and bone or contrast both", dark, bright, len(px))
	}
	body := regionMean(img, image.Rect(96, 96, 160, 160))
	air := regionMean(img, image.Rect(0, 0, 24, 24))
	if body < air+60 {
		t.Errorf("the body in the middle (%.1f) is not much brighter than the air in the corner (%.1f)", body, air)
	}
}

// TestSeriesMiddle: the middle slice by Instance Number, whatever the order
// of the files given.
func TestSeriesMiddle(t *testing.T) {
	files := testenv.CTSeries(t, 134)
	byNumber := map[int]string{}
	for _, f := range files {
		ds, err := dicom.ParseFile(f, nil, dicom.SkipPixelData())
		if err != nil {
			t.Fatal(err)
		}
		e, err := ds.FindElementByTag(tag.InstanceNumber)
		if err != nil {
			t.Fatal(err)
		}
		n, ok := integer(&ds, tag.InstanceNumber)
		if !ok {
			t.Fatalf("%s: instance number %v", f, e)
		}
		byNumber[n] = f
	}
	numbers := slices.Sorted(func(yield func(int) bool) {
		for n := range byNumber {
			if !yield(n) {
				return
			}
		}
	})
	middle := byNumber[numbers[(len(numbers)-1)/2]]

	shuffled := slices.Clone(files)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	got, err := Series(shuffled)
	if err != nil {
		t.Fatal(err)
	}
	want, err := Image(middle)
	if err != nil {
		t.Fatal(err)
	}
	sameImage(t, got, want)
	neighbour, err := Image(byNumber[numbers[(len(numbers)-1)/2+1]])
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(lum(neighbour), lum(want)) {
		t.Fatal("two slices make the same thumbnail: the comparison proves nothing")
	}
}

// TestSeriesOrder: Instance Number first, then the position along the slice
// normal, then the name; never the order given.
func TestSeriesOrder(t *testing.T) {
	dir := t.TempDir()
	// Each file is uniform, its grey level telling which it is.
	file := func(name, number, position string, level uint16) string {
		px := make([]uint16, 16)
		for i := range px {
			px[i] = level
		}
		px[0] = 0 // a range to window by
		return instance{Rows: 4, Cols: 4, Pixels: words(px), Instance: number, Position: position, Window: "500\\1000"}.write(t, dir, name)
	}
	level := func(img image.Image) uint8 { return color.GrayModel.Convert(img.At(3, 3)).(color.Gray).Y }

	// By number: names and positions disagree.
	var files []string
	for i, n := range []string{"5", "1", "3", "4", "2"} {
		files = append(files, file(string(rune('a'+i))+".dcm", n, "0\\0\\"+n, uint16(100*(5-i))))
	}
	// Number 3 is c.dcm, level 300.
	img, err := Series(files)
	if err != nil {
		t.Fatal(err)
	}
	if got := level(img); got < 75 || got > 80 {
		t.Errorf("by Instance Number: level %d, want that of number 3 (300 in a window 0..1000)", got)
	}

	// By position: no numbers.
	files = nil
	for i, z := range []string{"40", "-10", "7.5", "100", "20"} {
		files = append(files, file("p"+string(rune('a'+i))+".dcm", "", "0\\0\\"+z, uint16(100*(i+1))))
	}
	// Sorted: -10 (200), 7.5 (300), 20 (500), 40 (100), 100 (400): the middle is 20.
	if img, err = Series(files); err != nil {
		t.Fatal(err)
	}
	if got := level(img); got < 126 || got > 130 {
		t.Errorf("by position: level %d, want that of z=20 (500)", got)
	}
}

// TestMonochrome1 inverts: the same pixels as MONOCHROME1 and MONOCHROME2
// make thumbnails that add up to white.
func TestMonochrome1(t *testing.T) {
	dir := t.TempDir()
	px := words(ramp(64, 300, 0, 10))
	m2, err := Image(instance{Rows: 64, Cols: 300, Pixels: px, Stored: 12}.write(t, dir, "m2.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	m1, err := Image(instance{Rows: 64, Cols: 300, Pixels: px, Stored: 12, Photometric: "MONOCHROME1"}.write(t, dir, "m1.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if b := m1.Bounds(); b.Dx() != 256 || b.Dy() != 55 {
		t.Errorf("300×64 made %v, want 256×55", b)
	}
	a, b := lum(m2), lum(m1)
	if a[0] != 0 || a[255] != 255 {
		t.Errorf("MONOCHROME2 ramp goes from %v to %v, want 0 to 255", a[0], a[255])
	}
	for i := range a {
		// Each thumbnail pixel is a mean, rounded: 255 give or take 1.
		if math.Abs(a[i]+b[i]-255) > 1 {
			t.Fatalf("pixel %d: %v as MONOCHROME2 and %v as MONOCHROME1, want them to add up to 255", i, a[i], b[i])
		}
	}
}

// saturated counts the black and white pixels.
func saturated(img image.Image) int {
	n := 0
	for _, v := range lum(img) {
		if v == 0 || v == 255 {
			n++
		}
	}
	return n
}

// TestWindow: the window and the rescale apply, by PS3.3 C.11.2.1.2.
func TestWindow(t *testing.T) {
	dir := t.TempDir()
	// Stored 0..2550, modality -1024..1526 (CT numbers).
	px := words(ramp(1, 256, 0, 10))
	shown := func(window string) image.Image {
		t.Helper()
		img, err := Image(instance{Rows: 1, Cols: 256, Pixels: px, Stored: 12, Rescale: [2]string{"1", "-1024"}, Window: window}.write(t, dir, "w.dcm"))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	narrow, wide := shown("40\\400"), shown("0\\4000")
	if n, w := saturated(narrow), saturated(wide); n <= w {
		t.Errorf("a narrow window saturates %d pixels, a wide one %d: want more for the narrow", n, w)
	}
	// LINEAR: x <= c-0.5-(w-1)/2 is black, x > c-0.5+(w-1)/2 white, and
	// between ((x-(c-0.5))/(w-1)+0.5) of white.
	v := lum(narrow)
	for i, x := range v {
		m := float64(i*10 - 1024)
		want := math.Round(min(max((m-39.5)/399+0.5, 0), 1) * 255)
		if x != want {
			t.Fatalf("CT number %v shows as %v in window 40/400, want %v", m, x, want)
		}
	}
	// No window: the range of the values, 0 to 255.
	v = lum(shown(""))
	if v[0] != 0 || v[255] != 255 || v[128] < 126 || v[128] > 129 {
		t.Errorf("without a window: %v, %v, %v; want 0, about 128, 255", v[0], v[128], v[255])
	}
	// The first of several windows.
	sameImage(t, shown("40\\400"), func() image.Image {
		img, err := Image(instance{Rows: 1, Cols: 256, Pixels: px, Stored: 12, Rescale: [2]string{"1", "-1024"}, Window: "40\\400\\-600\\1500"}.write(t, dir, "w2.dcm"))
		if err != nil {
			t.Fatal(err)
		}
		return img
	}())
}

// TestStoredBits: bits above Bits Stored are not the pixel's, and Pixel
// Representation 1 makes the stored value signed.
func TestStoredBits(t *testing.T) {
	dir := t.TempDir()
	clean := ramp(8, 8, 0, 50)
	dirty := make([]uint16, len(clean))
	for i, v := range clean {
		dirty[i] = v | 0xf000 // an overlay in the high bits
	}
	a, err := Image(instance{Rows: 8, Cols: 8, Pixels: words(clean), Stored: 12}.write(t, dir, "a.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Image(instance{Rows: 8, Cols: 8, Pixels: words(dirty), Stored: 12}.write(t, dir, "b.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	sameImage(t, a, b)

	// Signed, 12 bits stored: -200..150 as two's complement in 12 bits.
	signed := make([]uint16, 8)
	for i := range signed {
		signed[i] = uint16(int16(-200+50*i)) & 0x0fff
	}
	img, err := Image(instance{Rows: 1, Cols: 8, Pixels: words(signed), Stored: 12, Signed: true, Window: "0\\401"}.write(t, dir, "s.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	v := lum(img)
	for i := 1; i < len(v); i++ {
		if v[i] <= v[i-1] {
			t.Fatalf("signed values -200..150 rising show as %v: not rising", v)
		}
	}
	if v[4] < 126 || v[4] > 129 {
		t.Errorf("0 in window 0/401 shows as %v, want mid grey", v[4])
	}
}

// TestColour: RGB in either planar configuration and YBR_FULL show the same
// colours, 8 bits or 16.
func TestColour(t *testing.T) {
	dir := t.TempDir()
	rgb := [][3]uint8{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}, {0, 0, 0}, {200, 100, 50}}
	var interleaved, planar, ybr []byte
	for _, c := range rgb {
		interleaved = append(interleaved, c[:]...)
		y, cb, cr := color.RGBToYCbCr(c[0], c[1], c[2])
		ybr = append(ybr, y, cb, cr)
	}
	for s := range 3 {
		for _, c := range rgb {
			planar = append(planar, c[s])
		}
	}
	check := func(name string, in instance) {
		t.Helper()
		in.Rows, in.Cols, in.Samples, in.Bits = 1, 6, 3, 8
		img, err := Image(in.write(t, dir, name))
		if err != nil {
			t.Fatal(err)
		}
		for x, c := range rgb {
			r, g, b, _ := img.At(x, 0).RGBA()
			got := [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
			for s := range 3 {
				if d := got[s] - int(c[s]); d < -2 || d > 2 {
					t.Fatalf("%s: pixel %d is %v, want %v", name, x, got, c)
				}
			}
		}
	}
	check("interleaved.dcm", instance{Photometric: "RGB", Pixels: interleaved})
	check("planar.dcm", instance{Photometric: "RGB", Planar: 1, Pixels: planar})
	check("ybr.dcm", instance{Photometric: "YBR_FULL", Pixels: ybr})
	// YBR_FULL_422: Y1 Y2 Cb Cr for each pair; pairs of one colour.
	var ybr422 []byte
	for i := 0; i < len(ybr); i += 3 {
		ybr422 = append(ybr422, ybr[i], ybr[i], ybr[i+1], ybr[i+2])
	}
	img, err := Image(instance{Rows: 1, Cols: 12, Samples: 3, Bits: 8, Photometric: "YBR_FULL_422", Pixels: ybr422}.write(t, dir, "422.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	for x := range 12 {
		r, g, b, _ := img.At(x, 0).RGBA()
		c := rgb[x/2]
		if d := int(r>>8) - int(c[0]) + int(g>>8) - int(c[1]) + int(b>>8) - int(c[2]); d < -6 || d > 6 {
			t.Fatalf("YBR_FULL_422 pixel %d is %d,%d,%d, want %v", x, r>>8, g>>8, b>>8, c)
		}
	}
}

// TestEncodings: the same pixels in each rendered syntax show the same.
func TestEncodings(t *testing.T) {
	dir := t.TempDir()
	px := words(ramp(20, 30, 100, 37))
	want, err := Image(instance{Rows: 20, Cols: 30, Pixels: px}.write(t, dir, "le.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range []string{tsImplicitLE, tsExplicitBE, tsDeflated} {
		got, err := Image(instance{TS: ts, Rows: 20, Cols: 30, Pixels: px}.write(t, dir, ts+".dcm"))
		if err != nil {
			t.Fatalf("%s: %v", ts, err)
		}
		sameImage(t, got, want)
	}
}

// TestRealEncodings: the real files of one image in several encodings.
func TestRealEncodings(t *testing.T) {
	zoo := filepath.Join(testenv.SharedDICOM(t), "format-zoo")
	for _, pair := range [][2]string{
		{"cornerstone-dicomParser/testImages/CT1_UNC.explicit_little_endian.dcm", "cornerstone-dicomParser/testImages/CT1_UNC.explicit_big_endian.dcm"},
		{"cornerstone-dicomParser/testImages/CT1_UNC.explicit_little_endian.dcm", "cornerstone-dicomParser/testImages/CT1_UNC.implicit_little_endian.dcm"},
		{"dcm_qa_ts/In/1.dcm", "dcm_qa_ts/In/3.dcm"},
		{"pydicom-data/data/SC_rgb.dcm", "pydicom-data/data/SC_rgb_expb.dcm"},
		{"pydicom-data/data/color-px.dcm", "pydicom-data/data/color-pl.dcm"}, // planar configuration 0 and 1
		{"pydicom-data/data/SC_rgb.dcm", "pydicom-data/data/SC_rgb_16bit.dcm"},
	} {
		a, err := Image(filepath.Join(zoo, pair[0]))
		if err != nil {
			t.Fatal(err)
		}
		b, err := Image(filepath.Join(zoo, pair[1]))
		if err != nil {
			t.Fatal(err)
		}
		if _, sd := meanStd(lum(a)); sd < 10 {
			t.Errorf("%s: nearly blank (standard deviation %.1f)", pair[0], sd)
		}
		sameImage(t, a, b)
	}
}

// TestJPEGBaseline: the real multi-frame ultrasound in JPEG Baseline shows
// as its uncompressed twin does, at its aspect ratio.
func TestJPEGBaseline(t *testing.T) {
	dir := filepath.Join(testenv.SharedDICOM(t), "format-zoo/cornerstone-dicomParser/testImages/encapsulated/multi-frame")
	jpg, err := Image(filepath.Join(dir, "IM00001.fragmented_no_bot_jpeg_baseline.50.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	save(t, jpg, "us-jpeg.png")
	raw, err := Image(filepath.Join(dir, "IM00001.implicit_little_endian.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if b := jpg.Bounds(); b.Dx() != 256 || b.Dy() != 192 {
		t.Errorf("640×480 made %v, want 256×192", b)
	}
	a, b := lum(jpg), lum(raw)
	if _, sd := meanStd(a); sd < 20 {
		t.Errorf("nearly blank (standard deviation %.1f)", sd)
	}
	var diff float64
	for i := range a {
		diff += math.Abs(a[i] - b[i])
	}
	if diff /= float64(len(a)); diff > 4 {
		t.Errorf("JPEG and uncompressed differ by %.1f grey levels a pixel on average", diff)
	}
}

// TestJPEGGrey: a grey JPEG frame goes through the grey steps: MONOCHROME1
// inverts it.
func TestJPEGGrey(t *testing.T) {
	dir := t.TempDir()
	g := image.NewGray(image.Rect(0, 0, 40, 20))
	for i := range g.Pix {
		g.Pix[i] = uint8(i % 40 * 6)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, g, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	in := instance{TS: tsJPEGBase, Rows: 20, Cols: 40, Bits: 8, JPEG: [][]byte{buf.Bytes()}}
	m2, err := Image(in.write(t, dir, "m2.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	in.Photometric = "MONOCHROME1"
	m1, err := Image(in.write(t, dir, "m1.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	a, b := lum(m2), lum(m1)
	if a[39] < a[0]+100 {
		t.Errorf("the grey ramp shows from %v to %v", a[0], a[39])
	}
	for i := range a {
		if a[i]+b[i] != 255 {
			t.Fatalf("pixel %d: %v and inverted %v", i, a[i], b[i])
		}
	}
}

// TestNoPreview: what is not rendered says why.
func TestNoPreview(t *testing.T) {
	zoo := filepath.Join(testenv.SharedDICOM(t), "format-zoo")
	for _, c := range []struct{ file, says string }{
		{"dcm_qa_ts/In/9.dcm", "JPEG 2000 Image Compression (Lossless Only) (1.2.840.10008.1.2.4.90) is not previewed"},
		{"pydicom-data/data/US1_J2KI.dcm", "JPEG 2000 Image Compression (1.2.840.10008.1.2.4.91) is not previewed"},
		{"dcm_qa_ts/In/7.dcm", "JPEG-LS Lossless Image Compression (1.2.840.10008.1.2.4.80) is not previewed"},
		{"dcm_qa_ts/In/4.dcm", "RLE Lossless (1.2.840.10008.1.2.5) is not previewed"},
		{"cornerstone-dicomParser/testImages/encapsulated/multi-frame/CT0012.fragmented_no_bot_jpeg_baseline.51.dcm", "(1.2.840.10008.1.2.4.51) is not previewed"},
		{"pydicom-data/data/HTJ2K_08_RGB.dcm", "1.2.840.10008.1.2.4.203 is not previewed"},
		{"pydicom-data/data/explicit_VR-UN.dcm", "(1.2.840.10008.1.2.4.90) is not previewed"},
		{"dcmqi/sr-example/sr.dcm", "no image in this file"},
		{"cornerstone-dicomParser/testImages/deflate/report_dfl", "no image in this file"},
		{"dcmqi/segmentations/liver.dcm", "no image in this file: it is a segmentation"},
		{"pydicom-data/data/OT-PAL-8-face.dcm", "palette colour is not previewed"},
	} {
		path := filepath.Join(zoo, c.file)
		_, err := Image(path)
		if !errors.Is(err, ErrNoPreview) {
			t.Errorf("%s: %v, want ErrNoPreview", c.file, err)
			continue
		}
		var np *NoPreviewError
		if !errors.As(err, &np) || np.Path != path {
			t.Errorf("%s: %#v, want a *NoPreviewError with the path", c.file, err)
		}
		if want := "preview: " + c.says; !strings.HasPrefix(err.Error(), want) && !strings.HasSuffix(err.Error(), c.says) {
			t.Errorf("%s: %q, want it to say %q", c.file, err, c.says)
		}
	}
	// A series of such files says the same.
	_, err := Series([]string{filepath.Join(zoo, "dcmqi/sr-example/sr.dcm")})
	if !errors.Is(err, ErrNoPreview) {
		t.Errorf("a series of an SR: %v, want ErrNoPreview", err)
	}
	// No pixel data at all.
	dir := t.TempDir()
	_, err = Image(instance{Rows: 2, Cols: 2, NoPixels: true}.write(t, dir, "none.dcm"))
	if !errors.Is(err, ErrNoPreview) || !strings.Contains(err.Error(), "no image in this file") {
		t.Errorf("no pixel data: %v", err)
	}
}

// TestBroken: a truncated or garbage file is an error naming it, and not
// ErrNoPreview.
func TestBroken(t *testing.T) {
	dir := t.TempDir()
	whole := instance{Rows: 64, Cols: 64, Pixels: words(ramp(64, 64, 0, 1))}.bytes()
	var files []string
	for _, n := range []int{0, 100, 200, len(whole) / 2, len(whole) - 1} {
		p := filepath.Join(dir, "cut"+string(rune('a'+len(files)))+".dcm")
		if err := os.WriteFile(p, whole[:n], 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	// A real CT slice cut in its pixel data.
	ct := testenv.CTSeries(t, 1)[0]
	b, err := os.ReadFile(ct)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ct-cut.dcm")
	if err := os.WriteFile(p, b[:len(b)-1000], 0o644); err != nil {
		t.Fatal(err)
	}
	files = append(files, p, filepath.Join(dir, "missing.dcm"))
	for _, f := range files {
		_, err := Image(f)
		if err == nil {
			t.Errorf("%s: no error", f)
			continue
		}
		if errors.Is(err, ErrNoPreview) || !strings.Contains(err.Error(), f) {
			t.Errorf("%s: %v, want an error naming the file", f, err)
		}
	}
	// A series whose broken files cannot be chosen uses the rest.
	good := instance{Rows: 4, Cols: 4, Pixels: words(ramp(4, 4, 0, 1))}.write(t, dir, "good.dcm")
	if _, err := Series(append(slices.Clone(files), good)); err != nil {
		t.Errorf("a series with one good file: %v", err)
	}
	if _, err := Series(files); err == nil || !strings.Contains(err.Error(), files[0]) {
		t.Errorf("a series of broken files: %v, want the first file's error", err)
	}
}

// TestShrink: the box filter averages, and keeps the aspect ratio.
func TestShrink(t *testing.T) {
	for _, c := range []struct{ w, h, tw, th int }{
		{512, 512, 256, 256}, {640, 480, 256, 192}, {100, 1000, 26, 256}, {2000, 3, 256, 1}, {10, 7, 10, 7},
	} {
		if w, h := thumbSize(c.w, c.h, MaxSide); w != c.tw || h != c.th {
			t.Errorf("%d×%d makes %d×%d, want %d×%d", c.w, c.h, w, h, c.tw, c.th)
		}
	}
	// A checkerboard of 512×512 averages to mid grey.
	g := image.NewGray(image.Rect(0, 0, 512, 512))
	for i := range g.Pix {
		if (i%512+i/512)%2 == 0 {
			g.Pix[i] = 255
		}
	}
	for _, v := range lum(shrink(g, MaxSide)) {
		if v != 128 {
			t.Fatalf("a checkerboard shrinks to %v, want 128", v)
		}
	}
}

// TestMRSeries renders the real T1 MR series, which has no window: the
// range of its values.
func TestMRSeries(t *testing.T) {
	dir := filepath.Join(testenv.SharedDICOM(t), "mr-t1-structural", "dicoms")
	files, _ := filepath.Glob(filepath.Join(dir, "*.dcm"))
	if len(files) < 100 {
		testenv.Missing(t, "the MR series at %s has %d files", dir, len(files))
	}
	img, err := Series(files)
	if err != nil {
		t.Fatal(err)
	}
	save(t, img, "mr-series.png")
	if b := img.Bounds(); b.Dx() != 183 || b.Dy() != 256 {
		t.Errorf("thumbnail of 274×384 slices is %v, want 183×256", b)
	}
	m, sd := meanStd(lum(img))
	t.Logf("mean %.1f, standard deviation %.1f", m, sd)
	if sd < 20 {
		t.Errorf("standard deviation %.1f: the thumbnail is nearly blank", sd)
	}
	head := regionMean(img, image.Rect(70, 100, 110, 150))
	air := regionMean(img, image.Rect(0, 0, 16, 16))
	if head < air+30 {
		t.Errorf("the head in the middle (%.1f) is not brighter than the air in the corner (%.1f)", head, air)
	}
}

// TestMiddleFrame: of a multi-frame file, its middle frame.
func TestMiddleFrame(t *testing.T) {
	dir := t.TempDir()
	var px []uint16
	for _, level := range []uint16{100, 900, 500, 300, 700} {
		frame := make([]uint16, 16)
		for i := range frame {
			frame[i] = level
		}
		px = append(px, frame...)
	}
	img, err := Image(instance{Rows: 4, Cols: 4, Frames: 5, Pixels: words(px), Window: "500\\1001"}.write(t, dir, "mf.dcm"))
	if err != nil {
		t.Fatal(err)
	}
	if v := lum(img)[5]; v < 126 || v > 129 {
		t.Errorf("the middle frame (500 in a window 0..1000) shows as %v", v)
	}
}
