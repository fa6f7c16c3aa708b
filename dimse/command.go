package dimse

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Command fields (PS3.7 E.1).
const (
	CStoreRQ  = 0x0001
	CStoreRSP = 0x8001
	CGetRQ    = 0x0010
	CGetRSP   = 0x8010
	CFindRQ   = 0x0020
	CFindRSP  = 0x8020
	CMoveRQ   = 0x0021
	CMoveRSP  = 0x8021
	CEchoRQ   = 0x0030
	CEchoRSP  = 0x8030
	CCancelRQ = 0x0FFF
)

// Priorities (PS3.7 E.1).
const (
	PriorityMedium = 0x0000
	PriorityHigh   = 0x0001
	PriorityLow    = 0x0002
)

// Statuses (PS3.7 C, and PS3.4 B.2.3 for C-STORE).
const (
	StatusSuccess               = 0x0000
	StatusOutOfResources        = 0xA700
	StatusDataSetMismatch       = 0xA900
	StatusCannotUnderstand      = 0xC000
	StatusSOPClassNotSupported  = 0x0122
	StatusProcessingFailure     = 0x0110
	StatusUnrecognizedOperation = 0x0211
	StatusDuplicateInstance     = 0x0111
	// Query/retrieve (PS3.4 C.4).
	StatusPending             = 0xFF00
	StatusPendingWarning      = 0xFF01 // C-FIND: optional keys not supported
	StatusCancel              = 0xFE00
	StatusSubOpsFailed        = 0xB000 // C-MOVE, C-GET: warning, some sub-operations failed
	StatusMoveDestUnknown     = 0xA801
	StatusUnableToCalcMatches = 0xA701
	StatusUnableToSubOps      = 0xA702
	StatusIdentifierMismatch  = 0xA900
)

// noDataSet is the command data set type of a message without one (PS3.7
// E.1: any other value means there is one).
const noDataSet = 0x0101

// Tags of the command set (group 0000), as (element) numbers.
const (
	cmdGroupLength          = 0x0000
	cmdAffectedSOPClass     = 0x0002
	cmdField                = 0x0100
	cmdMessageID            = 0x0110
	cmdMessageIDRespondedTo = 0x0120
	cmdMoveDestination      = 0x0600
	cmdPriority             = 0x0700
	cmdDataSetType          = 0x0800
	cmdStatus               = 0x0900
	cmdErrorComment         = 0x0902
	cmdAffectedSOPInstance  = 0x1000
	cmdRemaining            = 0x1020
	cmdCompleted            = 0x1021
	cmdFailed               = 0x1022
	cmdWarning              = 0x1023
	cmdMoveOriginatorAE     = 0x1030
	cmdMoveOriginatorID     = 0x1031
)

// Command is a DIMSE command set, as far as C-ECHO, C-STORE, C-FIND,
// C-MOVE, C-GET and C-CANCEL use it.
type Command struct {
	Field                  uint16
	MessageID              uint16 // of a request
	MessageIDRespondedTo   uint16 // of a response
	AffectedSOPClassUID    string
	AffectedSOPInstanceUID string
	Priority               uint16
	HasDataSet             bool
	Status                 uint16 // of a response
	ErrorComment           string
	MoveOriginatorAE       string
	MoveOriginatorID       uint16
	MoveDestination        string // of a C-MOVE-RQ
	// SubOps counts the sub-operations of a C-MOVE or C-GET response,
	// (0000,1020) to (0000,1023), when HasSubOps.
	SubOps    SubOps
	HasSubOps bool
}

// SubOps counts the C-STORE sub-operations of a C-MOVE or C-GET.
type SubOps struct {
	Remaining uint16 `json:"remaining"`
	Completed uint16 `json:"completed"`
	Failed    uint16 `json:"failed"`
	Warning   uint16 `json:"warning"`
}

func (c *Command) isResponse() bool { return c.Field&0x8000 != 0 }

// respondsTo reports whether the command carries the message ID responded
// to rather than a message ID of its own: a response, or a C-CANCEL-RQ.
func (c *Command) respondsTo() bool { return c.isResponse() || c.Field == CCancelRQ }

// hasPriority reports whether the command is a request with a priority.
func (c *Command) hasPriority() bool {
	switch c.Field {
	case CStoreRQ, CFindRQ, CMoveRQ, CGetRQ:
		return true
	}
	return false
}

