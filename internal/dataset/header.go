package dataset

// Header is the header of an element, an item or a delimiter.
type Header struct {
	Tag    Tag
	VR     string // "" in implicit VR, and for items and delimiters
	Length uint32 // of the value; UndefinedLength when a delimiter ends it
	Size   int    // of the header: 8, or 12 for an explicit long VR
}

// Undefined reports whether a delimiter ends h's value.
func (h Header) Undefined() bool { return h.Length == UndefinedLength }

// DecodeHeader decodes the header at the start of b as PS3.5 encodes it:
// see DecodeHeaderAs, with LongVR.
func (ts Syntax) DecodeHeader(b []byte) (Header, bool) {
	return ts.DecodeHeaderAs(b, LongVR)
}

// DecodeHeaderAs decodes the header at the start of b, where long says
// which explicit VRs have a 32-bit length; any other VR, one PS3.5 does
// not define included, has a 16-bit length. It reports false when b is
// shorter than the header: fewer than 8 bytes, or fewer than 12 for a long
// VR, when h has the tag and the VR.
func (ts Syntax) DecodeHeaderAs(b []byte, long func(vr string) bool) (h Header, ok bool) {
	if len(b) < 8 {
		return h, false
	}
	bo := ts.ByteOrder
	h.Tag = ts.Tag(b)
	if ts.Implicit || h.Tag.Group() == ItemGroup {
		h.Length, h.Size = bo.Uint32(b[4:]), 8
		return h, true
	}
	h.VR = string(b[4:6])
	if long(h.VR) {
		if len(b) < 12 {
			return h, false
		}
		h.Length, h.Size = bo.Uint32(b[8:]), 12
		return h, true
	}
	h.Length, h.Size = uint32(bo.Uint16(b[6:])), 8
	return h, true
}

// AppendHeader appends the header of an element with a value of n bytes.
// Items and delimiters have no VR in any syntax, nor has any element in
// implicit VR.
func (ts Syntax) AppendHeader(b []byte, t Tag, vr string, n uint32) []byte {
	bo := ts.ByteOrder
	b = bo.AppendUint16(b, t.Group())
	b = bo.AppendUint16(b, t.Element())
	if ts.Implicit || t.Group() == ItemGroup {
		return bo.AppendUint32(b, n)
	}
	b = append(b, vr...)
	if LongVR(vr) {
		b = append(b, 0, 0)
		return bo.AppendUint32(b, n)
	}
	return bo.AppendUint16(b, uint16(n))
}

// AppendText appends an element with a text value, padded to even length
// with a space (a NUL for UI, as PS3.5 6.2 pads them). Callers check that
// the value fits the VR's length field.
func (ts Syntax) AppendText(b []byte, t Tag, vr, s string) []byte {
	n := len(s) + len(s)%2
	b = ts.AppendHeader(b, t, vr, uint32(n))
	b = append(b, s...)
	if len(s)%2 == 1 {
		if vr == "UI" {
			return append(b, 0)
		}
		return append(b, ' ')
	}
	return b
}

// AppendItem appends an item of defined length holding the elements in
// content.
func (ts Syntax) AppendItem(b []byte, content []byte) []byte {
	b = ts.AppendHeader(b, ItemTag, "", uint32(len(content)))
	return append(b, content...)
}

// AppendSequence appends a sequence of defined length with one item of
// defined length for each of items, which hold the items' elements.
func (ts Syntax) AppendSequence(b []byte, t Tag, items ...[]byte) []byte {
	n := 0
	for _, it := range items {
		n += 8 + len(it)
	}
	b = ts.AppendHeader(b, t, "SQ", uint32(n))
	for _, it := range items {
		b = ts.AppendItem(b, it)
	}
	return b
}
