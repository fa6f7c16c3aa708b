package receive

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/network"

	"imageshare/discovery"
	"imageshare/transfer"
)

// A whole fetch: the events in order, each series reported complete in
// the incoming folder, the study in place, the sender told.
func TestFetchWhole(t *testing.T) {
	s := recvServe(t, 3, 4)
	var ev recvEvents
	o := recvOptions(t)
	var arrived *Arrived
	o.CheckArrived = func(_ context.Context, a *Arrived) error {
		arrived = a
		if !strings.Contains(a.Dir, transfer.IncomingDir) {
			t.Errorf("checked in %s, not in the incoming folder", a.Dir)
		}
		return nil
	}
	asked := 0
	o.Confirm = func(m *transfer.Manifest) (bool, error) { asked++; return true, nil }
	res, err := Fetch(context.Background(), o, s.card, ev.add)
	if err != nil {
		t.Fatal(err)
	}
	recvCheckFiles(t, s, res.Dir)
	if filepath.Dir(res.Dir) != o.Out {
		t.Errorf("study saved in %s, not in %s", res.Dir, o.Out)
	}
	if asked != 1 || arrived == nil {
		t.Errorf("asked %d times, checked %v", asked, arrived != nil)
	}
	if s.receiptsSeen() != 1 {
		t.Errorf("%d receipts, want 1", s.receiptsSeen())
	}
	if res.Path != "direct" || res.Attempts != 1 || res.Reused != 0 || res.Fetched != res.Manifest.StoredSize() {
		t.Errorf("result %+v", res)
	}
	var types []string
	for _, e := range ev.all {
		if t := e.EventType(); t != "progress" && t != "series_complete" && (len(types) == 0 || types[len(types)-1] != t) {
			types = append(types, t)
		}
	}
	if got, want := strings.Join(types, " "), "card connecting connected manifest verified saved"; got != want {
		t.Errorf("events %s, want %s", got, want)
	}
	series := recvOf[SeriesComplete](&ev)
	if len(series) != 3 {
		t.Fatalf("%d series complete, want 3", len(series))
	}
	for _, se := range series {
		if !strings.Contains(se.Dir, transfer.IncomingDir) || se.Images != 4 {
			t.Errorf("series %+v", se)
		}
	}
	m := recvOf[Manifest](&ev)[0]
	if m.Resuming() || m.ToFetch != m.StoredBytes || m.Files != 12 {
		t.Errorf("manifest event %+v", m)
	}
	p := recvOf[Progress](&ev)
	if last := p[len(p)-1]; last.Done != last.Total {
		t.Errorf("progress ended at %d of %d", last.Done, last.Total)
	}
	if sum := res.Summary(); !sum.Verified || sum.Files != 12 || sum.Connections != 1 || sum.StudyUID == "" {
		t.Errorf("summary %+v", sum)
	}
}

// The time staff spend at the question is not the fetch's: "verified …
// in" and the summary leave it out.
func TestFetchSecondsLeaveOutTheQuestion(t *testing.T) {
	s := recvServe(t, 1, 2)
	o := recvOptions(t)
	var skew atomic.Int64 // the test's clock runs an hour ahead once asked
	o.clock = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	o.Confirm = func(*transfer.Manifest) (bool, error) { skew.Add(int64(time.Hour)); return true, nil }
	var ev recvEvents
	res, err := Fetch(context.Background(), o, s.card, ev.add)
	if err != nil {
		t.Fatal(err)
	}
	v := recvOf[Verified](&ev)[0]
	if res.Seconds >= 3600 || v.Seconds != res.Seconds || res.Summary().Seconds != res.Seconds {
		t.Errorf("an hour at the question, and the fetch took %.0f s (verified in %.0f s)", res.Seconds, v.Seconds)
	}
	for _, se := range recvOf[SeriesComplete](&ev) {
		if se.Seconds >= 3600 {
			t.Errorf("series after %.0f s", se.Seconds)
		}
	}
}

// Declined at the question: nothing is fetched, no study folder is made,
// the sender is not told.
func TestFetchDeclined(t *testing.T) {
	s := recvServe(t, 1, 2)
	o := recvOptions(t)
	o.Confirm = func(*transfer.Manifest) (bool, error) { return false, nil }
	var ev recvEvents
	_, err := Fetch(context.Background(), o, s.card, ev.add)
	if !errors.Is(err, ErrDeclined) {
		t.Fatalf("declined: %v", err)
	}
	if got := recvStudyFolders(t, o.Out); len(got) > 0 {
		t.Errorf("declined, yet %s made", got)
	}
	if len(recvOf[Manifest](&ev)) != 1 || len(recvOf[Progress](&ev)) != 0 {
		t.Errorf("events %v", ev.all)
	}
	if s.receiptsSeen() != 0 || s.data.readsTotal() != 0 {
		t.Errorf("%d receipts, %d chunks read", s.receiptsSeen(), s.data.readsTotal())
	}
}

