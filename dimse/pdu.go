package dimse

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// PDU types (PS3.8 9.3.1).
const (
	pduAssociateRQ = 0x01
	pduAssociateAC = 0x02
	pduAssociateRJ = 0x03
	pduDataTF      = 0x04
	pduReleaseRQ   = 0x05
	pduReleaseRP   = 0x06
	pduAbort       = 0x07
)

// Item types of A-ASSOCIATE-RQ and -AC (PS3.8 9.3.2, 9.3.3, D.3.3).
const (
	itemApplicationContext = 0x10
	itemPresentationRQ     = 0x20
	itemPresentationAC     = 0x21
	itemAbstractSyntax     = 0x30
	itemTransferSyntax     = 0x40
	itemUserInformation    = 0x50
	itemMaxLength          = 0x51
	itemImplementationUID  = 0x52
	itemRoleSelection      = 0x54
	itemImplementationName = 0x55
)

// ApplicationContext is the DICOM application context name (PS3.7 A.2.1),
// the only one there is.
const ApplicationContext = "1.2.840.10008.3.1.1.1"

// Limits on what is read from the wire.
const (
	// HardMaxPDU caps the length of any PDU, whatever was negotiated.
	HardMaxPDU = 16 << 20
	// MaxAssociatePDU caps an A-ASSOCIATE-RQ or -AC: 128 presentation
	// contexts with a dozen transfer syntaxes each stay far below it.
	MaxAssociatePDU = 1 << 20
	// DefaultMaxPDU is the maximum P-DATA-TF length this side announces
	// unless told otherwise.
	DefaultMaxPDU = 128 << 10
	// MinMaxPDU is the smallest maximum length accepted from a peer
	// or a caller; a PDV must hold a header and some data.
	MinMaxPDU = 1024
	// MaxCommandSet caps a command set; real ones are a few hundred bytes.
	MaxCommandSet = 64 << 10
)

// pduHeaderLen is the length of a PDU's type, reserved byte and length.
const pduHeaderLen = 6

// ErrMalformed is what every parse error of a PDU or a command set wraps.
var ErrMalformed = errors.New("malformed")

// PDUError says which PDU broke the protocol, and where.
type PDUError struct {
	PDU    string // "A-ASSOCIATE-RQ", …
	Offset int    // from the start of the PDU, its header included
	Err    error
}

func (e *PDUError) Error() string {
	return fmt.Sprintf("%s at offset %d: %v", e.PDU, e.Offset, e.Err)
}

func (e *PDUError) Unwrap() error { return e.Err }

func pduName(t byte) string {
	switch t {
	case pduAssociateRQ:
		return "A-ASSOCIATE-RQ"
	case pduAssociateAC:
		return "A-ASSOCIATE-AC"
	case pduAssociateRJ:
		return "A-ASSOCIATE-RJ"
	case pduDataTF:
		return "P-DATA-TF"
	case pduReleaseRQ:
		return "A-RELEASE-RQ"
	case pduReleaseRP:
		return "A-RELEASE-RP"
	case pduAbort:
		return "A-ABORT"
	}
	return fmt.Sprintf("PDU type %02XH", t)
}

func malformed(pdu string, off int, format string, args ...any) error {
	return &PDUError{PDU: pdu, Offset: off, Err: fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))}
}

// readPDU reads one PDU: its type and the bytes after its header, into buf
// if it is large enough. maxData caps a P-DATA-TF's length, and
// HardMaxPDU every other's (MaxAssociatePDU for associations).
func readPDU(r io.Reader, buf []byte, maxData uint32) (byte, []byte, error) {
	var h [pduHeaderLen]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		if err == io.ErrUnexpectedEOF {
			return 0, nil, &PDUError{PDU: "PDU header", Offset: 0, Err: fmt.Errorf("%w: truncated", ErrMalformed)}
		}
		return 0, nil, err
	}
	t, n := h[0], binary.BigEndian.Uint32(h[2:])
	name := pduName(t)
	var limit uint32
	switch t {
	case pduDataTF:
		limit = maxData
	case pduAssociateRQ, pduAssociateAC:
		limit = MaxAssociatePDU
	case pduAssociateRJ, pduReleaseRQ, pduReleaseRP, pduAbort:
		if n != 4 {
			return 0, nil, malformed(name, 2, "length %d, not 4", n)
		}
		limit = 4
	default:
		return 0, nil, malformed(name, 0, "unknown PDU type")
	}
	if limit > HardMaxPDU {
		limit = HardMaxPDU
	}
	if n > limit {
		return 0, nil, malformed(name, 2, "length %d exceeds maximum %d", n, limit)
	}
	if uint32(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	if k, err := io.ReadFull(r, buf); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return 0, nil, malformed(name, pduHeaderLen+k, "truncated: %d of %d bytes", k, n)
		}
		return 0, nil, fmt.Errorf("reading %s: %w", name, err)
	}
	return t, buf, nil
}

