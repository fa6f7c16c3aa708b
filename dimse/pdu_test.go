package dimse

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"reflect"
	"testing"
)

func sampleRQ() *associate {
	return &associate{
		CalledAE:           "IMAGESHARE",
		CallingAE:          "MODALITY",
		ApplicationContext: ApplicationContext,
		Contexts: []Context{
			{ID: 1, AbstractSyntax: Verification, TransferSyntaxes: []string{ImplicitVRLittleEndian}},
			{ID: 3, AbstractSyntax: StorageSOPClasses[5], TransferSyntaxes: []string{JPEGLSLossless, ExplicitVRLittleEndian}},
		},
		MaxLength:             16384,
		ImplementationUID:     ImplementationClassUID,
		ImplementationVersion: ImplementationVersionName,
		Roles:                 []Role{{SOPClassUID: StorageSOPClasses[5], SCP: true}, {SOPClassUID: "1.2.3", SCU: true, SCP: true}},
	}
}

func TestAssociateRoundTrip(t *testing.T) {
	for _, typ := range []byte{pduAssociateRQ, pduAssociateAC} {
		a := sampleRQ()
		if typ == pduAssociateAC {
			a.Contexts = []Context{
				{ID: 1, AbstractSyntax: "", TransferSyntaxes: []string{ImplicitVRLittleEndian}},
				{ID: 3, Result: TransferSyntaxNotSupported, TransferSyntaxes: []string{JPEGLSLossless}},
			}
		}
		b := a.encode(typ)
		// An unknown user information sub-item is skipped.
		b = addUserSubItem(b, 0x58, []byte{1, 2, 3})
		gt, body, err := readPDU(bytes.NewReader(b), nil, DefaultMaxPDU)
		if err != nil || gt != typ {
			t.Fatalf("%s: %v", pduName(typ), err)
		}
		got, err := decodeAssociate(gt, body)
		if err != nil {
			t.Fatalf("%s: %v", pduName(typ), err)
		}
		if !reflect.DeepEqual(got, a) {
			t.Errorf("%s: decoded %+v, want %+v", pduName(typ), got, a)
		}
	}
}

// addUserSubItem appends a sub-item to the user information item, the
// last of an encoded A-ASSOCIATE-RQ or -AC.
func addUserSubItem(b []byte, t byte, v []byte) []byte {
	i := bytes.LastIndexByte(b, itemUserInformation) // the item's type: no UID holds 0x50
	b = append(b, t, 0, 0, byte(len(v)))
	b = append(b, v...)
	n := int(b[i+2])<<8 | int(b[i+3])
	n += 4 + len(v)
	b[i+2], b[i+3] = byte(n>>8), byte(n)
	m := len(b) - pduHeaderLen
	b[2], b[3], b[4], b[5] = byte(m>>24), byte(m>>16), byte(m>>8), byte(m)
	return b
}

func TestReadPDUTruncatedAtEveryOffset(t *testing.T) {
	b := sampleRQ().encode(pduAssociateRQ)
	for n := 0; n < len(b); n++ {
		_, _, err := readPDU(bytes.NewReader(b[:n]), nil, DefaultMaxPDU)
		if n == 0 {
			if err != io.EOF {
				t.Errorf("empty: %v, want EOF", err)
			}
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%d of %d bytes: %v, want malformed", n, len(b), err)
		}
	}
}

// pipe returns two ends of an association over net.Pipe, with context 1
// accepted and the maximum PDU length max on both.
func pipe(t *testing.T, max uint32) (*Assoc, *Assoc) {
	c1, c2 := net.Pipe()
	t.Cleanup(func() { c1.Close(); c2.Close() })
	mk := func(c net.Conn) *Assoc {
		return &Assoc{conn: c, br: bufio.NewReader(c), maxSend: max, maxRecv: max,
			contexts: map[byte]Context{1: {ID: 1, AbstractSyntax: Verification, TransferSyntaxes: []string{ImplicitVRLittleEndian}}}}
	}
	return mk(c1), mk(c2)
}

