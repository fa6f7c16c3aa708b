package spool

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/study"
	"imageshare/transfer"
)

// tcpStream is a loopback socket standing in for a libp2p stream.
type tcpStream struct{ *net.TCPConn }

func (s tcpStream) Reset() error { s.SetLinger(0); return s.Close() }

// served is a spool with one offer served by a Service over loopback.
type servedOffer struct {
	sp     *Spool
	svc    *Service
	offer  *card.Offer
	keys   *icrypto.Keys
	files  int
	bytes  int64
	locked chan *Record
	open   func(peer string) func(context.Context) (transfer.Stream, error)
}

func serveOffer(t *testing.T, keep bool, maxDownloads int) *servedOffer {
	t.Helper()
	sp, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := t.TempDir()
	var files []study.File
	for i := range 3 {
		b := make([]byte, 2500)
		rand.Read(b)
		p := filepath.Join(src, fmt.Sprint(i))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, study.File{Path: p, Rel: fmt.Sprintf("s/IM%d.dcm", i), Size: 2500, Kind: study.KindDICOM, StudyUID: "1.2.3"})
	}
	secret, _ := icrypto.NewSecret()
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		t.Fatal(err)
	}
	var id transfer.OfferID
	rand.Read(id[:])
	now := time.Now()
	p, err := transfer.Pack(context.Background(), files, transfer.PackOptions{Dir: sp.OfferDir(id), OfferID: id, Recipient: keys.Recipient,
		Created: now, Expires: now.Add(time.Hour), Studies: []study.Summary{{StudyUID: "1.2.3"}}, ChunkSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	rec := &Record{ID: id, Created: now, Expires: now.Add(time.Hour), MaxDownloads: maxDownloads, Keep: keep, Verifier: keys.Verifier,
		ManifestHash: p.ManifestHash[:], Files: len(p.Manifest.Files), Bytes: p.Manifest.TotalSize()}
	if err := sp.Save(rec); err != nil {
		t.Fatal(err)
	}
	so := &servedOffer{sp: sp, keys: keys, files: rec.Files, bytes: rec.Bytes, locked: make(chan *Record, 1),
		offer: &card.Offer{Peer: "unused", Secret: secret, ID: id, Expires: rec.Expires, ManifestHash: p.ManifestHash}}
	so.svc = &Service{Spool: sp, Server: &transfer.Server{}, OnLocked: func(r *Record) { so.locked <- r }}
	so.svc.Start()
	if err := so.svc.Sync(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(so.svc.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); ln.Close() })
	var mu sync.Mutex
	next := ""
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			peer := next
			mu.Unlock()
			go so.svc.Server.Handle(ctx, tcpStream{c.(*net.TCPConn)}, transfer.Peer{Local: "sender", Remote: peer, Name: peer, Host: "relayed:" + peer})
		}
	}()
	so.open = func(peer string) func(context.Context) (transfer.Stream, error) {
		return func(ctx context.Context) (transfer.Stream, error) {
			mu.Lock()
			next = peer
			defer mu.Unlock()
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
			if err != nil {
				return nil, err
			}
			return tcpStream{c.(*net.TCPConn)}, nil
		}
	}
	return so
}

// client is a card holder, as peer.
func (so *servedOffer) client(peer string) *transfer.Client {
	return &transfer.Client{Open: so.open(peer), Local: peer, Remote: "sender", Offer: so.offer.Ref(), Keys: so.keys, Streams: 1}
}

// fetch fetches every chunk as peer, and confirms receipt if asked.
func (so *servedOffer) fetch(peer string, confirm bool) error {
	ctx := context.Background()
	c := so.client(peer)
	m, err := c.Manifest(ctx)
	if err != nil {
		return err
	}
	need := make([]int, len(m.Chunks))
	for i := range need {
		need[i] = i
	}
	if err := c.Fetch(ctx, m, need, func(int, []byte) error { return nil }, nil); err != nil {
		return err
	}
	if confirm {
		return c.Confirm(ctx, so.files, so.bytes)
	}
	return nil
}

