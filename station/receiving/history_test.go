package receiving

import (
	"io"
	"path/filepath"
	"testing"

	"imageshare/audit"
)

// The history lists each study received, the latest first, with what the
// PACS took of it, and the studies refused as not the one shown.
func TestHistory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit-receiver.jsonl")
	trail, err := audit.OpenTrail("receiver", path, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	me := audit.Local("receiver", "")
	from := audit.Participant{Site: "St Elsewhere", PeerID: "12D3KooWsender"}
	first := audit.Subject{PatientID: "STE-1", PatientName: "DOE^JANE", StudyUIDs: []string{"1.2.3"}, OfferID: "aaaa"}
	second := audit.Subject{PatientID: "STE-2", PatientName: "ROE^RICHARD", StudyUIDs: []string{"1.2.4"}, OfferID: "bbbb"}
	trail.Record(audit.ApplicationStart(me))
	trail.Record(audit.Import(me, from, first, "/in/study-1"))
	trail.Record(audit.InstancesSent(me, audit.Participant{Address: "http://pacs/dicom-web"}, first))
	trail.Record(audit.Import(me, audit.Participant{PeerID: "12D3KooWother"}, second, "/in/study-2"))
	trail.Record(audit.SecurityAlert(audit.AlertContentMismatch, me, from, "cccc", "patient ID differs"))
	trail.Close()

	list, err := readHistory(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []Received{
		{From: "St Elsewhere", State: "refused: not the study shown"},
		{From: "12D3KooWother", Patient: "ROE, RICHARD", State: "received", Dir: "/in/study-2"},
		{From: "St Elsewhere", Patient: "DOE, JANE", State: "in the PACS", Dir: "/in/study-1"},
	}
	if len(list) != len(want) {
		t.Fatalf("history %+v, want %d studies", list, len(want))
	}
	for i, w := range want {
		g := list[i]
		if g.From != w.From || g.Patient != w.Patient || g.State != w.State || g.Dir != w.Dir || g.Time == "" {
			t.Errorf("history[%d] = %+v, want %+v", i, g, w)
		}
	}
	if none, err := readHistory(filepath.Join(t.TempDir(), "none.jsonl")); err != nil || len(none) != 0 {
		t.Errorf("no trail: %v, %v", none, err)
	}
}