// appendPDUHeader appends a PDU header for a body of n bytes.
func appendPDUHeader(b []byte, t byte, n int) []byte {
	b = append(b, t, 0)
	return binary.BigEndian.AppendUint32(b, uint32(n))
}

// Presentation context results (PS3.8 Table 9-18).
const (
	Acceptance                 = 0
	UserRejection              = 1
	NoReason                   = 2
	AbstractSyntaxNotSupported = 3
	TransferSyntaxNotSupported = 4
)

// Context is a presentation context: proposed, with the transfer syntaxes
// in the order of preference; accepted, with the one chosen.
type Context struct {
	ID               byte
	AbstractSyntax   string
	TransferSyntaxes []string
	// Result is the acceptor's answer (Acceptance, UserRejection, …);
	// accepted, TransferSyntaxes holds the one transfer syntax chosen.
	Result byte
}

// TransferSyntax returns the transfer syntax of an accepted context.
func (c Context) TransferSyntax() string {
	if len(c.TransferSyntaxes) == 0 {
		return ""
	}
	return c.TransferSyntaxes[0]
}

// associate is an A-ASSOCIATE-RQ or -AC.
type associate struct {
	CalledAE, CallingAE   string
	ApplicationContext    string
	Contexts              []Context
	MaxLength             uint32 // 0: no limit (PS3.8 D.1.1)
	ImplementationUID     string
	ImplementationVersion string
	// Roles are SCP/SCU role selection sub-items (PS3.7 D.3.3.4).
	Roles []Role
}

// Role is an SCP/SCU role selection for a SOP class (PS3.7 D.3.3.4): the
// requestor proposes, the acceptor answers which roles it grants. Without
// one, the requestor is SCU only.
type Role struct {
	SOPClassUID string
	SCU, SCP    bool
}

// AE titles are at most 16 characters of the default repertoire, no
// backslash or control character (PS3.5 Table 6.2-1).
func checkAE(ae string) error {
	if s := strings.TrimSpace(ae); s == "" || len(ae) > 16 {
		return fmt.Errorf("AE title %q: not 1 to 16 characters", ae)
	}
	for _, c := range []byte(ae) {
		if c < 0x20 || c >= 0x7F || c == '\\' {
			return fmt.Errorf("AE title %q: character %q not allowed", ae, c)
		}
	}
	return nil
}

func appendAE(b []byte, ae string) []byte {
	var f [16]byte
	for i := range f {
		f[i] = ' '
	}
	copy(f[:], ae)
	return append(b, f[:]...)
}

// trimAE returns an AE title field without its padding: leading and
// trailing spaces are not significant (PS3.5 Table 6.2-1), and some
// implementations pad with NULs.
func trimAE(b []byte) string {
	return strings.Trim(string(b), " \x00")
}

// trimUID returns a UID from an item: PS3.8 Annex F allows a trailing NUL.
func trimUID(b []byte) string {
	return strings.TrimRight(string(b), "\x00 ")
}

func appendItem(b []byte, t byte, value string) []byte {
	b = append(b, t, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(len(value)))
	return append(b, value...)
}