// The face's check of the arrived study refuses it: not moved into place,
// no receipt.
func TestFetchCheckArrivedRefuses(t *testing.T) {
	s := recvServe(t, 1, 2)
	o := recvOptions(t)
	refused := errors.New("not the study shown")
	o.CheckArrived = func(context.Context, *Arrived) error { return refused }
	_, err := Fetch(context.Background(), o, s.card, nil)
	if !errors.Is(err, refused) {
		t.Fatalf("%v", err)
	}
	for _, name := range recvStudyFolders(t, o.Out) {
		if !strings.HasPrefix(name, transfer.IncomingDir) {
			t.Errorf("%s is in place", name)
		}
	}
	if s.receiptsSeen() != 0 {
		t.Error("the sender was told")
	}
}

// The sender drops the connection in the middle: the session tries again
// and goes on, keeping what was verified.
func TestFetchRetriesDroppedConnection(t *testing.T) {
	s := recvServe(t, 2, 4)
	var dropped atomic.Bool
	s.data.onRead = func(i, n int) {
		if n == 5 && dropped.CompareAndSwap(false, true) {
			for _, c := range s.h.Network().Conns() {
				c.Close()
			}
		}
	}
	var ev recvEvents
	res, err := Fetch(context.Background(), recvOptions(t), s.card, ev.add)
	if err != nil {
		t.Fatal(err)
	}
	recvCheckFiles(t, s, res.Dir)
	if res.Attempts < 2 || len(recvOf[Retry](&ev)) == 0 {
		t.Errorf("%d attempts, %d retries after the connection was dropped", res.Attempts, len(recvOf[Retry](&ev)))
	}
	if len(recvOf[Connected](&ev)) < 2 {
		t.Errorf("connected %d times", len(recvOf[Connected](&ev)))
	}
}

// A chunk damaged on the way is fetched again; one damaged every time is
// given up on after maxCorrupt times, and nothing is put in place.
func TestFetchCorruptChunk(t *testing.T) {
	t.Run("once", func(t *testing.T) {
		s := recvServe(t, 1, 4)
		s.data.damage = func(i, n int) bool { return i == 2 && n == 1 }
		var ev recvEvents
		res, err := Fetch(context.Background(), recvOptions(t), s.card, ev.add)
		if err != nil {
			t.Fatal(err)
		}
		recvCheckFiles(t, s, res.Dir)
		if s.data.readsOf(2) != 2 {
			t.Errorf("chunk 2 read %d times, want 2", s.data.readsOf(2))
		}
		w := recvOf[Warning](&ev)
		if len(w) != 1 || !strings.Contains(w[0].Message, "fetching it again") {
			t.Errorf("warnings %v", w)
		}
	})
	t.Run("always", func(t *testing.T) {
		s := recvServe(t, 1, 4)
		s.data.damage = func(i, n int) bool { return i == 2 }
		o := recvOptions(t)
		_, err := Fetch(context.Background(), o, s.card, nil)
		var ce *transfer.ChunkError
		if !errors.Is(err, ErrDamagedAtSender) || !errors.Is(err, transfer.ErrCorrupt) || !errors.As(err, &ce) || ce.Index != 2 {
			t.Fatalf("damaged every time: %v", err)
		}
		if s.data.readsOf(2) != maxCorrupt {
			t.Errorf("chunk 2 read %d times, want %d", s.data.readsOf(2), maxCorrupt)
		}
		for _, name := range recvStudyFolders(t, o.Out) {
			if !strings.HasPrefix(name, transfer.IncomingDir) {
				t.Errorf("%s is in place", name)
			}
		}
		if s.receiptsSeen() != 0 {
			t.Error("the sender was told")
		}
	})
}

