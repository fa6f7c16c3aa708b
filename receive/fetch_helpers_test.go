package receive

import (
	"bytes"
	"context"
	"crypto/rand"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"

	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/internal/streampeer"
	"imageshare/study"
	"imageshare/synthetic"
	"imageshare/transfer"
)

// recvSender is a sender served in this process, on a libp2p host on
// loopback: a synthetic study packed into an offer, its card, and what
// the server was asked for.
type recvSender struct {
	t      *testing.T
	src    []study.File // the study's files, to compare with what arrived
	h      host.Host
	card   *card.Offer
	packed *transfer.Packed
	data   *recvData

	mu       sync.Mutex
	receipts int
}

// recvData is the offer's sealed chunks as the server reads them: each
// read counted, and optionally damaged or held.
type recvData struct {
	f       *os.File
	extents []transfer.Extent

	mu    sync.Mutex
	reads map[int]int // by chunk
	// damage, if set, says whether this read of chunk i (its n-th, from
	// 1) is to be damaged.
	damage func(i, n int) bool
	// onRead, if set, is called before each read of chunk i, its n-th
	// of all reads; it may block.
	onRead func(i, n int)
	total  int
}

func (d *recvData) ReadAt(p []byte, off int64) (int, error) {
	i := -1
	for k, e := range d.extents {
		if e.Offset == off {
			i = k
			break
		}
	}
	d.mu.Lock()
	d.reads[i]++
	d.total++
	n, total, damage, onRead := d.reads[i], d.total, d.damage, d.onRead
	d.mu.Unlock()
	if onRead != nil {
		onRead(i, total)
	}
	c, err := d.f.ReadAt(p, off)
	if damage != nil && damage(i, n) && c > 0 {
		p[c/2] ^= 0x40
	}
	return c, err
}

// reads is how many chunks were read in all.
func (d *recvData) readsTotal() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.total
}

// readsOf is how many times chunk i was read.
func (d *recvData) readsOf(i int) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.reads[i]
}

// recvServe packs a synthetic study of series × images into an offer and
// serves it on a loopback host until the test ends.
func recvServe(t *testing.T, series, images int) *recvSender {
	t.Helper()
	src := t.TempDir()
	if _, err := synthetic.Write(synthetic.Options{Dir: src, Series: series, Images: images, Rows: 64, Columns: 64, Seed: 7}); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	scan, err := study.ScanPaths(ctx, []string{src}, study.ScanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	studies, err := study.Select(scan, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := icrypto.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		t.Fatal(err)
	}
	var id transfer.OfferID
	rand.Read(id[:])
	packed, err := transfer.Pack(ctx, studies[0].Files, transfer.PackOptions{
		Dir: filepath.Join(t.TempDir(), "offer"), OfferID: id, Recipient: keys.Recipient,
		Created: time.Now(), Expires: time.Now().Add(time.Hour),
		Studies: []study.Summary{studies[0].Summary}, ChunkSize: 4 << 10,
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(packed.Dir, transfer.DataFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	h, err := discovery.NewHost(discovery.HostOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	s := &recvSender{t: t, src: studies[0].Files, h: h, packed: packed,
		data: &recvData{f: f, extents: packed.Extents, reads: map[int]int{}}}
	srv := &transfer.Server{OnEvent: func(e transfer.Event) {
		if e.Kind == transfer.EventReceipt {
			s.mu.Lock()
			s.receipts++
			s.mu.Unlock()
		}
	}}
	srv.Add(&transfer.Offer{ID: id, Verifier: keys.Verifier, Expires: packed.Manifest.Expires,
		SealedManifest: packed.SealedManifest, Extents: packed.Extents, Data: s.data})
	sctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h.SetStreamHandler(transfer.ProtocolID, func(st network.Stream) {
		srv.Handle(sctx, st, streampeer.Of(st))
	})
	s.card = &card.Offer{Peer: h.ID(), Addrs: discovery.CardAddrs(h, nil), Secret: secret, ID: id,
		Expires: packed.Manifest.Expires, ManifestHash: packed.ManifestHash}
	return s
}

func (s *recvSender) receiptsSeen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.receipts
}

// recvOptions are a test's options: into a fresh folder, without mDNS,
// with short waits between attempts.
func recvOptions(t *testing.T) Options {
	return Options{Out: filepath.Join(t.TempDir(), "in"), Timeout: 10 * time.Second, RetryFor: time.Minute,
		noLAN: true, retryDelay: 10 * time.Millisecond}
}

// recvEvents collects a fetch's events; then, if set, is called with
// each as it comes.
type recvEvents struct {
	mu   sync.Mutex
	all  []Event
	then func(Event)
}

func (r *recvEvents) add(e Event) {
	r.mu.Lock()
	r.all = append(r.all, e)
	then := r.then
	r.mu.Unlock()
	if then != nil {
		then(e)
	}
}

// of returns the events of type T.
func recvOf[T Event](r *recvEvents) []T {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []T
	for _, e := range r.all {
		if x, ok := e.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// recvCheckFiles fails unless every file of the sender's study is in dir,
// byte for byte.
func recvCheckFiles(t *testing.T, s *recvSender, dir string) {
	t.Helper()
	for _, f := range s.src {
		want, err := os.ReadFile(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.Rel)))
		if err != nil || !bytes.Equal(want, got) {
			t.Fatalf("%s: not received intact (%v)", f.Rel, err)
		}
	}
}

// recvStudyFolders lists what out holds besides the hidden folders.
func recvStudyFolders(t *testing.T, out string) []string {
	t.Helper()
	var names []string
	for _, dir := range []string{out, filepath.Join(out, transfer.IncomingDir)} {
		es, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range es {
			if e.Name() != transfer.IncomingDir {
				names = append(names, filepath.Join(filepath.Base(dir), e.Name()))
			}
		}
	}
	return names
}

var _ io.ReaderAt = (*recvData)(nil)
