package synthetic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// The element tree of a Part 10 file, as far as rewriting UIDs needs it:
// every element keeps its bytes, and only the lengths of what holds a
// changed value are computed again.

const undefinedLength = 0xFFFFFFFF

// Tags of items and delimiters, whose headers are implicit in every syntax.
var (
	itemTag      = tag.Item
	itemDelim    = tag.ItemDelimitationItem
	sequenceEnd  = tag.SequenceDelimitationItem
	errNotPart10 = errors.New("not a DICOM Part 10 file (no DICM at byte 128)")
)

// codec is how a data set is encoded.
type codec struct {
	bo       binary.ByteOrder
	implicit bool
}

var implicitLE = codec{bo: binary.LittleEndian, implicit: true}

// element is one data element. A sequence has items; any other element has
// a value, which for encapsulated pixel data is its items and delimiter, as
// they are.
type element struct {
	tag   tag.Tag
	vr    string // as written; "" in implicit VR
	undef bool   // its length was undefined
	value []byte
	seq   bool
	inner codec // a sequence's items' encoding: implicit LE inside an explicit UN
	items []*item
}

type item struct {
	undef bool
	elems []*element
}

// file is a parsed Part 10 file.
type file struct {
	preamble []byte // 128 bytes and "DICM"
	meta     []*element
	data     []*element
	codec    codec
}