// Over a relayed connection, a direct one opening (hole punching) ends
// the attempt; the next goes on over it, hole-punched, and fetches none
// of the chunks verified before again.
func TestFetchUpgradeKeepsVerifiedChunks(t *testing.T) {
	s := recvServe(t, 4, 1)
	chunks := len(s.packed.Manifest.Chunks)
	o := recvOptions(t)
	// The connection counts as relayed until the test says that a direct
	// one opened.
	var direct atomic.Bool
	o.isRelayed = func(network.Conn) bool { return !direct.Load() }
	// The last chunk read waits for the second attempt: the first cannot
	// end before the upgrade.
	gate := make(chan struct{})
	var gateOnce sync.Once
	openGate := func() { gateOnce.Do(func() { close(gate) }) }
	t.Cleanup(openGate)
	s.data.onRead = func(i, n int) {
		if n >= chunks {
			<-gate
		}
	}
	var sess *session
	var before []int // chunks verified when the direct connection opened
	o.onAttempt = func(x *session) {
		sess = x
		if direct.Load() {
			before = recvVerified(x)
			openGate()
		}
	}
	var ev recvEvents
	ev.then = func(e Event) {
		// A series is whole: its chunks are verified. Now hole punching
		// succeeds.
		if _, ok := e.(SeriesComplete); ok && direct.CompareAndSwap(false, true) {
			sess.directOpened()
		}
	}
	res, err := Fetch(context.Background(), o, s.card, ev.add)
	if err != nil {
		t.Fatal(err)
	}
	recvCheckFiles(t, s, res.Dir)
	var paths []string
	for _, c := range recvOf[Connected](&ev) {
		paths = append(paths, c.Path)
	}
	if got := strings.Join(paths, " "); got != "relayed hole-punched" || res.Path != "hole-punched" {
		t.Errorf("paths %s, then %s", got, res.Path)
	}
	if len(recvOf[Upgraded](&ev)) != 1 || len(recvOf[Retry](&ev)) != 0 {
		t.Errorf("%d upgrades, %d retries", len(recvOf[Upgraded](&ev)), len(recvOf[Retry](&ev)))
	}
	if len(before) == 0 || len(before) == chunks {
		t.Fatalf("%d of %d chunks verified before the upgrade", len(before), chunks)
	}
	for _, i := range before {
		if n := s.data.readsOf(i); n != 1 {
			t.Errorf("chunk %d, verified before the upgrade, was sent %d times", i, n)
		}
	}
}

// recvVerified lists the chunks the session has verified.
func recvVerified(s *session) []int {
	need := map[int]bool{}
	for _, i := range s.store.Need() {
		need[i] = true
	}
	var done []int
	for i := range s.m.Chunks {
		if !need[i] {
			done = append(done, i)
		}
	}
	return done
}

// Interrupted, a fetch says how far it got; run again into the same
// folder, it says what is still to fetch, fetches only that, and says
// what it reused.
func TestFetchResumes(t *testing.T) {
	s := recvServe(t, 4, 1)
	chunks := len(s.packed.Manifest.Chunks)
	o := recvOptions(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s.data.onRead = func(i, n int) {
		if n >= chunks {
			<-ctx.Done() // the first fetch never gets the last chunk
		}
	}
	var ev recvEvents
	ev.then = func(e Event) {
		if _, ok := e.(SeriesComplete); ok {
			cancel() // Ctrl-C
		}
	}
	_, err := Fetch(ctx, o, s.card, ev.add)
	var ie *InterruptedError
	if !errors.As(err, &ie) || !errors.Is(err, context.Canceled) || ie.Verified == 0 || ie.Files != 4 {
		t.Fatalf("interrupted: %v", err)
	}
	if s.receiptsSeen() != 0 {
		t.Error("the sender was told")
	}
	readBefore := s.data.readsTotal()

	var ev2 recvEvents
	res, err := Fetch(context.Background(), o, s.card, ev2.add)
	if err != nil {
		t.Fatal(err)
	}
	recvCheckFiles(t, s, res.Dir)
	m := recvOf[Manifest](&ev2)[0]
	if !m.Resuming() || m.ToFetch <= 0 || m.ToFetch >= m.StoredBytes {
		t.Errorf("resumed, the manifest says %d of %d to fetch", m.ToFetch, m.StoredBytes)
	}
	if res.Reused == 0 || res.Fetched != m.ToFetch {
		t.Errorf("reused %d, fetched %d, of %d to fetch", res.Reused, res.Fetched, m.ToFetch)
	}
	if v := recvOf[Verified](&ev2); len(v) != 1 || v[0].Reused != res.Reused || v[0].Fetched != res.Fetched {
		t.Errorf("verified %+v", v)
	}
	if read := s.data.readsTotal() - readBefore; read >= chunks {
		t.Errorf("%d chunks read on resume, of %d", read, chunks)
	}
	if s.receiptsSeen() != 1 {
		t.Errorf("%d receipts", s.receiptsSeen())
	}
}

// A sender that nothing answers for is given up on after 3 × Timeout.
func TestFetchNeverReached(t *testing.T) {
	s := recvServe(t, 1, 1)
	s.h.Close()
	o := recvOptions(t)
	o.Timeout = time.Second
	var ev recvEvents
	_, err := Fetch(context.Background(), o, s.card, ev.add)
	var nr *NeverReachedError
	if !errors.As(err, &nr) || !errors.Is(err, discovery.ErrUnreachable) {
		t.Fatalf("%v", err)
	}
	if len(recvOf[Retry](&ev)) == 0 || len(recvOf[Connected](&ev)) != 0 {
		t.Errorf("events %v", ev.all)
	}
}
