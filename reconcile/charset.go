package reconcile

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"

	"imageshare/internal/dataset"
)

// charsetKind is what Coerce can do with a Specific Character Set.
type charsetKind int

const (
	csASCII  charsetKind = iota // no (0008,0005): the default repertoire
	csUTF8                      // ISO_IR 192
	csSingle                    // a single-byte set without code extensions
	csOther                     // ISO 2022 code extensions, or a term Coerce does not know
)

// charset is a data set's Specific Character Set (0008,0005).
type charset struct {
	term string // the value as read, trimmed; "" if absent or empty
	kind charsetKind
	enc  encoding.Encoding // csSingle only
}

// singleByte maps the defined terms of the single-byte character sets
// without code extensions (PS3.3 C.12.1.1.2, Table C.12-2) to their
// encodings. ISO_IR 13 (JIS X 0201) has no encoding here and counts as
// unknown.
var singleByte = map[string]encoding.Encoding{
	"ISO_IR 100": charmap.ISO8859_1,  // Latin alphabet No. 1
	"ISO_IR 101": charmap.ISO8859_2,  // Latin alphabet No. 2
	"ISO_IR 109": charmap.ISO8859_3,  // Latin alphabet No. 3
	"ISO_IR 110": charmap.ISO8859_4,  // Latin alphabet No. 4
	"ISO_IR 144": charmap.ISO8859_5,  // Cyrillic
	"ISO_IR 127": charmap.ISO8859_6,  // Arabic
	"ISO_IR 126": charmap.ISO8859_7,  // Greek
	"ISO_IR 138": charmap.ISO8859_8,  // Hebrew
	"ISO_IR 148": charmap.ISO8859_9,  // Latin alphabet No. 5
	"ISO_IR 203": charmap.ISO8859_15, // Latin alphabet No. 9
	"ISO_IR 166": charmap.Windows874, // Thai, TIS 620-2533: Windows-874 less its 0x80-0x9F
}

var utf8Charset = charset{term: charsetUTF8, kind: csUTF8}

// parseCharset reads a value of (0008,0005).
func parseCharset(v string) charset {
	term := strings.Trim(v, " \x00")
	cs := charset{term: term, kind: csOther}
	switch {
	case term == "" || term == "ISO_IR 6":
		cs.kind = csASCII
	case term == charsetUTF8:
		cs.kind = csUTF8
	case singleByte[term] != nil:
		cs.kind, cs.enc = csSingle, singleByte[term]
	}
	return cs
}

// String describes the character set for an error message: the term and
// what Coerce makes of it. It is never a patient's value.
func (cs charset) String() string {
	switch {
	case cs.kind == csASCII && cs.term == "":
		return "absent, i.e. ASCII"
	case cs.kind == csOther && strings.Contains(cs.term, "ISO 2022"):
		return fmt.Sprintf("%q, with ISO 2022 code extensions", cs.term)
	case cs.kind == csOther:
		return fmt.Sprintf("%q, a character set Coerce does not know", cs.term)
	}
	return fmt.Sprintf("%q", cs.term)
}

// convertible reports whether Coerce can convert a data set in cs to
// UTF-8.
func (cs charset) convertible() bool { return cs.kind == csASCII || cs.kind == csSingle }

// encode returns s, valid UTF-8, in cs, or false if cs cannot hold it.
func (cs charset) encode(s string) ([]byte, bool) {
	switch cs.kind {
	case csUTF8:
		return []byte(s), true
	case csSingle:
		b, err := cs.enc.NewEncoder().Bytes([]byte(s))
		if err != nil {
			return nil, false
		}
		for _, c := range b {
			if c >= 0x80 && c < 0xA0 {
				return nil, false // C1 controls, and Windows-874's additions to TIS 620
			}
		}
		return b, true
	}
	return []byte(s), isASCII(s)
}

// decode returns b, a value in cs, in UTF-8, or false if b is not in cs.
func (cs charset) decode(b []byte) ([]byte, bool) {
	switch cs.kind {
	case csUTF8:
		return b, utf8.Valid(b)
	case csSingle:
		u, err := cs.enc.NewDecoder().Bytes(b)
		return u, err == nil
	}
	return b, isASCII(string(b))
}

