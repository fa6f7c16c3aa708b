package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/discovery"
	"imageshare/internal/streampeer"
	"imageshare/spool"
	"imageshare/study"
	"imageshare/transfer"
)

// serving is a libp2p host serving every offer of a spool, in `sender
// serve` or in a `sender send` that found no one serving its spool.
type serving struct {
	host   host.Host
	relays []peer.AddrInfo
	lan    *discovery.LAN // nil when mDNS could not start
	svc    *spool.Service
	srv    *transfer.Server
	d      *deliveries
	cancel context.CancelFunc
}

// servingOptions says how to serve a spool.
type servingOptions struct {
	listen []string
	relays []peer.AddrInfo
	// identity is the host's key: the spool's, or a fresh one for a
	// sender send that finds the spool's identity in use by another send.
	identity crypto.PrivKey
	// only, when set, limits the process to one offer (a sender send).
	only *transfer.OfferID
	// mode, when set ("serve" or "send"), records the process in
	// serving.json: the caller holds the spool's lock and its identity.
	mode  string
	quiet bool
	js    *console.JSON
	trail *audit.Trail
	me    audit.Participant
}

// startServing starts the host and serves the spool's offers, or only
// opt.only. The process holding the spool's lock records who serves it,
// for sends to hand their offers to (sender serve) or to know that the
// spool's identity is taken (sender send).
func startServing(ctx context.Context, sp *spool.Spool, opt servingOptions, stderr io.Writer) (*serving, error) {
	h, err := startHost(opt.listen, opt.identity, stderr)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &serving{host: h, relays: opt.relays, srv: &transfer.Server{}, cancel: cancel,
		d: &deliveries{stderr: stderr, js: opt.js, showProgress: !opt.quiet && opt.js == nil && console.IsTerminal(stderr), trail: opt.trail}}
	// Announced on the LAN, for receivers whose card's addresses are
	// stale. A host that listens on loopback only has nothing to announce.
	if lan, err := discovery.StartLAN(h); err == nil {
		s.lan = lan
	}
	s.keepReservations(ctx, stderr, opt.js)
	me := opt.me
	me.PeerID = h.ID().String()
	s.d.me = me
	s.svc = &spool.Service{Spool: sp, Server: s.srv, OnEvent: s.d.event, OnEnd: s.d.ended, OnLocked: s.d.locked, Only: opt.only}
	s.svc.Start()
	// The offers first, then the handler: a receiver that reaches a
	// sender just started is never told it does not have the offer.
	if err := s.svc.Sync(); err != nil {
		s.warn(err)
	}
	h.SetStreamHandler(transfer.ProtocolID, func(st network.Stream) {
		s.srv.Handle(ctx, st, streampeer.Of(st))
	})
	if opt.mode != "" {
		var addrs []string
		for _, a := range discovery.CardAddrs(h, opt.relays) {
			addrs = append(addrs, a.String())
		}
		if err := sp.WriteServing(spool.Serving{PID: os.Getpid(), PeerID: h.ID().String(), Addrs: addrs, Mode: opt.mode}); err != nil {
			s.close()
			return nil, err
		}
	}
	return s, nil
}

func (s *serving) warn(err error) {
	fmt.Fprintf(s.d.stderr, "sender: warning: %v\n", err)
}

// drain lets the last receipt's acknowledgement reach the receiver: it
// waits for the streams to end and the receivers to hang up, a few
// seconds at most.
func (s *serving) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s.srv.Wait(ctx)
	for ctx.Err() == nil && len(s.host.Network().Conns()) > 0 {
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *serving) close() {
	s.cancel()
	if s.lan != nil {
		s.lan.Close()
	}
	s.host.Close()
	s.svc.Close()
}

