package transfer

import (
	"context"
	"errors"
	"sync"
	"testing"

	icrypto "imageshare/crypto"
)

// events collects a server's events of the kinds asked for.
type events struct {
	mu   sync.Mutex
	seen map[EventKind][]Event
}

func watch(srv *Server) *events {
	ev := &events{seen: map[EventKind][]Event{}}
	srv.OnEvent = func(e Event) {
		ev.mu.Lock()
		defer ev.mu.Unlock()
		ev.seen[e.Kind] = append(ev.seen[e.Kind], e)
	}
	return ev
}

func (ev *events) count(k EventKind) int {
	ev.mu.Lock()
	defer ev.mu.Unlock()
	return len(ev.seen[k])
}

// fetchChunks fetches the manifest and the chunks named, without a receipt.
func fetchChunks(t *testing.T, c *Client, need []int) {
	t.Helper()
	ctx := context.Background()
	m, err := c.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Fetch(ctx, m, need, func(int, []byte) error { return nil }, nil); err != nil {
		t.Fatal(err)
	}
}

// A receiver that never sends RECEIPT is counted all the same: each whole
// copy of the study sent is a download, whoever asked for its chunks.
func TestWholeCopiesSentAreDownloads(t *testing.T) {
	fx := newFixture(t, []int{2500, 1700, 900}, 1000)
	ev := watch(fx.srv)
	n := len(fx.packed.Extents)
	for i := range 2 {
		fetchChunks(t, fx.client(t), all(n))
		if got := ev.count(EventDownload); got != i+1 {
			t.Fatalf("after %d whole fetches without receipt: %d downloads counted", i+1, got)
		}
	}
	// A download resumed on another connection, from another peer, half
	// here and half there, is one more, not two.
	first := &Client{Open: listen(t, fx.srv, "peer-a"), Local: "peer-a", Remote: senderID, Offer: fx.offer, Keys: fx.keys}
	fetchChunks(t, first, all(n)[:n/2])
	if got := ev.count(EventDownload); got != 2 {
		t.Fatalf("half a copy counted: %d downloads", got)
	}
	second := &Client{Open: listen(t, fx.srv, "peer-b"), Local: "peer-b", Remote: senderID, Offer: fx.offer, Keys: fx.keys}
	fetchChunks(t, second, all(n)[n/2:])
	if got := ev.count(EventDownload); got != 3 {
		t.Fatalf("a copy sent in two halves to two peers: %d downloads, want 3", got)
	}
	if e := ev.seen[EventDownload][2]; e.Offer != fx.offer.ID || e.Bytes <= 0 {
		t.Fatalf("download event %+v", e)
	}
}

// A RECEIPT is believed only when it names the offer's files and bytes.
func TestReceiptMustMatchOffer(t *testing.T) {
	fx := newFixture(t, []int{2500, 1700}, 1000)
	m := fx.packed.Manifest
	fx.srv.Add(&Offer{ID: fx.offer.ID, Verifier: fx.keys.Verifier, Expires: m.Expires, SealedManifest: fx.packed.SealedManifest,
		Extents: fx.packed.Extents, Data: fx.srv.offers[fx.offer.ID].Data, Files: len(m.Files), Bytes: m.TotalSize()})
	ev := watch(fx.srv)
	for _, c := range []struct {
		files int
		bytes int64
	}{{0, 0}, {len(m.Files) - 1, m.TotalSize()}, {len(m.Files), m.TotalSize() + 1}, {len(m.Files), 0}} {
		err := fx.client(t).Confirm(context.Background(), c.files, c.bytes)
		if !errors.Is(err, ErrBadRequest) {
			t.Fatalf("RECEIPT of %d files, %d bytes: got %v, want refused", c.files, c.bytes, err)
		}
	}
	if got := ev.count(EventReceipt); got != 0 {
		t.Fatalf("%d false receipts believed", got)
	}
	if got := ev.count(EventReceiptRefused); got != 4 {
		t.Fatalf("%d refused receipts reported, want 4", got)
	}
	if err := fx.client(t).Confirm(context.Background(), len(m.Files), m.TotalSize()); err != nil {
		t.Fatal(err)
	}
	if got := ev.count(EventReceipt); got != 1 {
		t.Fatalf("the true receipt: %d receipts", got)
	}
}

// Failed proofs are checked one at a time for an offer, so that an offer
// locked after its budget of failures is locked for the very next HELLO,
// however many come at once and from however many addresses.
func TestLockedOfferAnswersNothing(t *testing.T) {
	fx := newFixture(t, []int{2000}, 1000)
	o := fx.srv.offers[fx.offer.ID]
	const budget = 20
	var mu sync.Mutex
	failures := 0
	o.Locked = func() bool {
		mu.Lock()
		defer mu.Unlock()
		return failures >= budget
	}
	fx.srv.OnEvent = func(e Event) {
		if e.Kind == EventRefused && errors.Is(e.Err, ErrUnauthorized) {
			mu.Lock()
			failures++
			mu.Unlock()
		}
	}
	bad := append(append([]byte{}, fx.offer.ID[:]...), make([]byte, icrypto.ProofSize)...)
	var wg sync.WaitGroup
	codes := make(chan ErrorCode, 3*budget)
	for i := range 3 * budget {
		// Each from an address of its own: the per-address limit does not
		// apply, as with peer IDs through a relay.
		open := listenFrom(t, fx.srv, receiverID, "192.0.2."+string(rune('0'+i%10))+string(rune('0'+i/10)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := dialRaw(t, open)
			h.send(MsgHello, bad)
			typ, p, err := h.answer()
			if err != nil || typ != MsgError {
				codes <- 0
				return
			}
			codes <- decodeError(p).Code
		}()
	}
	wg.Wait()
	close(codes)
	refused, locked := 0, 0
	for c := range codes {
		switch c {
		case CodeUnauthorized:
			refused++
		case CodeLocked:
			locked++
		default:
			t.Fatalf("answer code %d", c)
		}
	}
	if refused != budget || locked != 2*budget {
		t.Fatalf("%d proofs checked and refused, %d answered locked; want %d and %d", refused, locked, budget, 2*budget)
	}
	// The right card is refused too, and gets nothing.
	other := &Client{Open: listenFrom(t, fx.srv, receiverID, "198.51.100.1"), Local: receiverID, Remote: senderID, Offer: fx.offer, Keys: fx.keys}
	if _, err := other.Manifest(context.Background()); !errors.Is(err, ErrLocked) {
		t.Fatalf("the right card on a locked offer: got %v, want ErrLocked", err)
	}
}