// textVR reports whether values of vr are text in the data set's
// character set (PS3.5 6.1.2.3). AE, AS, CS, DA, DS, DT, IS, TM, UI and UR
// hold the default repertoire only.
func textVR(vr string) bool {
	switch vr {
	case "SH", "LO", "ST", "LT", "PN", "UC", "UT":
		return true
	}
	return false
}

// maxText is the longest text value a conversion to UTF-8 reads into
// memory.
const maxText = 16 << 20

// converter copies a data set converting its text values from one
// character set to UTF-8. Sequences and items it walks are written with
// undefined lengths, as their lengths change; group lengths are dropped.
// An item with a Specific Character Set of its own is copied as it is:
// its text is in that set, which the conversion does not change.
type converter struct {
	from charset
	why  tag // the attribute whose new value needs UTF-8
}

// refuse is the error of a value the conversion cannot read.
func (cv *converter) refuse(d *decoder, h header, what string) error {
	return valueError(tagSpecificCharacterSet,
		"is %s; the new value of %s needs the file converted to UTF-8 (%s), but element %s %s %s",
		cv.from, cv.why, charsetUTF8, h.tag, d.where(h.at), what)
}

// element converts the next element, with everything nested in it.
func (cv *converter) element(d *decoder, w *sink, ts dataset.Syntax, depth int) error {
	h, err := d.header(ts)
	if err != nil {
		return err
	}
	if h.tag.group() == 0xFFFE {
		return fmt.Errorf("%w: %s %s where an element should be", ErrMalformed, h.tag, d.where(h.at))
	}
	if h.tag.element() == 0 {
		// A group length: wrong once values change length, and retired.
		return d.value(&sink{w: io.Discard}, h, ts, depth, nil)
	}
	vr := h.vr
	if ts.Implicit {
		vr = dataset.DictionaryVR(dataset.Tag(h.tag))
	}
	switch {
	case vr == "SQ" || ts.Implicit && h.vl == dataset.UndefinedLength:
		w.Write(ts.AppendHeader(nil, dataset.Tag(h.tag), "SQ", dataset.UndefinedLength))
		return cv.items(d, w, h, ts, depth+1, nil)
	case h.vr == "UN" && h.vl == dataset.UndefinedLength:
		// A sequence read without a dictionary: implicit VR inside.
		w.Write(ts.AppendHeader(nil, dataset.Tag(h.tag), "UN", dataset.UndefinedLength))
		return cv.items(d, w, h, dataset.ImplicitLE, depth+1, nil)
	case h.vl == dataset.UndefinedLength:
		w.Write(h.raw[:h.n])
		return d.value(w, h, ts, depth, nil) // encapsulated pixel data
	case textVR(vr):
		return cv.text(d, w, h, ts, vr)
	case vr == "" || vr == "UN":
		// A value of unknown VR: it may be text, so it must be ASCII,
		// the same in every character set.
		w.Write(h.raw[:h.n])
		aw := &asciiWriter{w: w}
		if err := d.copyN(&sink{w: aw, under: w}, int64(h.vl), h); err != nil {
			return err
		}
		if aw.not {
			return cv.refuse(d, h, "has a value of unknown VR that is not ASCII")
		}
		return nil
	}
	w.Write(h.raw[:h.n])
	return d.copyN(w, int64(h.vl), h)
}

// text converts the value of text element h.
func (cv *converter) text(d *decoder, w *sink, h header, ts dataset.Syntax, vr string) error {
	if h.vl > maxText {
		return fmt.Errorf("reconcile: element %s %s: a text value of %d bytes, over the %d MiB a conversion to UTF-8 reads", h.tag, d.where(h.at), h.vl, maxText>>20)
	}
	var buf bytes.Buffer
	if err := d.copyN(&sink{w: &buf}, int64(h.vl), h); err != nil {
		return err
	}
	u, ok := cv.from.decode(buf.Bytes())
	if !ok {
		return cv.refuse(d, h, "holds characters outside that character set")
	}
	if len(u)%2 == 1 {
		u = append(u, ' ')
	}
	if !dataset.LongVR(vr) && len(u) > maxShort {
		return cv.refuse(d, h, fmt.Sprintf("would take %d bytes in UTF-8, over the %d of VR %s", len(u), maxShort, vr))
	}
	w.Write(ts.AppendHeader(nil, dataset.Tag(h.tag), vr, uint32(len(u))))
	w.Write(u)
	return w.err
}

