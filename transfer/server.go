package transfer

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"lukechampine.com/blake3"

	icrypto "imageshare/crypto"
)

// ProtocolID names the transfer protocol on libp2p.
const ProtocolID = "/imageshare/transfer/1.0.0"

// Stream is what the protocol needs of a libp2p stream. A net.Conn with
// CloseWrite and Reset added serves in tests.
type Stream interface {
	io.ReadWriter
	Close() error
	CloseWrite() error
	Reset() error
	SetDeadline(time.Time) error
	SetReadDeadline(time.Time) error
	SetWriteDeadline(time.Time) error
}

// Timeouts on a sender's streams. Every read and write has a deadline.
const (
	HelloTimeout   = 15 * time.Second
	RequestTimeout = 2 * time.Minute
	WriteTimeout   = time.Minute
)

// Offer is what a sender keeps to serve one offer: ciphertext, and the key
// that checks proofs. Nothing in it decrypts the study.
type Offer struct {
	ID             OfferID
	Verifier       ed25519.PublicKey
	Expires        time.Time
	SealedManifest []byte
	Extents        []Extent
	Data           io.ReaderAt
	// StoredHash, if set, holds each sealed chunk's BLAKE3 hash: a chunk
	// damaged in the spool is then refused here rather than sent.
	StoredHash []Hash
	// Check, if set, says whether the offer may still be served: nil, or
	// ErrExpired, ErrRevoked or ErrUsedUp. It is asked after the proof.
	Check func(now time.Time) error
	// Locked, if set, says that the offer has used up its budget of
	// failed proofs: every HELLO is then answered ERROR 10 without its
	// proof being checked. Proofs for one offer are checked one at a
	// time, and each failure is reported (EventRefused) before the next
	// is checked, so that OnEvent can lock the offer in time.
	Locked func() bool
	// Files and Bytes, if set, are what a true RECEIPT names: a RECEIPT
	// naming others is refused, and never reported as a receipt.
	Files int
	Bytes int64

	proofs sync.Mutex // one proof at a time (see Locked)
}