func TestFragmentation(t *testing.T) {
	const max = MinMaxPDU
	frag := max - 6
	for _, n := range []int{0, 1, frag - 1, frag, frag + 1, 3 * frag, 3*frag + 7, 100000} {
		a, b := pipe(t, max)
		data := make([]byte, n)
		for i := range data {
			data[i] = byte(i * 7)
		}
		errc := make(chan error, 1)
		go func() {
			cmd := &Command{Field: CStoreRQ, MessageID: 9, AffectedSOPClassUID: "1.2", AffectedSOPInstanceUID: "1.2.3", HasDataSet: true}
			if err := a.sendCommand(1, cmd); err != nil {
				errc <- err
				return
			}
			w := a.newWriter(1, false)
			if _, err := w.ReadFrom(bytes.NewReader(data)); err != nil {
				errc <- err
				return
			}
			errc <- w.Close()
		}()
		m, err := b.readMessage()
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		got, err := io.ReadAll(m.Data)
		if err != nil {
			t.Fatalf("%d bytes: %v", n, err)
		}
		if err := <-errc; err != nil {
			t.Fatalf("%d bytes: sending: %v", n, err)
		}
		if !bytes.Equal(got, data) || m.Command.AffectedSOPInstanceUID != "1.2.3" {
			t.Errorf("%d bytes: got %d bytes back", n, len(got))
		}
	}
}

func TestCommandRoundTrip(t *testing.T) {
	for _, c := range []*Command{
		{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: Verification},
		{Field: CEchoRSP, MessageIDRespondedTo: 1, AffectedSOPClassUID: Verification, Status: StatusSuccess},
		{Field: CStoreRQ, MessageID: 65535, AffectedSOPClassUID: "1.2.840.10008.5.1.4.1.1.2", AffectedSOPInstanceUID: "1.2.3.4.5", Priority: PriorityLow, HasDataSet: true, MoveOriginatorAE: "PACS", MoveOriginatorID: 7},
		{Field: CStoreRSP, MessageIDRespondedTo: 2, AffectedSOPClassUID: "1.2", AffectedSOPInstanceUID: "1.2.3", Status: StatusOutOfResources, ErrorComment: "disk full"},
		{Field: CFindRQ, MessageID: 3, AffectedSOPClassUID: StudyRootFind, HasDataSet: true},
		{Field: CFindRSP, MessageIDRespondedTo: 3, AffectedSOPClassUID: StudyRootFind, HasDataSet: true, Status: StatusPending},
		{Field: CMoveRQ, MessageID: 4, AffectedSOPClassUID: StudyRootMove, MoveDestination: "IMAGESHARE", Priority: PriorityHigh, HasDataSet: true},
		{Field: CMoveRSP, MessageIDRespondedTo: 4, AffectedSOPClassUID: StudyRootMove, Status: StatusSubOpsFailed, HasSubOps: true, SubOps: SubOps{Remaining: 1, Completed: 2, Failed: 3, Warning: 4}},
		{Field: CGetRQ, MessageID: 5, AffectedSOPClassUID: StudyRootGet, HasDataSet: true},
		{Field: CCancelRQ, MessageIDRespondedTo: 5},
	} {
		got, err := DecodeCommand(c.Encode())
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if !reflect.DeepEqual(got, c) {
			t.Errorf("decoded %+v, want %+v", got, c)
		}
	}
}

func TestCommandRefused(t *testing.T) {
	good := (&Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: Verification}).Encode()
	mod := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":            nil,
		"group length +1":  mod(func(b []byte) []byte { b[8]++; return b }),
		"group length -1":  mod(func(b []byte) []byte { b[8]--; return b }),
		"truncated":        good[:len(good)-1],
		"no group length":  good[12:],
		"other group":      mod(func(b []byte) []byte { b[12] = 8; return b }),
		"element too long": mod(func(b []byte) []byte { b[16] = 0xFF; return b }),
		"beyond the cap":   make([]byte, MaxCommandSet+1),
		"out of order":     append(mod(func(b []byte) []byte { b[8] += 10; return b }), 0, 0, 0, 1, 2, 0, 0, 0, 1, 0),
	} {
		if _, err := DecodeCommand(b); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want malformed", name, err)
		}
	}
}
