package synthetic

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/internal/dataset"
)

// The element tree of a Part 10 file, as far as rewriting UIDs needs it:
// every element keeps its bytes, and only the lengths of what holds a
// changed value are computed again.

var (
	errNotPart10 = errors.New("not a DICOM Part 10 file (no DICM at byte 128)")
	errTruncated = errors.New("truncated")
	errMalformed = errors.New("malformed")
)

// element is one data element. A sequence has items; any other element has
// a value, which for encapsulated pixel data is its items and delimiter, as
// they are.
type element struct {
	tag   dataset.Tag
	vr    string // as written; "" in implicit VR
	undef bool   // its length was undefined
	value []byte
	seq   bool
	inner dataset.Syntax // a sequence's items' encoding: implicit LE inside an explicit UN
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
	syntax   dataset.Syntax
}

// libTag is t as the library spells it.
func libTag(t dataset.Tag) tag.Tag { return tag.Tag{Group: t.Group(), Element: t.Element()} }

// layout is how the value of element h, in ts, is laid out: encapsulated
// pixel data, a sequence by its VR or the dictionary's, or, of undefined
// length, in implicit VR or written as UN, whose items hold implicit VR
// little endian (PS3.5 6.2.2).
func layout(h dataset.Header, ts dataset.Syntax) (dataset.Layout, dataset.Syntax) {
	switch {
	case libTag(h.Tag) == tag.PixelData && h.Undefined():
		return dataset.Fragments, ts
	case h.VR == "UN" && h.Undefined():
		return dataset.Sequence, dataset.ImplicitLE
	case h.VR == "SQ" || ts.Implicit && (h.Undefined() || dataset.DictionaryVR(h.Tag) == "SQ"):
		return dataset.Sequence, ts
	}
	return dataset.Bytes, ts
}

// parser reads the elements of b into a tree, as a dataset.Walker walks
// them.
type parser struct {
	b     []byte
	src   *dataset.FileSource
	w     *dataset.Walker
	into  []*[]*element // where the next element goes: the top level, or an item
	open  []*element    // the elements being walked, innermost last
	start []int64       // where their values start
}

func newParser(b []byte) *parser {
	p := &parser{b: b, src: &dataset.FileSource{R: bytes.NewReader(b), Off: 132, Size: int64(len(b))}}
	p.w = &dataset.Walker{Source: p.src, Syntax: dataset.ExplicitLE, Layout: layout,
		Truncated: errTruncated, Malformed: errMalformed, Visit: p.visit}
	return p
}

func (p *parser) visit(ev dataset.Event) error {
	switch ev.Kind {
	case dataset.ElementStart:
		h := ev.Header
		e := &element{tag: h.Tag, vr: h.VR, undef: h.Undefined(), seq: ev.Layout == dataset.Sequence, inner: ev.Syntax}
		into := p.into[len(p.into)-1]
		*into = append(*into, e)
		p.open = append(p.open, e)
		p.start = append(p.start, p.src.Off)
	case dataset.ItemStart:
		seq := p.open[len(p.open)-1]
		it := &item{undef: ev.Header.Undefined()}
		seq.items = append(seq.items, it)
		p.into = append(p.into, &it.elems)
	case dataset.ItemEnd:
		p.into = p.into[:len(p.into)-1]
	case dataset.ElementEnd:
		n := len(p.open) - 1
		e, start := p.open[n], p.start[n]
		p.open, p.start = p.open[:n], p.start[:n]
		if !e.seq {
			e.value = p.b[start:p.src.Off]
		} else if !e.undef && p.src.Off != start+int64(ev.Header.Length) {
			return fmt.Errorf("sequence %v runs past its length", e.tag)
		}
	}
	return nil
}

// element reads one top-level element in ts, which must end by end (-1:
// with the data).
func (p *parser) element(ts dataset.Syntax, end int64) (*element, error) {
	var out []*element
	p.into = []*[]*element{&out}
	p.w.Syntax = ts
	if err := p.w.Element(end, 0); err != nil {
		return nil, err
	}
	if end >= 0 && p.src.Off > end {
		return nil, fmt.Errorf("at byte %d: an element runs past its container's end at byte %d", p.src.Off, end)
	}
	return out[0], nil
}

