package send

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"imageshare/audit"
	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/spool"
	"imageshare/study"
	"imageshare/transfer"
)

var loopback = []string{"/ip4/127.0.0.1/tcp/0"}

// events records a session's events, and signals each type's first.
type events struct {
	mu    sync.Mutex
	all   []Event
	first map[string]chan struct{}
}

func newEvents() *events { return &events{first: map[string]chan struct{}{}} }

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
	c := e.chanLocked(ev.EventType())
	select {
	case <-c:
	default:
		close(c)
	}
}

func (e *events) chanLocked(typ string) chan struct{} {
	c, ok := e.first[typ]
	if !ok {
		c = make(chan struct{})
		e.first[typ] = c
	}
	return c
}

// seen is closed at the first event of type typ.
func (e *events) seen(typ string) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.chanLocked(typ)
}

func (e *events) types() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if len(out) == 0 || out[len(out)-1] != ev.EventType() {
			out = append(out, ev.EventType())
		}
	}
	return out
}

func (e *events) find(typ string) []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []Event
	for _, ev := range e.all {
		if ev.EventType() == typ {
			out = append(out, ev)
		}
	}
	return out
}

// inOrder checks that want appear in got in this order.
func inOrder(t *testing.T, got []string, want ...string) {
	t.Helper()
	i := 0
	for _, g := range got {
		if i < len(want) && g == want[i] {
			i++
		}
	}
	if i < len(want) {
		t.Errorf("events %v: want %v in this order", got, want)
	}
}

// studyFiles writes a small study of n files.
func studyFiles(t *testing.T, n int) ([]study.File, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	var files []study.File
	data := map[string][]byte{}
	for i := range n {
		b := make([]byte, 3000+i*700)
		rand.Read(b)
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		rel := fmt.Sprintf("series-001/IM%04d.dcm", i)
		files = append(files, study.File{Path: p, Rel: rel, Size: int64(len(b)), Kind: study.KindDICOM, StudyUID: "1.2.3"})
		data[rel] = b
	}
	return files, data
}

// options are a send of a small study into sp over loopback; the card,
// once given out, goes to cards.
func options(t *testing.T, sp *spool.Spool, ev *events, cards chan<- card.Offer) (Options, map[string][]byte) {
	files, data := studyFiles(t, 3)
	return Options{
		Spool: sp, Files: files, Studies: []study.Summary{{StudyUID: "1.2.3", PatientName: "TEST^PATIENT", Description: "CT HEAD"}},
		Site: "St Elsewhere", Expires: time.Hour, Listen: loopback, Events: ev.add,
		Issue: func(c Card) error {
			cards <- *c.Offer // a copy: the session zeroes its secret
			return nil
		},
	}, data
}