// encode returns the PDU of t, pduAssociateRQ or pduAssociateAC.
func (a *associate) encode(t byte) []byte {
	b := appendPDUHeader(make([]byte, 0, 512), t, 0)
	b = append(b, 0, 1, 0, 0)
	b = appendAE(b, a.CalledAE)
	b = appendAE(b, a.CallingAE)
	b = append(b, make([]byte, 32)...)
	b = appendItem(b, itemApplicationContext, a.ApplicationContext)
	for _, c := range a.Contexts {
		start := len(b)
		if t == pduAssociateRQ {
			b = append(b, itemPresentationRQ, 0, 0, 0, c.ID, 0, 0, 0)
			b = appendItem(b, itemAbstractSyntax, c.AbstractSyntax)
			for _, ts := range c.TransferSyntaxes {
				b = appendItem(b, itemTransferSyntax, ts)
			}
		} else {
			b = append(b, itemPresentationAC, 0, 0, 0, c.ID, 0, c.Result, 0)
			// PS3.8 9.3.3.2: one transfer syntax sub-item, whose value
			// is not significant unless the context is accepted.
			b = appendItem(b, itemTransferSyntax, c.TransferSyntax())
		}
		binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start-4))
	}
	start := len(b)
	b = append(b, itemUserInformation, 0, 0, 0)
	b = append(b, itemMaxLength, 0, 0, 4)
	b = binary.BigEndian.AppendUint32(b, a.MaxLength)
	b = appendItem(b, itemImplementationUID, a.ImplementationUID)
	for _, r := range a.Roles {
		b = append(b, itemRoleSelection, 0)
		b = binary.BigEndian.AppendUint16(b, uint16(2+len(r.SOPClassUID)+2))
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.SOPClassUID)))
		b = append(b, r.SOPClassUID...)
		b = append(b, boolByte(r.SCU), boolByte(r.SCP))
	}
	if a.ImplementationVersion != "" {
		b = appendItem(b, itemImplementationName, a.ImplementationVersion)
	}
	binary.BigEndian.PutUint16(b[start+2:], uint16(len(b)-start-4))
	binary.BigEndian.PutUint32(b[2:], uint32(len(b)-pduHeaderLen))
	return b
}

func boolByte(v bool) byte {
	if v {
		return 1
	}
	return 0
}

// items walks the items in b, at offset off of a PDU named pdu, calling f
// with each one's type, value and the value's offset.
func items(pdu string, b []byte, off int, f func(t byte, v []byte, at int) error) error {
	for i := 0; i < len(b); {
		if len(b)-i < 4 {
			return malformed(pdu, off+i, "item header truncated: %d bytes left", len(b)-i)
		}
		t, n := b[i], int(binary.BigEndian.Uint16(b[i+2:]))
		if n > len(b)-i-4 {
			return malformed(pdu, off+i, "item %02XH length %d exceeds the %d bytes left", t, n, len(b)-i-4)
		}
		if err := f(t, b[i+4:i+4+n], off+i+4); err != nil {
			return err
		}
		i += 4 + n
	}
	return nil
}

