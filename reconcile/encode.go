package reconcile

import (
	"encoding/binary"
	"fmt"
)

// tag is a DICOM tag, group in the high 16 bits: tags compare in the order
// a data set sorts them.
type tag uint32

func (t tag) group() uint16   { return uint16(t >> 16) }
func (t tag) element() uint16 { return uint16(t) }

// String formats the tag as "(0010,0020)", with its name if this package
// writes or reads it: "(0010,0020) Patient ID".
func (t tag) String() string {
	s := fmt.Sprintf("(%04X,%04X)", t.group(), t.element())
	if name, ok := names[t]; ok {
		s += " " + name
	}
	return s
}

// Tags this package writes or looks for.
const (
	tagMetaGroupLength             tag = 0x00020000
	tagTransferSyntaxUID           tag = 0x00020010
	tagSpecificCharacterSet        tag = 0x00080005
	tagInstanceCreationDate        tag = 0x00080012
	tagInstanceCreationTime        tag = 0x00080013
	tagSOPClassUID                 tag = 0x00080016
	tagSOPInstanceUID              tag = 0x00080018
	tagStudyDescription            tag = 0x00081030
	tagStudyDate                   tag = 0x00080020
	tagContentDate                 tag = 0x00080023
	tagAcquisitionDateTime         tag = 0x0008002A
	tagStudyTime                   tag = 0x00080030
	tagContentTime                 tag = 0x00080033
	tagAccessionNumber             tag = 0x00080050
	tagIssuerOfAccessionNumberSeq  tag = 0x00080051
	tagModality                    tag = 0x00080060
	tagConversionType              tag = 0x00080064
	tagManufacturer                tag = 0x00080070
	tagReferringPhysicianName      tag = 0x00080090
	tagCodeValue                   tag = 0x00080100
	tagCodingSchemeDesignator      tag = 0x00080102
	tagCodeMeaning                 tag = 0x00080104
	tagTimezoneOffsetFromUTC       tag = 0x00080201
	tagSeriesDescription           tag = 0x0008103E
	tagReferencedPPSSequence       tag = 0x00081111
	tagPatientName                 tag = 0x00100010
	tagPatientID                   tag = 0x00100020
	tagIssuerOfPatientID           tag = 0x00100021
	tagIssuerOfPatientIDQualifiers tag = 0x00100024
	tagTypeOfPatientID             tag = 0x00100022
	tagPatientBirthDate            tag = 0x00100030
	tagPatientSex                  tag = 0x00100040
	tagOtherPatientIDsSeq          tag = 0x00101002
	tagStudyInstanceUID            tag = 0x0020000D
	tagSeriesInstanceUID           tag = 0x0020000E
	tagStudyID                     tag = 0x00200010
	tagSeriesNumber                tag = 0x00200011
	tagInstanceNumber              tag = 0x00200013
	tagBurnedInAnnotation          tag = 0x00280301
	tagRequestAttributesSeq        tag = 0x00400275
	tagRelationshipType            tag = 0x0040A010
	tagValueType                   tag = 0x0040A040
	tagConceptNameCodeSequence     tag = 0x0040A043
	tagContinuityOfContent         tag = 0x0040A050
	tagTextValue                   tag = 0x0040A160
	tagPerformedProcedureCodeSeq   tag = 0x0040A372
	tagCompletionFlag              tag = 0x0040A491
	tagVerificationFlag            tag = 0x0040A493
	tagContentSequence             tag = 0x0040A730
	tagDocumentTitle               tag = 0x00420010
	tagEncapsulatedDocument        tag = 0x00420011
	tagMIMETypeOfEncapsulatedDoc   tag = 0x00420012
	tagEncapsulatedDocLength       tag = 0x00420015
	tagModifiedAttributesSeq       tag = 0x04000550
	tagOriginalAttributesSeq       tag = 0x04000561
	tagAttributeModificationDT     tag = 0x04000562
	tagModifyingSystem             tag = 0x04000563
	tagSourceOfPreviousValues      tag = 0x04000564
	tagReasonForModification       tag = 0x04000565
	tagPixelData                   tag = 0x7FE00010
	tagItem                        tag = 0xFFFEE000
	tagItemDelimitation            tag = 0xFFFEE00D
	tagSequenceDelimitation        tag = 0xFFFEE0DD
)