// maxShort is the longest value a 16-bit length holds, even.
const maxShort = 0xFFFE

// items converts the items of sequence h, whose header has been read, and
// writes last, if not nil, as its last item before its delimiter.
func (cv *converter) items(d *decoder, w *sink, h header, ts dataset.Syntax, depth int, last []byte) error {
	if depth > dataset.MaxDepth {
		return fmt.Errorf("%w: sequences nested deeper than %d in element %s %s", ErrMalformed, dataset.MaxDepth, h.tag, d.where(h.at))
	}
	end := int64(-1)
	if h.vl != dataset.UndefinedLength {
		end = d.off + int64(h.vl)
	}
	for end < 0 || d.off < end {
		it, err := d.header(ts)
		if err != nil {
			return err
		}
		if it.tag == tagSequenceDelimitation && end < 0 {
			break
		}
		if it.tag != tagItem {
			return fmt.Errorf("%w: %s %s inside element %s %s", ErrMalformed, it.tag, d.where(it.at), h.tag, d.where(h.at))
		}
		if ownCharset(d, ts) {
			w.Write(it.raw[:it.n])
			if it.vl == dataset.UndefinedLength {
				err = d.itemElements(w, h, ts, depth)
			} else {
				err = d.copyN(w, int64(it.vl), h)
			}
			if err != nil {
				return err
			}
			continue
		}
		w.Write(ts.AppendHeader(nil, dataset.Tag(tagItem), "", dataset.UndefinedLength))
		if it.vl == dataset.UndefinedLength {
			for {
				t, err := d.peekTag(ts)
				if err != nil {
					return err
				}
				if t == tagItemDelimitation {
					if _, err := d.header(ts); err != nil {
						return err
					}
					break
				}
				if err := cv.element(d, w, ts, depth); err != nil {
					return err
				}
			}
		} else {
			itemEnd := d.off + int64(it.vl)
			for d.off < itemEnd {
				if err := cv.element(d, w, ts, depth); err != nil {
					return err
				}
			}
			if d.off != itemEnd {
				return fmt.Errorf("%w: an element runs past the end of its item in element %s %s", ErrMalformed, h.tag, d.where(h.at))
			}
		}
		w.Write(ts.AppendHeader(nil, dataset.Tag(tagItemDelimitation), "", 0))
	}
	if end >= 0 && d.off != end {
		return fmt.Errorf("%w: an item runs past the end of element %s %s", ErrMalformed, h.tag, d.where(h.at))
	}
	w.Write(last)
	w.Write(ts.AppendHeader(nil, dataset.Tag(tagSequenceDelimitation), "", 0))
	return w.err
}

// ownCharset reports whether the item whose header has just been read
// starts with a Specific Character Set (0008,0005), after a group length
// if any.
func ownCharset(d *decoder, ts dataset.Syntax) bool {
	b, _ := d.peek(16)
	at := func(i int) tag {
		if len(b) < i+4 {
			return 0
		}
		return tag(ts.ByteOrder.Uint16(b[i:]))<<16 | tag(ts.ByteOrder.Uint16(b[i+2:]))
	}
	return at(0) == tagSpecificCharacterSet || at(0) == 0x00080000 && at(12) == tagSpecificCharacterSet
}

// bytes converts the elements in b, encoded in ts, and returns them. at
// is where they are, as the decoder that read them describes it.
func (cv *converter) bytes(b []byte, ts dataset.Syntax, at *decoder) ([]byte, error) {
	var out bytes.Buffer
	d := &decoder{br: bufio.NewReader(bytes.NewReader(b)), off: at.off, inflated: at.inflated, within: at.within}
	w := &sink{w: &out}
	for {
		more, err := d.more()
		if err != nil {
			return nil, err
		}
		if !more {
			return out.Bytes(), w.err
		}
		if err := cv.element(d, w, ts, 0); err != nil {
			return nil, err
		}
	}
}

// asciiWriter passes writes on and notes whether any byte was not ASCII.
type asciiWriter struct {
	w   io.Writer
	not bool
}

func (a *asciiWriter) Write(p []byte) (int, error) {
	for _, c := range p {
		if c >= 0x80 {
			a.not = true
			break
		}
	}
	return a.w.Write(p)
}
