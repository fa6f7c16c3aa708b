package dimse

import (
	"bytes"
	"errors"
	"io"
	"testing"
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
