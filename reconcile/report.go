package reconcile

import (
	"bytes"
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"time"

	"imageshare/internal/dataset"
)

// SOP classes of the report instances.
const (
	SOPClassEncapsulatedPDF = "1.2.840.10008.5.1.4.1.1.104.1"
	SOPClassBasicTextSR     = "1.2.840.10008.5.1.4.1.1.88.11"
)

// What the files this package writes say about their writer in the meta
// group. The class UID was made once, as NewUID makes them.
const (
	implementationClassUID    = "2.25.7927430275459819132734000676358384580"
	implementationVersionName = "IMAGESHARE"
	manufacturer              = "imageshare"
)

// reportSeriesNumber is the Series Number of a report's new series: high,
// so that viewers list it after the images.
const reportSeriesNumber = "999"

// StudyRef is the study a report joins, with the values of the received
// study after reconciliation: the report must file under the same patient
// record as the images. Empty values are written empty (the attributes are
// Type 2), except StudyInstanceUID, which is required, and those said to be
// left out when empty.
type StudyRef struct {
	StudyInstanceUID                                                        string
	PatientName, PatientID, IssuerOfPatientID, PatientBirthDate, PatientSex string
	StudyDate, StudyTime, AccessionNumber, StudyID, ReferringPhysicianName  string
	// StudyDescription (0008,1030) is left out when empty (Type 3).
	StudyDescription string
	// OtherPatientIDs are written as Other Patient IDs Sequence (0010,1002),
	// left out when empty: the sender's patient ID and its issuer, say, as
	// the reconciled images keep them.
	OtherPatientIDs []OtherPatientID
	// SpecificCharacterSet is that of the values above: "" or "ISO_IR 192"
	// for Go strings (UTF-8), which is what reading a study yields. Any
	// other is refused unless every value is ASCII, which all character
	// sets share. The instance is written in UTF-8 ("ISO_IR 192") if any
	// of its text is not ASCII.
	SpecificCharacterSet string
}

// OtherPatientID is another identifier of the patient: an item of Other
// Patient IDs Sequence (0010,1002), of Type of Patient ID "TEXT".
type OtherPatientID struct {
	ID     string // Patient ID (0010,0020): required
	Issuer string // Issuer of Patient ID (0010,0021): left out when empty
}

// ReportOptions are what a report instance says besides its study and its
// content. The zero value is a report with no title, made now, with new UIDs.
type ReportOptions struct {
	// Title is the Document Title (0042,0010) of a PDF and the Series
	// Description (0008,103E) of either kind; "" for none.
	Title string
	// Time dates the instance (Instance Creation and Content Date and
	// Time); the zero Time is time.Now().
	Time time.Time
	// SeriesInstanceUID and SOPInstanceUID are those of the new series and
	// instance; NewUID makes those not given. ReportUIDs derives both from
	// the offer and the report, so that writing the same report of the
	// same offer again makes the same instance, not a second one.
	SeriesInstanceUID, SOPInstanceUID string
}

// Instance identifies an instance written.
type Instance struct {
	SOPClassUID, SOPInstanceUID, SeriesInstanceUID string
}

// NewUID returns a new UID: "2.25." and the decimal of a random (version 4)
// UUID, as PS3.5 B.2 derives UIDs from UUIDs. It needs no registered root.
func NewUID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
	return uuidUID(b, 4)
}

// Labels that keep the two UIDs ReportUIDs derives apart, and apart from
// any other name-based UUID: changing them changes every UID derived.
const (
	reportSeriesLabel   = "imageshare/report/series-instance-uid/1"
	reportInstanceLabel = "imageshare/report/sop-instance-uid/1"
)

// ReportUIDs derives the Series and SOP Instance UIDs of the report of an
// offer, the same each time for the same offer ID and report bytes, and
// different if either differs. Each is "2.25." and the decimal of a
// name-based UUID (PS3.5 B.2): the first 128 bits of SHA-256(label, 0x00,
// offerID, 0x00, SHA-256(report)), with the version 8 and variant bits of
// RFC 9562 (B.2 there derives a name-based UUID from SHA-256 this way).
func ReportUIDs(offerID string, report []byte) (seriesUID, sopUID string) {
	sum := sha256.Sum256(report)
	return nameUID(reportSeriesLabel, offerID, sum[:]), nameUID(reportInstanceLabel, offerID, sum[:])
}

// nameUID is the UID of the version 8 UUID named by label, id and sum.
func nameUID(label, id string, sum []byte) string {
	h := sha256.New()
	h.Write([]byte(label))
	h.Write([]byte{0})
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write(sum)
	return uuidUID([16]byte(h.Sum(nil)), 8)
}

