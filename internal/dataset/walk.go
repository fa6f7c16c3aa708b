package dataset

import (
	"errors"
	"fmt"
	"io"
)

// Layout is how an element's value is laid out.
type Layout int

const (
	// Bytes is a value of the length in the header; an undefined length
	// is an error.
	Bytes Layout = iota
	// Sequence is items, each holding elements: as many as the length
	// holds, or up to a sequence delimiter.
	Sequence
	// Fragments is encapsulated data, when the length is undefined: items
	// of defined length up to a sequence delimiter.
	Fragments
)

// EventKind says what a walker has just read.
type EventKind int

const (
	// ElementStart: an element's header; the source is at its value.
	ElementStart EventKind = iota
	// ItemStart: the header of an item of a sequence.
	ItemStart
	// ItemEnd: the elements of an item, and its delimiter if it has one.
	ItemEnd
	// ElementEnd: an element with its items or fragments and delimiter.
	ElementEnd
)

// Event is what a Walker tells its Visit.
type Event struct {
	Kind   EventKind
	Header Header // of the element, or of the item
	At     int64  // where the element (or item) starts
	Depth  int    // 0 at the top level, 1 in a top-level sequence's items
	Layout Layout // of the element
	Syntax Syntax // of what the element holds: a sequence's items may differ
}

// Source is the data a Walker reads forward: a file by offsets, where
// skipping costs nothing, or a stream.
type Source interface {
	Offset() int64
	// Peek returns the next n bytes, fewer at the end of the data, without
	// moving past them. Its error is for reads that fail otherwise.
	Peek(n int) ([]byte, error)
	// Skip moves n bytes on; past the end of the data it fails with
	// io.ErrUnexpectedEOF.
	Skip(n int64) error
	// Limit is where the data ends, or -1 when unknown until it does.
	Limit() int64
	// Where describes offset off for messages: "at byte 132".
	Where(off int64) string
}

// Walker walks elements header by header and checks that every length
// stays inside what holds it: the data, a sequence, an item; and that
// sequences nest no deeper than MaxDepth. It reads no value: Visit may
// peek at one from Source.
type Walker struct {
	Source Source
	Syntax Syntax // of the elements Element walks
	// Decode decodes a header as the reader must; nil: Syntax.DecodeHeader.
	Decode func(ts Syntax, b []byte) (Header, bool)
	// Layout says how the value of h, an element in ts, is laid out, and
	// the syntax of what a sequence holds. It must be set.
	Layout func(h Header, ts Syntax) (Layout, Syntax)
	// Name names a tag in messages; nil: Tag.String.
	Name func(Tag) string
	// Truncated and Malformed are what errors wrap when the data ends
	// early or breaks the encoding.
	Truncated, Malformed error
	// Visit, if not nil, is told of every element and item; an error
	// stops the walk.
	Visit func(Event) error
}

func (w *Walker) name(t Tag) string {
	if w.Name == nil {
		return t.String()
	}
	return w.Name(t)
}

func (w *Walker) visit(e Event) error {
	if w.Visit == nil {
		return nil
	}
	return w.Visit(e)
}

func (w *Walker) where(at int64) string { return w.Source.Where(at) }

// DecodeHeader decodes the header at the start of b, which holds at most
// 12 bytes (fewer when the data ends), in w.Syntax.
func (w *Walker) DecodeHeader(b []byte) (Header, error) { return w.decode(b, w.Syntax) }

func (w *Walker) decode(b []byte, ts Syntax) (Header, error) {
	decode := w.Decode
	if decode == nil {
		decode = Syntax.DecodeHeader
	}
	h, ok := decode(ts, b)
	switch {
	case len(b) < 8:
		return Header{}, fmt.Errorf("%w: the last %d bytes are not a whole element", w.Truncated, len(b))
	case !ok:
		return Header{}, fmt.Errorf("%w: the data ends inside the header of element %s", w.Truncated, w.name(h.Tag))
	}
	return h, nil
}

// Element walks the element at the source's offset, which must end by end
// (-1: with the data), at nesting depth depth.
func (w *Walker) Element(end int64, depth int) error {
	return w.element(w.Syntax, end, depth)
}

func (w *Walker) element(ts Syntax, end int64, depth int) error {
	c := w.Source
	at := c.Offset()
	b, err := c.Peek(12)
	if err != nil {
		return err
	}
	h, err := w.decode(b, ts)
	if err != nil {
		return fmt.Errorf("%w %s", err, w.where(at))
	}
	if err := c.Skip(int64(h.Size)); err != nil {
		return err
	}
	if h.Tag.Group() == ItemGroup {
		return fmt.Errorf("%w: %s %s outside a sequence", w.Malformed, w.name(h.Tag), w.where(at))
	}
	layout, inner := w.Layout(h, ts)
	switch {
	case layout == Fragments && !h.Undefined():
		layout = Bytes // encapsulated only when a delimiter ends it
	case layout == Bytes && h.Undefined():
		return fmt.Errorf("%w: element %s %s has an undefined length", w.Malformed, w.name(h.Tag), w.where(at))
	}
	ev := Event{Kind: ElementStart, Header: h, At: at, Depth: depth, Layout: layout, Syntax: inner}
	if err := w.visit(ev); err != nil {
		return err
	}
	switch layout {
	case Sequence:
		err = w.sequence(h, at, end, inner, depth+1)
	case Fragments:
		err = w.fragments(h, at, ts)
	default:
		err = w.value(h, at, int64(h.Length), end)
	}
	if err != nil {
		return err
	}
	ev.Kind = ElementEnd
	return w.visit(ev)
}

