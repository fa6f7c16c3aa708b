package reconcile

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"imageshare/internal/dataset"
)

// Errors that Coerce wraps, with where in the file it found them.
var (
	// ErrNotPart10: no 128-byte preamble and "DICM" prefix, or no meta
	// group after them. Files written without them (ACR-NEMA style) are
	// refused rather than guessed at.
	ErrNotPart10 = errors.New("reconcile: not a DICOM Part 10 file")
	// ErrTruncated: the data ends inside an element, a sequence or the
	// deflated stream.
	ErrTruncated = errors.New("reconcile: truncated")
	// ErrMalformed: the structure cannot be read: an unknown VR, an item
	// outside a sequence, elements out of order where Coerce changes them,
	// a corrupt deflated stream.
	ErrMalformed = errors.New("reconcile: malformed")
)

// A ValueError is a value that cannot be written as the attribute it is
// for: too long, not in the file's character set, or with characters the
// value representation does not allow. The value itself is not in the
// message, as it may identify a patient.
type ValueError struct {
	Attribute string // e.g. "(0010,0020) Patient ID"
	Err       error
}

func (e *ValueError) Error() string { return "reconcile: " + e.Attribute + ": " + e.Err.Error() }

func (e *ValueError) Unwrap() error { return e.Err }

func valueError(t tag, format string, args ...any) error {
	return &ValueError{Attribute: t.String(), Err: fmt.Errorf(format, args...)}
}

// maxChars is the maximum length of a value of each text VR this package
// writes (PS3.5 6.2), in characters; PN counts each component group.
var maxChars = map[string]int{
	"AE": 16, "CS": 16, "DA": 8, "DS": 16, "DT": 26, "IS": 12, "LO": 64,
	"PN": 64, "SH": 16, "ST": 1024, "TM": 16, "UI": 64,
}

// checkValue checks that s can be written as one value of vr: a valid UTF-8
// string (ASCII is a subset) of the characters and length the VR allows.
// Whether the file's character set can carry it is checkCharset's question.
func checkValue(t tag, vr, s string) error {
	if !utf8.ValidString(s) {
		return valueError(t, "value is not valid UTF-8")
	}
	text := vr == "ST" || vr == "LT" || vr == "UT"
	for _, r := range s {
		switch {
		case r == '\\' && !text:
			// The value delimiter: a second value, where one is allowed.
			return valueError(t, "value contains a backslash, which separates values")
		case r < 0x20 && !(text && (r == '\r' || r == '\n' || r == '\f' || r == '\t')), r >= 0x7F && r < 0xA0:
			return valueError(t, "value contains control character %U", r)
		}
	}
	switch vr {
	case "UT":
		if len(s) > dataset.MaxLength {
			return valueError(t, "value too long (%d > %d bytes)", len(s), dataset.MaxLength)
		}
		return nil
	case "PN":
		groups := strings.Split(s, "=")
		if len(groups) > 3 {
			return valueError(t, "%d component groups, at most 3 (alphabetic=ideographic=phonetic)", len(groups))
		}
		for _, g := range groups {
			if n := utf8.RuneCountInString(g); n > maxChars["PN"] {
				return valueError(t, "value too long (%d > %d characters in a component group)", n, maxChars["PN"])
			}
			if c := strings.Count(g, "^"); c > 4 {
				return valueError(t, "%d components, at most 5 (family^given^middle^prefix^suffix)", c+1)
			}
		}
		return nil
	case "UI":
		for _, c := range strings.Split(s, ".") {
			if c == "" || strings.Trim(c, "0123456789") != "" || len(c) > 1 && c[0] == '0' {
				return valueError(t, "not a UID: digits in components separated by dots, without leading zeros")
			}
		}
	case "CS":
		if strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _") != "" {
			return valueError(t, "a code string holds only A-Z, 0-9, space and underscore")
		}
	}
	if max, ok := maxChars[vr]; ok {
		if n := utf8.RuneCountInString(s); n > max {
			return valueError(t, "value too long (%d > %d characters)", n, max)
		}
	}
	return nil
}

// isASCII reports whether s is in the default character repertoire.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// charsetUTF8 is the Specific Character Set (0008,0005) of UTF-8.
const charsetUTF8 = "ISO_IR 192"

// isUTF8 reports whether a Specific Character Set value is UTF-8 (and only
// that: ISO 2022 code extensions cannot switch to it).
func isUTF8(charset string) bool {
	return parseCharset(charset).kind == csUTF8
}
