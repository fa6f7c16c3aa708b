package spool

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"imageshare/transfer"
)

// Service serves every offer of a spool through a transfer.Server: it adds
// offers as they appear, ends them when they expire, are revoked or used
// up (deleting their ciphertext), and records receipts.
type Service struct {
	Spool  *Spool
	Server *transfer.Server
	// OnEvent, if set, gets every server event after the service has
	// recorded it. It must not block.
	OnEvent func(transfer.Event, *Record)
	// OnEnd, if set, is called once when an offer stops being live.
	OnEnd func(*Record, State)
	// OnLocked, if set, is called when an offer is locked after
	// ProofBudget failed proofs.
	OnLocked func(*Record)
	// Now defaults to time.Now.
	Now func() time.Time
	// Only, if set, limits the service to one offer: a sender send
	// serving its own offer.
	Only *transfer.OfferID

	mu     sync.Mutex
	offers map[transfer.OfferID]*served
}

type served struct {
	rec   *Record
	data  *transfer.Offer // opened from the offer's folder; nil once ended
	ended bool
}

func (v *Service) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// Start hooks the service to its server. Call it once, before Sync.
func (v *Service) Start() {
	v.offers = map[transfer.OfferID]*served{}
	v.Server.OnEvent = v.event
	if v.Server.Now == nil {
		v.Server.Now = v.Now
	}
}

// Record returns the current record of a served offer.
func (v *Service) Record(id transfer.OfferID) (Record, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	o, ok := v.offers[id]
	if !ok {
		return Record{}, false
	}
	return *o.rec, true
}

// Sync brings the server in line with the spool. It is cheap enough to
// call every second.
func (v *Service) Sync() error {
	recs, err := v.Spool.List()
	if err != nil {
		return err
	}
	now := v.now()
	var errs []error
	for _, r := range recs {
		if v.Only != nil && r.ID != *v.Only {
			continue
		}
		v.mu.Lock()
		o, known := v.offers[r.ID]
		v.mu.Unlock()
		if !known {
			if err := v.add(r, now); err != nil {
				errs = append(errs, fmt.Errorf("offer %s: %w", r.ID, err))
			}
			continue
		}
		v.mu.Lock()
		if r.Revoked && !o.rec.Revoked {
			o.rec.Revoked = true
		}
		v.mu.Unlock()
		v.endIfOver(o, now)
	}
	return errors.Join(errs...)
}

// add starts serving r, or registers it as ended so that receivers are
// told why.
func (v *Service) add(r *Record, now time.Time) error {
	o := &served{rec: r}
	offer := &transfer.Offer{ID: r.ID}
	if r.State(now) == Live {
		opened, err := v.open(r)
		if err != nil {
			return err
		}
		offer, o.data = opened, opened
	} else {
		o.ended = true
		if err := v.Spool.Purge(r.ID); err != nil {
			return err
		}
	}
	offer.Verifier = r.Verifier
	offer.Expires = r.Expires
	offer.Files, offer.Bytes = r.Files, r.Bytes
	// Read from the spool at each HELLO: sender unlock, from another
	// process, takes effect at once.
	offer.Locked = func() bool { return v.Spool.IsLocked(r.ID) }
	offer.Check = func(now time.Time) error {
		// A revocation takes effect at the next request, not only at the
		// next Sync.
		revoked := v.Spool.IsRevoked(r.ID)
		v.mu.Lock()
		defer v.mu.Unlock()
		o.rec.Revoked = o.rec.Revoked || revoked
		return o.rec.State(now).Err()
	}
	v.mu.Lock()
	v.offers[r.ID] = o
	v.mu.Unlock()
	v.Server.Add(offer)
	return v.Spool.MarkLoaded(r.ID)
}

// ErrDamaged is returned for an offer whose folder is not the one its
// record names.
var ErrDamaged = errors.New("the offer's folder does not match its record (a damaged spool?)")