// keepReservations keeps a reservation with each --relay, and waits a
// few seconds for the first answer from each, so that the card is printed
// with relays that work. A relay that cannot be reached goes on the card
// all the same: the sender keeps trying it.
func (s *serving) keepReservations(ctx context.Context, stderr io.Writer, js *console.JSON) {
	if len(s.relays) == 0 {
		return
	}
	var mu sync.Mutex
	answered := map[peer.ID]bool{}
	failing := map[peer.ID]bool{}
	all := make(chan struct{})
	discovery.KeepReservations(ctx, s.host, s.relays, func(e discovery.ReservationEvent) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case e.Err != nil && !failing[e.Relay]:
			failing[e.Relay] = true
			fmt.Fprintf(stderr, "sender: warning: relay %s: %v; trying again\n", e.Relay, e.Err)
			js.Emit(map[string]any{"type": "relay", "relay": e.Relay.String(), "reserved": false, "error": e.Err.Error()})
		case e.Err == nil && (failing[e.Relay] || !answered[e.Relay]):
			failing[e.Relay] = false
			fmt.Fprintf(stderr, "sender: relay %s holds a reservation for this sender until %s\n", e.Relay, e.Expires.Local().Format("15:04"))
			js.Emit(map[string]any{"type": "relay", "relay": e.Relay.String(), "reserved": true, "expires": e.Expires})
		}
		if !answered[e.Relay] {
			answered[e.Relay] = true
			if len(answered) == len(s.relays) {
				close(all)
			}
		}
	})
	select {
	case <-all:
	case <-time.After(relayWait):
	}
}

// relayWait bounds how long the sender waits for its relays before it
// prints the card.
const relayWait = 10 * time.Second

// startHost listens where asked, or on the default port, falling back to
// any free port when another program has it.
func startHost(listen []string, id crypto.PrivKey, stderr io.Writer) (host.Host, error) {
	if len(listen) > 0 {
		h, err := discovery.NewHost(discovery.HostOptions{Identity: id, Listen: listen})
		if err != nil {
			return nil, &listenError{err}
		}
		return h, nil
	}
	h, err := discovery.NewHost(discovery.HostOptions{Identity: id, Listen: discovery.DefaultListen})
	if err == nil {
		return h, nil
	}
	fmt.Fprintf(stderr, "sender: warning: port %d is taken (%v); using a free port, which the card lists\n", discovery.DefaultPort, err)
	anyPort := []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1", "/ip6/::/tcp/0", "/ip6/::/udp/0/quic-v1"}
	h, err = discovery.NewHost(discovery.HostOptions{Identity: id, Listen: anyPort})
	if err != nil {
		return nil, &listenError{err}
	}
	return h, nil
}

// deliveries follows what the server did, for the staff and for the exit.
type deliveries struct {
	stderr       io.Writer
	js           *console.JSON
	showProgress bool
	trail        *audit.Trail
	me           audit.Participant

	mu      sync.Mutex
	bars    map[transfer.OfferID]*console.Progress
	sent    map[transfer.OfferID]int64
	refused int
	receipt map[transfer.OfferID]int
	waiters map[transfer.OfferID]chan struct{}
}

func (d *deliveries) init() {
	if d.bars == nil {
		d.bars = map[transfer.OfferID]*console.Progress{}
		d.sent = map[transfer.OfferID]int64{}
		d.receipt = map[transfer.OfferID]int{}
		d.waiters = map[transfer.OfferID]chan struct{}{}
	}
}

// receiptChan is closed at the first verified receipt for id.
func (d *deliveries) receiptChan(id transfer.OfferID) <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	if d.receipt[id] > 0 {
		c := make(chan struct{})
		close(c)
		return c
	}
	c, ok := d.waiters[id]
	if !ok {
		c = make(chan struct{})
		d.waiters[id] = c
	}
	return c
}

func (d *deliveries) receiptsFor(id transfer.OfferID) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.receipt[id]
}

func (d *deliveries) clear() {
	for _, b := range d.bars {
		b.Clear()
	}
}

// subject is what an audit event is about.
func subject(rec *spool.Record) audit.Subject {
	if rec == nil {
		return audit.Subject{}
	}
	return audit.Subject{PatientID: rec.PatientID, PatientName: rec.PatientName, StudyUIDs: []string{rec.StudyUID},
		OfferID: rec.ID.String(), Files: rec.Files, Bytes: rec.Bytes}
}

