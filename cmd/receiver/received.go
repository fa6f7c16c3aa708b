package main

import (
	"io"

	"imageshare/audit"
	"imageshare/console"
	rcv "imageshare/receive"
	"imageshare/study"
	"imageshare/transfer"
)

// receivedRecord is what a fetched study's folder keeps of what was shown
// to staff and what its files are (receive.Record), for receiver import.
type receivedRecord struct{ rec *rcv.Record }

func newReceivedRecord(m *transfer.Manifest) *receivedRecord {
	return &receivedRecord{rcv.NewRecord(m)}
}

// write saves the record in the study folder dir, complete or not at all.
func (r *receivedRecord) write(dir string) error { return r.rec.Write(dir) }

// manifestExpected is what the manifest promises of each file.
func manifestExpected(m *transfer.Manifest) []study.Expected { return rcv.ManifestExpected(m) }

// reportMismatch tells staff, the audit trail and a script that the files
// are not the study that was shown: each file and attribute, with the
// value shown and the one found.
func reportMismatch(o *fetchOptions, stderr io.Writer, js *console.JSON, e *study.MismatchError, me, from audit.Participant, offerID string) {
	p := &importPrinter{stderr: stderr, js: js}
	p.event(rcv.RefuseMismatch(o.trail, e, me, from, offerID))
}

// quarantine renames the refused study folder dir out of reach of a
// folder-watching import, and returns its new name.
func quarantine(dir string) (string, error) { return rcv.Quarantine(dir) }
