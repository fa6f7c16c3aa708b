package send

import (
	"fmt"
	"sync"

	"imageshare/audit"
	"imageshare/spool"
	"imageshare/transfer"
)

// tracker follows what the server did: it reports it as events and in the
// audit trail, and counts it for the end of a send.
type tracker struct {
	emit  func(Event) // one event at a time
	trail *audit.Trail
	me    audit.Participant

	mu      sync.Mutex
	sent    map[transfer.OfferID]int64
	refused int
	receipt map[transfer.OfferID]int
	waiters map[transfer.OfferID]chan struct{}
}

func (t *tracker) init() {
	if t.sent == nil {
		t.sent = map[transfer.OfferID]int64{}
		t.receipt = map[transfer.OfferID]int{}
		t.waiters = map[transfer.OfferID]chan struct{}{}
	}
}

// receiptChan is closed at the first verified receipt for id.
func (t *tracker) receiptChan(id transfer.OfferID) <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.init()
	if t.receipt[id] > 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	c, ok := t.waiters[id]
	if !ok {
		c = make(chan struct{})
		t.waiters[id] = c
	}
	return c
}

func (t *tracker) receiptsFor(id transfer.OfferID) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.receipt[id]
}

// Subject is what an audit event about the offer of rec is about.
func Subject(rec *spool.Record) audit.Subject {
	if rec == nil {
		return audit.Subject{}
	}
	return audit.Subject{PatientID: rec.PatientID, PatientName: rec.PatientName, StudyUIDs: []string{rec.StudyUID},
		OfferID: rec.ID.String(), Files: rec.Files, Bytes: rec.Bytes}
}

// audit records a server event in the trail.
func (t *tracker) audit(e transfer.Event, rec *spool.Record) {
	peer := audit.Participant{PeerID: e.Remote}
	id := e.Offer.String()
	switch e.Kind {
	case transfer.EventRefused:
		t.trail.Record(audit.UserAuthentication(peer, t.me, id, e.Err))
		t.trail.Record(audit.SecurityAlert(audit.AlertProofRefused, t.me, peer, id, e.Err.Error()))
	case transfer.EventRateLimited:
		t.trail.Record(audit.SecurityAlert(audit.AlertRateLimited, t.me, peer, id, "too many failed proofs from the peer's address"))
	case transfer.EventDamaged:
		t.trail.Record(audit.SecurityAlert(audit.AlertTampered, t.me, audit.Participant{}, id, fmt.Sprintf("%v is damaged in the spool", e.Err)))
	case transfer.EventManifest:
		t.trail.Record(audit.UserAuthentication(peer, t.me, id, nil))
	case transfer.EventReceipt:
		s := Subject(rec)
		s.Files, s.Bytes = e.Files, e.Total
		t.trail.Record(audit.InstancesSent(t.me, peer, s).With("counted_by", "receipt"))
	case transfer.EventDownload:
		// Every chunk sent once more: counted whether or not a receipt
		// follows. The files and bytes are the offer's, as sent.
		t.trail.Record(audit.InstancesSent(t.me, peer, Subject(rec)).With("counted_by", "every_chunk_sent").With("stored_bytes", e.Bytes))
	case transfer.EventReceiptRefused:
		t.trail.Record(audit.SecurityAlert(audit.AlertReceiptRefused, t.me, peer, id,
			fmt.Sprintf("a RECEIPT claimed %d files, %d bytes; the offer has %d files, %d bytes", e.Files, e.Total, Subject(rec).Files, Subject(rec).Bytes)))
	case transfer.EventLockedOut:
		t.trail.Record(audit.UserAuthentication(peer, t.me, id, transfer.ErrLocked))
	}
}

// locked reports an offer locked after too many failed proofs.
func (t *tracker) locked(rec *spool.Record) {
	t.trail.Record(audit.SecurityAlert(audit.AlertOfferLocked, t.me, audit.Participant{}, rec.ID.String(),
		fmt.Sprintf("%d failed proofs of the card: the offer serves no one until it is unlocked", rec.FailedProofs)))
	t.emit(Locked{OfferID: offerID(rec.ID), FailedProofs: rec.FailedProofs})
}

// event reports a server event, after the spool's service recorded it.
func (t *tracker) event(e transfer.Event, rec *spool.Record) {
	t.audit(e, rec)
	id := offerID(e.Offer)
	switch e.Kind {
	case transfer.EventRefused:
		t.mu.Lock()
		t.refused++
		t.mu.Unlock()
		t.emit(Refused{OfferID: id, PeerID: e.Remote, Reason: e.Err.Error()})
	case transfer.EventRateLimited:
		t.emit(RateLimited{OfferID: id, PeerID: e.Remote})
	case transfer.EventDamaged:
		t.emit(Damaged{OfferID: id, Message: e.Err.Error()})
	case transfer.EventBusy:
		t.emit(Busy{OfferID: id, PeerID: e.Remote})
	case transfer.EventManifest:
		ev := Manifest{OfferID: id, PeerID: e.Remote}
		if rec != nil {
			ev.StoredBytes = rec.StoredBytes
		}
		t.emit(ev)
	case transfer.EventChunk:
		t.mu.Lock()
		t.init()
		t.sent[e.Offer] += e.Bytes
		t.mu.Unlock()
		t.emit(Sent{OfferID: id, Bytes: e.Bytes})
	case transfer.EventDownload:
		if e.Err != nil {
			t.emit(Warning{Message: e.Err.Error()})
		}
		n := 0
		if rec != nil {
			n = rec.Downloads()
		}
		t.emit(Download{OfferID: id, PeerID: e.Remote, Downloads: n})
	case transfer.EventReceiptRefused:
		t.emit(ReceiptRefused{OfferID: id, PeerID: e.Remote, Files: e.Files, Bytes: e.Total})
	case transfer.EventLockedOut:
		t.emit(LockedOut{OfferID: id, PeerID: e.Remote})
	case transfer.EventReceipt:
		if e.Err != nil {
			t.emit(Warning{Message: e.Err.Error()})
		}
		t.emit(Receipt{OfferID: id, PeerID: e.Remote, Files: e.Files, Bytes: e.Total})
		t.mu.Lock()
		t.init()
		t.receipt[e.Offer]++
		if c, ok := t.waiters[e.Offer]; ok {
			close(c)
			delete(t.waiters, e.Offer)
		}
		t.mu.Unlock()
	}
}

// ended reports an offer that stopped being live.
func (t *tracker) ended(rec *spool.Record, state spool.State) {
	t.emit(Ended{OfferID: offerID(rec.ID), State: state, Downloads: rec.Downloads()})
}

// done reports what a send delivered.
func (t *tracker) done(id transfer.OfferID) {
	t.mu.Lock()
	t.init()
	d := Done{OfferID: offerID(id), Receipts: t.receipt[id], SentBytes: t.sent[id], Refused: t.refused}
	t.mu.Unlock()
	t.emit(d)
}