// open opens a live offer's folder (transfer.OpenOffer) and checks it
// against its record. An offer packed before its folder held a chunk
// index has the index in its record: it is written to the folder first.
func (v *Service) open(r *Record) (*transfer.Offer, error) {
	dir := v.Spool.OfferDir(r.ID)
	o, err := transfer.OpenOffer(dir)
	if errors.Is(err, transfer.ErrNoIndex) && len(r.LegacyExtents) > 0 {
		if err := writeLegacyIndex(dir, r); err != nil {
			return nil, err
		}
		o, err = transfer.OpenOffer(dir)
	}
	if err != nil {
		return nil, err
	}
	mh := transfer.ManifestHash(o.SealedManifest)
	if o.ID != r.ID || len(r.ManifestHash) > 0 && !bytes.Equal(mh[:], r.ManifestHash) {
		o.Close()
		return nil, ErrDamaged
	}
	if r.StoredBytes == 0 {
		for _, e := range o.Extents {
			r.StoredBytes += e.Length
		}
	}
	return o, nil
}

// writeLegacyIndex writes the chunk index that a record of an older
// sender kept.
func writeLegacyIndex(dir string, r *Record) error {
	if len(r.LegacyStoredHash) != len(r.LegacyExtents) {
		return fmt.Errorf("%w: %d chunks but %d hashes", ErrDamaged, len(r.LegacyExtents), len(r.LegacyStoredHash))
	}
	stored := make([]transfer.Hash, len(r.LegacyStoredHash))
	for i, h := range r.LegacyStoredHash {
		if len(h) != transfer.HashSize {
			return fmt.Errorf("%w: chunk %d's hash has %d bytes", ErrDamaged, i, len(h))
		}
		stored[i] = transfer.Hash(h)
	}
	return transfer.WriteIndex(dir, r.ID, r.LegacyExtents, stored)
}

// endIfOver ends a served offer that is no longer live.
func (v *Service) endIfOver(o *served, now time.Time) {
	v.mu.Lock()
	state := o.rec.State(now)
	if state == Live || o.ended {
		v.mu.Unlock()
		return
	}
	o.ended = true
	if o.data != nil {
		o.data.Close()
		o.data = nil
	}
	rec := *o.rec
	v.mu.Unlock()
	v.Spool.Purge(rec.ID)
	if v.OnEnd != nil {
		v.OnEnd(&rec, state)
	}
}

func (v *Service) event(e transfer.Event) {
	var updated *Record
	var err error
	lockedNow := false
	switch {
	case e.Kind == transfer.EventReceipt:
		updated, err = v.Spool.AddReceipt(e.Offer, Receipt{Time: v.now().UTC(), Peer: e.Remote, Files: e.Files, Bytes: e.Total})
		if err != nil {
			e.Err = fmt.Errorf("recording the receipt: %w", err)
		}
	case e.Kind == transfer.EventDownload:
		updated, err = v.Spool.AddServed(e.Offer, Served{Time: v.now().UTC(), Peer: e.Remote, Bytes: e.Bytes})
		if err != nil {
			e.Err = fmt.Errorf("recording the download: %w", err)
		}
	case e.Kind == transfer.EventRefused && errors.Is(e.Err, transfer.ErrUnauthorized):
		// Called before the next proof for the offer is checked (see
		// transfer.Offer.Locked): the lock is on disk in time.
		var rec *Record
		rec, lockedNow, err = v.Spool.FailedProof(e.Offer, ProofBudget)
		if err == nil {
			updated = rec
		}
	}
	v.mu.Lock()
	o := v.offers[e.Offer]
	var rec *Record
	if o != nil {
		if updated != nil {
			updated.Revoked = updated.Revoked || o.rec.Revoked
			o.rec = updated
		}
		c := *o.rec
		rec = &c
	}
	v.mu.Unlock()
	if v.OnEvent != nil {
		v.OnEvent(e, rec)
	}
	if lockedNow && v.OnLocked != nil && rec != nil {
		v.OnLocked(rec)
	}
	if o != nil && (e.Kind == transfer.EventReceipt || e.Kind == transfer.EventDownload) {
		v.endIfOver(o, v.now())
	}
}

// Run syncs every interval until ctx is done, then closes the offers' files.
func (v *Service) Run(ctx context.Context, interval time.Duration, onErr func(error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			v.Close()
			return
		case <-t.C:
			if err := v.Sync(); err != nil && onErr != nil {
				onErr(err)
			}
		}
	}
}

// Close closes the offers' data files.
func (v *Service) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, o := range v.offers {
		if o.data != nil {
			o.data.Close()
			o.data = nil
		}
	}
}
