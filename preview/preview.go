package preview

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"

	"imageshare/study"
)

// MaxSide is the longest side of a thumbnail, in pixels.
const MaxSide = 256

// ErrNoPreview is what the errors of a file that has no thumbnail wrap: its
// encoding is not rendered here, or it holds no image. They are
// *NoPreviewError, whose Reason the page shows on its "no preview" tile.
var ErrNoPreview = errors.New("no preview")

// NoPreviewError says why a file has no thumbnail.
type NoPreviewError struct {
	Path   string // the file
	Reason string // "JPEG 2000 Image Compression (1.2.840.10008.1.2.4.91) is not previewed"
}

// Error returns the reason; the file is in Path.
func (e *NoPreviewError) Error() string { return "preview: " + e.Reason }

// Unwrap returns ErrNoPreview.
func (e *NoPreviewError) Unwrap() error { return ErrNoPreview }

// noPreview is a NoPreviewError with the reason; Image sets the path.
func noPreview(format string, args ...any) error {
	return &NoPreviewError{Reason: fmt.Sprintf(format, args...)}
}

// withPath returns err with the path of its file: a NoPreviewError with its
// Path set, and any other error with the path in its text.
func withPath(err error, path string) error {
	var np *NoPreviewError
	if errors.As(err, &np) {
		return &NoPreviewError{Path: path, Reason: np.Reason}
	}
	return fmt.Errorf("preview: %s: %w", path, err)
}

// Transfer syntaxes whose pixels are rendered.
const (
	tsImplicitLE = "1.2.840.10008.1.2"
	tsExplicitLE = "1.2.840.10008.1.2.1"
	tsExplicitBE = "1.2.840.10008.1.2.2"
	tsDeflated   = "1.2.840.10008.1.2.1.99"
	tsJPEGBase   = "1.2.840.10008.1.2.4.50"
)

// SOP classes that hold pixel data but no picture of the patient.
var notImages = map[string]string{
	"1.2.840.10008.5.1.4.1.1.66.4": "a segmentation",
	"1.2.840.10008.5.1.4.1.1.30":   "a parametric map",
}

// Series returns the thumbnail of a series given as its files: its middle
// image, chosen by the files' headers (see the package documentation).
// Files whose headers cannot be read take no part in the choice; when none
// can, the error is the first file's.
func Series(files []string) (image.Image, error) {
	if len(files) == 0 {
		return nil, errors.New("preview: a series of no files")
	}
	type entry struct {
		path string
		h    *header
	}
	var entries []entry
	var firstErr error
	for _, p := range files {
		h, err := readHeader(p)
		if err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		entries = append(entries, entry{p, h})
	}
	if len(entries) == 0 {
		return nil, firstErr
	}
	slices.SortStableFunc(entries, func(a, b entry) int {
		if c := compareKey(a.h.hasInstance, a.h.instance, b.h.hasInstance, b.h.instance); c != 0 {
			return c
		}
		if c := compareKey(a.h.hasPosition, a.h.slicePosition(), b.h.hasPosition, b.h.slicePosition()); c != 0 {
			return c
		}
		if c := cmp.Compare(filepath.Base(a.path), filepath.Base(b.path)); c != 0 {
			return c
		}
		return cmp.Compare(a.path, b.path)
	})
	return Image(entries[middle(len(entries))].path)
}

// compareKey orders by a key the files may lack: those that have it first.
func compareKey[T cmp.Ordered](aHas bool, a T, bHas bool, b T) int {
	switch {
	case aHas && bHas:
		return cmp.Compare(a, b)
	case aHas:
		return -1
	case bHas:
		return 1
	}
	return 0
}