var names = map[tag]string{
	tagTransferSyntaxUID:           "Transfer Syntax UID",
	tagSpecificCharacterSet:        "Specific Character Set",
	tagStudyDate:                   "Study Date",
	tagStudyTime:                   "Study Time",
	tagAccessionNumber:             "Accession Number",
	tagReferringPhysicianName:      "Referring Physician's Name",
	tagSeriesDescription:           "Series Description",
	tagPatientName:                 "Patient's Name",
	tagPatientID:                   "Patient ID",
	tagIssuerOfPatientID:           "Issuer of Patient ID",
	tagIssuerOfAccessionNumberSeq:  "Issuer of Accession Number Sequence",
	tagIssuerOfPatientIDQualifiers: "Issuer of Patient ID Qualifiers Sequence",
	tagTypeOfPatientID:             "Type of Patient ID",
	tagOtherPatientIDsSeq:          "Other Patient IDs Sequence",
	tagRequestAttributesSeq:        "Request Attributes Sequence",
	tagPatientBirthDate:            "Patient's Birth Date",
	tagPatientSex:                  "Patient's Sex",
	tagStudyInstanceUID:            "Study Instance UID",
	tagStudyID:                     "Study ID",
	tagTextValue:                   "Text Value",
	tagDocumentTitle:               "Document Title",
	tagEncapsulatedDocument:        "Encapsulated Document",
	tagOriginalAttributesSeq:       "Original Attributes Sequence",
	tagModifyingSystem:             "Modifying System",
	tagSourceOfPreviousValues:      "Source of Previous Values",
	tagReasonForModification:       "Reason for the Attribute Modification",
	tagAttributeModificationDT:     "Attribute Modification DateTime",
	tagPixelData:                   "Pixel Data",
	tagSOPInstanceUID:              "SOP Instance UID",
	tagSeriesInstanceUID:           "Series Instance UID",
	tagStudyDescription:            "Study Description",
}

// undefinedLength is the length of a sequence, item or encapsulated pixel
// data that ends with a delimitation item.
const undefinedLength = 0xFFFFFFFF

// maxLength is the largest defined length: one below undefinedLength, and
// even.
const maxLength = 0xFFFFFFFE

// byteOrder reads and appends: binary.LittleEndian and BigEndian are both.
type byteOrder interface {
	binary.ByteOrder
	binary.AppendByteOrder
}

// syntax is a transfer syntax as far as encoding goes.
type syntax struct {
	bo       byteOrder
	implicit bool
	deflated bool // the data set after the meta group is raw deflate
}

var (
	explicitLE = syntax{bo: binary.LittleEndian}
	implicitLE = syntax{bo: binary.LittleEndian, implicit: true}
	explicitBE = syntax{bo: binary.BigEndian}
)

// Transfer syntaxes with an encoding of their own. Every other one, the
// compressed ones included, encodes its data set as explicit VR little
// endian (PS3.5 A.4).
const (
	uidImplicitVRLittleEndian = "1.2.840.10008.1.2"
	uidExplicitVRLittleEndian = "1.2.840.10008.1.2.1"
	uidExplicitVRBigEndian    = "1.2.840.10008.1.2.2"
	uidDeflatedExplicitVRLE   = "1.2.840.10008.1.2.1.99"
	uidJPIPReferencedDeflate  = "1.2.840.10008.1.2.4.95" // deflated as .1.99 is
)

func syntaxOf(uid string) syntax {
	switch uid {
	case uidImplicitVRLittleEndian:
		return implicitLE
	case uidExplicitVRBigEndian:
		return explicitBE
	case uidDeflatedExplicitVRLE, uidJPIPReferencedDeflate:
		return syntax{bo: binary.LittleEndian, deflated: true}
	}
	return explicitLE
}

// longVR reports whether an explicit VR has two reserved bytes and a 32-bit
// length (PS3.5 7.1.2); shortVR whether it has a 16-bit length. A VR that is
// neither is not one PS3.5 defines.
func longVR(vr string) bool {
	switch vr {
	case "OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV":
		return true
	}
	return false
}

func shortVR(vr string) bool {
	switch vr {
	case "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
		"PN", "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US":
		return true
	}
	return false
}

// appendHeader appends the header of an element of n bytes. Items and
// delimiters have no VR in any syntax.
func (ts syntax) appendHeader(b []byte, t tag, vr string, n uint32) []byte {
	b = ts.bo.AppendUint16(b, t.group())
	b = ts.bo.AppendUint16(b, t.element())
	if ts.implicit || t.group() == 0xFFFE {
		return ts.bo.AppendUint32(b, n)
	}
	b = append(b, vr...)
	if longVR(vr) {
		b = append(b, 0, 0)
		return ts.bo.AppendUint32(b, n)
	}
	return ts.bo.AppendUint16(b, uint16(n))
}

// appendText appends an element with a text value, padded to even length
// with a space (a NUL for UI, as PS3.5 6.2 pads them). Callers check that
// the value fits the VR's length field.
func (ts syntax) appendText(b []byte, t tag, vr, s string) []byte {
	n := len(s) + len(s)%2
	b = ts.appendHeader(b, t, vr, uint32(n))
	b = append(b, s...)
	if len(s)%2 == 1 {
		if vr == "UI" {
			return append(b, 0)
		}
		return append(b, ' ')
	}
	return b
}

// appendItem appends an item of defined length holding the elements in
// content.
func (ts syntax) appendItem(b []byte, content []byte) []byte {
	b = ts.appendHeader(b, tagItem, "", uint32(len(content)))
	return append(b, content...)
}

// appendSequence appends a sequence of defined length with one item for
// each of items, which hold the items' elements.
func (ts syntax) appendSequence(b []byte, t tag, items ...[]byte) []byte {
	n := 0
	for _, it := range items {
		n += 8 + len(it)
	}
	b = ts.appendHeader(b, t, "SQ", uint32(n))
	for _, it := range items {
		b = ts.appendItem(b, it)
	}
	return b
}
