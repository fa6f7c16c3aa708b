package console

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"imageshare/audit"
)

var (
	testMe   = audit.Participant{Site: "St Elsewhere ED", Program: "sender", PID: 4242, User: "alice", Host: "ed-ws1", PeerID: "12D3KooWSender"}
	testJunk = audit.Participant{PeerID: "12D3KooWJunk"}
)

// refuse records what the sender records for one refused stream
// (cmd/sender/serving.go, deliveries.audit): a failed login and a Security
// Alert, under whatever offer ID the stream named.
func refuse(t *Trail, peer audit.Participant, i int) {
	offer := fmt.Sprintf("%016x", i)
	t.Record(audit.UserAuthentication(peer, testMe, offer, errors.New("unknown offer")))
	t.Record(audit.SecurityAlert(audit.AlertProofRefused, testMe, peer, offer, "unknown offer"))
}

// readTrail returns the events of the trail at path.
func readTrail(t *testing.T, path string) []audit.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []audit.Event
	if err := audit.Read(f, func(e audit.Event) error { events = append(events, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return events
}

// tally is what an auditor adds up: how many events of each kind the
// lines stand for, a summary line counting as its count.
func tally(events []audit.Event) map[string]int {
	n := map[string]int{}
	for _, e := range events {
		k := e.EventID.Meaning
		if a, ok := e.Detail["alert"].(string); ok {
			k += "/" + a
		}
		if e.Outcome != audit.Success {
			k += " failed"
		}
		n[k] += e.Count()
	}
	return n
}

// The flood: 5,000 junk streams over one connection grew the trail
// by 3.2 MB. The trail must grow by a small bound and still count them all.
func TestTrailBoundsRefusalsFromOnePeer(t *testing.T) {
	const streams = 5000
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	tr, err := OpenTrail("sender", path, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range streams {
		refuse(tr, testJunk, i)
	}
	tr.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d refused streams from one peer: the trail grew by %d bytes", streams, fi.Size())
	if fi.Size() > 10<<10 {
		t.Errorf("%d refused streams grew the trail by %d bytes, want at most %d", streams, fi.Size(), 10<<10)
	}
	events := readTrail(t, path)
	got := tally(events)
	want := map[string]int{"User Authentication failed": streams, "Security Alert/proof_refused failed": streams}
	if len(got) != len(want) || got["User Authentication failed"] != streams || got["Security Alert/proof_refused failed"] != streams {
		t.Errorf("the trail counts %v, want %v", got, want)
	}
	// The first refusal is written as it is, with the peer and its offer.
	first := events[0]
	if first.Count() != 1 || first.Participants[0].PeerID != testJunk.PeerID || first.Objects[0].ID != "0000000000000000" {
		t.Errorf("first line: %+v", first)
	}
}

// gate is a disk that stalls: every write waits until open is closed.
type gate struct {
	inner  recorder
	open   chan struct{}
	mu     sync.Mutex
	writes int
}

func (g *gate) Record(e audit.Event) error {
	<-g.open
	g.mu.Lock()
	g.writes++
	g.mu.Unlock()
	return g.inner.Record(e)
}

// A slow disk must not stall the protocol: Record returns while the disk
// does not, whatever the flood, and loses no clinical event.
func TestTrailRecordDoesNotBlockOnAStalledDisk(t *testing.T) {
	const streams, clinical = 5000, 2000
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	g := &gate{open: make(chan struct{})}
	tr, err := openTrail("sender", path, os.Stderr, trailOptions{wrap: func(r recorder) recorder { g.inner = r; return g }})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() { once.Do(func() { close(g.open) }) }
	t.Cleanup(release)

	subj := audit.Subject{PatientID: "12345", PatientName: "DOE^JANE", StudyUIDs: []string{"1.2.3"}, OfferID: "0a1b2c3d4e5f6071"}
	recv := audit.Participant{PeerID: "12D3KooWReceiver", Site: "Trauma Center"}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Record(audit.ApplicationStart(testMe))
		for i := range streams {
			refuse(tr, testJunk, i)
			if i%(streams/clinical) == 0 {
				tr.Record(audit.InstancesSent(testMe, recv, subj).With("seq", i))
			}
		}
		tr.Record(audit.ApplicationStop(testMe))
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Record blocked while the disk was stalled")
	}
	release()
	tr.Close()

	events := readTrail(t, path)
	got := tally(events)
	if got["User Authentication failed"] != streams || got["Security Alert/proof_refused failed"] != streams {
		t.Errorf("the trail counts %v refusals, want %d of each", got, streams)
	}
	if got["DICOM Instances Transferred"] != clinical {
		t.Errorf("%d transfers in the trail, want %d", got["DICOM Instances Transferred"], clinical)
	}
	// In the order recorded.
	last := -1
	for _, e := range events {
		if e.EventID.Code != audit.CodeInstancesTransferred {
			continue
		}
		seq := int(e.Detail["seq"].(float64))
		if seq <= last {
			t.Fatalf("transfer %d after %d", seq, last)
		}
		last = seq
	}
	if events[0].EventType == nil || events[0].EventType.Meaning != "Application Start" ||
		events[len(events)-1].EventType == nil || events[len(events)-1].EventType.Meaning != "Application Stop" {
		t.Errorf("the trail does not start and stop with the application: %v … %v", events[0].EventType, events[len(events)-1].EventType)
	}
}