// value skips n bytes of element h (whose header is at at), which must end
// by end (-1: with the data).
func (w *Walker) value(h Header, at, n, end int64) error {
	if err := w.fits(h, at, n, end, "the item that holds it"); err != nil {
		return err
	}
	if err := w.Source.Skip(n); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: the data ends inside element %s %s", w.Truncated, w.name(h.Tag), w.where(at))
		}
		return err
	}
	return nil
}

// ItemHeader reads the header of an item or delimiter inside element h,
// whose header is at at, in w.Syntax.
func (w *Walker) ItemHeader(h Header, at int64) (Tag, uint32, error) {
	return w.itemHeader(h, at, w.Syntax)
}

func (w *Walker) itemHeader(h Header, at int64, ts Syntax) (Tag, uint32, error) {
	b, err := w.Source.Peek(8)
	if err != nil {
		return 0, 0, err
	}
	if len(b) < 8 {
		return 0, 0, fmt.Errorf("%w: the data ends inside element %s %s, before the delimiter that ends it", w.Truncated, w.name(h.Tag), w.where(at))
	}
	return ts.Tag(b), ts.ByteOrder.Uint32(b[4:]), w.Source.Skip(8)
}

// sequence walks the items of sequence h, in ts.
func (w *Walker) sequence(h Header, at, end int64, ts Syntax, depth int) error {
	c := w.Source
	if depth > MaxDepth {
		return fmt.Errorf("%w: sequences nested deeper than %d %s", w.Malformed, MaxDepth, w.where(at))
	}
	seqEnd := int64(-1)
	if !h.Undefined() {
		if err := w.Fits(h, at, int64(h.Length), end); err != nil {
			return err
		}
		seqEnd = c.Offset() + int64(h.Length)
	}
	for {
		if off := c.Offset(); seqEnd >= 0 && off >= seqEnd {
			return nil // Fits checked that nothing ran past seqEnd
		}
		itemAt := c.Offset()
		it, l, err := w.itemHeader(h, at, ts)
		if err != nil {
			return err
		}
		ev := Event{Kind: ItemStart, Header: Header{Tag: it, Length: l, Size: 8}, At: itemAt, Depth: depth, Layout: Sequence, Syntax: ts}
		switch {
		case it == SequenceDelimitationTag && seqEnd < 0:
			return nil
		case it != ItemTag:
			return fmt.Errorf("%w: %s in sequence %s %s", w.Malformed, w.name(it), w.name(h.Tag), w.where(at))
		}
		if err := w.visit(ev); err != nil {
			return err
		}
		if l == UndefinedLength {
			err = w.elements(h, at, -1, ts, depth)
		} else if err = w.Fits(h, at, int64(l), seqEnd); err == nil {
			err = w.elements(h, at, c.Offset()+int64(l), ts, depth)
		}
		if err != nil {
			return err
		}
		ev.Kind = ItemEnd
		if err := w.visit(ev); err != nil {
			return err
		}
	}
}

// Fits checks that n bytes from the source's offset stay inside the data
// and end (-1: the data's), for element h's value or an item of it; h's
// header is at at.
func (w *Walker) Fits(h Header, at, n, end int64) error {
	return w.fits(h, at, n, end, "what holds it")
}

// fits is Fits, with what holds h named in the message.
func (w *Walker) fits(h Header, at, n, end int64, holder string) error {
	off := w.Source.Offset()
	if lim := w.Source.Limit(); lim >= 0 && off+n > lim {
		return fmt.Errorf("%w: element %s %s needs %d bytes, %d are left", w.Truncated, w.name(h.Tag), w.where(at), n, lim-off)
	}
	if end >= 0 && off+n > end {
		return fmt.Errorf("%w: element %s %s runs past the end of %s", w.Malformed, w.name(h.Tag), w.where(at), holder)
	}
	return nil
}

// elements walks the elements of an item of sequence h, to end, or when end
// is -1 to an item delimiter.
func (w *Walker) elements(h Header, at, end int64, ts Syntax, depth int) error {
	c := w.Source
	for {
		if end >= 0 {
			if off := c.Offset(); off >= end {
				if off > end {
					return fmt.Errorf("%w: an item of %s %s holds more than its length", w.Malformed, w.name(h.Tag), w.where(at))
				}
				return nil
			}
		} else {
			b, err := c.Peek(8)
			if err != nil {
				return err
			}
			if len(b) < 8 {
				return fmt.Errorf("%w: the data ends inside an item of %s %s", w.Truncated, w.name(h.Tag), w.where(at))
			}
			if ts.Tag(b) == ItemDelimitationTag {
				return c.Skip(8)
			}
		}
		if err := w.element(ts, end, depth); err != nil {
			return err
		}
	}
}

// fragments walks encapsulated data: items of defined length up to the
// sequence delimiter.
func (w *Walker) fragments(h Header, at int64, ts Syntax) error {
	for n := 0; ; n++ {
		it, l, err := w.itemHeader(h, at, ts)
		if err != nil {
			return err
		}
		switch {
		case it == SequenceDelimitationTag:
			return nil
		case it != ItemTag || l == UndefinedLength:
			return fmt.Errorf("%w: %s of length %d as item %d of %s %s", w.Malformed, w.name(it), l, n, w.name(h.Tag), w.where(at))
		}
		if err := w.value(h, at, int64(l), -1); err != nil {
			return err
		}
	}
}