// parseFile parses a Part 10 file: preamble, meta group in explicit VR
// little endian, then the data set in the transfer syntax the meta group
// names. Deflated data sets are not supported.
func parseFile(b []byte) (*file, error) {
	if len(b) < 132 || string(b[128:132]) != "DICM" {
		return nil, errNotPart10
	}
	f := &file{preamble: b[:132]}
	p := newParser(b)
	first, err := p.element(dataset.ExplicitLE, -1)
	if err != nil {
		return nil, fmt.Errorf("meta group: %w", err)
	}
	if libTag(first.tag) == tag.FileMetaInformationGroupLength && len(first.value) == 4 {
		end := p.src.Off + int64(binary.LittleEndian.Uint32(first.value))
		for p.src.Off < end {
			e, err := p.element(dataset.ExplicitLE, end)
			if err != nil {
				return nil, fmt.Errorf("meta group: %w", err)
			}
			f.meta = append(f.meta, e)
		}
	} else {
		f.meta = []*element{first}
		for {
			if b, _ := p.src.Peek(4); len(b) < 4 || dataset.ExplicitLE.Tag(b).Group() != tag.MetadataGroup {
				break
			}
			e, err := p.element(dataset.ExplicitLE, -1)
			if err != nil {
				return nil, fmt.Errorf("meta group: %w", err)
			}
			f.meta = append(f.meta, e)
		}
	}
	ts := ""
	for _, e := range f.meta {
		if libTag(e.tag) == tag.TransferSyntaxUID {
			ts = strings.TrimRight(string(e.value), "\x00 ")
		}
	}
	if ts == "" {
		return nil, errors.New("no transfer syntax in the meta group")
	}
	if f.syntax = dataset.SyntaxOf(ts); f.syntax.Deflated {
		return nil, errors.New("deflated data sets are not supported")
	}
	for p.src.Off < p.src.Size {
		e, err := p.element(f.syntax, -1)
		if err != nil {
			return nil, err
		}
		f.data = append(f.data, e)
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
			if !(e.vr == "UI" || (e.vr == "" || e.vr == "UN") && dataset.DictionaryVR(e.tag) == "UI") {
				continue
			}
			olds := strings.Split(strings.TrimRight(string(e.value), "\x00 "), `\`)
			changed := false
			for i, old := range olds {
				if v, ok := fn(libTag(e.tag), old); ok && v != old {
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
	meta := dataset.ExplicitLE
	var group bytes.Buffer
	for _, e := range f.meta {
		if libTag(e.tag) != tag.FileMetaInformationGroupLength {
			writeElement(&group, e, meta)
		}
	}
	length := binary.LittleEndian.AppendUint32(nil, uint32(group.Len()))
	groupLength := dataset.NewTag(tag.FileMetaInformationGroupLength.Group, tag.FileMetaInformationGroupLength.Element)
	writeElement(&out, &element{tag: groupLength, vr: "UL", value: length}, meta)
	out.Write(group.Bytes())
	for _, e := range f.data {
		writeElement(&out, e, f.syntax)
	}
	return out.Bytes()
}

// writeHeader writes the header of an element, an item or a delimiter.
func writeHeader(w *bytes.Buffer, t dataset.Tag, vr string, l uint32, ts dataset.Syntax) {
	w.Write(ts.AppendHeader(w.AvailableBuffer(), t, vr, l))
}

// writeElement encodes e; lengths that were defined are computed again.
func writeElement(w *bytes.Buffer, e *element, ts dataset.Syntax) {
	if !e.seq {
		l := uint32(len(e.value))
		if e.undef {
			l = dataset.UndefinedLength
		}
		writeHeader(w, e.tag, e.vr, l, ts)
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
			writeHeader(&body, dataset.ItemTag, "", dataset.UndefinedLength, e.inner)
			body.Write(content.Bytes())
			writeHeader(&body, dataset.ItemDelimitationTag, "", 0, e.inner)
		} else {
			writeHeader(&body, dataset.ItemTag, "", uint32(content.Len()), e.inner)
			body.Write(content.Bytes())
		}
	}
	if e.undef {
		writeHeader(w, e.tag, e.vr, dataset.UndefinedLength, ts)
		w.Write(body.Bytes())
		writeHeader(w, dataset.SequenceDelimitationTag, "", 0, e.inner)
		return
	}
	writeHeader(w, e.tag, e.vr, uint32(body.Len()), ts)
	w.Write(body.Bytes())
}
