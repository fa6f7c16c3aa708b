package send

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/audit"
	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/spool"
	"imageshare/study"
	"imageshare/transfer"
)

// ErrExpired is returned when the card expired before any receiver
// confirmed receipt.
var ErrExpired = errors.New("the card expired before any receiver confirmed receipt")

// DefaultHandOffWait is how long a send waits for the spool's sender
// serve to say who it is and to take the offer.
const DefaultHandOffWait = 15 * time.Second

// Options says what to send and how.
type Options struct {
	// Spool keeps the offer: its ciphertext and its record.
	Spool *spool.Spool
	// Files are the study's files, in the order they are packed;
	// Studies the studies they belong to (at least one).
	Files   []study.File
	Studies []study.Summary
	// Site is the sending hospital, on the card and in the manifest.
	Site string
	// Expires is how long the card works.
	Expires time.Duration
	// Keep serves the offer after its first verified receipt, until it
	// expires or reaches MaxDownloads (spool.DefaultMaxDownloads if 0).
	Keep         bool
	MaxDownloads int
	// Passcode, if set, is also needed to open the offer. It goes into
	// the keys and nowhere else.
	Passcode string
	// Listen are the addresses to listen on (default: the usual port, or
	// any free one); Relays the relays to keep a reservation with.
	Listen []string
	Relays []peer.AddrInfo
	// Trail records the export and every receiver; Me is this sender in
	// it. A nil Trail records nothing.
	Trail *audit.Trail
	Me    audit.Participant
	// Events, if set, gets every event, one at a time, in order.
	Events func(Event)
	// Issue gives out the card, once the offer is served (by this process
	// or by the spool's sender serve). Its error ends the send.
	Issue func(Card) error
	// HandOffWait defaults to DefaultHandOffWait.
	HandOffWait time.Duration
}

// Card is what Issue gives out.
type Card struct {
	// Offer is the card: who serves the offer, where, and the secret. It
	// is zeroed once Issue returns.
	Offer *card.Offer
	// Manifest is the offer's plaintext manifest, for the card's details.
	Manifest     *transfer.Manifest
	PackTime     time.Duration
	MaxDownloads int
	// HandedOff says the spool's sender serve serves the offer.
	HandedOff bool
}

// Session is one offer, packed into the spool and recorded; Deliver
// serves it until it is delivered.
type Session struct {
	o        Options
	emit     func(Event)
	secret   icrypto.Secret
	packed   *transfer.Packed
	rec      *spool.Record
	packTime time.Duration
}

// emitter calls events one event at a time.
func emitter(events func(Event)) func(Event) {
	if events == nil {
		return func(Event) {}
	}
	var mu sync.Mutex
	return func(e Event) {
		mu.Lock()
		defer mu.Unlock()
		events(e)
	}
}

// Pack encrypts the study into the spool under a new offer ID and records
// the offer. Packing is reported by Packing events.
func Pack(ctx context.Context, o Options) (*Session, error) {
	if len(o.Studies) == 0 {
		return nil, errors.New("no study to send")
	}
	if o.Expires <= 0 {
		return nil, fmt.Errorf("the card must work for some time, not %v", o.Expires)
	}
	if o.MaxDownloads <= 0 {
		o.MaxDownloads = spool.DefaultMaxDownloads
	}
	if o.HandOffWait <= 0 {
		o.HandOffWait = DefaultHandOffWait
	}
	s := &Session{o: o, emit: emitter(o.Events)}
	var err error
	if s.secret, err = icrypto.NewSecret(); err != nil {
		return nil, err
	}
	var id transfer.OfferID
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	keySecret := &s.secret
	if o.Passcode != "" {
		if keySecret, err = icrypto.WithPasscode(&s.secret, o.Passcode, id[:]); err != nil {
			return nil, err
		}
	}
	keys, err := icrypto.DeriveKeys(keySecret)
	if err != nil {
		return nil, err
	}
	now := time.Now()
	start := now
	s.packed, err = transfer.Pack(ctx, o.Files, transfer.PackOptions{
		Dir:       o.Spool.OfferDir(id),
		OfferID:   id,
		Recipient: keys.Recipient,
		Created:   now,
		Expires:   now.Add(o.Expires),
		Site:      o.Site,
		Studies:   o.Studies,
		Progress:  func(done, total int64) { s.emit(Packing{Done: done, Total: total}) },
	})
	if err != nil {
		return nil, err
	}
	s.packTime = time.Since(start)
	s.rec = newRecord(id, s.packed, keys, &o)
	// From here on the sender keeps what serves ciphertext and checks
	// proofs, and nothing that decrypts the study but the card's secret,
	// until the card is given out.
	if err := o.Spool.Save(s.rec); err != nil {
		return nil, err
	}
	return s, nil
}