// uuidUID sets the version and variant (RFC 9562: 0b10) bits of the UUID b
// and returns its UID: "2.25." and b as a decimal, at most 44 characters.
func uuidUID(b [16]byte, version byte) string {
	b[6] = b[6]&0x0F | version<<4
	b[8] = b[8]&0x3F | 0x80
	return "2.25." + new(big.Int).SetBytes(b[:]).String()
}

// newInstance is the instance of class that o says, with new UIDs for
// those it does not give.
func (o *ReportOptions) newInstance(class string) Instance {
	inst := Instance{SOPClassUID: class, SOPInstanceUID: o.SOPInstanceUID, SeriesInstanceUID: o.SeriesInstanceUID}
	if inst.SOPInstanceUID == "" {
		inst.SOPInstanceUID = NewUID()
	}
	if inst.SeriesInstanceUID == "" {
		inst.SeriesInstanceUID = NewUID()
	}
	if o.Time.IsZero() {
		o.Time = time.Now()
	}
	return inst
}

// EncapsulatedPDF writes to w a DICOM Part 10 file (explicit VR little
// endian) that holds pdf as an Encapsulated PDF instance (PS3.3 A.45.1) of
// the study s, in a new series, as o says.
func EncapsulatedPDF(w io.Writer, s StudyRef, pdf []byte, o ReportOptions) (Instance, error) {
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		return Instance{}, errors.New("reconcile: the document is not a PDF: it does not start with %PDF-")
	}
	if int64(len(pdf)) >= dataset.MaxLength {
		return Instance{}, fmt.Errorf("reconcile: the PDF is %d bytes, over the %d a DICOM element holds", len(pdf), dataset.MaxLength-1)
	}
	inst := o.newInstance(SOPClassEncapsulatedPDF)
	now, title := o.Time, o.Title
	b := newBuilder(s, inst, now)
	b.text(tagModality, "CS", "DOC")
	b.text(tagConversionType, "CS", "WSD") // workstation
	b.text(tagAcquisitionDateTime, "DT", now.Format("20060102150405.000000-0700"))
	b.text(tagBurnedInAnnotation, "CS", "YES") // a report names its patient
	b.add(tagConceptNameCodeSequence, dataset.ExplicitLE.AppendSequence(nil, dataset.Tag(tagConceptNameCodeSequence)))
	b.text(tagDocumentTitle, "ST", title)
	if title != "" {
		b.text(tagSeriesDescription, "LO", fitLO(title, true))
	}
	b.text(tagMIMETypeOfEncapsulatedDoc, "LO", "application/pdf")
	// (0042,0011) must have an even length: a PDF of odd length gets a
	// 0x00, and Encapsulated Document Length says where it ends.
	pad := []byte{}
	if len(pdf)%2 == 1 {
		pad = []byte{0}
	}
	b.add(tagEncapsulatedDocument, dataset.ExplicitLE.AppendHeader(nil, dataset.Tag(tagEncapsulatedDocument), "OB", uint32(len(pdf)+len(pad))), pdf, pad)
	b.add(tagEncapsulatedDocLength, dataset.ExplicitLE.ByteOrder.AppendUint32(dataset.ExplicitLE.AppendHeader(nil, dataset.Tag(tagEncapsulatedDocLength), "UL", 4), uint32(len(pdf))))
	if err := b.writeTo(w); err != nil {
		return Instance{}, err
	}
	return inst, nil
}