// Image returns the thumbnail of one file: of its middle frame when it has
// several.
func Image(path string) (img image.Image, err error) {
	h, err := readHeader(path)
	if err != nil {
		return nil, err
	}
	if err := h.previewable(); err != nil {
		return nil, withPath(err, path)
	}
	defer func() {
		// The library panics on some malformed input; the header pass
		// above has read the same elements, but the pixel data is new.
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("preview: %s: the DICOM parser failed: %v", path, r)
		}
	}()
	opts := []dicom.ParseOption{dicom.AllowUnknownSpecificCharacterSet()}
	if h.photometric == "YBR_FULL_422" && h.ts != tsJPEGBase {
		// Two samples a pixel (Y Y Cb Cr for each pair), where the
		// library expects three: it hands the bytes over unread.
		opts = append(opts, dicom.AllowMismatchPixelDataLength())
	}
	ds, err := dicom.ParseFile(path, nil, opts...)
	if err != nil {
		return nil, fmt.Errorf("preview: %s: %w", path, err)
	}
	img, err = render(h, &ds)
	if err != nil {
		return nil, withPath(err, path)
	}
	return img, nil
}

// WritePNG writes img as a PNG.
func WritePNG(w io.Writer, img image.Image) error {
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	return enc.Encode(w, img)
}

// header is what choosing and rendering need of a file's attributes.
type header struct {
	ts, sopClass, photometric, voiFunction string

	rows, cols, frames, samples         int
	bitsAllocated, bitsStored, highBit  int
	signed, planar, hasPixels, floatPix bool

	slope, intercept float64
	hasWindow        bool
	center, width    float64
	hasPadding       bool
	padding          int

	hasInstance, hasPosition bool
	instance                 int
	position                 [3]float64
	orientation              [6]float64
}

