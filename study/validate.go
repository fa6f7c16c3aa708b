package study

import (
	"bufio"
	"errors"
	"fmt"
	"io"

	"github.com/suyashkumar/dicom/pkg/tag"
)

// maxDepth is how deep sequences may nest; real files stay under ten.
const maxDepth = 64

// elementHeader is the tag, VR and length of an element, as the library
// reads them.
type elementHeader struct {
	tag tag.Tag
	vr  string // "" when implicit
	vl  uint32
	n   int64 // bytes in the header
}

func (h elementHeader) String() string { return tagName(h.tag) }

// decodeHeader decodes the element header at the start of b, which holds at
// most 12 bytes: fewer when the data ends.
func decodeHeader(b []byte, ts syntax) (elementHeader, error) {
	if len(b) < 8 {
		return elementHeader{}, fmt.Errorf("%w: the last %d bytes are not a whole element", ErrTruncated, len(b))
	}
	bo := ts.bo
	h := elementHeader{tag: tag.Tag{Group: bo.Uint16(b), Element: bo.Uint16(b[2:])}}
	// Items and delimiters are implicit in every syntax; the library reads
	// an item so.
	if ts.implicit || h.tag.Group == tag.GroupSeqItem {
		h.vl, h.n = bo.Uint32(b[4:]), 8
		return h, nil
	}
	h.vr = string(b[4:6])
	switch h.vr {
	// The VRs with a 32-bit length, as the library lists them.
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		if len(b) < 12 {
			return elementHeader{}, fmt.Errorf("%w: the data ends inside the header of element %s", ErrTruncated, h)
		}
		h.vl, h.n = bo.Uint32(b[8:]), 12
	default:
		h.vl, h.n = uint32(bo.Uint16(b[6:])), 8
		if h.vl == 0xFFFF {
			h.vl = undefinedLength // as the library reads it
		}
	}
	return h, nil
}

// implicitVR is the VR the library gives an element in implicit VR.
func implicitVR(t tag.Tag) string {
	info, err := tag.Find(t)
	switch {
	case err != nil:
		return tag.UnknownVR
	case info.Tag == tag.PixelData || info.Tag == tag.OverlayData:
		return "OW"
	}
	return info.VRs[0]
}

func isPixelData(t tag.Tag) bool {
	return t == tag.PixelData || t == tag.FloatPixelData || t == tag.DoubleFloatPixelData
}

// cursor reads a data set forward for validate: a file by offsets, or an
// inflated data set as a stream.
type cursor interface {
	offset() int64
	// peek returns the next n bytes, fewer at the end of the data, without
	// moving past them. Its error is for reads that fail otherwise.
	peek(n int) ([]byte, error)
	skip(n int64) error
	// limit is where the data ends, or -1 when unknown until it does.
	limit() int64
	more() (bool, error)
	// zeroToEnd reports whether only zeros are left.
	zeroToEnd() bool
	where(off int64) string
}

// fileCursor reads a file by offsets: skipping costs nothing.
type fileCursor struct {
	ra        io.ReaderAt
	off, size int64
}

func (c *fileCursor) offset() int64 { return c.off }
func (c *fileCursor) limit() int64  { return c.size }

func (c *fileCursor) peek(n int) ([]byte, error) {
	b := make([]byte, max(0, min(int64(n), c.size-c.off)))
	k, err := c.ra.ReadAt(b, c.off)
	if k < len(b) && err != nil && err != io.EOF {
		return b[:k], err
	}
	return b[:k], nil
}

func (c *fileCursor) skip(n int64) error {
	if c.off+n > c.size {
		c.off = c.size
		return io.ErrUnexpectedEOF
	}
	c.off += n
	return nil
}

func (c *fileCursor) more() (bool, error) { return c.off < c.size, nil }

func (c *fileCursor) zeroToEnd() bool {
	buf := make([]byte, 32<<10)
	for off := c.off; off < c.size; {
		n, err := c.ra.ReadAt(buf[:min(int64(len(buf)), c.size-off)], off)
		if n == 0 && err != nil {
			return false
		}
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		off += int64(n)
	}
	return true
}

func (c *fileCursor) where(off int64) string { return fmt.Sprintf("at byte %d", off) }

// streamCursor reads an inflated data set, forward only.
type streamCursor struct {
	br  *bufio.Reader
	off int64
}

func (c *streamCursor) offset() int64 { return c.off }
func (c *streamCursor) limit() int64  { return -1 }

func (c *streamCursor) peek(n int) ([]byte, error) {
	b, err := c.br.Peek(n)
	if err != nil && err != io.EOF && !errors.Is(err, io.ErrUnexpectedEOF) {
		return b, err
	}
	return b, nil
}

