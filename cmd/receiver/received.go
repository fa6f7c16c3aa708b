package main

import (
	"io"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/receive"
	"imageshare/study"
)

// reportMismatch tells staff, the audit trail and a script that the files
// are not the study that was shown: each file and attribute, with the
// value shown and the one found.
func reportMismatch(o *fetchOptions, stderr io.Writer, js *console.JSON, e *study.MismatchError, me, from audit.Participant, offerID string) {
	p := &importPrinter{stderr: stderr, js: js}
	p.event(receive.RefuseMismatch(o.trail, e, me, from, offerID))
}