// newRecord is what the spool keeps of the offer: no key that decrypts.
func newRecord(id transfer.OfferID, p *transfer.Packed, keys *icrypto.Keys, o *Options) *spool.Record {
	first := o.Studies[0]
	desc := first.Description
	if len(o.Studies) > 1 {
		desc = fmt.Sprintf("%s (+%d more studies)", desc, len(o.Studies)-1)
	}
	return &spool.Record{
		ID:           id,
		Created:      p.Manifest.Created,
		Expires:      p.Manifest.Expires,
		MaxDownloads: o.MaxDownloads,
		Keep:         o.Keep,
		Verifier:     keys.Verifier,
		Passcode:     o.Passcode != "",
		ManifestHash: p.ManifestHash[:],
		StoredBytes:  p.Manifest.StoredSize(),
		Site:         o.Site,
		PatientName:  first.PatientName,
		PatientID:    first.PatientID,
		StudyUID:     first.StudyUID,
		StudyDate:    first.StudyDate,
		Description:  desc,
		Files:        len(p.Manifest.Files),
		Bytes:        p.Manifest.TotalSize(),
	}
}

// ID is the offer's ID.
func (s *Session) ID() transfer.OfferID { return s.rec.ID }

// Record is what the spool keeps of the offer, as packed.
func (s *Session) Record() *spool.Record { return s.rec }

// Deliver gives the offer to the spool's sender serve if one runs, and
// returns once its card is given out. Otherwise it serves the offer here
// (with the spool's identity, or with one of its own while another send
// holds that), gives out the card, and serves until the first verified
// receipt (with Keep, until the offer ends), the card's expiry (ErrExpired
// if no receipt came) or ctx is done (ctx's error). It ends with a Done
// event.
func (s *Session) Deliver(ctx context.Context) error {
	sp := s.o.Spool
	unlock, held, err := sp.Lock()
	if err != nil {
		return err
	}
	opt := serverOptions{listen: s.o.Listen, relays: s.o.Relays, only: &s.rec.ID, trail: s.o.Trail, me: s.o.Me, emit: s.emit}
	if held {
		sv, err := sp.ReadServing(s.o.HandOffWait)
		if err != nil {
			return fmt.Errorf("another process holds the spool %s but says nothing of itself: %w", sp.Dir, err)
		}
		if sv.Mode != "send" {
			return s.handOff(sv)
		}
		// Another send serves with the spool's identity, and answers
		// only for its own offer: a card naming that identity could reach
		// it (by mDNS, by an address it took over) and be told the offer
		// is unknown, and it goes away when its send ends. This send
		// takes an identity of its own, for this card only.
		s.emit(OwnIdentity{PID: sv.PID})
		if opt.identity, _, err = crypto.GenerateEd25519Key(nil); err != nil {
			return err
		}
	} else {
		// The spool's identity is this process's while it runs: a sender
		// serve started later serves this offer too, under the card's
		// peer ID.
		defer unlock()
		if opt.identity, err = sp.Identity(); err != nil {
			return err
		}
		opt.mode = "send"
	}
	srv, err := startServer(ctx, sp, opt)
	if err != nil {
		return err
	}
	defer srv.close()
	offer := s.card(srv.host.ID(), discovery.CardAddrs(srv.host, srv.relays))
	if err := s.issue(offer, false); err != nil {
		return err
	}
	s.o.Trail.Record(audit.Export(srv.t.me, Subject(s.rec)))
	srv.run(time.Second)
	s.emit(ServingOffer{OfferID: offerID(s.rec.ID), PeerID: srv.host.ID().String(), Expires: s.rec.Expires, Keep: s.rec.Keep, Addrs: srv.listening()})
	return s.wait(ctx, srv)
}