func openSpool(t *testing.T) *spool.Spool {
	t.Helper()
	sp, err := spool.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// fetch fetches the card's offer over libp2p as a receiver does, checks
// what arrived against want, and confirms receipt.
func fetch(t *testing.T, ctx context.Context, c card.Offer, want map[string][]byte) error {
	receiver, err := discovery.NewHost(discovery.HostOptions{Listen: loopback})
	if err != nil {
		return err
	}
	defer receiver.Close()
	if _, err := discovery.Connect(ctx, receiver, c.Peer, c.Addrs, 10*time.Second, nil); err != nil {
		return err
	}
	keys, err := icrypto.DeriveKeys(&c.Secret)
	if err != nil {
		return err
	}
	cl := &transfer.Client{
		Open: func(ctx context.Context) (transfer.Stream, error) {
			return receiver.NewStream(ctx, c.Peer, transfer.ProtocolID)
		},
		Local: string(receiver.ID()), Remote: string(c.Peer), Offer: c.Ref(), Keys: keys,
	}
	m, err := cl.Manifest(ctx)
	if err != nil {
		return err
	}
	dir := filepath.Join(t.TempDir(), "in")
	store, err := transfer.OpenStore(dir, m)
	if err != nil {
		return err
	}
	defer store.Close()
	need := make([]int, len(m.Chunks))
	for i := range need {
		need[i] = i
	}
	if err := cl.Fetch(ctx, m, need, store.Put, nil); err != nil {
		return err
	}
	if err := store.Finish(); err != nil {
		return err
	}
	for rel, b := range want {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil || !bytes.Equal(got, b) {
			return fmt.Errorf("%s not received intact (%v)", rel, err)
		}
	}
	return cl.Confirm(ctx, len(m.Files), m.TotalSize())
}

// A send that finds no one serving its spool serves the offer itself;
// the receiving hospital fetches it, and its receipt ends the offer and
// the send, which reports what happened in order.
func TestSendServesItselfUntilReceipt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sp := openSpool(t)
	ev := newEvents()
	cards := make(chan card.Offer, 1)
	o, want := options(t, sp, ev, cards)
	s, err := Pack(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	fetched := make(chan error, 1)
	go func() {
		c := <-cards
		<-ev.seen("serving_offer")
		fetched <- fetch(t, ctx, c, want)
	}()
	if err := s.Deliver(ctx); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	if err := <-fetched; err != nil {
		t.Fatalf("fetch: %v", err)
	}
	inOrder(t, ev.types(), "packing", "serving_offer", "manifest", "receipt", "done")
	done := ev.find("done")
	if d := done[len(done)-1].(Done); d.Receipts != 1 || d.SentBytes == 0 || d.OfferID != s.ID().String() {
		t.Errorf("done: %+v", d)
	}
	if r := ev.find("receipt")[0].(Receipt); r.Files != 3 {
		t.Errorf("receipt: %+v", r)
	}
	rec, err := sp.Load(s.ID())
	if err != nil {
		t.Fatal(err)
	}
	if st := rec.State(time.Now()); st != spool.UsedUp || len(rec.Receipts) != 1 {
		t.Errorf("after the receipt the offer is %s with %d receipts", st, len(rec.Receipts))
	}
	if !sp.Purged(s.ID()) {
		t.Error("the used offer's ciphertext is still in the spool")
	}
	// The card is served by the spool's identity, for sender serve to
	// serve later under the same peer ID.
	if id, err := sp.Identity(); err != nil || ev.find("serving_offer")[0].(ServingOffer).PeerID != peerID(t, id) {
		t.Errorf("the send did not serve with the spool's identity (%v)", err)
	}
	// Nothing of the card's secret stays in the session.
	if s.secret != (icrypto.Secret{}) {
		t.Error("the session kept the card's secret")
	}
}

// With Keep, a receipt does not end the send: it serves on until it is
// stopped, and says what was delivered.
func TestSendKeepServesAfterReceipt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sp := openSpool(t)
	ev := newEvents()
	cards := make(chan card.Offer, 1)
	o, want := options(t, sp, ev, cards)
	o.Keep = true
	s, err := Pack(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	stop, cancelSend := context.WithCancel(ctx)
	fetched := make(chan error, 2)
	go func() {
		c := <-cards
		<-ev.seen("serving_offer")
		fetched <- fetch(t, ctx, c, want)
		fetched <- fetch(t, ctx, c, want) // a second receiver
		cancelSend()
	}()
	if err := s.Deliver(stop); !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver: %v, want context.Canceled", err)
	}
	for range 2 {
		if err := <-fetched; err != nil {
			t.Fatalf("fetch: %v", err)
		}
	}
	if n := len(ev.find("receipt")); n != 2 {
		t.Errorf("%d receipts, want 2", n)
	}
	done := ev.find("done")
	if len(done) != 1 || done[0].(Done).Receipts != 2 {
		t.Errorf("done: %v", done)
	}
	rec, _ := sp.Load(s.ID())
	if st := rec.State(time.Now()); st != spool.Live {
		t.Errorf("a kept offer with 2 of 3 downloads is %s", st)
	}
}