// longLength reports whether an explicit VR has a 32-bit length.
func longLength(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// dictVR is the VR the dictionary gives a tag, or "".
func dictVR(t tag.Tag) string {
	if info, err := tag.Find(t); err == nil && len(info.VRs) > 0 {
		return info.VRs[0]
	}
	return ""
}

// parser reads elements from b.
type parser struct {
	b   []byte
	off int
}

func (p *parser) need(n int) error {
	if len(p.b)-p.off < n {
		return fmt.Errorf("at byte %d: %d bytes needed, %d left", p.off, n, len(p.b)-p.off)
	}
	return nil
}

func (p *parser) tag(c codec) (tag.Tag, error) {
	if err := p.need(4); err != nil {
		return tag.Tag{}, err
	}
	t := tag.Tag{Group: c.bo.Uint16(p.b[p.off:]), Element: c.bo.Uint16(p.b[p.off+2:])}
	return t, nil
}

// itemHeader reads the header of an item or delimiter: a tag and a 32-bit
// length.
func (p *parser) itemHeader(c codec) (tag.Tag, uint32, error) {
	t, err := p.tag(c)
	if err != nil {
		return t, 0, err
	}
	if err := p.need(8); err != nil {
		return t, 0, err
	}
	l := c.bo.Uint32(p.b[p.off+4:])
	p.off += 8
	return t, l, nil
}

// elements reads elements up to byte end, or, when end < 0, up to and
// including the delimiter stop.
func (p *parser) elements(c codec, end int, stop tag.Tag) ([]*element, error) {
	var out []*element
	for {
		if end >= 0 && p.off >= end {
			if p.off > end {
				return nil, fmt.Errorf("at byte %d: an element runs past its container's end at byte %d", p.off, end)
			}
			return out, nil
		}
		t, err := p.tag(c)
		if err != nil {
			return nil, err
		}
		if end < 0 && t == stop {
			if _, _, err := p.itemHeader(c); err != nil {
				return nil, err
			}
			return out, nil
		}
		e, err := p.element(c)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
}

// element reads one element.
func (p *parser) element(c codec) (*element, error) {
	start := p.off
	t, err := p.tag(c)
	if err != nil {
		return nil, err
	}
	if t.Group == tag.GroupSeqItem {
		return nil, fmt.Errorf("at byte %d: item tag %v outside a sequence", start, t)
	}
	e := &element{tag: t}
	var vl uint32
	if c.implicit {
		if err := p.need(8); err != nil {
			return nil, err
		}
		vl = c.bo.Uint32(p.b[p.off+4:])
		p.off += 8
	} else {
		if err := p.need(8); err != nil {
			return nil, err
		}
		e.vr = string(p.b[p.off+4 : p.off+6])
		if longLength(e.vr) {
			if err := p.need(12); err != nil {
				return nil, err
			}
			vl = c.bo.Uint32(p.b[p.off+8:])
			p.off += 12
		} else {
			vl = uint32(c.bo.Uint16(p.b[p.off+6:]))
			p.off += 8
		}
	}
	e.undef = vl == undefinedLength

	switch {
	case t == tag.PixelData && e.undef:
		// Encapsulated: items of compressed frames, then the delimiter.
		from := p.off
		for {
			it, l, err := p.itemHeader(c)
			if err != nil {
				return nil, fmt.Errorf("in encapsulated pixel data: %w", err)
			}
			if it == sequenceEnd {
				break
			}
			if it != itemTag || l == undefinedLength {
				return nil, fmt.Errorf("at byte %d: %v in encapsulated pixel data", p.off-8, it)
			}
			if err := p.need(int(l)); err != nil {
				return nil, err
			}
			p.off += int(l)
		}
		e.value = p.b[from:p.off]
		return e, nil

	case e.vr == "SQ" || (c.implicit && dictVR(t) == "SQ") || (e.undef && (c.implicit || e.vr == "UN")):
		// A sequence; one of undefined length written as UN holds implicit
		// VR little endian (PS3.5 6.2.2).
		e.seq, e.inner = true, c
		if e.vr == "UN" {
			e.inner = implicitLE
		}
		end := -1
		if !e.undef {
			if err := p.need(int(vl)); err != nil {
				return nil, err
			}
			end = p.off + int(vl)
		}
		for end < 0 || p.off < end {
			it, l, err := p.itemHeader(e.inner)
			if err != nil {
				return nil, fmt.Errorf("in sequence %v: %w", t, err)
			}
			if end < 0 && it == sequenceEnd {
				return e, nil
			}
			if it != itemTag {
				return nil, fmt.Errorf("at byte %d: %v in sequence %v", p.off-8, it, t)
			}
			in := &item{undef: l == undefinedLength}
			itemEnd := -1
			if !in.undef {
				if err := p.need(int(l)); err != nil {
					return nil, err
				}
				itemEnd = p.off + int(l)
			}
			if in.elems, err = p.elements(e.inner, itemEnd, itemDelim); err != nil {
				return nil, fmt.Errorf("in sequence %v: %w", t, err)
			}
			e.items = append(e.items, in)
		}
		if p.off != end {
			return nil, fmt.Errorf("sequence %v runs past its length", t)
		}
		return e, nil
	}

	if e.undef {
		return nil, fmt.Errorf("at byte %d: element %v has an undefined length", start, t)
	}
	if err := p.need(int(vl)); err != nil {
		return nil, fmt.Errorf("element %v: %w", t, err)
	}
	e.value = p.b[p.off : p.off+int(vl)]
	p.off += int(vl)
	return e, nil
}

// parseFile parses a Part 10 file: preamble, meta group in explicit VR
// little endian, then the data set in the transfer syntax the meta group
// names. Deflated data sets are not supported.
func parseFile(b []byte) (*file, error) {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return nil, errNotPart10
	}
	f := &file{preamble: b[:132]}
	p := &parser{b: b, off: 132}
	meta := codec{bo: binary.LittleEndian}
	first, err := p.element(meta)
	if err != nil {
		return nil, fmt.Errorf("meta group: %w", err)
	}
	if first.tag == tag.FileMetaInformationGroupLength && len(first.value) == 4 {
		end := p.off + int(binary.LittleEndian.Uint32(first.value))
		if f.meta, err = p.elements(meta, end, tag.Tag{}); err != nil {
			return nil, fmt.Errorf("meta group: %w", err)
		}
	} else {
		f.meta = []*element{first}
		for {
			t, err := p.tag(meta)
			if err != nil || t.Group != tag.MetadataGroup {
				break
			}
			e, err := p.element(meta)
			if err != nil {
				return nil, fmt.Errorf("meta group: %w", err)
			}
			f.meta = append(f.meta, e)
		}
	}
	ts := ""
	for _, e := range f.meta {
		if e.tag == tag.TransferSyntaxUID {
			ts = strings.TrimRight(string(e.value), "\x00 ")
		}
	}
	switch ts {
	case "":
		return nil, errors.New("no transfer syntax in the meta group")
	case uid.ImplicitVRLittleEndian:
		f.codec = implicitLE
	case uid.ExplicitVRBigEndian:
		f.codec = codec{bo: binary.BigEndian}
	case uid.DeflatedExplicitVRLittleEndian:
		return nil, errors.New("deflated data sets are not supported")
	default:
		f.codec = codec{bo: binary.LittleEndian}
	}
	if f.data, err = p.elements(f.codec, len(b), tag.Tag{}); err != nil {
		return nil, err
	}
	return f, nil
}

// rewriteUIDs replaces the value of each UID element for which fn says so.
// fn is given each UID of a value with several.
func (f *file) rewriteUIDs(fn func(t tag.Tag, old string) (string, bool)) {
	var walk func(es []*element)
	walk = func(es []*element) {
		for _, e := range es {
			if e.seq {
				for _, it := range e.items {
					walk(it.elems)
				}
				continue
			}
			if !(e.vr == "UI" || (e.vr == "" || e.vr == "UN") && dictVR(e.tag) == "UI") {
				continue
			}
			olds := strings.Split(strings.TrimRight(string(e.value), "\x00 "), `\`)
			changed := false
			for i, old := range olds {
				if v, ok := fn(e.tag, old); ok && v != old {
					olds[i], changed = v, true
				}
			}
			if changed {
				v := strings.Join(olds, `\`)
				if len(v)%2 == 1 {
					v += "\x00"
				}
				e.value = []byte(v)
			}
		}
	}
	walk(f.meta)
	walk(f.data)
}

// bytes encodes the file, with the meta group's length computed again.
func (f *file) bytes() []byte {
	var out bytes.Buffer
	out.Grow(len(f.preamble) + 1<<20)
	out.Write(f.preamble)
	meta := codec{bo: binary.LittleEndian}
	var group bytes.Buffer
	for _, e := range f.meta {
		if e.tag != tag.FileMetaInformationGroupLength {
			writeElement(&group, e, meta)
		}
	}
	length := make([]byte, 4)
	binary.LittleEndian.PutUint32(length, uint32(group.Len()))
	writeElement(&out, &element{tag: tag.FileMetaInformationGroupLength, vr: "UL", value: length}, meta)
	out.Write(group.Bytes())
	for _, e := range f.data {
		writeElement(&out, e, f.codec)
	}
	return out.Bytes()
}

func writeTag(w *bytes.Buffer, t tag.Tag, c codec) {
	var b [4]byte
	c.bo.PutUint16(b[:], t.Group)
	c.bo.PutUint16(b[2:], t.Element)
	w.Write(b[:])
}

func writeItemHeader(w *bytes.Buffer, t tag.Tag, l uint32, c codec) {
	writeTag(w, t, c)
	var b [4]byte
	c.bo.PutUint32(b[:], l)
	w.Write(b[:])
}

func writeHeader(w *bytes.Buffer, e *element, l uint32, c codec) {
	writeTag(w, e.tag, c)
	var b [4]byte
	switch {
	case c.implicit:
		c.bo.PutUint32(b[:], l)
		w.Write(b[:])
	case longLength(e.vr):
		w.WriteString(e.vr)
		w.Write([]byte{0, 0})
		c.bo.PutUint32(b[:], l)
		w.Write(b[:])
	default:
		w.WriteString(e.vr)
		c.bo.PutUint16(b[:], uint16(l))
		w.Write(b[:2])
	}
}

// writeElement encodes e; lengths that were defined are computed again.
func writeElement(w *bytes.Buffer, e *element, c codec) {
	if !e.seq {
		l := uint32(len(e.value))
		if e.undef {
			l = undefinedLength
		}
		writeHeader(w, e, l, c)
		w.Write(e.value)
		return
	}
	var body bytes.Buffer
	for _, it := range e.items {
		var content bytes.Buffer
		for _, inner := range it.elems {
			writeElement(&content, inner, e.inner)
		}
		if it.undef {
			writeItemHeader(&body, itemTag, undefinedLength, e.inner)
			body.Write(content.Bytes())
			writeItemHeader(&body, itemDelim, 0, e.inner)
		} else {
			writeItemHeader(&body, itemTag, uint32(content.Len()), e.inner)
			body.Write(content.Bytes())
		}
	}
	if e.undef {
		writeHeader(w, e, undefinedLength, c)
		w.Write(body.Bytes())
		writeItemHeader(w, sequenceEnd, 0, e.inner)
		return
	}
	writeHeader(w, e, uint32(body.Len()), c)
	w.Write(body.Bytes())
}
