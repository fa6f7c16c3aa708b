package reconcile

import (
	"bufio"
	"compress/flate"
	"errors"
	"fmt"
	"io"

	"imageshare/internal/dataset"
)

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
func (d *decoder) peekTag(ts dataset.Syntax) (tag, error) {
	b, err := d.peek(4)
	if err != nil {
		return 0, err
	}
	if len(b) < 4 {
		return 0, fmt.Errorf("%w: the data ends inside the tag of an element %s", ErrTruncated, d.where(d.off))
	}
	return tag(ts.Tag(b)), nil
}

// header reads the header of the next element, item or delimiter.
func (d *decoder) header(ts dataset.Syntax) (header, error) {
	h := header{at: d.off}
	b, err := d.peek(12)
	if err != nil {
		return h, err
	}
	if len(b) < 8 {
		return h, fmt.Errorf("%w: the data ends inside the header of an element %s", ErrTruncated, d.where(h.at))
	}
	dh, ok := ts.DecodeHeader(b)
	h.tag, h.vr, h.vl, h.n = tag(dh.Tag), dh.VR, dh.Length, dh.Size
	switch {
	case h.vr != "" && !dataset.KnownVR(h.vr):
		return h, fmt.Errorf("%w: element %s %s has an unknown VR %q", ErrMalformed, h.tag, d.where(h.at), h.vr)
	case !ok:
		return h, fmt.Errorf("%w: the data ends inside the header of element %s %s", ErrTruncated, h.tag, d.where(h.at))
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
func (d *decoder) element(w *sink, ts dataset.Syntax, depth int) (header, error) {
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
func (d *decoder) value(w *sink, h header, ts dataset.Syntax, depth int, last []byte) error {
	switch l, inner := layout(dataset.Header{VR: h.vr, Length: h.vl}, ts); {
	case l == dataset.Sequence:
		return d.items(w, h, inner, depth+1, last)
	case h.vl != dataset.UndefinedLength:
		return d.copyN(w, int64(h.vl), h)
	}
	return fmt.Errorf("%w: element %s %s has VR %s and an undefined length", ErrMalformed, h.tag, d.where(h.at), h.vr)
}

// layout is how the value of h, in ts, is read: of undefined length, a
// sequence, or encapsulated pixel data, is items (of implicit VR little
// endian inside UN: a sequence read without a dictionary, PS3.5 6.2.2);
// anything of defined length is bytes, copied without looking inside.
func layout(h dataset.Header, ts dataset.Syntax) (dataset.Layout, dataset.Syntax) {
	switch {
	case !h.Undefined():
	case h.VR == "UN":
		return dataset.Sequence, dataset.ImplicitLE
	case ts.Implicit, h.VR == "SQ", h.VR == "OB", h.VR == "OW":
		return dataset.Sequence, ts
	}
	return dataset.Bytes, ts
}

// decodeKnown decodes a header, and not one with a VR PS3.5 does not
// define.
func decodeKnown(ts dataset.Syntax, b []byte) (dataset.Header, bool) {
	h, ok := ts.DecodeHeader(b)
	return h, ok && (h.VR == "" || dataset.KnownVR(h.VR))
}

// items copies the items of sequence h to w, up to and including its
// delimiter, writing last before the delimiter.
func (d *decoder) items(w *sink, h header, ts dataset.Syntax, depth int, last []byte) error {
	if depth > dataset.MaxDepth {
		return fmt.Errorf("%w: sequences nested deeper than %d in element %s %s", ErrMalformed, dataset.MaxDepth, h.tag, d.where(h.at))
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
		case it.vl == dataset.UndefinedLength:
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
func (d *decoder) itemElements(w *sink, h header, ts dataset.Syntax, depth int) error {
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