func (c *streamCursor) skip(n int64) error {
	k, err := io.CopyN(io.Discard, c.br, n)
	c.off += k
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (c *streamCursor) more() (bool, error) {
	_, err := c.br.Peek(1)
	switch {
	case err == nil:
		return true, nil
	case err == io.EOF:
		return false, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return false, fmt.Errorf("%w: the deflated data set ends early", ErrTruncated)
	}
	return false, err
}

func (c *streamCursor) zeroToEnd() bool {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.br.Read(buf)
		for _, b := range buf[:n] {
			if b != 0 {
				return false
			}
		}
		if err == io.EOF {
			return true
		}
		if err != nil {
			return false
		}
	}
}

func (c *streamCursor) where(off int64) string {
	return fmt.Sprintf("at byte %d of the inflated data set", off)
}

// validator walks a data set header by header, as the library will read it,
// and checks that every length stays inside what holds it: the data set,
// a sequence, an item. It reads no value but a meta group's transfer
// syntax, so that it costs a few reads however large the file.
type validator struct {
	c    cursor
	ts   syntax
	bare bool // no preamble: a meta group may start the data set

	pixel   bool  // the data set has top-level pixel data,
	pixelAt int64 // at this offset
	end     int64 // where the data set ends
	rows    bool  // the data set has Rows (0028,0010)
}

// dataset walks the top level to the end of the data.
func (v *validator) dataset() error {
	inMeta := v.bare
	metaTS := ""
	for {
		more, err := v.c.more()
		if err != nil {
			return err
		}
		at := v.c.offset()
		if !more {
			v.end = at
			return nil
		}
		b, err := v.c.peek(12)
		if err != nil {
			return err
		}
		h, err := decodeHeader(b, v.ts)
		if err != nil {
			return fmt.Errorf("%w %s", err, v.c.where(at))
		}
		if inMeta && h.tag.Group != tag.MetadataGroup {
			// A meta group without preamble: its syntax applies after it.
			inMeta = false
			if metaTS != "" {
				if v.ts = syntaxOf(metaTS); v.ts.deflated {
					return fmt.Errorf("%w: a deflated data set after a meta group without preamble", ErrMalformed)
				}
				if h, err = decodeHeader(b, v.ts); err != nil {
					return fmt.Errorf("%w %s", err, v.c.where(at))
				}
			}
		}
		switch {
		case h.tag == (tag.Tag{}) && h.vl == 0 && v.c.zeroToEnd():
			v.end = at // the file is padded with zeros
			return nil
		case isPixelData(h.tag) && !v.pixel:
			v.pixel, v.pixelAt = true, at
		case h.tag == tag.Rows:
			v.rows = true
		case inMeta && h.tag == tag.TransferSyntaxUID && h.vl <= 64:
			if b, err := v.c.peek(int(h.n) + int(h.vl)); err == nil && len(b) == int(h.n)+int(h.vl) {
				metaTS = trimValue(b[h.n:])
			}
		}
		if err := v.element(-1, 0); err != nil {
			return err
		}
	}
}

// element walks one element, which must end by end (-1: with the data).
func (v *validator) element(end int64, depth int) error {
	at := v.c.offset()
	b, err := v.c.peek(12)
	if err != nil {
		return err
	}
	h, err := decodeHeader(b, v.ts)
	if err != nil {
		return fmt.Errorf("%w %s", err, v.c.where(at))
	}
	if err := v.c.skip(h.n); err != nil {
		return err
	}
	vr := h.vr
	if v.ts.implicit || h.tag.Group == tag.GroupSeqItem {
		vr = implicitVR(h.tag)
	}
	kind := tag.GetVRKind(h.tag, vr)
	undefined := h.vl == undefinedLength
	switch {
	case h.tag.Group == tag.GroupSeqItem:
		return fmt.Errorf("%w: %s %s outside a sequence", ErrMalformed, h, v.c.where(at))
	case kind == tag.VRSequence || kind == tag.VRUnknown && undefined:
		return v.sequence(h, at, end, depth+1)
	case undefined && (kind == tag.VRPixelData || kind == tag.VRBytes):
		return v.fragments(h, at)
	case undefined:
		return fmt.Errorf("%w: element %s %s has an undefined length", ErrMalformed, h, v.c.where(at))
	}
	return v.value(h, at, int64(h.vl), end)
}