// readHeader reads the attributes of the file at path, not its pixel data,
// after checking its structure as the scanner does.
func readHeader(path string) (*header, error) {
	if _, err := study.ReadStudyModule(path); err != nil {
		var fe *study.FileError
		if errors.As(err, &fe) {
			return nil, fmt.Errorf("preview: %w", err)
		}
		return nil, fmt.Errorf("preview: %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	ts, ds, err := parseHeader(f, fi.Size())
	if err != nil {
		if ts != "" && !renderedSyntax(ts) {
			// What the library cannot read of a file whose pixels
			// would not be rendered anyway (a data set in UN, say)
			// does not matter: that they are not is the news.
			return &header{ts: ts, hasPixels: true}, nil
		}
		return nil, fmt.Errorf("preview: %s: %w", path, err)
	}
	h := newHeader(ds)
	if h.ts == "" {
		h.ts = ts
	}
	return h, nil
}

// parseHeader parses the data set in r of size bytes up to its pixel data,
// which it skips, and returns the transfer syntax of the meta group, if
// any, even when it fails on the data set.
func parseHeader(r io.Reader, size int64) (ts string, ds *dicom.Dataset, err error) {
	defer func() {
		// The library panics on some malformed input, such as a value of
		// an unexpected type where it calls MustGetStrings.
		if r := recover(); r != nil {
			ds, err = nil, fmt.Errorf("the DICOM parser failed: %v", r)
		}
	}()
	p, err := dicom.NewParser(r, size, nil, dicom.SkipPixelData(), dicom.AllowUnknownSpecificCharacterSet())
	if err != nil {
		return "", nil, err
	}
	meta := p.GetMetadata()
	ts, _ = text(&meta, tag.TransferSyntaxUID)
	if ts != "" {
		if _, _, err := uid.ParseTransferSyntaxUID(ts); err != nil {
			// A syntax the library does not know (HTJ2K, say) leaves it
			// without a byte order; its data set is explicit VR little
			// endian like that of every syntax but three (PS3.5 A.4).
			p.SetTransferSyntax(binary.LittleEndian, false)
		}
	}
	ds = &dicom.Dataset{Elements: slices.Clone(meta.Elements)}
	for {
		e, err := p.Next()
		if errors.Is(err, dicom.ErrorEndOfDICOM) || errors.Is(err, io.EOF) {
			return ts, ds, nil
		}
		if err != nil {
			return ts, nil, err
		}
		ds.Elements = append(ds.Elements, e)
	}
}

// renderedSyntax reports whether pixel data in transfer syntax ts is
// rendered.
func renderedSyntax(ts string) bool {
	switch ts {
	case tsImplicitLE, tsExplicitLE, tsExplicitBE, tsDeflated, tsJPEGBase, "":
		return true
	}
	return false
}

// newHeader takes the attributes from ds.
func newHeader(ds *dicom.Dataset) *header {
	h := &header{slope: 1}
	h.ts, _ = text(ds, tag.TransferSyntaxUID)
	h.sopClass, _ = text(ds, tag.SOPClassUID)
	h.photometric, _ = text(ds, tag.PhotometricInterpretation)
	h.photometric = strings.ToUpper(h.photometric)
	h.rows, _ = integer(ds, tag.Rows)
	h.cols, _ = integer(ds, tag.Columns)
	h.frames, _ = integer(ds, tag.NumberOfFrames)
	h.frames = max(h.frames, 1)
	var ok bool
	if h.samples, ok = integer(ds, tag.SamplesPerPixel); !ok {
		h.samples = 1
	}
	h.bitsAllocated, _ = integer(ds, tag.BitsAllocated)
	if h.bitsStored, ok = integer(ds, tag.BitsStored); !ok || h.bitsStored <= 0 || h.bitsStored > h.bitsAllocated {
		h.bitsStored = h.bitsAllocated
	}
	if h.highBit, ok = integer(ds, tag.HighBit); !ok || h.highBit < h.bitsStored-1 || h.highBit >= h.bitsAllocated {
		h.highBit = h.bitsStored - 1
	}
	rep, _ := integer(ds, tag.PixelRepresentation)
	h.signed = rep == 1
	planar, _ := integer(ds, tag.PlanarConfiguration)
	h.planar = planar == 1
	_, err := ds.FindElementByTag(tag.PixelData)
	h.hasPixels = err == nil
	for _, t := range []tag.Tag{tag.FloatPixelData, tag.DoubleFloatPixelData} {
		if _, err := ds.FindElementByTag(t); err == nil {
			h.floatPix = true
		}
	}

	if v, ok := number(ds, tag.RescaleSlope, true); ok && v != 0 {
		h.slope = v
	}
	h.intercept, _ = number(ds, tag.RescaleIntercept, true)
	c, okc := number(ds, tag.WindowCenter, true)
	w, okw := number(ds, tag.WindowWidth, true)
	if okc && okw {
		h.hasWindow, h.center, h.width = true, c, w
	}
	if f, ok := textNested(ds, tag.VOILUTFunction); ok {
		h.voiFunction = strings.ToUpper(f)
	}
	h.padding, h.hasPadding = integer(ds, tag.PixelPaddingValue)

	h.instance, h.hasInstance = integer(ds, tag.InstanceNumber)
	pos := numbers(ds, tag.ImagePositionPatient)
	ori := numbers(ds, tag.ImageOrientationPatient)
	if len(pos) == 3 && len(ori) == 6 {
		h.hasPosition = true
		copy(h.position[:], pos)
		copy(h.orientation[:], ori)
	}
	return h
}

// slicePosition is the position of the image along its slice normal: the
// cross product of the row and column directions.
func (h *header) slicePosition() float64 {
	r, c := h.orientation[:3], h.orientation[3:]
	n := [3]float64{r[1]*c[2] - r[2]*c[1], r[2]*c[0] - r[0]*c[2], r[0]*c[1] - r[1]*c[0]}
	return n[0]*h.position[0] + n[1]*h.position[1] + n[2]*h.position[2]
}

// previewable returns an error wrapping ErrNoPreview when the file's pixels
// are not rendered here, and nil when they are.
func (h *header) previewable() error {
	if what, ok := notImages[h.sopClass]; ok {
		return noPreview("no image in this file: it is %s", what)
	}
	if !h.hasPixels {
		if h.floatPix {
			return noPreview("no image in this file: its pixels are floating point values")
		}
		return noPreview("no image in this file")
	}
	switch {
	case h.ts == tsJPEGBase && h.bitsAllocated != 8:
		return noPreview("JPEG Baseline with %d bits allocated is not previewed", h.bitsAllocated)
	case !renderedSyntax(h.ts):
		name := "transfer syntax " + h.ts
		if info, err := uid.Lookup(h.ts); err == nil && info.Name != "" {
			name = fmt.Sprintf("%s (%s)", info.Name, h.ts)
		}
		return noPreview("%s is not previewed", name)
	}
	if h.rows <= 0 || h.cols <= 0 {
		return fmt.Errorf("the image has %d rows and %d columns", h.rows, h.cols)
	}
	if h.rows*h.cols > maxPixels {
		return fmt.Errorf("%d×%d pixels are more than the %d a preview reads", h.cols, h.rows, maxPixels)
	}
	switch h.bitsAllocated {
	case 8, 16, 32:
	case 1:
		return noPreview("a bitmap (1 bit allocated) is not previewed")
	default:
		return noPreview("%d bits allocated are not previewed", h.bitsAllocated)
	}
	switch h.photometric {
	case "MONOCHROME1", "MONOCHROME2":
		if h.samples != 1 {
			return fmt.Errorf("%s with %d samples per pixel", h.photometric, h.samples)
		}
	case "RGB", "YBR_FULL", "YBR_FULL_422":
		if h.samples != 3 {
			return fmt.Errorf("%s with %d samples per pixel", h.photometric, h.samples)
		}
	case "PALETTE COLOR":
		return noPreview("palette colour is not previewed")
	case "":
		if h.samples != 1 {
			return fmt.Errorf("no Photometric Interpretation, and %d samples per pixel", h.samples)
		}
		h.photometric = "MONOCHROME2"
	default:
		return noPreview("the colour model %s is not previewed", h.photometric)
	}
	return nil
}

// value returns the value of the element t of ds: at the top level or, for
// the attributes an enhanced multi-frame image keeps in its functional
// groups, nested.
func value(ds *dicom.Dataset, t tag.Tag, nested bool) any {
	e, err := ds.FindElementByTag(t)
	if err != nil && nested {
		e, err = ds.FindElementByTagNested(t)
	}
	if err != nil || e == nil || e.Value == nil {
		return nil
	}
	return e.Value.GetValue()
}

// text returns the first string value of t.
func text(ds *dicom.Dataset, t tag.Tag) (string, bool) {
	return firstString(value(ds, t, false))
}

// textNested returns the first string value of t, nested or not.
func textNested(ds *dicom.Dataset, t tag.Tag) (string, bool) {
	return firstString(value(ds, t, true))
}

func firstString(v any) (string, bool) {
	s, ok := v.([]string)
	if !ok || len(s) == 0 {
		return "", false
	}
	return strings.Trim(s[0], " \x00"), true
}

// integer returns the first value of t, a binary integer (US, SS, UL) or
// an integer string (IS).
func integer(ds *dicom.Dataset, t tag.Tag) (int, bool) {
	switch v := value(ds, t, false).(type) {
	case []int:
		if len(v) > 0 {
			return v[0], true
		}
	case []string:
		if len(v) > 0 {
			n, err := strconv.Atoi(strings.Trim(v[0], " \x00"))
			return n, err == nil
		}
	}
	return 0, false
}

// number returns the first value of t, a decimal string (DS) or a binary
// number.
func number(ds *dicom.Dataset, t tag.Tag, nested bool) (float64, bool) {
	switch v := value(ds, t, nested).(type) {
	case []string:
		if len(v) > 0 {
			f, err := strconv.ParseFloat(strings.Trim(v[0], " \x00"), 64)
			return f, err == nil && !math.IsNaN(f) && !math.IsInf(f, 0)
		}
	case []float64:
		if len(v) > 0 {
			return v[0], !math.IsNaN(v[0]) && !math.IsInf(v[0], 0)
		}
	case []int:
		if len(v) > 0 {
			return float64(v[0]), true
		}
	}
	return 0, false
}

// numbers returns every value of t, a decimal string; nil if any is not a
// number.
func numbers(ds *dicom.Dataset, t tag.Tag) []float64 {
	v, ok := value(ds, t, false).([]string)
	if !ok {
		return nil
	}
	out := make([]float64, 0, len(v))
	for _, s := range v {
		f, err := strconv.ParseFloat(strings.Trim(s, " \x00"), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil
		}
		out = append(out, f)
	}
	return out
}

// middle is the index of the middle of n things: of an even number, the
// first of the two in the middle.
func middle(n int) int { return (n - 1) / 2 }
