package reconcile

import "imageshare/internal/dataset"

// tag is a DICOM tag, group in the high 16 bits: tags compare in the order
// a data set sorts them.
type tag uint32

func (t tag) group() uint16   { return dataset.Tag(t).Group() }
func (t tag) element() uint16 { return dataset.Tag(t).Element() }

// String formats the tag as "(0010,0020)", with its name if this package
// writes or reads it: "(0010,0020) Patient ID".
func (t tag) String() string {
	s := dataset.Tag(t).String()
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