// A send started while sender serve runs hands its offer to it and
// returns at once; the card names the serve, which answers for the offer
// and ends it at its receipt.
func TestSendHandsOffToServe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sp := openSpool(t)
	served := newEvents()
	serveCtx, stopServe := context.WithCancel(ctx)
	serveErr := make(chan error, 1)
	go func() {
		serveErr <- Serve(serveCtx, ServeOptions{Spool: sp, Listen: loopback, Events: served.add, Interval: 20 * time.Millisecond})
	}()
	select {
	case <-served.seen("serving"):
	case err := <-serveErr:
		t.Fatalf("Serve: %v", err)
	}
	// A second serve on the spool is refused, and says who serves it.
	var held *SpoolHeldError
	if err := Serve(ctx, ServeOptions{Spool: sp, Listen: loopback}); !errors.As(err, &held) || held.Mode != "serve" || held.PID != os.Getpid() {
		t.Errorf("a second Serve: %v", err)
	}

	ev := newEvents()
	cards := make(chan card.Offer, 1)
	o, want := options(t, sp, ev, cards)
	s, err := Pack(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(ctx); err != nil {
		t.Fatalf("Deliver: %v", err)
	}
	c := <-cards
	serving := served.find("serving")[0].(Serving)
	if c.Peer.String() != serving.PeerID {
		t.Errorf("the card names %s, the serve is %s", c.Peer, serving.PeerID)
	}
	inOrder(t, ev.types(), "packing", "handed_off")
	if len(ev.find("done")) != 0 || len(ev.find("serving_offer")) != 0 {
		t.Errorf("a send that handed its offer off served it too: %v", ev.types())
	}
	if err := fetch(t, ctx, c, want); err != nil {
		t.Fatalf("fetch from the serve: %v", err)
	}
	<-served.seen("ended")
	if e := served.find("ended")[0].(Ended); e.OfferID != s.ID().String() || e.State != spool.UsedUp {
		t.Errorf("ended: %+v", e)
	}
	inOrder(t, served.types(), "serving", "manifest", "receipt", "ended")
	stopServe()
	if err := <-serveErr; err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if ty := served.types(); ty[len(ty)-1] != "stopped" {
		t.Errorf("serve's last event is %s", ty[len(ty)-1])
	}
}

