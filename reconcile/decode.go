package reconcile

import (
	"bufio"
	"compress/flate"
	"errors"
	"fmt"
	"io"
)

// maxDepth is how deep sequences may nest; real files stay under ten.
const maxDepth = 64

// readBuffer is the decoder's read buffer, and the largest piece it copies
// at once.
const readBuffer = 64 << 10

// header is the header of an element, an item or a delimiter, as read.
type header struct {
	tag tag
	vr  string // "" in implicit VR, and for items and delimiters
	vl  uint32
	at  int64 // offset of its first byte
	raw [12]byte
	n   int // bytes of raw in use: 8 or 12
}

// decoder reads a data set forward and copies what it reads. Offsets in
// its messages are of the file, or of the inflated data set.
type decoder struct {
	br       *bufio.Reader
	off      int64
	inflated bool
	within   string // where the data is, if not in the file: "in ..."
}

func (d *decoder) where(at int64) string {
	if d.within != "" {
		return d.within
	}
	if d.inflated {
		return fmt.Sprintf("at byte %d of the inflated data set", at)
	}
	return fmt.Sprintf("at byte %d", at)
}

// sourceErr describes an error reading the source other than its end.
func (d *decoder) sourceErr(err error) error {
	var corrupt flate.CorruptInputError
	if errors.As(err, &corrupt) {
		return fmt.Errorf("%w: the deflated data set is corrupt: %v", ErrMalformed, err)
	}
	return fmt.Errorf("reconcile: reading %s: %w", d.where(d.off), err)
}

// peek returns the next n bytes without reading past them; fewer only where
// the data ends.
func (d *decoder) peek(n int) ([]byte, error) {
	b, err := d.br.Peek(n)
	switch {
	case len(b) == n || err == io.EOF:
		return b, nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		// Only the inflater ends so: its stream stops before its last block.
		return b, fmt.Errorf("%w: the deflated data set ends early, %s", ErrTruncated, d.where(d.off+int64(len(b))))
	}
	return b, d.sourceErr(err)
}

// more reports whether any data is left.
func (d *decoder) more() (bool, error) {
	b, err := d.peek(1)
	return len(b) > 0, err
}

// peekTag returns the tag of the next element without reading it.
func (d *decoder) peekTag(ts syntax) (tag, error) {
	b, err := d.peek(4)
	if err != nil {
		return 0, err
	}
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: the data ends inside the tag of an element %s", ErrTruncated, d.where(d.off))
	}
	return tag(ts.bo.Uint16(b))<<16 | tag(ts.bo.Uint16(b[2:])), nil
}

// header reads the header of the next element, item or delimiter.
func (d *decoder) header(ts syntax) (header, error) {
	h := header{at: d.off}
	b, err := d.peek(12)
	if err != nil {
		return h, err
	}
	if len(b) < 8 {
		return h, fmt.Errorf("%w: the data ends inside the header of an element %s", ErrTruncated, d.where(h.at))
	}
	h.tag = tag(ts.bo.Uint16(b))<<16 | tag(ts.bo.Uint16(b[2:]))
	switch {
	case ts.implicit || h.tag.group() == 0xFFFE:
		h.vl, h.n = ts.bo.Uint32(b[4:]), 8
	default:
		h.vr = string(b[4:6])
		switch {
		case longVR(h.vr):
			if len(b) < 12 {
				return h, fmt.Errorf("%w: the data ends inside the header of element %s %s", ErrTruncated, h.tag, d.where(h.at))
			}
			h.vl, h.n = ts.bo.Uint32(b[8:]), 12
		case shortVR(h.vr):
			h.vl, h.n = uint32(ts.bo.Uint16(b[6:])), 8
		default:
			return h, fmt.Errorf("%w: element %s %s has an unknown VR %q", ErrMalformed, h.tag, d.where(h.at), h.vr)
		}
	}
	copy(h.raw[:], b[:h.n])
	d.br.Discard(h.n)
	d.off += int64(h.n)
	return h, nil
}

// copyN copies n bytes of the value of h to w.
func (d *decoder) copyN(w *sink, n int64, h header) error {
	for n > 0 {
		b, err := d.br.Peek(int(min(n, readBuffer)))
		if len(b) > 0 {
			w.Write(b)
			d.br.Discard(len(b))
			d.off += int64(len(b))
			n -= int64(len(b))
		}
		if w.err != nil {
			return w.err
		}
		switch {
		case err == nil:
		case err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF):
			return fmt.Errorf("%w element %s %s: %d bytes of its value missing", ErrTruncated, h.tag, d.where(h.at), n)
		default:
			return d.sourceErr(err)
		}
	}
	return nil
}