// audit records a server event in the trail.
func (d *deliveries) audit(e transfer.Event, rec *spool.Record) {
	peer := audit.Participant{PeerID: e.Remote}
	id := e.Offer.String()
	switch e.Kind {
	case transfer.EventRefused:
		d.trail.Record(audit.UserAuthentication(peer, d.me, id, e.Err))
		d.trail.Record(audit.SecurityAlert(audit.AlertProofRefused, d.me, peer, id, e.Err.Error()))
	case transfer.EventRateLimited:
		d.trail.Record(audit.SecurityAlert(audit.AlertRateLimited, d.me, peer, id, "too many failed proofs from the peer's address"))
	case transfer.EventDamaged:
		d.trail.Record(audit.SecurityAlert(audit.AlertTampered, d.me, audit.Participant{}, id, fmt.Sprintf("%v is damaged in the spool", e.Err)))
	case transfer.EventManifest:
		d.trail.Record(audit.UserAuthentication(peer, d.me, id, nil))
	case transfer.EventReceipt:
		s := subject(rec)
		s.Files, s.Bytes = e.Files, e.Total
		d.trail.Record(audit.InstancesSent(d.me, peer, s).With("counted_by", "receipt"))
	case transfer.EventDownload:
		// Every chunk sent once more: counted whether or not a receipt
		// follows. The files and bytes are the offer's, as sent.
		d.trail.Record(audit.InstancesSent(d.me, peer, subject(rec)).With("counted_by", "every_chunk_sent").With("stored_bytes", e.Bytes))
	case transfer.EventReceiptRefused:
		d.trail.Record(audit.SecurityAlert(audit.AlertReceiptRefused, d.me, peer, id,
			fmt.Sprintf("a RECEIPT claimed %d files, %d bytes; the offer has %d files, %d bytes", e.Files, e.Total, subject(rec).Files, subject(rec).Bytes)))
	case transfer.EventLockedOut:
		d.trail.Record(audit.UserAuthentication(peer, d.me, id, transfer.ErrLocked))
	}
}

// locked reports an offer locked after too many failed proofs: on the
// terminal, in JSON and in the audit trail.
func (d *deliveries) locked(rec *spool.Record) {
	d.trail.Record(audit.SecurityAlert(audit.AlertOfferLocked, d.me, audit.Participant{}, rec.ID.String(),
		fmt.Sprintf("%d failed proofs of the card: the offer serves no one until it is unlocked", rec.FailedProofs)))
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	fmt.Fprintf(d.stderr, "sender: error: offer %s is LOCKED after %d failed attempts to open it (a card being guessed at?): it serves no one now\n", rec.ID, rec.FailedProofs)
	fmt.Fprintf(d.stderr, "hint: if the receiving hospital mistyped the passcode, sender unlock %s; otherwise send the study again with a new card\n", rec.ID)
	d.js.Emit(map[string]any{"type": "locked", "offer_id": rec.ID.String(), "failed_proofs": rec.FailedProofs})
}