// BasicTextSR writes to w a DICOM Part 10 file (explicit VR little endian)
// that holds text as a Basic Text SR instance (PS3.3 A.35.1) of the study s,
// in a new series, as o says: a Diagnostic Imaging Report (18748-4, LN)
// whose one content item is a Finding (121071, DCM) of text. text must be
// valid UTF-8; it is marked complete and unverified, as this site has not
// verified it.
func BasicTextSR(w io.Writer, s StudyRef, text string, o ReportOptions) (Instance, error) {
	text = strings.TrimPrefix(text, "\uFEFF") // a byte order mark is no text
	if strings.TrimSpace(text) == "" {
		return Instance{}, errors.New("reconcile: the report text is empty")
	}
	inst := o.newInstance(SOPClassBasicTextSR)
	b := newBuilder(s, inst, o.Time)
	b.text(tagModality, "CS", "SR")
	if o.Title != "" {
		b.text(tagSeriesDescription, "LO", fitLO(o.Title, true))
	}
	b.add(tagReferencedPPSSequence, dataset.ExplicitLE.AppendSequence(nil, dataset.Tag(tagReferencedPPSSequence)))
	b.text(tagValueType, "CS", "CONTAINER")
	b.add(tagConceptNameCodeSequence, dataset.ExplicitLE.AppendSequence(nil, dataset.Tag(tagConceptNameCodeSequence),
		code("18748-4", "LN", "Diagnostic Imaging Report")))
	b.text(tagContinuityOfContent, "CS", "SEPARATE")
	b.add(tagPerformedProcedureCodeSeq, dataset.ExplicitLE.AppendSequence(nil, dataset.Tag(tagPerformedProcedureCodeSeq)))
	b.text(tagCompletionFlag, "CS", "COMPLETE")
	b.text(tagVerificationFlag, "CS", "UNVERIFIED")

	b.check(tagTextValue, "UT", text)
	var item []byte
	item = dataset.ExplicitLE.AppendText(item, dataset.Tag(tagRelationshipType), "CS", "CONTAINS")
	item = dataset.ExplicitLE.AppendText(item, dataset.Tag(tagValueType), "CS", "TEXT")
	item = dataset.ExplicitLE.AppendSequence(item, dataset.Tag(tagConceptNameCodeSequence), code("121071", "DCM", "Finding"))
	item = dataset.ExplicitLE.AppendText(item, dataset.Tag(tagTextValue), "UT", text)
	b.add(tagContentSequence, dataset.ExplicitLE.AppendSequence(nil, dataset.Tag(tagContentSequence), item))
	if err := b.writeTo(w); err != nil {
		return Instance{}, err
	}
	return inst, nil
}

// code is the item of a code sequence.
func code(value, scheme, meaning string) []byte {
	b := dataset.ExplicitLE.AppendText(nil, dataset.Tag(tagCodeValue), "SH", value)
	b = dataset.ExplicitLE.AppendText(b, dataset.Tag(tagCodingSchemeDesignator), "SH", scheme)
	return dataset.ExplicitLE.AppendText(b, dataset.Tag(tagCodeMeaning), "LO", meaning)
}

// builder collects the top-level elements of an instance, in any order,
// and checks their values.
type builder struct {
	inst     Instance
	charset  string // of the values given
	els      []built
	nonASCII bool // a value is not ASCII: the instance is written in UTF-8
	err      error
}

type built struct {
	tag   tag
	parts [][]byte
}

// newBuilder starts an instance of the study s: the modules all report
// instances share (SOP Common, Patient, General Study, General Equipment)
// and those of its new series and the instance's number and dates.
func newBuilder(s StudyRef, inst Instance, now time.Time) *builder {
	b := &builder{inst: inst, charset: strings.TrimSpace(s.SpecificCharacterSet)}
	if s.StudyInstanceUID == "" {
		b.err = valueError(tagStudyInstanceUID, "no value: the report cannot join the study")
	}
	b.text(tagSOPClassUID, "UI", inst.SOPClassUID)
	b.text(tagSOPInstanceUID, "UI", inst.SOPInstanceUID)
	b.text(tagInstanceCreationDate, "DA", now.Format("20060102"))
	b.text(tagInstanceCreationTime, "TM", now.Format("150405"))
	b.text(tagTimezoneOffsetFromUTC, "SH", now.Format("-0700"))

	b.text(tagPatientName, "PN", s.PatientName)
	b.text(tagPatientID, "LO", s.PatientID)
	if s.IssuerOfPatientID != "" {
		b.text(tagIssuerOfPatientID, "LO", s.IssuerOfPatientID)
	}
	b.text(tagPatientBirthDate, "DA", s.PatientBirthDate)
	b.text(tagPatientSex, "CS", s.PatientSex)
	if len(s.OtherPatientIDs) > 0 {
		b.add(tagOtherPatientIDsSeq, b.otherPatientIDs(s.OtherPatientIDs))
	}

	b.text(tagStudyInstanceUID, "UI", s.StudyInstanceUID)
	b.text(tagStudyDate, "DA", s.StudyDate)
	b.text(tagStudyTime, "TM", s.StudyTime)
	b.text(tagReferringPhysicianName, "PN", s.ReferringPhysicianName)
	b.text(tagStudyID, "SH", s.StudyID)
	b.text(tagAccessionNumber, "SH", s.AccessionNumber)
	if s.StudyDescription != "" {
		b.text(tagStudyDescription, "LO", s.StudyDescription)
	}

	b.text(tagManufacturer, "LO", manufacturer)
	b.text(tagSeriesInstanceUID, "UI", inst.SeriesInstanceUID)
	b.text(tagSeriesNumber, "IS", reportSeriesNumber)
	b.text(tagInstanceNumber, "IS", "1")
	b.text(tagContentDate, "DA", now.Format("20060102"))
	b.text(tagContentTime, "TM", now.Format("150405"))
	return b
}

