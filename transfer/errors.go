package transfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"
)

// Errors a receiver can get from a sender, and the codes they travel as.
// They are mapped in one place, here.
var (
	ErrUnauthorized = errors.New("the sender refused the card: it does not match this offer")
	ErrUnknownOffer = errors.New("the sender does not have this offer")
	ErrExpired      = errors.New("the offer has expired")
	ErrRevoked      = errors.New("the offer was revoked by the sending hospital")
	ErrUsedUp       = errors.New("the offer has reached its download limit")
	ErrBadRequest   = errors.New("the sender could not understand the request")
	ErrBusy         = errors.New("the sender is busy")
	ErrUnavailable  = errors.New("the sender cannot read this offer's data")
	ErrInternal     = errors.New("the sender failed")
	ErrLocked       = errors.New("the offer is locked after too many failed attempts to open it; the sending hospital can unlock it (sender unlock) or send a new card")
)

// ErrorCode is the code in an ERROR frame.
type ErrorCode uint16

// Error codes on the wire.
const (
	CodeUnauthorized ErrorCode = 1
	CodeUnknownOffer ErrorCode = 2
	CodeExpired      ErrorCode = 3
	CodeRevoked      ErrorCode = 4
	CodeUsedUp       ErrorCode = 5
	CodeBadRequest   ErrorCode = 6
	CodeBusy         ErrorCode = 7
	CodeUnavailable  ErrorCode = 8
	CodeInternal     ErrorCode = 9
	CodeLocked       ErrorCode = 10
)

var codeErrors = map[ErrorCode]error{
	CodeUnauthorized: ErrUnauthorized,
	CodeUnknownOffer: ErrUnknownOffer,
	CodeExpired:      ErrExpired,
	CodeRevoked:      ErrRevoked,
	CodeUsedUp:       ErrUsedUp,
	CodeBadRequest:   ErrBadRequest,
	CodeBusy:         ErrBusy,
	CodeUnavailable:  ErrUnavailable,
	CodeInternal:     ErrInternal,
	CodeLocked:       ErrLocked,
}

// RemoteError is an ERROR frame received from the sender.
type RemoteError struct {
	Code    ErrorCode
	Message string
}

func (e *RemoteError) Error() string {
	base := codeErrors[e.Code]
	if base == nil {
		return fmt.Sprintf("sender error %d: %s", e.Code, e.Message)
	}
	if e.Message == "" {
		return base.Error()
	}
	return fmt.Sprintf("%v (%s)", base, e.Message)
}

// Unwrap returns the sentinel for the code, so callers use errors.Is.
func (e *RemoteError) Unwrap() error { return codeErrors[e.Code] }

// cutUTF8 shortens s to at most n bytes without splitting a character.
func cutUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func encodeError(code ErrorCode, msg string) []byte {
	msg = cutUTF8(msg, MaxErrorMessage)
	return append(binary.BigEndian.AppendUint16(nil, uint16(code)), msg...)
}

func decodeError(p []byte) *RemoteError {
	if len(p) < 2 {
		return &RemoteError{Code: CodeInternal, Message: "malformed error frame"}
	}
	s := cutUTF8(string(p[2:]), MaxErrorMessage)
	if !utf8.ValidString(s) {
		s = "(unreadable message)"
	}
	return &RemoteError{Code: ErrorCode(binary.BigEndian.Uint16(p)), Message: sanitize(s)}
}

// sanitize keeps a remote message from writing control characters to a
// terminal.
func sanitize(s string) string {
	out := []rune{}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			r = '?'
		}
		out = append(out, r)
	}
	return string(out)
}