// value skips n bytes of element h (whose header is at at), which must end
// by end (-1: with the data).
func (v *validator) value(h elementHeader, at, n, end int64) error {
	off := v.c.offset()
	if lim := v.c.limit(); lim >= 0 && off+n > lim {
		return fmt.Errorf("%w: element %s %s needs %d bytes, %d are left", ErrTruncated, h, v.c.where(at), n, lim-off)
	}
	if end >= 0 && off+n > end {
		return fmt.Errorf("%w: element %s %s runs past the end of the item that holds it", ErrMalformed, h, v.c.where(at))
	}
	if err := v.c.skip(n); err != nil {
		if isTruncation(err) {
			return fmt.Errorf("%w: the data ends inside element %s %s", ErrTruncated, h, v.c.where(at))
		}
		return err
	}
	return nil
}

// itemHeader reads the header of an item or delimiter inside h.
func (v *validator) itemHeader(h elementHeader, at int64) (tag.Tag, uint32, error) {
	b, err := v.c.peek(8)
	if err != nil {
		return tag.Tag{}, 0, err
	}
	if len(b) < 8 {
		return tag.Tag{}, 0, fmt.Errorf("%w: the data ends inside element %s %s, before the delimiter that ends it", ErrTruncated, h, v.c.where(at))
	}
	t := tag.Tag{Group: v.ts.bo.Uint16(b), Element: v.ts.bo.Uint16(b[2:])}
	return t, v.ts.bo.Uint32(b[4:]), v.c.skip(8)
}

// sequence walks the items of sequence h.
func (v *validator) sequence(h elementHeader, at, end int64, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: sequences nested deeper than %d %s", ErrMalformed, maxDepth, v.c.where(at))
	}
	seqEnd := int64(-1)
	if h.vl != undefinedLength {
		if err := v.fits(h, at, int64(h.vl), end); err != nil {
			return err
		}
		seqEnd = v.c.offset() + int64(h.vl)
	}
	for {
		if off := v.c.offset(); seqEnd >= 0 && off >= seqEnd {
			return nil // fits checked that nothing ran past seqEnd
		}
		it, l, err := v.itemHeader(h, at)
		if err != nil {
			return err
		}
		switch {
		case it == tag.SequenceDelimitationItem && seqEnd < 0:
			return nil
		case it != tag.Item:
			return fmt.Errorf("%w: %s in sequence %s %s", ErrMalformed, tagName(it), h, v.c.where(at))
		case l == undefinedLength:
			err = v.elements(h, at, -1, depth)
		default:
			if err = v.fits(h, at, int64(l), seqEnd); err == nil {
				err = v.elements(h, at, v.c.offset()+int64(l), depth)
			}
		}
		if err != nil {
			return err
		}
	}
}

// fits checks that n bytes from here stay inside the data and end, for
// element h's value or an item of it.
func (v *validator) fits(h elementHeader, at, n, end int64) error {
	off := v.c.offset()
	if lim := v.c.limit(); lim >= 0 && off+n > lim {
		return fmt.Errorf("%w: element %s %s needs %d bytes, %d are left", ErrTruncated, h, v.c.where(at), n, lim-off)
	}
	if end >= 0 && off+n > end {
		return fmt.Errorf("%w: element %s %s runs past the end of what holds it", ErrMalformed, h, v.c.where(at))
	}
	return nil
}

// elements walks the elements of an item of sequence h, to end, or when end
// is -1 to an item delimiter.
func (v *validator) elements(h elementHeader, at, end int64, depth int) error {
	for {
		if end >= 0 {
			if off := v.c.offset(); off >= end {
				if off > end {
					return fmt.Errorf("%w: an item of %s %s holds more than its length", ErrMalformed, h, v.c.where(at))
				}
				return nil
			}
		} else {
			b, err := v.c.peek(8)
			if err != nil {
				return err
			}
			if len(b) < 8 {
				return fmt.Errorf("%w: the data ends inside an item of %s %s", ErrTruncated, h, v.c.where(at))
			}
			if t := (tag.Tag{Group: v.ts.bo.Uint16(b), Element: v.ts.bo.Uint16(b[2:])}); t == tag.ItemDelimitationItem {
				return v.c.skip(8)
			}
		}
		if err := v.element(end, depth); err != nil {
			return err
		}
	}
}

// fragments walks encapsulated data: items of defined length up to the
// sequence delimiter.
func (v *validator) fragments(h elementHeader, at int64) error {
	for n := 0; ; n++ {
		it, l, err := v.itemHeader(h, at)
		if err != nil {
			return err
		}
		switch {
		case it == tag.SequenceDelimitationItem:
			return nil
		case it != tag.Item || l == undefinedLength:
			return fmt.Errorf("%w: %s of length %d as item %d of %s %s", ErrMalformed, tagName(it), l, n, h, v.c.where(at))
		}
		if err := v.value(h, at, int64(l), -1); err != nil {
			return err
		}
	}
}
