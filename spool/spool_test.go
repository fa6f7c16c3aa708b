package spool

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	icrypto "imageshare/crypto"
	"imageshare/study"
	"imageshare/transfer"
)

func openSpool(t *testing.T) *Spool {
	t.Helper()
	sp, err := Open(filepath.Join(t.TempDir(), "spool"))
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

func newID(t *testing.T) transfer.OfferID {
	t.Helper()
	var id transfer.OfferID
	rand.Read(id[:])
	return id
}

// record saves a record of a new offer, without ciphertext, created at
// created and expiring an hour later.
func record(t *testing.T, sp *Spool, created time.Time, change func(*Record)) *Record {
	t.Helper()
	r := &Record{ID: newID(t), Created: created, Expires: created.Add(time.Hour), MaxDownloads: DefaultMaxDownloads,
		PatientName: "TEST^PATIENT", PatientID: "P1", StudyUID: "1.2.3", Files: 3, Bytes: 7500}
	if change != nil {
		change(r)
	}
	if err := os.MkdirAll(sp.OfferDir(r.ID), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := sp.Save(r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOpenCreatesPrivateSpool(t *testing.T) {
	sp := openSpool(t)
	fi, err := os.Stat(filepath.Join(sp.Dir, "offers"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("offers folder mode %v, want 0700", fi.Mode().Perm())
	}
	if _, err := Open(filepath.Join(sp.Dir, "offers", "x\x00")); err == nil {
		t.Error("Open of an impossible path succeeded")
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/state")
	if got := DefaultDir(); got != filepath.Join("/state", "imageshare", "spool") {
		t.Errorf("DefaultDir = %s", got)
	}
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/staff")
	if got := DefaultDir(); got != filepath.Join("/home/staff", ".local", "state", "imageshare", "spool") {
		t.Errorf("DefaultDir = %s", got)
	}
}

// A record is saved whole, with nothing that decrypts, and read back.
func TestSaveLoadList(t *testing.T) {
	sp := openSpool(t)
	now := time.Now().Truncate(time.Second)
	older := record(t, sp, now.Add(-time.Hour), nil)
	newer := record(t, sp, now, func(r *Record) { r.Keep, r.Passcode, r.Site = true, true, "St Elsewhere" })
	// An offer still being packed (no record yet), and a stray folder,
	// are not offers.
	os.MkdirAll(sp.OfferDir(newID(t)), 0o700)
	os.MkdirAll(filepath.Join(sp.Dir, "offers", "not-an-offer"), 0o700)

	got, err := sp.Load(newer.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != newer.ID || !got.Keep || !got.Passcode || got.Site != "St Elsewhere" || !got.Expires.Equal(newer.Expires) {
		t.Errorf("loaded %+v", got)
	}
	fi, err := os.Stat(filepath.Join(sp.OfferDir(newer.ID), "offer.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("offer.json: %v, mode %v", err, fi.Mode().Perm())
	}
	list, err := sp.List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != newer.ID || list[1].ID != older.ID {
		t.Fatalf("List gave %d offers, want the two, newest first", len(list))
	}

	if _, err := sp.Load(newID(t)); !errors.Is(err, ErrNoOffer) {
		t.Errorf("Load of an unknown offer: %v", err)
	}
	// A record under another offer's folder is refused.
	b, _ := os.ReadFile(filepath.Join(sp.OfferDir(older.ID), "offer.json"))
	other := newID(t)
	os.MkdirAll(sp.OfferDir(other), 0o700)
	os.WriteFile(filepath.Join(sp.OfferDir(other), "offer.json"), b, 0o600)
	if _, err := sp.Load(other); err == nil {
		t.Error("a record naming another offer was loaded")
	}
	if _, err := sp.List(); err == nil {
		t.Error("List passed over a record naming another offer")
	}
	os.WriteFile(filepath.Join(sp.OfferDir(other), "offer.json"), []byte("{"), 0o600)
	if _, err := sp.Load(other); err == nil {
		t.Error("a damaged record was loaded")
	}
}

// An offer's state through its life: live, used up by a receipt (or by
// downloads with Keep), expired, revoked.
func TestStates(t *testing.T) {
	now := time.Now()
	live := Record{Expires: now.Add(time.Hour), MaxDownloads: 3}
	receipt := Receipt{Time: now, Peer: "r", Files: 3, Bytes: 7500}
	served := Served{Time: now, Peer: "r", Bytes: 9000}
	for _, c := range []struct {
		name   string
		change func(r *Record)
		want   State
		err    error
	}{
		{"live", func(r *Record) {}, Live, nil},
		{"first receipt", func(r *Record) { r.Receipts = []Receipt{receipt} }, UsedUp, transfer.ErrUsedUp},
		{"keep, one receipt", func(r *Record) { r.Keep, r.Receipts = true, []Receipt{receipt} }, Live, nil},
		{"keep, max receipts", func(r *Record) { r.Keep, r.Receipts = true, []Receipt{receipt, receipt, receipt} }, UsedUp, transfer.ErrUsedUp},
		{"keep, max served", func(r *Record) { r.Keep, r.Served = true, []Served{served, served, served} }, Live, nil},
		{"keep, max served and the copy of slack", func(r *Record) { r.Keep, r.Served = true, []Served{served, served, served, served} }, UsedUp, transfer.ErrUsedUp},
		{"served without receipt", func(r *Record) { r.Served = []Served{served} }, Live, nil},
		{"expired", func(r *Record) { r.Expires = now }, Expired, transfer.ErrExpired},
		{"revoked", func(r *Record) { r.Revoked = true }, Revoked, transfer.ErrRevoked},
		{"revoked after its receipt", func(r *Record) { r.Revoked, r.Receipts = true, []Receipt{receipt} }, Revoked, transfer.ErrRevoked},
	} {
		r := live
		c.change(&r)
		if st := r.State(now); st != c.want || !errors.Is(st.Err(), c.err) || (c.err == nil) != (st.Err() == nil) {
			t.Errorf("%s: state %s (%v), want %s", c.name, st, st.Err(), c.want)
		}
	}
	r := Record{Receipts: []Receipt{receipt}, Served: []Served{served, served}}
	if r.Downloads() != 2 {
		t.Errorf("1 receipt and 2 copies served: %d downloads, want 2", r.Downloads())
	}
}

// Receipts and copies served are recorded, each once, even when several
// processes record at once.
func TestConcurrentUpdates(t *testing.T) {
	sp := openSpool(t)
	r := record(t, sp, time.Now(), func(r *Record) { r.Keep, r.MaxDownloads = true, 100 })
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				sp.AddReceipt(r.ID, Receipt{Peer: fmt.Sprint(i)})
			} else {
				sp.AddServed(r.ID, Served{Peer: fmt.Sprint(i)})
			}
		}()
	}
	wg.Wait()
	got, err := sp.Load(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Receipts) != 10 || len(got.Served) != 10 {
		t.Errorf("%d receipts and %d copies recorded, want 10 and 10", len(got.Receipts), len(got.Served))
	}
	if _, err := sp.AddReceipt(newID(t), Receipt{}); err == nil {
		t.Error("a receipt for an unknown offer was recorded")
	}
}

// Revoking ends the offer at once, deletes its ciphertext, and keeps the
// record so that a receiver is told why.
func TestRevoke(t *testing.T) {
	sp := openSpool(t)
	r := record(t, sp, time.Now(), nil)
	for _, f := range []string{transfer.DataFile, transfer.ManifestFile, transfer.IndexFile} {
		os.WriteFile(filepath.Join(sp.OfferDir(r.ID), f), []byte("sealed"), 0o600)
	}
	if sp.Purged(r.ID) || sp.IsRevoked(r.ID) {
		t.Fatal("a new offer is purged or revoked")
	}
	got, err := sp.Revoke(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Revoked || got.State(time.Now()) != Revoked {
		t.Errorf("Revoke returned %+v", got)
	}
	if !sp.IsRevoked(r.ID) || !sp.Purged(r.ID) {
		t.Error("the revoked offer is not marked, or its ciphertext is still there")
	}
	for _, f := range []string{transfer.DataFile, transfer.ManifestFile, transfer.IndexFile} {
		if _, err := os.Stat(filepath.Join(sp.OfferDir(r.ID), f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left after revoke", f)
		}
	}
	if l, err := sp.Load(r.ID); err != nil || !l.Revoked {
		t.Errorf("the record after revoke: %v, revoked %v", err, l != nil && l.Revoked)
	}
	if _, err := sp.Revoke(newID(t)); !errors.Is(err, ErrNoOffer) {
		t.Errorf("Revoke of an unknown offer: %v", err)
	}
}

// Failed proofs lock the offer at the budget, once; unlocking gives a
// fresh budget.
func TestLockAndUnlock(t *testing.T) {
	sp := openSpool(t)
	r := record(t, sp, time.Now(), nil)
	for i := 1; i <= 3; i++ {
		rec, locked, err := sp.FailedProof(r.ID, 3)
		if err != nil {
			t.Fatal(err)
		}
		if rec.FailedProofs != i || locked != (i == 3) {
			t.Errorf("failure %d: %d counted, locked now %v", i, rec.FailedProofs, locked)
		}
	}
	if _, locked, _ := sp.FailedProof(r.ID, 3); locked {
		t.Error("a locked offer was locked again")
	}
	if !sp.IsLocked(r.ID) {
		t.Fatal("not locked after the budget")
	}
	if l, _ := sp.Load(r.ID); !l.Locked || l.State(time.Now()) != Live {
		t.Error("a locked offer must load as locked, and stay live (unlock serves it again)")
	}
	got, err := sp.Unlock(r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Locked || got.FailedProofs != 0 || sp.IsLocked(r.ID) {
		t.Errorf("after unlock: %+v, marker %v", got, sp.IsLocked(r.ID))
	}
	if _, err := sp.Unlock(newID(t)); err == nil {
		t.Error("Unlock of an unknown offer succeeded")
	}
}

// One process at a time holds the spool's serve lock, and says who it is
// for sends to hand their offers to; what it said goes with the lock.
func TestServeLockAndServing(t *testing.T) {
	sp := openSpool(t)
	unlock, held, err := sp.Lock()
	if err != nil || held {
		t.Fatalf("first Lock: held %v, %v", held, err)
	}
	if _, err := sp.ReadServing(0); err == nil {
		t.Error("ReadServing before the holder wrote serving.json")
	}
	v := Serving{PID: os.Getpid(), PeerID: "12D3KooW", Addrs: []string{"/ip4/127.0.0.1/tcp/7471"}, Mode: "serve"}
	if err := sp.WriteServing(v); err != nil {
		t.Fatal(err)
	}
	if _, held, err := sp.Lock(); err != nil || !held {
		t.Errorf("second Lock: held %v, %v", held, err)
	}
	got, err := sp.ReadServing(time.Second)
	if err != nil || got.PID != v.PID || got.Mode != "serve" || len(got.Addrs) != 1 {
		t.Errorf("ReadServing: %+v, %v", got, err)
	}
	unlock()
	if _, err := os.Stat(filepath.Join(sp.Dir, "serving.json")); !errors.Is(err, os.ErrNotExist) {
		t.Error("serving.json outlived the lock")
	}
	unlock2, held, err := sp.Lock()
	if err != nil || held {
		t.Fatalf("Lock after unlock: held %v, %v", held, err)
	}
	unlock2()
}

// The spool's identity is made once and kept: cards stay valid when the
// sender restarts.
func TestIdentityIsStable(t *testing.T) {
	sp := openSpool(t)
	k1, err := sp.Identity()
	if err != nil {
		t.Fatal(err)
	}
	k2, err := sp.Identity()
	if err != nil {
		t.Fatal(err)
	}
	id1, _ := peer.IDFromPrivateKey(k1)
	id2, _ := peer.IDFromPrivateKey(k2)
	if id1 != id2 {
		t.Errorf("identity changed: %s, then %s", id1, id2)
	}
	fi, err := os.Stat(filepath.Join(sp.Dir, "identity.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("identity.key: %v", err)
	}
}

func TestMarkLoaded(t *testing.T) {
	sp := openSpool(t)
	r := record(t, sp, time.Now(), nil)
	if sp.WaitLoaded(r.ID, 0) {
		t.Error("an offer no one serves is loaded")
	}
	if err := sp.MarkLoaded(r.ID); err != nil {
		t.Fatal(err)
	}
	if !sp.WaitLoaded(r.ID, time.Second) {
		t.Error("a marked offer is not loaded")
	}
}

// packOffer packs a small offer into sp and records it as a send does.
func packOffer(t *testing.T, sp *Spool) (*Record, *transfer.Packed) {
	t.Helper()
	src := t.TempDir()
	var files []study.File
	for i := range 2 {
		b := make([]byte, 2500)
		rand.Read(b)
		p := filepath.Join(src, fmt.Sprint(i))
		os.WriteFile(p, b, 0o600)
		files = append(files, study.File{Path: p, Rel: fmt.Sprintf("s/IM%d.dcm", i), Size: 2500, Kind: study.KindDICOM, StudyUID: "1.2.3"})
	}
	secret, _ := icrypto.NewSecret()
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		t.Fatal(err)
	}
	id := newID(t)
	now := time.Now()
	p, err := transfer.Pack(context.Background(), files, transfer.PackOptions{Dir: sp.OfferDir(id), OfferID: id, Recipient: keys.Recipient,
		Created: now, Expires: now.Add(time.Hour), Studies: []study.Summary{{StudyUID: "1.2.3"}}, ChunkSize: 1000})
	if err != nil {
		t.Fatal(err)
	}
	r := &Record{ID: id, Created: now, Expires: now.Add(time.Hour), MaxDownloads: 1, Verifier: keys.Verifier,
		ManifestHash: p.ManifestHash[:], Files: 2, Bytes: 5000}
	return r, p
}

// An offer packed before the index lay beside its chunks has the index in
// its record: the service writes it to the folder and serves the offer.
func TestServiceServesOlderRecord(t *testing.T) {
	sp := openSpool(t)
	r, p := packOffer(t, sp)
	if err := os.Remove(filepath.Join(sp.OfferDir(r.ID), transfer.IndexFile)); err != nil {
		t.Fatal(err)
	}
	// The record as an older sender wrote it.
	old := map[string]any{}
	b, _ := json.Marshal(r)
	json.Unmarshal(b, &old)
	stored := make([][]byte, len(p.Manifest.Chunks))
	for i, c := range p.Manifest.Chunks {
		stored[i] = c.StoredBLAKE3[:]
	}
	old["id"], old["extents"], old["stored_blake3"] = r.ID.String(), p.Extents, stored
	delete(old, "stored_bytes")
	b, _ = json.Marshal(old)
	if err := os.WriteFile(filepath.Join(sp.OfferDir(r.ID), "offer.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}

	svc := &Service{Spool: sp, Server: &transfer.Server{}}
	svc.Start()
	t.Cleanup(svc.Close)
	if err := svc.Sync(); err != nil {
		t.Fatal(err)
	}
	o, err := transfer.OpenOffer(sp.OfferDir(r.ID))
	if err != nil {
		t.Fatalf("no index written for the older record: %v", err)
	}
	o.Close()
	got, ok := svc.Record(r.ID)
	if !ok || got.StoredBytes != p.Manifest.StoredSize() {
		t.Errorf("served record: %v, stored bytes %d, want %d", ok, got.StoredBytes, p.Manifest.StoredSize())
	}
}

// An offer whose folder is not the one its record names (another
// manifest, a missing index) is not served, and Sync says why.
func TestServiceRefusesDamagedOffer(t *testing.T) {
	sp := openSpool(t)
	r, _ := packOffer(t, sp)
	r.ManifestHash = make([]byte, transfer.ManifestHashSize)
	if err := sp.Save(r); err != nil {
		t.Fatal(err)
	}
	r2, _ := packOffer(t, sp)
	if err := sp.Save(r2); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(sp.OfferDir(r2.ID), transfer.IndexFile))
	svc := &Service{Spool: sp, Server: &transfer.Server{}}
	svc.Start()
	t.Cleanup(svc.Close)
	err := svc.Sync()
	if !errors.Is(err, ErrDamaged) || !errors.Is(err, transfer.ErrNoIndex) {
		t.Errorf("Sync: %v, want ErrDamaged and ErrNoIndex", err)
	}
	if _, ok := svc.Record(r.ID); ok {
		t.Error("a damaged offer is served")
	}
}

// An offer that ended while no one served it (expired) is registered as
// ended, its ciphertext deleted, so that a receiver is told why.
func TestServiceEndsExpiredOffer(t *testing.T) {
	sp := openSpool(t)
	r, _ := packOffer(t, sp)
	r.Expires = time.Now().Add(-time.Minute)
	if err := sp.Save(r); err != nil {
		t.Fatal(err)
	}
	svc := &Service{Spool: sp, Server: &transfer.Server{}}
	svc.Start()
	t.Cleanup(svc.Close)
	if err := svc.Sync(); err != nil {
		t.Fatal(err)
	}
	if !sp.Purged(r.ID) {
		t.Error("the expired offer's ciphertext is still there")
	}
	if !sp.WaitLoaded(r.ID, 0) {
		t.Error("the expired offer is not registered")
	}
}

// A service limited to one offer (a send serving its own) leaves the
// others of the spool alone.
func TestServiceOnly(t *testing.T) {
	sp := openSpool(t)
	mine, _ := packOffer(t, sp)
	other, _ := packOffer(t, sp)
	for _, r := range []*Record{mine, other} {
		if err := sp.Save(r); err != nil {
			t.Fatal(err)
		}
	}
	svc := &Service{Spool: sp, Server: &transfer.Server{}, Only: &mine.ID}
	svc.Start()
	t.Cleanup(svc.Close)
	if err := svc.Sync(); err != nil {
		t.Fatal(err)
	}
	if _, ok := svc.Record(mine.ID); !ok {
		t.Error("its own offer is not served")
	}
	if _, ok := svc.Record(other.ID); ok {
		t.Error("another offer is served")
	}
}

// Run syncs until its context ends: an offer revoked by another process
// ends, and OnEnd says so.
func TestServiceRunEndsRevokedOffer(t *testing.T) {
	sp := openSpool(t)
	r, _ := packOffer(t, sp)
	if err := sp.Save(r); err != nil {
		t.Fatal(err)
	}
	ended := make(chan State, 1)
	svc := &Service{Spool: sp, Server: &transfer.Server{}, OnEnd: func(_ *Record, s State) { ended <- s }}
	svc.Start()
	if err := svc.Sync(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { svc.Run(ctx, 10*time.Millisecond, func(err error) { t.Error(err) }); close(stopped) }()
	if _, err := sp.Revoke(r.ID); err != nil {
		t.Fatal(err)
	}
	if s := <-ended; s != Revoked {
		t.Errorf("ended %s, want revoked", s)
	}
	cancel()
	<-stopped
}