func (d *deliveries) event(e transfer.Event, rec *spool.Record) {
	d.audit(e, rec)
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	d.clear()
	switch e.Kind {
	case transfer.EventRefused:
		d.refused++
		fmt.Fprintf(d.stderr, "sender: warning: refused peer %s for offer %s: %v\n", e.Remote, e.Offer, e.Err)
		d.js.Emit(map[string]any{"type": "refused", "offer_id": e.Offer.String(), "peer_id": e.Remote, "reason": e.Err.Error()})
	case transfer.EventRateLimited:
		fmt.Fprintf(d.stderr, "sender: warning: peer %s is held back after too many failed attempts from its address\n", e.Remote)
		d.js.Emit(map[string]any{"type": "rate_limited", "offer_id": e.Offer.String(), "peer_id": e.Remote})
	case transfer.EventDamaged:
		fmt.Fprintf(d.stderr, "sender: error: offer %s: %v is damaged in the spool; send the study again\n", e.Offer, e.Err)
		d.js.Emit(map[string]any{"type": "damaged", "offer_id": e.Offer.String(), "message": e.Err.Error()})
	case transfer.EventBusy:
		d.js.Emit(map[string]any{"type": "busy", "offer_id": e.Offer.String(), "peer_id": e.Remote})
	case transfer.EventManifest:
		fmt.Fprintf(d.stderr, "sender: the receiving hospital opened offer %s\n", e.Offer)
		d.js.Emit(map[string]any{"type": "manifest", "offer_id": e.Offer.String(), "peer_id": e.Remote})
		if rec != nil && d.bars[e.Offer] == nil {
			d.bars[e.Offer] = console.NewProgress(d.stderr, rec.StoredBytes, "sending", d.showProgress)
		}
	case transfer.EventChunk:
		d.sent[e.Offer] += e.Bytes
		d.bars[e.Offer].Add(e.Bytes)
	case transfer.EventDownload:
		if e.Err != nil {
			fmt.Fprintf(d.stderr, "sender: warning: %v\n", e.Err)
		}
		n := 0
		if rec != nil {
			n = rec.Downloads()
		}
		fmt.Fprintf(d.stderr, "sender: every chunk of offer %s has been sent (download %d, counted by the sender)\n", e.Offer, n)
		d.js.Emit(map[string]any{"type": "download", "offer_id": e.Offer.String(), "peer_id": e.Remote, "downloads": n})
	case transfer.EventReceiptRefused:
		fmt.Fprintf(d.stderr, "sender: warning: refused a receipt from %s for offer %s: it claims %d files (%s), not the offer's\n", e.Remote, e.Offer, e.Files, study.FormatBytes(e.Total))
		d.js.Emit(map[string]any{"type": "receipt_refused", "offer_id": e.Offer.String(), "peer_id": e.Remote, "files": e.Files, "bytes": e.Total})
	case transfer.EventLockedOut:
		d.js.Emit(map[string]any{"type": "locked_out", "offer_id": e.Offer.String(), "peer_id": e.Remote})
	case transfer.EventReceipt:
		d.receipt[e.Offer]++
		if e.Err != nil {
			fmt.Fprintf(d.stderr, "sender: warning: %v\n", e.Err)
		}
		fmt.Fprintf(d.stderr, "sender: the receiving hospital confirmed %d files (%s) of offer %s arrived verified\n", e.Files, study.FormatBytes(e.Total), e.Offer)
		d.js.Emit(map[string]any{"type": "receipt", "offer_id": e.Offer.String(), "peer_id": e.Remote, "files": e.Files, "bytes": e.Total})
		if c, ok := d.waiters[e.Offer]; ok {
			close(c)
			delete(d.waiters, e.Offer)
		}
	}
}

// ended reports an offer that stopped being live.
func (d *deliveries) ended(rec *spool.Record, state spool.State) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.clear()
	fmt.Fprintf(d.stderr, "sender: offer %s ended (%s); its encrypted data is deleted\n", rec.ID, state)
	d.js.Emit(map[string]any{"type": "ended", "offer_id": rec.ID.String(), "state": state, "downloads": rec.Downloads()})
}

func (d *deliveries) report(id transfer.OfferID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.init()
	d.clear()
	switch n, sent := d.receipt[id], d.sent[id]; {
	case n > 0:
		fmt.Fprintf(d.stderr, "sender: delivered: offer %s, %d verified receipt(s)\n", id, n)
	case sent > 0:
		fmt.Fprintf(d.stderr, "sender: not delivered: %s of encrypted data sent, but no receiver confirmed receipt\n", study.FormatBytes(sent))
	default:
		fmt.Fprintln(d.stderr, "sender: not delivered: no receiver fetched the study")
	}
	d.js.Emit(map[string]any{"type": "done", "offer_id": id.String(), "receipts": d.receipt[id], "sent_bytes": d.sent[id], "refused": d.refused})
}

// printListening prints the addresses and ports the sender listens on:
// the hospital's IT opens them in the firewall.
func printListening(stderr io.Writer, addrs []ma.Multiaddr) {
	for _, a := range addrs {
		fmt.Fprintf(stderr, "sender: listening on %s\n", a)
	}
}