// Close closes the offer's Data if it is an io.Closer, as the file that
// OpenOffer opens is.
func (o *Offer) Close() error {
	if c, ok := o.Data.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// Peer is the other end of a stream, as the libp2p connection
// authenticated it.
type Peer struct {
	Local, Remote string // raw peer IDs, to which proofs are bound
	Name          string // the remote peer ID's text form, for events
	Host          string // the remote IP address, for rate limits
	// Proved, if set, is called once the peer has proved the card on
	// this stream: its host keeps the connection past HelloTimeout.
	Proved func()
}

// Limits on what a sender serves at once. Above them a receiver is told
// the sender is busy, and tries again later.
const (
	DefaultMaxStreams         = 64
	DefaultMaxStreamsPerOffer = 16
	// FailedProofLimit failed proofs from one address in FailedProofWindow
	// make the sender answer that address BUSY, without checking, until
	// the window has passed.
	FailedProofLimit  = 10
	FailedProofWindow = time.Minute
)

// EventKind says what happened on a sender.
type EventKind int

// Events a Server reports.
const (
	EventRefused     EventKind = iota // a peer without a valid proof
	EventManifest                     // a card holder fetched the manifest
	EventChunk                        // a chunk was sent
	EventReceipt                      // a receiver confirmed verified receipt
	EventRateLimited                  // an address with too many failed proofs
	EventDamaged                      // a chunk in the spool does not match its hash
	EventBusy                         // a stream refused over the limits
	// EventDownload: the sender has now sent every chunk of the offer
	// once more, in all, whichever peers asked: a download counted on the
	// sender's side, with or without a receipt. Bytes is the sealed size
	// of one copy; Remote the peer that was sent the last chunk.
	EventDownload
	// EventReceiptRefused: a RECEIPT whose files or bytes are not the
	// offer's (Files and Total say what it claimed).
	EventReceiptRefused
	// EventLockedOut: a HELLO for an offer locked after too many failed
	// proofs.
	EventLockedOut
)

// Event is reported to Server.OnEvent.
type Event struct {
	Kind   EventKind
	Offer  OfferID
	Remote string // the peer, as its string form
	Bytes  int64  // EventChunk: sealed bytes sent
	Files  int    // EventReceipt: files verified
	Total  int64  // EventReceipt: bytes verified
	Err    error  // EventRefused: why
}

// Server answers receivers' streams for the offers added to it.
type Server struct {
	// OnEvent, if set, is called for every event, from the streams'
	// goroutines; it must not block.
	OnEvent func(Event)
	// Now defaults to time.Now.
	Now func() time.Time
	// MaxStreams and MaxStreamsPerOffer default to DefaultMaxStreams and
	// DefaultMaxStreamsPerOffer.
	MaxStreams, MaxStreamsPerOffer int
	// HelloTimeout and RequestTimeout default to the package's constants.
	HelloTimeout, RequestTimeout time.Duration

	mu       sync.Mutex
	offers   map[OfferID]*Offer
	streams  int
	perOffer map[OfferID]int
	failures map[string][]time.Time // by remote host
	copies   map[OfferID]*copies
	active   sync.WaitGroup
}

// copies counts how many times each chunk of an offer was sent: a
// download is counted each time every chunk has been sent once more. It
// counts per offer, not per peer: peer IDs are free, and one receiver
// uses several (--connections, a new one each run), so a study split
// between peers still counts.
type copies struct {
	sent      []uint32 // times each chunk was sent
	whole     int      // copies counted so far
	remaining int      // chunks sent no more than whole times
}

// chunkSent counts chunk i of offer o as sent, and reports whether that
// completed one more whole copy.
func (s *Server) chunkSent(o *Offer, i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.copies == nil {
		s.copies = map[OfferID]*copies{}
	}
	c := s.copies[o.ID]
	if c == nil {
		c = &copies{sent: make([]uint32, len(o.Extents)), remaining: len(o.Extents)}
		s.copies[o.ID] = c
	}
	if int(c.sent[i]) == c.whole {
		c.remaining--
	}
	c.sent[i]++
	if c.remaining > 0 {
		return false
	}
	c.whole++
	for _, n := range c.sent {
		if int(n) == c.whole {
			c.remaining++
		}
	}
	return true
}

// Remove stops serving an offer.
func (s *Server) Remove(id OfferID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.offers, id)
	delete(s.copies, id)
}

// limited reports whether host has failed too many proofs lately.
func (s *Server) limited(host string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	recent := s.failures[host][:0]
	for _, t := range s.failures[host] {
		if now.Sub(t) < FailedProofWindow {
			recent = append(recent, t)
		}
	}
	if len(recent) == 0 {
		delete(s.failures, host)
	} else {
		s.failures[host] = recent
	}
	return len(recent) >= FailedProofLimit
}

func (s *Server) failed(host string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failures == nil {
		s.failures = map[string][]time.Time{}
	}
	if len(s.failures) > 100_000 {
		clear(s.failures) // bounded memory under a flood of addresses
	}
	s.failures[host] = append(s.failures[host], now)
}

// acquire counts a stream for offer id, or says the sender is busy.
func (s *Server) acquire(id OfferID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	maxAll, maxOffer := s.MaxStreams, s.MaxStreamsPerOffer
	if maxAll <= 0 {
		maxAll = DefaultMaxStreams
	}
	if maxOffer <= 0 {
		maxOffer = DefaultMaxStreamsPerOffer
	}
	if s.perOffer == nil {
		s.perOffer = map[OfferID]int{}
	}
	if s.streams >= maxAll || s.perOffer[id] >= maxOffer {
		return false
	}
	s.streams++
	s.perOffer[id]++
	return true
}

func (s *Server) release(id OfferID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.streams--
	if s.perOffer[id]--; s.perOffer[id] <= 0 {
		delete(s.perOffer, id)
	}
}

