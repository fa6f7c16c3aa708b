package dimse

import (
	"bytes"
	"errors"
	"io"
	"testing"

	"imageshare/internal/dataset"
)

// FuzzPDU feeds the PDU reader and the association parser: every input
// is read or refused with an error, and what parses encodes to what
// parses the same.
func FuzzPDU(f *testing.F) {
	rq := sampleRQ()
	f.Add(rq.encode(pduAssociateRQ))
	f.Add(addUserSubItem(rq.encode(pduAssociateAC), 0x54, []byte{0, 2, 'x', 'y', 1, 0}))
	f.Add(encodeReject(RejectPermanent, SourceUser, ReasonCallingAENotRecognized))
	f.Add(encodeAbort(AbortSourceProvider, AbortInvalidParam))
	f.Add(encodeRelease(pduReleaseRQ))
	f.Add([]byte{pduDataTF, 0, 0, 0, 0, 8, 0, 0, 0, 4, 1, 3, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, body, err := readPDU(bytes.NewReader(b), nil, MinMaxPDU)
		if err != nil {
			if err != io.EOF && !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		if len(body) > MaxAssociatePDU {
			t.Fatalf("%d bytes read past the cap", len(body))
		}
		if typ != pduAssociateRQ && typ != pduAssociateAC {
			return
		}
		a, err := decodeAssociate(typ, body)
		if err != nil {
			return
		}
		for _, s := range []string{a.CalledAE, a.CallingAE} {
			if len(s) > 16 {
				t.Fatalf("AE title %q longer than 16", s)
			}
		}
		_, body2, err := readPDU(bytes.NewReader(a.encode(typ)), nil, MinMaxPDU)
		if err != nil {
			t.Fatalf("re-encoded: %v", err)
		}
		if _, err := decodeAssociate(typ, body2); err != nil {
			t.Fatalf("re-encoded: %v", err)
		}
	})
}

// FuzzCommand feeds the command set parser: every input is parsed or
// refused as malformed, and what parses survives a round trip.
func FuzzCommand(f *testing.F) {
	f.Add((&Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: Verification}).Encode())
	f.Add((&Command{Field: CStoreRQ, MessageID: 2, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2", AffectedSOPInstanceUID: "1.2.3", HasDataSet: true, MoveOriginatorAE: "PACS", MoveOriginatorID: 3}).Encode())
	f.Add((&Command{Field: CStoreRSP, MessageIDRespondedTo: 2, Status: StatusCannotUnderstand, ErrorComment: "no"}).Encode())
	f.Add((&Command{Field: CMoveRQ, MessageID: 4, AffectedSOPClassUID: StudyRootMove, MoveDestination: "IMAGESHARE", HasDataSet: true}).Encode())
	f.Add((&Command{Field: CGetRSP, MessageIDRespondedTo: 4, Status: StatusPending, HasSubOps: true, SubOps: SubOps{Remaining: 1, Completed: 2}}).Encode())
	f.Add((&Command{Field: CCancelRQ, MessageIDRespondedTo: 4}).Encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := DecodeCommand(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error not marked malformed: %v", err)
			}
			return
		}
		if _, err := DecodeCommand(c.Encode()); err != nil {
			t.Fatalf("re-encoded %+v: %v", c, err)
		}
	})
}

// FuzzIdentifier feeds the reader of C-FIND identifiers: every input is
// read or refused as not well formed, in both little endian syntaxes.
func FuzzIdentifier(f *testing.F) {
	for _, ts := range []dataset.Syntax{dataset.ExplicitLE, dataset.ImplicitLE} {
		for _, q := range []*Query{
			{Level: StudyLevel, PatientID: "P1", StudyDate: "20200101-20201231"},
			{Level: SeriesLevel, StudyInstanceUID: "1.2.3"},
			{Level: ImageLevel, StudyInstanceUID: "1.2.3", SeriesInstanceUID: "1.2.3.4"},
		} {
			b, err := q.identifier(ts)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, ts.Implicit)
		}
		// A sequence of undefined length, with an item of undefined length.
		b := ts.AppendText(nil, tagQueryRetrieveLevel, "CS", "STUDY")
		b = ts.AppendHeader(b, dataset.NewTag(0x0008, 0x1110), "SQ", dataset.UndefinedLength)
		b = ts.AppendHeader(b, dataset.ItemTag, "", dataset.UndefinedLength)
		b = ts.AppendText(b, dataset.NewTag(0x0008, 0x1150), "UI", "1.2")
		b = ts.AppendHeader(b, dataset.ItemDelimitationTag, "", 0)
		b = ts.AppendHeader(b, dataset.SequenceDelimitationTag, "", 0)
		b = ts.AppendText(b, tagStudyInstanceUID, "UI", "1.2.3")
		f.Add(b, ts.Implicit)
	}
	f.Fuzz(func(t *testing.T, b []byte, implicit bool) {
		ts := dataset.ExplicitLE
		if implicit {
			ts = dataset.ImplicitLE
		}
		vals, err := parseIdentifier(b, ts)
		if err != nil {
			if !errors.Is(err, ErrIdentifier) {
				t.Fatalf("error not marked: %v", err)
			}
			return
		}
		for _, l := range []Level{StudyLevel, SeriesLevel, ImageLevel} {
			if _, err := matchOf(l, vals); err != nil && !errors.Is(err, ErrIdentifier) {
				t.Fatalf("match error not marked: %v", err)
			}
		}
	})
}