// decodeAssociate parses the body of an A-ASSOCIATE-RQ or -AC (after the
// PDU header). Unknown items and sub-items are skipped, as PS3.8 9.3.1
// asks of unrecognised items.
func decodeAssociate(t byte, b []byte) (*associate, error) {
	name := pduName(t)
	if len(b) < 68 {
		return nil, malformed(name, pduHeaderLen, "fixed fields truncated: %d of 68 bytes", len(b))
	}
	a := &associate{
		CalledAE:  trimAE(b[4:20]),
		CallingAE: trimAE(b[20:36]),
	}
	if v := binary.BigEndian.Uint16(b); v&1 == 0 {
		return nil, &PDUError{PDU: name, Offset: pduHeaderLen, Err: fmt.Errorf("%w: protocol version %04XH", errProtocolVersion, v)}
	}
	seenUser := false
	err := items(name, b[68:], pduHeaderLen+68, func(it byte, v []byte, at int) error {
		switch it {
		case itemApplicationContext:
			a.ApplicationContext = trimUID(v)
		case itemPresentationRQ, itemPresentationAC:
			if (t == pduAssociateRQ) != (it == itemPresentationRQ) {
				return malformed(name, at-4, "presentation context item %02XH", it)
			}
			if len(v) < 4 {
				return malformed(name, at, "presentation context truncated")
			}
			c := Context{ID: v[0], Result: v[2]}
			if t == pduAssociateRQ {
				c.Result = 0
			}
			err := items(name, v[4:], at+4, func(st byte, sv []byte, sat int) error {
				switch st {
				case itemAbstractSyntax:
					if c.AbstractSyntax != "" {
						return malformed(name, sat-4, "second abstract syntax")
					}
					c.AbstractSyntax = trimUID(sv)
				case itemTransferSyntax:
					c.TransferSyntaxes = append(c.TransferSyntaxes, trimUID(sv))
				default:
					return malformed(name, sat-4, "presentation context sub-item %02XH", st)
				}
				return nil
			})
			if err != nil {
				return err
			}
			if t == pduAssociateRQ && (c.AbstractSyntax == "" || len(c.TransferSyntaxes) == 0) {
				return malformed(name, at-4, "presentation context %d without abstract or transfer syntax", c.ID)
			}
			if len(a.Contexts) >= 128 {
				return malformed(name, at-4, "more than 128 presentation contexts")
			}
			a.Contexts = append(a.Contexts, c)
		case itemUserInformation:
			seenUser = true
			return items(name, v, at, func(st byte, sv []byte, sat int) error {
				switch st {
				case itemMaxLength:
					if len(sv) != 4 {
						return malformed(name, sat-4, "maximum length sub-item of %d bytes", len(sv))
					}
					a.MaxLength = binary.BigEndian.Uint32(sv)
				case itemImplementationUID:
					a.ImplementationUID = trimUID(sv)
				case itemImplementationName:
					a.ImplementationVersion = strings.TrimRight(string(sv), " \x00")
				case itemRoleSelection:
					if len(sv) < 4 {
						return malformed(name, sat-4, "role selection sub-item of %d bytes", len(sv))
					}
					n := int(binary.BigEndian.Uint16(sv))
					if n != len(sv)-4 {
						return malformed(name, sat, "role selection UID length %d in a sub-item of %d bytes", n, len(sv))
					}
					if len(a.Roles) >= 128 {
						return malformed(name, sat-4, "more than 128 role selection sub-items")
					}
					a.Roles = append(a.Roles, Role{SOPClassUID: trimUID(sv[2 : 2+n]), SCU: sv[2+n] == 1, SCP: sv[3+n] == 1})
				}
				return nil
			})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if a.ApplicationContext == "" {
		return nil, malformed(name, pduHeaderLen+68, "no application context item")
	}
	if !seenUser {
		return nil, malformed(name, pduHeaderLen+68, "no user information item")
	}
	return a, nil
}

var errProtocolVersion = errors.New("protocol version not supported")

// A-ASSOCIATE-RJ results, sources and reasons (PS3.8 Table 9-21).
const (
	RejectPermanent = 1
	RejectTransient = 2

	SourceUser            = 1 // DICOM UL service-user
	SourceProviderACSE    = 2 // DICOM UL service-provider, ACSE related
	SourceProviderPresent = 3 // DICOM UL service-provider, presentation related

	ReasonNone                   = 1
	ReasonApplicationContext     = 2 // source 1
	ReasonCallingAENotRecognized = 3 // source 1
	ReasonCalledAENotRecognized  = 7 // source 1
	ReasonProtocolVersion        = 2 // source 2
	ReasonTemporaryCongestion    = 1 // source 3
	ReasonLocalLimitExceeded     = 2 // source 3
)

// RejectedError is an A-ASSOCIATE-RJ received.
type RejectedError struct {
	Result, Source, Reason byte
}

func (e *RejectedError) Error() string {
	kind := "permanently"
	if e.Result == RejectTransient {
		kind = "transiently"
	}
	return fmt.Sprintf("association rejected %s: %s", kind, rejectReason(e.Source, e.Reason))
}

func rejectReason(source, reason byte) string {
	switch {
	case source == SourceUser && reason == ReasonApplicationContext:
		return "application context name not supported"
	case source == SourceUser && reason == ReasonCallingAENotRecognized:
		return "calling AE title not recognized"
	case source == SourceUser && reason == ReasonCalledAENotRecognized:
		return "called AE title not recognized"
	case source == SourceProviderACSE && reason == ReasonProtocolVersion:
		return "protocol version not supported"
	case source == SourceProviderPresent && reason == ReasonTemporaryCongestion:
		return "temporary congestion"
	case source == SourceProviderPresent && reason == ReasonLocalLimitExceeded:
		return "local limit exceeded"
	}
	return fmt.Sprintf("source %d, reason %d", source, reason)
}

func encodeReject(result, source, reason byte) []byte {
	return append(appendPDUHeader(nil, pduAssociateRJ, 4), 0, result, source, reason)
}

// A-ABORT sources and reasons (PS3.8 Table 9-26).
const (
	AbortSourceUser     = 0
	AbortSourceProvider = 2

	AbortNotSpecified      = 0
	AbortUnrecognizedPDU   = 1
	AbortUnexpectedPDU     = 2
	AbortUnrecognizedParam = 4
	AbortUnexpectedParam   = 5
	AbortInvalidParam      = 6
)

// AbortedError is an A-ABORT received from the peer.
type AbortedError struct {
	Source, Reason byte
}

func (e *AbortedError) Error() string {
	who := "the peer"
	if e.Source == AbortSourceProvider {
		who = "the peer's upper layer"
	}
	return fmt.Sprintf("association aborted by %s (reason %d)", who, e.Reason)
}

func encodeAbort(source, reason byte) []byte {
	return append(appendPDUHeader(nil, pduAbort, 4), 0, 0, source, reason)
}

func encodeRelease(t byte) []byte {
	return append(appendPDUHeader(nil, t, 4), 0, 0, 0, 0)
}
