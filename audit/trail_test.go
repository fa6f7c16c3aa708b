package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	testMe   = Participant{Site: "St Elsewhere ED", Program: "sender", PID: 4242, User: "alice", Host: "ed-ws1", PeerID: "12D3KooWSender"}
	testJunk = Participant{PeerID: "12D3KooWJunk"}
)

// refuse records what the sender records for one refused stream
// (cmd/sender/serving.go, deliveries.audit): a failed login and a Security
// Alert, under whatever offer ID the stream named.
func refuse(t *Trail, peer Participant, i int) {
	offer := fmt.Sprintf("%016x", i)
	t.Record(UserAuthentication(peer, testMe, offer, errors.New("unknown offer")))
	t.Record(SecurityAlert(AlertProofRefused, testMe, peer, offer, "unknown offer"))
}

// readTrail returns the events of the trail at path.
func readTrail(t *testing.T, path string) []Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var events []Event
	if err := Read(f, func(e Event) error { events = append(events, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return events
}

// tally is what an auditor adds up: how many events of each kind the
// lines stand for, a summary line counting as its count.
func tally(events []Event) map[string]int {
	n := map[string]int{}
	for _, e := range events {
		k := e.EventID.Meaning
		if a, ok := e.Detail["alert"].(string); ok {
			k += "/" + a
		}
		if e.Outcome != Success {
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
	path := filepath.Join(t.TempDir(), "jsonl")
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

func (g *gate) Record(e Event) error {
	<-g.open
	g.mu.Lock()
	g.writes++
	g.mu.Unlock()
	return g.inner.Record(e)
}

// A slow disk must not stall the protocol: Record returns while the disk
// does not, whatever the flood, and loses no clinical event.
func TestTrailRecordDoesNotBlockOnAStalledDisk(t *testing.T) {
	const streams, clinical = 5000, 1250 // more than the 1,024 events that once blocked Record
	path := filepath.Join(t.TempDir(), "jsonl")
	g := &gate{open: make(chan struct{})}
	tr, err := openTrail("sender", path, os.Stderr, trailOptions{wrap: func(r recorder) recorder { g.inner = r; return g }})
	if err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	release := func() { once.Do(func() { close(g.open) }) }
	t.Cleanup(release)

	subj := Subject{PatientID: "12345", PatientName: "DOE^JANE", StudyUIDs: []string{"1.2.3"}, OfferID: "0a1b2c3d4e5f6071"}
	recv := Participant{PeerID: "12D3KooWReceiver", Site: "Trauma Center"}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tr.Record(ApplicationStart(testMe))
		for i := range streams {
			refuse(tr, testJunk, i)
			if i%4 == 0 {
				tr.Record(InstancesSent(testMe, recv, subj).With("seq", i))
			}
		}
		tr.Record(ApplicationStop(testMe))
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
		if e.EventID.Code != CodeInstancesTransferred {
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

// watch passes each write on to the log, then tells the test.
type watch struct {
	inner recorder
	wrote chan Event
}

func (w *watch) Record(e Event) error {
	err := w.inner.Record(e)
	w.wrote <- e
	return err
}

// next returns the next event written.
func (w *watch) next(t *testing.T) Event {
	t.Helper()
	select {
	case e := <-w.wrote:
		return e
	case <-time.After(10 * time.Second):
		t.Fatal("no write")
	}
	panic("unreachable")
}

// clock is a time that the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time         { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration)    { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }
func (c *clock) set(t time.Time) *clock { c.t = t; return c }

// The first refusal is in the file at once; the repeats are in it, as one
// line with their count, once the interval ends, while the trail is open.
func TestTrailWritesTheSummaryWhenTheIntervalEnds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jsonl")
	w := &watch{wrote: make(chan Event, 16)}
	clk := new(clock).set(time.Date(2026, 3, 1, 13, 2, 11, 0, time.UTC))
	tick := make(chan time.Time)
	tr, err := openTrail("sender", path, os.Stderr, trailOptions{
		wrap: func(r recorder) recorder { w.inner = r; return w }, now: clk.now, tick: tick, interval: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	alert := func() Event {
		return SecurityAlert(AlertRateLimited, testMe, testJunk, "", "too many failed proofs from the peer's address")
	}
	tr.Record(alert())
	if e := w.next(t); e.Count() != 1 {
		t.Fatalf("first write: %+v", e)
	}
	for range 99 {
		clk.add(time.Second / 2)
		tr.Record(alert())
	}
	tick <- clk.now()                       // before the interval ends: nothing to write
	clk.add(10*time.Second + time.Second/2) // a minute after the first
	tick <- clk.now()
	e := w.next(t)
	if e.Count() != 99 {
		t.Fatalf("the summary counts %d, want 99: %+v", e.Count(), e)
	}
	if n := len(readTrail(t, path)); n != 2 {
		t.Errorf("%d lines in the trail, want 2", n)
	}
	var out, errOut bytes.Buffer
	if err := PrintTrail("sender", path, false, &out, &errOut); err != nil || errOut.Len() > 0 {
		t.Fatalf("PrintTrail: %v %s", err, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[1], "Security Alert: Node Authentication  99 times from ") || !strings.Contains(lines[1], "peer 12D3KooWJunk") {
		t.Errorf("sender audit prints:\n%s", out.String())
	}
}

// New peer IDs cost nothing: a flood that uses a new one for each stream
// is bounded too, and counted.
func TestTrailBoundsRefusalsFromNewPeers(t *testing.T) {
	const streams = 5000
	path := filepath.Join(t.TempDir(), "jsonl")
	tr, err := OpenTrail("sender", path, os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	for i := range streams {
		refuse(tr, Participant{PeerID: fmt.Sprintf("12D3KooWJunk%d", i)}, i)
	}
	tr.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d refused streams from as many peers: the trail grew by %d bytes", streams, fi.Size())
	// Each kind: a line for each of the first peers, and a line and a
	// summary for the others.
	if limit := int64(2*(MaxRepeatPeers+2)) * 1024; fi.Size() > limit {
		t.Errorf("the trail grew by %d bytes, want at most %d", fi.Size(), limit)
	}
	got := tally(readTrail(t, path))
	if got["User Authentication failed"] != streams || got["Security Alert/proof_refused failed"] != streams {
		t.Errorf("the trail counts %v, want %d of each", got, streams)
	}
}