// Two sends at once on one spool without sender serve both serve: the
// first with the spool's identity, the second with one of its own.
func TestTwoSendsServeWithTwoIdentities(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sp := openSpool(t)
	type sent struct {
		ev    *events
		cards chan card.Offer
		want  map[string][]byte
		err   chan error
	}
	var sends [2]sent
	for i := range sends {
		ev := newEvents()
		cards := make(chan card.Offer, 1)
		o, want := options(t, sp, ev, cards)
		s, err := Pack(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		sends[i] = sent{ev, cards, want, make(chan error, 1)}
		go func() { sends[i].err <- s.Deliver(ctx) }()
		<-ev.seen("serving_offer")
	}
	first, second := <-sends[0].cards, <-sends[1].cards
	if first.Peer == second.Peer {
		t.Fatalf("both sends serve as %s", first.Peer)
	}
	if id, err := sp.Identity(); err != nil || first.Peer.String() != peerID(t, id) {
		t.Errorf("the first send does not serve with the spool's identity (%v)", err)
	}
	if own := sends[1].ev.find("own_identity"); len(own) != 1 || own[0].(OwnIdentity).PID != os.Getpid() {
		t.Errorf("the second send did not say it takes an identity of its own: %v", sends[1].ev.types())
	}
	// Each card is answered by its own send.
	for i, c := range []card.Offer{second, first} {
		s := sends[1-i]
		if err := fetch(t, ctx, c, s.want); err != nil {
			t.Fatalf("fetch: %v", err)
		}
		if err := <-s.err; err != nil {
			t.Fatalf("Deliver: %v", err)
		}
	}
}

// A card that expires before any receipt ends the send with ErrExpired,
// and the offer's ciphertext is deleted.
func TestSendExpires(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sp := openSpool(t)
	ev := newEvents()
	cards := make(chan card.Offer, 1)
	o, _ := options(t, sp, ev, cards)
	o.Expires = 2 * time.Second
	s, err := Pack(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(ctx); !errors.Is(err, ErrExpired) {
		t.Fatalf("Deliver: %v, want ErrExpired", err)
	}
	inOrder(t, ev.types(), "serving_offer", "ended", "done")
	if e := ev.find("ended")[0].(Ended); e.State != spool.Expired {
		t.Errorf("ended: %+v", e)
	}
	if !sp.Purged(s.ID()) {
		t.Error("the expired offer's ciphertext is still in the spool")
	}
}

// An error from Issue (the card cannot be written) ends the send before
// it waits.
func TestIssueErrorEndsSend(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sp := openSpool(t)
	ev := newEvents()
	o, _ := options(t, sp, ev, nil)
	boom := errors.New("the card cannot be written")
	o.Issue = func(Card) error { return boom }
	s, err := Pack(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Deliver(ctx); !errors.Is(err, boom) {
		t.Fatalf("Deliver: %v", err)
	}
	if slices.Contains(ev.types(), "serving_offer") {
		t.Error("the send served after its card failed")
	}
}

// peerID is the peer ID of a libp2p key.
func peerID(t *testing.T, key crypto.PrivKey) string {
	t.Helper()
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return id.String()
}

// A card with the wrong secret is refused: the send says so, counts it,
// and the audit trail records it.
func TestWrongCardRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sp := openSpool(t)
	ev := newEvents()
	cards := make(chan card.Offer, 1)
	o, want := options(t, sp, ev, cards)
	trailPath := filepath.Join(t.TempDir(), "audit.jsonl")
	trail, err := audit.OpenTrail("sender", trailPath, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	o.Trail, o.Me = trail, audit.Local("sender", "St Elsewhere")
	s, err := Pack(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	stop, stopSend := context.WithCancel(ctx)
	fetched := make(chan error, 1)
	go func() {
		c := <-cards
		<-ev.seen("serving_offer")
		c.Secret[0] ^= 1
		fetched <- fetch(t, ctx, c, want)
		stopSend()
	}()
	if err := s.Deliver(stop); !errors.Is(err, context.Canceled) {
		t.Fatalf("Deliver: %v", err)
	}
	if err := <-fetched; !errors.Is(err, transfer.ErrUnauthorized) {
		t.Fatalf("fetch with a wrong card: %v, want ErrUnauthorized", err)
	}
	refused := ev.find("refused")
	if len(refused) == 0 || refused[0].(Refused).OfferID != s.ID().String() {
		t.Fatalf("refused events: %v", refused)
	}
	if d := ev.find("done")[0].(Done); d.Refused == 0 || d.Receipts != 0 {
		t.Errorf("done: %+v", d)
	}
	if rec, _ := sp.Load(s.ID()); rec.FailedProofs == 0 {
		t.Error("the spool did not count the failed proof")
	}
	trail.Close()
	b, err := os.ReadFile(trailPath)
	if err != nil || !bytes.Contains(b, []byte(s.ID().String())) || !bytes.Contains(b, []byte("proof_refused")) {
		t.Errorf("the audit trail does not record the refusal (%v):\n%s", err, b)
	}
}

// An address that cannot be listened on is a ListenError.
func TestListenError(t *testing.T) {
	ctx := context.Background()
	sp := openSpool(t)
	ev := newEvents()
	o, _ := options(t, sp, ev, make(chan card.Offer, 1))
	o.Listen = []string{"/ip4/192.0.2.1/tcp/0"} // TEST-NET-1: not this host's
	s, err := Pack(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	var le *ListenError
	if err := s.Deliver(ctx); !errors.As(err, &le) {
		t.Fatalf("Deliver: %v, want a ListenError", err)
	}
}