// wait serves until receipt, expiry or ctx is done.
func (s *Session) wait(ctx context.Context, srv *server) error {
	id := s.rec.ID
	expiry := time.NewTimer(time.Until(s.rec.Expires))
	defer expiry.Stop()
	var result error
	done := srv.t.receiptChan(id)
wait:
	for {
		select {
		case <-done:
			if !s.rec.Keep {
				break wait
			}
			done = nil // keep serving until the offer ends
		case <-expiry.C:
			if srv.t.receiptsFor(id) == 0 {
				result = ErrExpired
			}
			srv.svc.Sync() // ends the offer and deletes its data now
			break wait
		case <-ctx.Done():
			result = ctx.Err()
			break wait
		}
	}
	if result == nil {
		srv.drain(ctx)
	}
	srv.t.done(id)
	return result
}

// card is the offer's card, served by id at addrs.
func (s *Session) card(id peer.ID, addrs []ma.Multiaddr) *card.Offer {
	return &card.Offer{Peer: id, Addrs: addrs, Secret: s.secret, ID: s.rec.ID, Expires: s.rec.Expires,
		ManifestHash: s.packed.ManifestHash, Passcode: s.rec.Passcode}
}

// issue gives out the card, then forgets its secret.
func (s *Session) issue(offer *card.Offer, handedOff bool) error {
	defer func() { s.secret, offer.Secret = icrypto.Secret{}, icrypto.Secret{} }()
	if s.o.Issue == nil {
		return nil
	}
	return s.o.Issue(Card{Offer: offer, Manifest: s.packed.Manifest, PackTime: s.packTime, MaxDownloads: s.rec.MaxDownloads, HandedOff: handedOff})
}

// handOff gives the offer to the process already serving the spool, and
// gives out the card with that process's identity and addresses.
func (s *Session) handOff(sv *spool.Serving) error {
	sp, rec := s.o.Spool, s.rec
	if len(s.o.Relays) > 0 {
		s.emit(Warning{Message: "a sender serve serves this spool; the card lists its relays, not --relay (give --relay to sender serve)"})
	}
	if !sp.WaitLoaded(rec.ID, s.o.HandOffWait) {
		return fmt.Errorf("the sender serving %s (pid %d) did not take the offer within %v", sp.Dir, sv.PID, s.o.HandOffWait)
	}
	id, err := peer.Decode(sv.PeerID)
	if err != nil {
		return err
	}
	var addrs []ma.Multiaddr
	for _, a := range sv.Addrs {
		if a, err := ma.NewMultiaddr(a); err == nil && len(addrs) < card.MaxAddrs {
			addrs = append(addrs, a)
		}
	}
	if err := s.issue(s.card(id, addrs), true); err != nil {
		return err
	}
	s.emit(HandedOff{OfferID: offerID(rec.ID), Spool: sp.Dir, PID: sv.PID, Expires: rec.Expires, Keep: rec.Keep, MaxDownloads: rec.MaxDownloads})
	me := s.o.Me
	me.PeerID = sv.PeerID
	s.o.Trail.Record(audit.Export(me, Subject(rec)).With("served_by_pid", sv.PID))
	return nil
}

// Details are the card's readable lines: the sending site, the patient,
// the first study (and how many more), the expiry, and whether a passcode
// is needed.
func (c Card) Details(site string) card.Details {
	first := c.Manifest.Studies[0]
	desc := first.Description
	if len(c.Manifest.Studies) > 1 {
		desc = fmt.Sprintf("%s (+%d more studies)", desc, len(c.Manifest.Studies)-1)
	}
	return card.Details{
		Site:        site,
		PatientName: first.PatientName,
		StudyDate:   first.StudyDate,
		Description: desc,
		Expires:     c.Offer.Expires,
		Passcode:    c.Offer.Passcode,
	}
}

// CardPNG draws the card as a PNG and checks that it reads back as the
// card's URI: a card that cannot be scanned must never leave the sending
// hospital.
func CardPNG(uri string, d card.Details) ([]byte, error) {
	var buf bytes.Buffer
	if err := card.WritePNG(&buf, uri, d); err != nil {
		return nil, err
	}
	if got, err := card.DecodeImage(bytes.NewReader(buf.Bytes())); err != nil || got != uri {
		return nil, fmt.Errorf("the card image does not read back as the card (%v); send again", err)
	}
	return buf.Bytes(), nil
}
