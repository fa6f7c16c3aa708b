package dimse

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"

	"imageshare/internal/dataset"
)

// MaxNested caps the bytes of one top-level sequence held in memory while
// a data set is converted: sequences are rewritten whole (their lengths
// change with their headers), every other value is streamed.
const MaxNested = 64 << 20

// converter rewrites a data set between implicit and explicit VR little
// endian, the conversion the fall-back contexts of an uncompressed
// original need. Values keep their bytes; headers change, and so the
// defined lengths of sequences and items, which are recomputed. Group
// lengths (gggg,0000), retired, would be wrong and are dropped.
type converter struct {
	r    *bufio.Reader
	off  int64 // bytes read
	held int64 // bytes of the current top-level sequence
}

// convertLE writes the data set of src, in syntax from, to dst in syntax
// to; both are ImplicitLE or ExplicitLE.
func convertLE(dst io.Writer, src *bufio.Reader, from, to dataset.Syntax) error {
	c := &converter{r: src}
	for {
		if _, err := c.r.Peek(1); err == io.EOF {
			return nil
		}
		h, vr, err := c.header(from)
		if err != nil {
			return err
		}
		if vr == "SQ" || h.Undefined() {
			c.held = 0
			b, err := c.sequence(h, vr, from, to, 0)
			if err != nil {
				return err
			}
			if _, err := dst.Write(b); err != nil {
				return err
			}
			continue
		}
		if h.Tag.Element() == 0 {
			if _, err := c.r.Discard(int(h.Length)); err != nil {
				return c.truncated(h.Tag)
			}
			c.off += int64(h.Length)
			continue
		}
		if _, err := dst.Write(appendHeaderAs(nil, to, h.Tag, vr, h.Length)); err != nil {
			return err
		}
		n, err := io.CopyN(dst, c.r, int64(h.Length))
		c.off += n
		if err == io.EOF {
			return c.truncated(h.Tag)
		}
		if err != nil {
			return err
		}
	}
}

func (c *converter) truncated(t dataset.Tag) error {
	return fmt.Errorf("converting the data set: element %v at offset %d: %w: truncated", t, c.off, ErrMalformed)
}

// header reads an element's header in syntax from, and returns its VR:
// the explicit one, or the dictionary's (UN for a tag it lacks).
func (c *converter) header(from dataset.Syntax) (dataset.Header, string, error) {
	b, _ := c.r.Peek(12)
	h, ok := from.DecodeHeader(b)
	if !ok {
		return h, "", fmt.Errorf("converting the data set: header at offset %d: %w: truncated", c.off, ErrMalformed)
	}
	c.r.Discard(h.Size)
	c.off += int64(h.Size)
	vr := h.VR
	if from.Implicit {
		vr = dataset.DictionaryVR(h.Tag)
		if h.Undefined() {
			vr = "SQ"
		}
		if vr == "" {
			vr = "UN"
		}
	} else if !dataset.KnownVR(vr) {
		return h, "", fmt.Errorf("converting the data set: element %v at offset %d: %w: VR %q", h.Tag, c.off, ErrMalformed, vr)
	}
	return h, vr, nil
}

// appendHeaderAs appends a header in to; a value too long for a short VR
// goes as UN.
func appendHeaderAs(b []byte, to dataset.Syntax, t dataset.Tag, vr string, n uint32) []byte {
	if !to.Implicit && !dataset.LongVR(vr) && n > 0xFFFF {
		vr = "UN"
	}
	return to.AppendHeader(b, t, vr, n)
}

func (c *converter) take(n uint32) ([]byte, error) {
	c.held += int64(n)
	if c.held > MaxNested {
		return nil, fmt.Errorf("converting the data set: a sequence at offset %d exceeds maximum %d bytes", c.off, MaxNested)
	}
	b := make([]byte, n)
	k, err := io.ReadFull(c.r, b)
	c.off += int64(k)
	return b, err
}

// sequence reads the rest of a sequence (or of an element of undefined
// length, taken as one) whose header is h, and returns it converted,
// header included. An explicit UN of undefined length holds implicit VR
// little endian (PS3.5 6.2.2).
func (c *converter) sequence(h dataset.Header, vr string, from, to dataset.Syntax, depth int) ([]byte, error) {
	if depth >= dataset.MaxDepth {
		return nil, fmt.Errorf("converting the data set: sequences nested deeper than %d at offset %d", dataset.MaxDepth, c.off)
	}
	inner := from
	if vr == "UN" && !from.Implicit {
		inner = dataset.ImplicitLE
	}
	var body []byte
	end := c.off + int64(h.Length)
	for {
		if !h.Undefined() && c.off >= end {
			break
		}
		b, err := c.take(8)
		if err != nil {
			return nil, c.truncated(h.Tag)
		}
		tag := dataset.NewTag(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]))
		n := binary.LittleEndian.Uint32(b[4:])
		if tag == dataset.SequenceDelimitationTag && h.Undefined() {
			break
		}
		if tag != dataset.ItemTag {
			return nil, fmt.Errorf("converting the data set: %v at offset %d in sequence %v: %w: not an item", tag, c.off-8, h.Tag, ErrMalformed)
		}
		item, err := c.item(n, inner, to, depth+1)
		if err != nil {
			return nil, err
		}
		body = append(body, item...)
	}
	if !h.Undefined() && c.off != end {
		return nil, fmt.Errorf("converting the data set: sequence %v at offset %d: %w: items overrun its length", h.Tag, c.off, ErrMalformed)
	}
	out := vr
	if vr == "UN" && h.Undefined() {
		out = "SQ"
	}
	if h.Undefined() {
		b := appendHeaderAs(nil, to, h.Tag, out, dataset.UndefinedLength)
		b = append(b, body...)
		return to.AppendHeader(b, dataset.SequenceDelimitationTag, "", 0), nil
	}
	b := appendHeaderAs(nil, to, h.Tag, out, uint32(len(body)))
	return append(b, body...), nil
}

// item reads an item's elements, the item header already read with its
// length n, and returns it converted.
func (c *converter) item(n uint32, from, to dataset.Syntax, depth int) ([]byte, error) {
	undefined := n == dataset.UndefinedLength
	end := c.off + int64(n)
	var body []byte
	for {
		if !undefined && c.off >= end {
			break
		}
		if undefined {
			b, err := c.r.Peek(8)
			if err != nil {
				return nil, fmt.Errorf("converting the data set: item at offset %d: %w: truncated", c.off, ErrMalformed)
			}
			if dataset.NewTag(binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:])) == dataset.ItemDelimitationTag {
				c.r.Discard(8)
				c.off += 8
				break
			}
		}
		h, vr, err := c.header(from)
		if err != nil {
			return nil, err
		}
		if vr == "SQ" || h.Undefined() {
			b, err := c.sequence(h, vr, from, to, depth)
			if err != nil {
				return nil, err
			}
			body = append(body, b...)
			continue
		}
		v, err := c.take(h.Length)
		if err != nil {
			return nil, c.truncated(h.Tag)
		}
		if h.Tag.Element() == 0 {
			continue
		}
		body = appendHeaderAs(body, to, h.Tag, vr, h.Length)
		body = append(body, v...)
	}
	if !undefined && c.off != end {
		return nil, fmt.Errorf("converting the data set: item at offset %d: %w: elements overrun its length", c.off, ErrMalformed)
	}
	if undefined {
		b := to.AppendHeader(nil, dataset.ItemTag, "", dataset.UndefinedLength)
		b = append(b, body...)
		return to.AppendHeader(b, dataset.ItemDelimitationTag, "", 0), nil
	}
	return to.AppendItem(nil, body), nil
}