// otherPatientIDs encodes Other Patient IDs Sequence (0010,1002), checking
// the values of its items.
func (b *builder) otherPatientIDs(ids []OtherPatientID) []byte {
	items := make([][]byte, len(ids))
	for i, id := range ids {
		in := fmt.Sprintf("%s item %d: ", tagOtherPatientIDsSeq.String(), i+1)
		if id.ID == "" && b.err == nil {
			b.err = &ValueError{Attribute: in + tagPatientID.String(), Err: errors.New("no value")}
		}
		b.checkIn(in, tagPatientID, "LO", id.ID)
		item := dataset.ExplicitLE.AppendText(nil, dataset.Tag(tagPatientID), "LO", id.ID)
		if id.Issuer != "" {
			b.checkIn(in, tagIssuerOfPatientID, "LO", id.Issuer)
			item = dataset.ExplicitLE.AppendText(item, dataset.Tag(tagIssuerOfPatientID), "LO", id.Issuer)
		}
		items[i] = dataset.ExplicitLE.AppendText(item, dataset.Tag(tagTypeOfPatientID), "CS", "TEXT")
	}
	return dataset.ExplicitLE.AppendSequence(nil, dataset.Tag(tagOtherPatientIDsSeq), items...)
}

// checkIn checks a value of an item, whose errors name the attribute after
// in, which says where the item is.
func (b *builder) checkIn(in string, t tag, vr, s string) {
	had := b.err
	b.check(t, vr, s)
	var ve *ValueError
	if had == nil && errors.As(b.err, &ve) {
		ve.Attribute = in + ve.Attribute
	}
}

// check checks a value that goes into the instance. The first error is
// the one writeTo returns.
func (b *builder) check(t tag, vr, s string) {
	var err error
	if !isASCII(s) {
		b.nonASCII = true
		if b.charset != "" && !isUTF8(b.charset) && b.charset != "ISO_IR 6" {
			err = valueError(t, "value is not ASCII, and the values are said to be in %s: give them as UTF-8", b.charset)
		}
	}
	if err == nil {
		err = checkValue(t, vr, s)
	}
	var ve *ValueError
	if errors.As(err, &ve) {
		ve.Attribute = t.String()
	}
	if b.err == nil {
		b.err = err
	}
}

// text adds a top-level element with a text value.
func (b *builder) text(t tag, vr, s string) {
	b.check(t, vr, s)
	b.add(t, dataset.ExplicitLE.AppendText(nil, dataset.Tag(t), vr, s))
}

// add adds a top-level element encoded in parts.
func (b *builder) add(t tag, parts ...[]byte) {
	b.els = append(b.els, built{t, parts})
}

// writeTo writes the preamble, the meta group and the data set.
func (b *builder) writeTo(w io.Writer) error {
	if b.err != nil {
		return b.err
	}
	if b.nonASCII {
		b.add(tagSpecificCharacterSet, dataset.ExplicitLE.AppendText(nil, dataset.Tag(tagSpecificCharacterSet), "CS", charsetUTF8))
	}
	slices.SortStableFunc(b.els, func(x, y built) int { return cmp.Compare(x.tag, y.tag) })

	var meta []byte
	meta = dataset.ExplicitLE.AppendHeader(meta, 0x00020001, "OB", 2)
	meta = append(meta, 0, 1)
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020002, "UI", b.inst.SOPClassUID)
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020003, "UI", b.inst.SOPInstanceUID)
	meta = dataset.ExplicitLE.AppendText(meta, dataset.Tag(tagTransferSyntaxUID), "UI", dataset.UIDExplicitVRLittleEndian)
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020012, "UI", implementationClassUID)
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020013, "SH", implementationVersionName)
	head := make([]byte, 128, 128+4+12+len(meta))
	head = append(head, "DICM"...)
	head = dataset.ExplicitLE.AppendHeader(head, dataset.Tag(tagMetaGroupLength), "UL", 4)
	head = dataset.ExplicitLE.ByteOrder.AppendUint32(head, uint32(len(meta)))
	head = append(head, meta...)

	s := &sink{w: w}
	s.Write(head)
	for _, e := range b.els {
		for _, p := range e.parts {
			s.Write(p)
		}
	}
	return s.err
}