// Wait waits until no stream is being served, or ctx is done: a sender
// that stops after a receipt lets its acknowledgement reach the receiver.
func (s *Server) Wait(ctx context.Context) {
	done := make(chan struct{})
	go func() { s.active.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// Add serves an offer.
func (s *Server) Add(o *Offer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.offers == nil {
		s.offers = map[OfferID]*Offer{}
	}
	s.offers[o.ID] = o
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// check asks whether o may still be served.
func (s *Server) check(o *Offer, now time.Time) error {
	var err error
	if o.Check != nil {
		err = o.Check(now)
	} else if !now.Before(o.Expires) {
		err = ErrExpired
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrExpired):
		return &protocolError{CodeExpired, "expired " + o.Expires.UTC().Format(time.RFC3339)}
	case errors.Is(err, ErrRevoked):
		return &protocolError{CodeRevoked, ""}
	case errors.Is(err, ErrUsedUp):
		return &protocolError{CodeUsedUp, ""}
	}
	return &protocolError{CodeInternal, ""}
}

func (s *Server) event(e Event) {
	if s.OnEvent != nil {
		s.OnEvent(e)
	}
}

// protocolError is a request the server answers with an ERROR frame.
type protocolError struct {
	code ErrorCode
	msg  string
}

func (e *protocolError) Error() string { return fmt.Sprintf("code %d: %s", e.code, e.msg) }

// Handle serves one stream from a receiver.
func (s *Server) Handle(ctx context.Context, st Stream, p Peer) {
	s.active.Add(1)
	defer s.active.Done()
	w := bufio.NewWriterSize(st, 64<<10)
	err := s.serve(ctx, st, w, p)
	var pe *protocolError
	switch {
	case err == nil:
		st.Close()
	case errors.As(err, &pe):
		st.SetWriteDeadline(s.now().Add(WriteTimeout))
		if writeFrame(w, MsgError, encodeError(pe.code, pe.msg)) == nil && w.Flush() == nil {
			st.CloseWrite()
			// Give the receiver a moment to read the error before the
			// stream goes away.
			st.SetReadDeadline(s.now().Add(5 * time.Second))
			io.Copy(io.Discard, io.LimitReader(st, MaxRequestSize))
			st.Close()
			return
		}
		st.Reset()
	default:
		st.Reset()
	}
}

func (s *Server) serve(ctx context.Context, st Stream, w *bufio.Writer, p Peer) error {
	st.SetReadDeadline(s.now().Add(orDefault(s.HelloTimeout, HelloTimeout)))
	t, payload, err := readFrame(st, MaxRequestSize)
	if err != nil {
		return err
	}
	if t != MsgHello || len(payload) != len(OfferID{})+icrypto.ProofSize {
		return &protocolError{CodeBadRequest, "expected HELLO"}
	}
	var id OfferID
	copy(id[:], payload)
	proof := payload[len(id):]
	now := s.now()
	if s.limited(p.Host, now) {
		s.event(Event{Kind: EventRateLimited, Offer: id, Remote: p.Name})
		return &protocolError{CodeBusy, "too many failed attempts from this address; try again in a minute"}
	}

	s.mu.Lock()
	o := s.offers[id]
	s.mu.Unlock()
	if o == nil {
		s.failed(p.Host, now)
		s.event(Event{Kind: EventRefused, Offer: id, Remote: p.Name, Err: ErrUnknownOffer})
		return &protocolError{CodeUnknownOffer, ""}
	}
	if err := s.prove(o, proof, p, now); err != nil {
		return err
	}
	if p.Proved != nil {
		p.Proved()
	}
	if err := s.check(o, now); err != nil {
		return err
	}
	if !s.acquire(id) {
		s.event(Event{Kind: EventBusy, Offer: id, Remote: p.Name})
		return &protocolError{CodeBusy, "too many transfers at once; try again shortly"}
	}
	defer s.release(id)
	remoteName := p.Name

	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		st.SetReadDeadline(s.now().Add(orDefault(s.RequestTimeout, RequestTimeout)))
		t, payload, err := readFrame(st, MaxRequestSize)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.check(o, s.now()); err != nil {
			return err
		}
		st.SetWriteDeadline(s.now().Add(WriteTimeout))
		switch t {
		case MsgGetManifest:
			if len(payload) != 0 {
				return &protocolError{CodeBadRequest, "GET_MANIFEST has no payload"}
			}
			if err := writeFrame(w, MsgManifest, o.SealedManifest); err != nil {
				return err
			}
			s.event(Event{Kind: EventManifest, Offer: id, Remote: remoteName})
		case MsgGetChunk:
			if len(payload) != 4 {
				return &protocolError{CodeBadRequest, "GET_CHUNK takes a 4-byte index"}
			}
			i := binary.BigEndian.Uint32(payload)
			if int64(i) >= int64(len(o.Extents)) {
				return &protocolError{CodeBadRequest, fmt.Sprintf("no chunk %d", i)}
			}
			e := o.Extents[i]
			buf := make([]byte, 4+e.Length)
			binary.BigEndian.PutUint32(buf, i)
			if o.Data == nil {
				return &protocolError{CodeUnavailable, "the offer's data is gone"}
			}
			if _, err := o.Data.ReadAt(buf[4:], e.Offset); err != nil {
				return &protocolError{CodeUnavailable, fmt.Sprintf("chunk %d cannot be read", i)}
			}
			if int(i) < len(o.StoredHash) {
				if Hash(blake3.Sum256(buf[4:])) != o.StoredHash[i] {
					s.event(Event{Kind: EventDamaged, Offer: id, Remote: remoteName, Err: fmt.Errorf("chunk %d", i)})
					return &protocolError{CodeUnavailable, fmt.Sprintf("chunk %d is damaged in the sender's spool", i)}
				}
			}
			if err := writeFrame(w, MsgChunk, buf); err != nil {
				return err
			}
			s.event(Event{Kind: EventChunk, Offer: id, Remote: remoteName, Bytes: e.Length})
			if s.chunkSent(o, int(i)) {
				s.event(Event{Kind: EventDownload, Offer: id, Remote: remoteName, Bytes: storedSize(o)})
			}
		case MsgReceipt:
			if len(payload) != 13 || payload[0] != 0 {
				return &protocolError{CodeBadRequest, "bad RECEIPT"}
			}
			files := binary.BigEndian.Uint32(payload[1:])
			total := binary.BigEndian.Uint64(payload[5:])
			if (o.Files > 0 || o.Bytes > 0) && (int64(files) != int64(o.Files) || total != uint64(o.Bytes)) {
				s.event(Event{Kind: EventReceiptRefused, Offer: id, Remote: remoteName, Files: int(files), Total: int64(total)})
				return &protocolError{CodeBadRequest, fmt.Sprintf("RECEIPT of %d files, %d bytes: the offer has %d files, %d bytes", files, total, o.Files, o.Bytes)}
			}
			// Recorded before it is acknowledged: an acknowledged receipt
			// is never lost.
			s.event(Event{Kind: EventReceipt, Offer: id, Remote: remoteName, Files: int(files), Total: int64(total)})
			if err := writeFrame(w, MsgReceiptAck); err != nil {
				return err
			}
		default:
			return &protocolError{CodeBadRequest, fmt.Sprintf("unexpected %v", t)}
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
}

// prove checks a HELLO's proof for o, within the offer's budget of failed
// proofs: one at a time, so that a failure is recorded (and the offer
// perhaps locked) before the next proof is checked.
func (s *Server) prove(o *Offer, proof []byte, p Peer, now time.Time) error {
	o.proofs.Lock()
	defer o.proofs.Unlock()
	if o.Locked != nil && o.Locked() {
		s.event(Event{Kind: EventLockedOut, Offer: o.ID, Remote: p.Name})
		return &protocolError{CodeLocked, "too many failed attempts to open this offer"}
	}
	if !icrypto.VerifyProof(o.Verifier, o.ID[:], p.Local, p.Remote, proof) {
		s.failed(p.Host, now)
		s.event(Event{Kind: EventRefused, Offer: o.ID, Remote: p.Name, Err: ErrUnauthorized})
		return &protocolError{CodeUnauthorized, ""}
	}
	return nil
}

// storedSize is the sealed size of one whole copy of o.
func storedSize(o *Offer) int64 {
	var n int64
	for _, e := range o.Extents {
		n += e.Length
	}
	return n
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}
