// Package printable makes text from outside — a DICOM header, a sender's
// manifest, a file name on a medium — safe to print on a terminal, where a
// hostile value could otherwise clear the screen, move the cursor and draw
// a summary of its own, or read in another order than it is stored.
package printable

import (
	"strings"
	"unicode/utf8"
)

// String returns s with every character that could drive a terminal or
// reorder what it shows replaced by "?": control characters (C0, DEL and
// C1, which start escape sequences, move the cursor and break lines), the
// line and paragraph separators, and the bidirectional formatting
// characters (embeddings, overrides, isolates and marks). Bytes that are
// not UTF-8 become "?" too. Text that holds none is returned unchanged.
func String(s string) string {
	if !needsCleaning(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s { // invalid bytes range as utf8.RuneError
		if r == utf8.RuneError || unsafe(r) {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func needsCleaning(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || unsafe(r) {
			return true
		}
	}
	return false
}

// unsafe reports whether r may not reach a terminal as it is.
func unsafe(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0: // C0, DEL, C1
		return true
	case r == 0x061c, // Arabic letter mark
		r == 0x200e, r == 0x200f, // left-to-right and right-to-left marks
		r >= 0x2028 && r <= 0x202e, // line and paragraph separators; embeddings and overrides
		r >= 0x2066 && r <= 0x2069: // isolates
		return true
	}
	return false
}