// element copies the next element, with everything nested in it, to w.
func (d *decoder) element(w *sink, ts syntax, depth int) (header, error) {
	h, err := d.header(ts)
	if err != nil {
		return h, err
	}
	if h.tag.group() == 0xFFFE {
		return h, fmt.Errorf("%w: %s %s where an element should be", ErrMalformed, h.tag, d.where(h.at))
	}
	w.Write(h.raw[:h.n])
	return h, d.value(w, h, ts, depth, nil)
}

// value copies the value of h, whose header has been read, to w. For a
// sequence of undefined length, last (if not nil) is written as its last
// item, before its delimiter.
func (d *decoder) value(w *sink, h header, ts syntax, depth int, last []byte) error {
	if h.vl != undefinedLength {
		return d.copyN(w, int64(h.vl), h)
	}
	switch {
	case ts.implicit || h.vr == "SQ":
		return d.items(w, h, ts, depth+1, last)
	case h.vr == "UN":
		// A sequence that was read without a dictionary: its content is
		// implicit VR little endian (PS3.5 6.2.2).
		return d.items(w, h, implicitLE, depth+1, last)
	case h.vr == "OB" || h.vr == "OW":
		// Encapsulated pixel data: items of defined length.
		return d.items(w, h, ts, depth+1, last)
	}
	return fmt.Errorf("%w: element %s %s has VR %s and an undefined length", ErrMalformed, h.tag, d.where(h.at), h.vr)
}

// items copies the items of sequence h to w, up to and including its
// delimiter, writing last before the delimiter.
func (d *decoder) items(w *sink, h header, ts syntax, depth int, last []byte) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: sequences nested deeper than %d in element %s %s", ErrMalformed, maxDepth, h.tag, d.where(h.at))
	}
	for {
		it, err := d.header(ts)
		if errors.Is(err, ErrTruncated) {
			return fmt.Errorf("%w element %s %s: the data ends before the delimiter of its items", ErrTruncated, h.tag, d.where(h.at))
		}
		if err != nil {
			return err
		}
		if it.tag == tagSequenceDelimitation {
			w.Write(last)
			w.Write(it.raw[:it.n])
			return nil
		}
		w.Write(it.raw[:it.n])
		switch {
		case it.tag != tagItem:
			return fmt.Errorf("%w: %s %s inside element %s %s", ErrMalformed, it.tag, d.where(it.at), h.tag, d.where(h.at))
		case it.vl == undefinedLength:
			err = d.itemElements(w, h, ts, depth)
		default:
			err = d.copyN(w, int64(it.vl), h)
		}
		if err != nil {
			return err
		}
	}
}

// itemElements copies the elements of an item of undefined length in
// sequence h, up to and including its delimiter.
func (d *decoder) itemElements(w *sink, h header, ts syntax, depth int) error {
	for {
		t, err := d.peekTag(ts)
		if errors.Is(err, ErrTruncated) {
			return fmt.Errorf("%w element %s %s: the data ends inside one of its items", ErrTruncated, h.tag, d.where(h.at))
		}
		if err != nil {
			return err
		}
		if t == tagItemDelimitation {
			it, err := d.header(ts)
			if err != nil {
				return err
			}
			w.Write(it.raw[:it.n])
			return nil
		}
		if _, err := d.element(w, ts, depth); err != nil {
			return err
		}
	}
}

// sink is where a copy goes: it keeps the first write error, so that
// callers check once. With a limit, it refuses to take more than limit
// bytes, with limitErr.
type sink struct {
	w        io.Writer
	n        int64
	limit    int64 // 0: none
	limitErr error
	under    *sink // the sink w writes to, if any: its error is the one to report
	err      error
}

func (s *sink) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.limit > 0 && s.n+int64(len(p)) > s.limit {
		s.err = s.limitErr
		return 0, s.err
	}
	n, err := s.w.Write(p)
	s.n += int64(n)
	switch {
	case err == nil:
	case s.under != nil && s.under.err != nil:
		s.err = s.under.err
	default:
		s.err = fmt.Errorf("reconcile: writing: %w", err)
	}
	return n, s.err
}
