package study

import (
	"fmt"

	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/internal/dataset"
)

// Headers are read as the library will read them, which is not quite as
// PS3.5 says: its VRs with a 32-bit length are its own list (NA is one; OV,
// SV and UV are not), and a 16-bit length of FFFFH is undefined. Reading
// them otherwise would check lengths the library does not read.

// libraryLongVR reports whether the library reads an explicit VR with a
// 32-bit length.
func libraryLongVR(vr string) bool {
	switch vr {
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		return true
	}
	return false
}

// libraryHeader decodes a header as the library reads it.
func libraryHeader(ts dataset.Syntax, b []byte) (dataset.Header, bool) {
	h, ok := ts.DecodeHeaderAs(b, libraryLongVR)
	if ok && h.Size == 8 && h.VR != "" && h.Length == 0xFFFF {
		h.Length = dataset.UndefinedLength
	}
	return h, ok
}

// libraryLayout is how the library lays out the value of h: by the kind of
// its VR, which in implicit VR is the dictionary's. A sequence's items are
// in the syntax of the data set, even inside UN.
func libraryLayout(h dataset.Header, ts dataset.Syntax) (dataset.Layout, dataset.Syntax) {
	t := libTag(h.Tag)
	vr := h.VR
	if ts.Implicit || t.Group == tag.GroupSeqItem {
		vr = implicitVR(t)
	}
	switch kind := tag.GetVRKind(t, vr); {
	case kind == tag.VRSequence || kind == tag.VRUnknown && h.Undefined():
		return dataset.Sequence, ts
	case kind == tag.VRPixelData || kind == tag.VRBytes:
		return dataset.Fragments, ts
	}
	return dataset.Bytes, ts
}

// newWalker is a walker of src in ts as the library reads it, with this
// package's errors and names.
func newWalker(src dataset.Source, ts dataset.Syntax) *dataset.Walker {
	return &dataset.Walker{Source: src, Syntax: ts, Decode: libraryHeader, Layout: libraryLayout,
		Name: tagName, Truncated: ErrTruncated, Malformed: ErrMalformed}
}

// decodeHeader decodes the element header at the start of b, which holds at
// most 12 bytes: fewer when the data ends.
func decodeHeader(b []byte, ts dataset.Syntax) (dataset.Header, error) {
	return newWalker(nil, ts).DecodeHeader(b)
}

// libTag is t as the library spells it.
func libTag(t dataset.Tag) tag.Tag { return tag.Tag{Group: t.Group(), Element: t.Element()} }

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

func isPixelData(t dataset.Tag) bool {
	lt := libTag(t)
	return lt == tag.PixelData || lt == tag.FloatPixelData || lt == tag.DoubleFloatPixelData
}

// cursor reads a data set forward: a file by offsets, or an inflated data
// set as a stream.
type cursor interface {
	dataset.Source
	More() (bool, error)
	// ZeroToEnd reports whether only zeros are left.
	ZeroToEnd() bool
}

// validator walks a data set header by header, as the library will read it,
// and checks that every length stays inside what holds it: the data set,
// a sequence, an item. It reads no value but a meta group's transfer
// syntax, so that it costs a few reads however large the file.
type validator struct {
	c    cursor
	w    *dataset.Walker
	bare bool // no preamble: a meta group may start the data set

	pixel   bool  // the data set has top-level pixel data,
	pixelAt int64 // at this offset
	end     int64 // where the data set ends
	rows    bool  // the data set has Rows (0028,0010)
}

func newValidator(c cursor, ts dataset.Syntax, bare bool) *validator {
	return &validator{c: c, w: newWalker(c, ts), bare: bare}
}

// dataset walks the top level to the end of the data.
func (v *validator) dataset() error {
	inMeta := v.bare
	metaTS := ""
	for {
		more, err := v.c.More()
		if err != nil {
			return err
		}
		at := v.c.Offset()
		if !more {
			v.end = at
			return nil
		}
		b, err := v.c.Peek(12)
		if err != nil {
			return err
		}
		h, err := v.w.DecodeHeader(b)
		if err != nil {
			return fmt.Errorf("%w %s", err, v.c.Where(at))
		}
		if inMeta && h.Tag.Group() != tag.MetadataGroup {
			// A meta group without preamble: its syntax applies after it.
			inMeta = false
			if metaTS != "" {
				if v.w.Syntax = dataset.SyntaxOf(metaTS); v.w.Syntax.Deflated {
					return fmt.Errorf("%w: a deflated data set after a meta group without preamble", ErrMalformed)
				}
				if h, err = v.w.DecodeHeader(b); err != nil {
					return fmt.Errorf("%w %s", err, v.c.Where(at))
				}
			}
		}
		switch {
		case h.Tag == 0 && h.Length == 0 && v.c.ZeroToEnd():
			v.end = at // the file is padded with zeros
			return nil
		case isPixelData(h.Tag) && !v.pixel:
			v.pixel, v.pixelAt = true, at
		case libTag(h.Tag) == tag.Rows:
			v.rows = true
		case inMeta && libTag(h.Tag) == tag.TransferSyntaxUID && h.Length <= 64:
			if b, err := v.c.Peek(h.Size + int(h.Length)); err == nil && len(b) == h.Size+int(h.Length) {
				metaTS = trimValue(b[h.Size:])
			}
		}
		if err := v.w.Element(-1, 0); err != nil {
			return err
		}
	}
}