func (so *servedOffer) record(t *testing.T) *Record {
	t.Helper()
	r, err := so.sp.Load(so.offer.ID)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// Without --keep, the first verified receipt ends the offer, under a
// service as under a lone send, whatever --max-downloads says.
func TestFirstReceiptEndsOffer(t *testing.T) {
	so := serveOffer(t, false, DefaultMaxDownloads)
	if err := so.fetch("receiver-1", true); err != nil {
		t.Fatal(err)
	}
	if st := so.record(t).State(time.Now()); st != UsedUp {
		t.Fatalf("after a verified receipt the offer is %s", st)
	}
	if !so.sp.Purged(so.offer.ID) {
		t.Fatal("the ended offer's ciphertext is still in the spool")
	}
	if err := so.fetch("photographed-card", false); !errors.Is(err, transfer.ErrUsedUp) {
		t.Fatalf("a second holder of the card: got %v, want ErrUsedUp", err)
	}
}

// A chunk lost in flight is fetched again: when a connection drops or
// hole punching moves the fetch to a direct connection, the chunks that
// were on their way are asked for again, after every chunk was sent once.
// With --max-downloads 1, that must not end the offer before the receiver
// has the study (TestNetworks found it: exit 8 after a hole punch).
func TestChunksLostInFlightAreSentAgain(t *testing.T) {
	so := serveOffer(t, false, 1)
	if err := so.fetch("receiver", false); err != nil { // every chunk sent once
		t.Fatal(err)
	}
	ctx := context.Background()
	c := so.client("receiver")
	m, err := c.Manifest(ctx)
	if err != nil {
		t.Fatalf("after one copy sent, the offer is closed to its receiver: %v", err)
	}
	if err := c.Fetch(ctx, m, []int{0, len(m.Chunks) - 1}, func(int, []byte) error { return nil }, nil); err != nil {
		t.Fatalf("fetching two lost chunks again: %v", err)
	}
	if err := c.Confirm(ctx, so.files, so.bytes); err != nil {
		t.Fatal(err)
	}
	if st := so.record(t).State(time.Now()); st != UsedUp {
		t.Fatalf("after the receipt the offer is %s", st)
	}
}

// A receiver that never confirms gets one copy more than
// --max-downloads, the slack for chunks lost in flight, and no more.
func TestSilentReceiverGetsOneCopyOfSlack(t *testing.T) {
	so := serveOffer(t, false, 1)
	for i := range 2 {
		if err := so.fetch(fmt.Sprintf("silent-%d", i), false); err != nil {
			t.Fatalf("fetch %d: %v", i+1, err)
		}
	}
	if err := so.fetch("silent-3", false); !errors.Is(err, transfer.ErrUsedUp) {
		t.Fatalf("a third whole fetch with --max-downloads 1: got %v, want ErrUsedUp", err)
	}
}

// A receiver that never confirms is counted by what it was sent: with
// --keep and --max-downloads 3, four whole fetches (three and the copy of
// slack) end the offer.
func TestFetchesWithoutReceiptUseUpOffer(t *testing.T) {
	so := serveOffer(t, true, 3)
	for i := range 4 {
		if err := so.fetch(fmt.Sprintf("silent-%d", i), false); err != nil {
			t.Fatalf("fetch %d: %v", i+1, err)
		}
	}
	r := so.record(t)
	if r.Downloads() != 4 || r.State(time.Now()) != UsedUp {
		t.Fatalf("after 4 whole fetches without receipt: %d downloads, state %s", r.Downloads(), r.State(time.Now()))
	}
	if err := so.fetch("silent-5", false); !errors.Is(err, transfer.ErrUsedUp) {
		t.Fatalf("a fifth fetch: got %v, want ErrUsedUp", err)
	}
}

// A receipt claiming 0 files does not end the offer; the true one does.
func TestFalseReceiptDoesNotEndOffer(t *testing.T) {
	so := serveOffer(t, false, DefaultMaxDownloads)
	err := so.client("liar").Confirm(context.Background(), 0, 0)
	if !errors.Is(err, transfer.ErrBadRequest) {
		t.Fatalf("a RECEIPT of 0 files: got %v, want refused", err)
	}
	r := so.record(t)
	if len(r.Receipts) != 0 || r.State(time.Now()) != Live || so.sp.Purged(so.offer.ID) {
		t.Fatalf("a false receipt counted: %d receipts, state %s", len(r.Receipts), r.State(time.Now()))
	}
	if err := so.fetch("receiver", true); err != nil {
		t.Fatal(err)
	}
	if r := so.record(t); len(r.Receipts) != 1 || r.Receipts[0].Files != so.files || r.Receipts[0].Bytes != so.bytes {
		t.Fatalf("receipts %+v", r.Receipts)
	}
}

// ProofBudget failed proofs, each from a peer of its own (peer IDs are
// free through a relay), lock the offer: the right card then gets nothing
// until the offer is unlocked.
func TestProofBudgetLocksOffer(t *testing.T) {
	so := serveOffer(t, false, DefaultMaxDownloads)
	wrong := *so.offer
	wrong.Secret[0] ^= 1
	wrongKeys, _ := icrypto.DeriveKeys(&wrong.Secret)
	for i := range ProofBudget {
		c := &transfer.Client{Open: so.open(fmt.Sprint("guesser-", i)), Local: fmt.Sprint("guesser-", i), Remote: "sender", Offer: wrong.Ref(), Keys: wrongKeys}
		if _, err := c.Manifest(context.Background()); !errors.Is(err, transfer.ErrUnauthorized) {
			t.Fatalf("guess %d: got %v, want refused", i+1, err)
		}
	}
	select {
	case r := <-so.locked:
		if r.FailedProofs != ProofBudget {
			t.Fatalf("locked after %d failures", r.FailedProofs)
		}
	default:
		t.Fatal("no lock reported")
	}
	if _, err := so.client("right-card").Manifest(context.Background()); !errors.Is(err, transfer.ErrLocked) {
		t.Fatalf("the right card on a locked offer: got %v, want ErrLocked", err)
	}
	if !so.record(t).Locked {
		t.Fatal("the record does not say locked")
	}
	if _, err := so.sp.Unlock(so.offer.ID); err != nil {
		t.Fatal(err)
	}
	if r := so.record(t); r.Locked || r.FailedProofs != 0 {
		t.Fatalf("after unlock: locked %v, %d failures", r.Locked, r.FailedProofs)
	}
	if err := so.fetch("right-card", true); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}
