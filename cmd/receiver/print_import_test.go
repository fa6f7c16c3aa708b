package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"imageshare/console"
	"imageshare/receive"
	"imageshare/study"
)

// The import's JSON lines are those the map literals wrote before the
// events were typed, byte for byte. The events for staff
// only do not reach --json.
func TestImportJSONUnchanged(t *testing.T) {
	failed := []receive.ImportFailure{{File: "a/1.dcm", SOP: "1.2.3", Reason: "refused"}}
	mismatches := []study.Mismatch{{File: "a/2.dcm", Attribute: "Patient ID (0010,0020)", Shown: "123", Found: "OTHER"}}
	res := &receive.ImportResult{Stored: 4, Failed: failed, Report: "Basic Text SR", Seconds: 1.5}
	for _, c := range []struct {
		event receive.ImportEvent
		want  any // the map literal of before
	}{
		{&receive.PACSProgress{Settled: 3, Total: 5}, map[string]any{"type": "pacs_progress", "settled": 3, "total": 5}},
		{&receive.Imported{URL: "http://pacs/dicom-web", Stored: 4, Failed: failed, Report: "Basic Text SR", Reconciled: true, Seconds: 1.5, Dir: "/in/study-1"},
			map[string]any{"type": "pacs", "url": "http://pacs/dicom-web", "stored": 4, "failed": failed, "report": "Basic Text SR", "reconciled": true, "seconds": 1.5}},
		{&receive.Imported{URL: "http://pacs/dicom-web", Stored: 5},
			map[string]any{"type": "pacs", "url": "http://pacs/dicom-web", "stored": 5, "failed": []receive.ImportFailure(nil), "report": "", "reconciled": false, "seconds": 0.0}},
		{&receive.Mismatch{Mismatches: mismatches}, map[string]any{"type": "mismatch", "mismatches": mismatches}},
		{&importSummaryEvent{Dir: "/in/study-1", StudyUID: "1.2", StudyUIDs: []string{"1.2"}, PACS: res},
			map[string]any{"type": "summary", "dir": "/in/study-1", "study_uid": "1.2", "study_uids": []string{"1.2"}, "pacs": res}},
		{&importSummaryEvent{Dir: "/in/study-1", StudyUID: "1.2", StudyUIDs: []string{"1.2"}},
			map[string]any{"type": "summary", "dir": "/in/study-1", "study_uid": "1.2", "study_uids": []string{"1.2"}, "pacs": (*importResult)(nil)}},
		{&importErrorEvent{ExitCode: 12, Message: "the import into the PACS is incomplete"},
			map[string]any{"type": "error", "exit_code": 12, "message": "the import into the PACS is incomplete"}},
	} {
		var got, want bytes.Buffer
		p := &importPrinter{stderr: new(bytes.Buffer), js: console.NewJSON(&got)}
		switch c.event.(type) {
		case *importSummaryEvent, *importErrorEvent:
			p.js.Emit(c.event) // receiver import's own
		default:
			p.event(c.event)
		}
		b, err := json.Marshal(c.want)
		if err != nil {
			t.Fatal(err)
		}
		want.Write(append(b, '\n'))
		// Byte for byte: the keys in the same order too.
		if got.String() != want.String() {
			t.Errorf("%T:\n got %s\nwant %s", c.event, got.Bytes(), want.Bytes())
		}
	}
	for _, e := range []receive.ImportEvent{&receive.Reconciling{Changes: "x"}, &receive.ReportNotStored{File: "r.pdf"}, &receive.Storing{Instances: 3}} {
		var got bytes.Buffer
		(&importPrinter{stderr: new(bytes.Buffer), js: console.NewJSON(&got)}).event(e)
		if got.Len() != 0 {
			t.Errorf("%T reached --json: %s", e, got.Bytes())
		}
	}
}

// What staff read on stderr, in the words of before.
func TestImportText(t *testing.T) {
	var many []receive.ImportFailure
	for i := range 30 {
		many = append(many, receive.ImportFailure{File: fmt.Sprintf("a/%d.dcm", i), SOP: fmt.Sprintf("1.2.%d", i), Reason: "refused"})
	}
	for _, c := range []struct {
		event receive.ImportEvent
		want  []string
	}{
		{&receive.Reconciling{Changes: `patient ID "A" → "B"`}, []string{`receiver: reconciling for the PACS: patient ID "A" → "B" (the folder keeps the sender's originals)`}},
		{&receive.ReportNotStored{File: "r.pdf", Reason: "r.pdf is over 64 MiB"}, []string{"receiver: warning: the report r.pdf stays in the folder only: r.pdf is over 64 MiB"}},
		{&receive.Storing{URL: "http://pacs/dicom-web", Instances: 3}, []string{"receiver: storing 3 instances in the PACS at http://pacs/dicom-web ..."}},
		{&receive.Imported{Stored: 3, Seconds: 1.2344}, []string{"receiver: all 3 instances are in the PACS (checked by QIDO-RS) in 1.234s"}},
		{&receive.Imported{URL: "http://pacs/dicom-web", Stored: 2, Failed: many[:1], Reconciled: true, Dir: "/in/study-1"}, []string{
			"receiver: 1 of 3 instances are NOT in the PACS; they stay in /in/study-1:",
			"  a/0.dcm (1.2.0): refused",
			"hint: once the PACS takes them, store the study again from the folder: receiver import --to-dicomweb http://pacs/dicom-web (and the same --local-… options) /in/study-1"}},
		{&receive.Imported{URL: "http://pacs/dicom-web", Failed: many, Dir: "/in/study-1"}, []string{
			"receiver: 30 of 30 instances are NOT in the PACS; they stay in /in/study-1:", "  a/19.dcm (1.2.19): refused",
			"  ... and 10 more (all in --json)", "receiver import --to-dicomweb http://pacs/dicom-web /in/study-1"}},
		{&receive.Mismatch{Mismatches: []study.Mismatch{{File: "a/2.dcm", Attribute: "Patient ID (0010,0020)", Shown: "123", Found: "OTHER\u202e"}}}, []string{
			"receiver: REFUSED: the files received are not the study that was shown",
			`  a/2.dcm: Patient ID (0010,0020) is "OTHER\u202e" in the file, "123" in the summary shown`,
			"hint: call the sending hospital, and tell your security officer: the card may be forged"}},
	} {
		var stderr bytes.Buffer
		(&importPrinter{stderr: &stderr}).event(c.event)
		for _, w := range c.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%T: stderr lacks %q:\n%s", c.event, w, stderr.String())
			}
		}
		if strings.Contains(stderr.String(), "a/20.dcm") {
			t.Errorf("%T: lists past 20 of 30:\n%s", c.event, stderr.String())
		}
	}
}