// Encode returns the command set in implicit VR little endian, led by its
// group length.
func (c *Command) Encode() []byte {
	b := make([]byte, 12, 256)
	str := func(el uint16, s string, pad byte) {
		if s == "" {
			return
		}
		n := len(s) + len(s)%2
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, el)
		b = binary.LittleEndian.AppendUint32(b, uint32(n))
		b = append(b, s...)
		if len(s)%2 == 1 {
			b = append(b, pad)
		}
	}
	us := func(el, v uint16) {
		b = binary.LittleEndian.AppendUint16(b, 0)
		b = binary.LittleEndian.AppendUint16(b, el)
		b = binary.LittleEndian.AppendUint32(b, 2)
		b = binary.LittleEndian.AppendUint16(b, v)
	}
	str(cmdAffectedSOPClass, c.AffectedSOPClassUID, 0)
	us(cmdField, c.Field)
	if c.respondsTo() {
		us(cmdMessageIDRespondedTo, c.MessageIDRespondedTo)
	} else {
		us(cmdMessageID, c.MessageID)
	}
	str(cmdMoveDestination, c.MoveDestination, ' ')
	if c.hasPriority() {
		us(cmdPriority, c.Priority)
	}
	if c.HasDataSet {
		us(cmdDataSetType, 0x0000)
	} else {
		us(cmdDataSetType, noDataSet)
	}
	if c.isResponse() {
		us(cmdStatus, c.Status)
	}
	str(cmdErrorComment, c.ErrorComment, ' ')
	str(cmdAffectedSOPInstance, c.AffectedSOPInstanceUID, 0)
	if c.HasSubOps {
		us(cmdRemaining, c.SubOps.Remaining)
		us(cmdCompleted, c.SubOps.Completed)
		us(cmdFailed, c.SubOps.Failed)
		us(cmdWarning, c.SubOps.Warning)
	}
	str(cmdMoveOriginatorAE, c.MoveOriginatorAE, ' ')
	if c.MoveOriginatorAE != "" {
		us(cmdMoveOriginatorID, c.MoveOriginatorID)
	}
	// (0000,0000) UL: the length of the rest of the group.
	binary.LittleEndian.PutUint32(b[4:], 4)
	binary.LittleEndian.PutUint32(b[8:], uint32(len(b)-12))
	return b
}

// DecodeCommand parses a command set: implicit VR little endian elements of
// group 0000 in ascending order, the first (0000,0000) whose value is the
// length of the rest, each length inside the set.
func DecodeCommand(b []byte) (*Command, error) {
	bad := func(off int, format string, args ...any) error {
		return fmt.Errorf("command set at offset %d: %w: %s", off, ErrMalformed, fmt.Sprintf(format, args...))
	}
	if len(b) > MaxCommandSet {
		return nil, bad(0, "length %d exceeds maximum %d", len(b), MaxCommandSet)
	}
	if len(b) < 12 {
		return nil, bad(0, "%d bytes, too short for a group length", len(b))
	}
	if g, e, n := binary.LittleEndian.Uint16(b), binary.LittleEndian.Uint16(b[2:]), binary.LittleEndian.Uint32(b[4:]); g != 0 || e != 0 || n != 4 {
		return nil, bad(0, "first element (%04X,%04X) of length %d, not the group length (0000,0000) of 4 bytes", g, e, n)
	}
	if gl := binary.LittleEndian.Uint32(b[8:]); uint64(gl) != uint64(len(b)-12) {
		return nil, bad(8, "group length %d, but %d bytes follow it", gl, len(b)-12)
	}
	c := &Command{}
	have := map[uint16]bool{}
	last := -1
	for i := 12; i < len(b); {
		if len(b)-i < 8 {
			return nil, bad(i, "element header truncated")
		}
		g, el, n := binary.LittleEndian.Uint16(b[i:]), binary.LittleEndian.Uint16(b[i+2:]), binary.LittleEndian.Uint32(b[i+4:])
		if g != 0 {
			return nil, bad(i, "element (%04X,%04X) outside group 0000", g, el)
		}
		if int(el) <= last {
			return nil, bad(i, "element (0000,%04X) out of order", el)
		}
		last = int(el)
		if uint64(n) > uint64(len(b)-i-8) {
			return nil, bad(i, "element (0000,%04X) length %d exceeds the %d bytes left", el, n, len(b)-i-8)
		}
		v := b[i+8 : i+8+int(n)]
		us := func(p *uint16) error {
			if len(v) != 2 {
				return bad(i, "element (0000,%04X) of %d bytes, not 2", el, len(v))
			}
			*p = binary.LittleEndian.Uint16(v)
			return nil
		}
		var err error
		switch el {
		case cmdAffectedSOPClass:
			c.AffectedSOPClassUID = strings.TrimRight(string(v), "\x00 ")
		case cmdField:
			err = us(&c.Field)
		case cmdMessageID:
			err = us(&c.MessageID)
		case cmdMessageIDRespondedTo:
			err = us(&c.MessageIDRespondedTo)
		case cmdPriority:
			err = us(&c.Priority)
		case cmdDataSetType:
			var t uint16
			err = us(&t)
			c.HasDataSet = t != noDataSet
		case cmdStatus:
			err = us(&c.Status)
		case cmdErrorComment:
			c.ErrorComment = strings.TrimRight(string(v), "\x00 ")
		case cmdAffectedSOPInstance:
			c.AffectedSOPInstanceUID = strings.TrimRight(string(v), "\x00 ")
		case cmdMoveOriginatorAE:
			c.MoveOriginatorAE = strings.Trim(string(v), "\x00 ")
		case cmdMoveOriginatorID:
			err = us(&c.MoveOriginatorID)
		case cmdMoveDestination:
			c.MoveDestination = strings.Trim(string(v), "\x00 ")
		case cmdRemaining:
			c.HasSubOps = true
			err = us(&c.SubOps.Remaining)
		case cmdCompleted:
			c.HasSubOps = true
			err = us(&c.SubOps.Completed)
		case cmdFailed:
			c.HasSubOps = true
			err = us(&c.SubOps.Failed)
		case cmdWarning:
			c.HasSubOps = true
			err = us(&c.SubOps.Warning)
		}
		if err != nil {
			return nil, err
		}
		have[el] = true
		i += 8 + int(n)
	}
	if !have[cmdField] || !have[cmdDataSetType] {
		return nil, bad(0, "no command field (0000,0100) or command data set type (0000,0800)")
	}
	return c, nil
}
