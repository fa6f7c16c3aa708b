package dataset

import (
	"encoding/binary"
	"fmt"
)

// Tag is a DICOM tag, its group in the high 16 bits: tags compare in the
// order a data set sorts them.
type Tag uint32

// NewTag returns the tag (group,element).
func NewTag(group, element uint16) Tag { return Tag(group)<<16 | Tag(element) }

// Group returns the tag's group.
func (t Tag) Group() uint16 { return uint16(t >> 16) }

// Element returns the tag's element number.
func (t Tag) Element() uint16 { return uint16(t) }

// String formats the tag as "(0010,0020)".
func (t Tag) String() string { return fmt.Sprintf("(%04X,%04X)", t.Group(), t.Element()) }

// The tags of items and delimiters, whose headers have no VR in any syntax.
const (
	ItemGroup                   = 0xFFFE
	ItemTag                 Tag = 0xFFFEE000
	ItemDelimitationTag     Tag = 0xFFFEE00D
	SequenceDelimitationTag Tag = 0xFFFEE0DD
)

// UndefinedLength is the length of a sequence, item or encapsulated data
// that ends with a delimiter.
const UndefinedLength = 0xFFFFFFFF

// MaxLength is the largest defined length: one below UndefinedLength, and
// even.
const MaxLength = 0xFFFFFFFE

// MaxDepth is how deep sequences may nest; real files stay under ten.
const MaxDepth = 64

// ByteOrder reads and appends: binary.LittleEndian and BigEndian are both.
type ByteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// Syntax is a transfer syntax as far as the encoding of a data set goes.
type Syntax struct {
	ByteOrder ByteOrder
	Implicit  bool // implicit VR: no VR in element headers
	Deflated  bool // the data set after the meta group is raw deflate (RFC 1951) of explicit VR little endian
}

// The three encodings of a data set that is not deflated.
var (
	ImplicitLE = Syntax{ByteOrder: binary.LittleEndian, Implicit: true}
	ExplicitLE = Syntax{ByteOrder: binary.LittleEndian}
	ExplicitBE = Syntax{ByteOrder: binary.BigEndian}
)

// Transfer syntaxes with an encoding of their own. Every other one, the
// compressed ones included, encodes its data set as explicit VR little
// endian (PS3.5 A.4).
const (
	UIDImplicitVRLittleEndian         = "1.2.840.10008.1.2"
	UIDExplicitVRLittleEndian         = "1.2.840.10008.1.2.1"
	UIDExplicitVRBigEndian            = "1.2.840.10008.1.2.2"
	UIDDeflatedExplicitVRLittleEndian = "1.2.840.10008.1.2.1.99"
	UIDJPIPReferencedDeflate          = "1.2.840.10008.1.2.4.95" // deflated as 1.2.1.99 is
)

// SyntaxOf returns the encoding of the data set in transfer syntax uid.
// Every UID but the ones above is explicit VR little endian (PS3.5 A.4),
// those of syntaxes not yet defined included.
func SyntaxOf(uid string) Syntax {
	switch uid {
	case UIDImplicitVRLittleEndian:
		return ImplicitLE
	case UIDExplicitVRBigEndian:
		return ExplicitBE
	case UIDDeflatedExplicitVRLittleEndian, UIDJPIPReferencedDeflate:
		return Syntax{ByteOrder: binary.LittleEndian, Deflated: true}
	}
	return ExplicitLE
}

// UID returns the plain transfer syntax of ts's encoding: a deflated data
// set, once inflated, is explicit VR little endian.
func (ts Syntax) UID() string {
	switch {
	case ts.Implicit:
		return UIDImplicitVRLittleEndian
	case ts.ByteOrder == binary.BigEndian:
		return UIDExplicitVRBigEndian
	}
	return UIDExplicitVRLittleEndian
}

// Tag reads the tag at the start of b, which holds at least 4 bytes.
func (ts Syntax) Tag(b []byte) Tag {
	return NewTag(ts.ByteOrder.Uint16(b), ts.ByteOrder.Uint16(b[2:]))
}

// LongVR reports whether an explicit VR has two reserved bytes and a 32-bit
// length (PS3.5 7.1.2); ShortVR whether it has a 16-bit length. A VR that
// is neither is not one PS3.5 defines.
func LongVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

// KnownVR reports whether PS3.5 defines vr: it is long or short.
func KnownVR(vr string) bool { return LongVR(vr) || ShortVR(vr) }

// ShortVR reports whether an explicit VR has a 16-bit length (PS3.5 7.1.2).
func ShortVR(vr string) bool {
	switch vr {
	case "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
		"PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US":
		return true
	}
	return false
}
