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

	"imageshare/card"
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
	ID             card.OfferID
	Verifier       ed25519.PublicKey
	Expires        time.Time
	SealedManifest []byte
	Extents        []Extent
	Data           io.ReaderAt
}

// EventKind says what happened on a sender.
type EventKind int

// Events a Server reports.
const (
	EventRefused  EventKind = iota // a peer without a valid proof
	EventManifest                  // a card holder fetched the manifest
	EventChunk                     // a chunk was sent
	EventReceipt                   // a receiver confirmed verified receipt
)

// Event is reported to Server.OnEvent.
type Event struct {
	Kind   EventKind
	Offer  card.OfferID
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

	mu     sync.Mutex
	offers map[card.OfferID]*Offer
	active sync.WaitGroup
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
		s.offers = map[card.OfferID]*Offer{}
	}
	s.offers[o.ID] = o
}

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
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

// Handle serves one stream from a receiver. local and remote are the raw
// peer IDs of the connection, to which proofs are bound; remoteName is
// what events call the peer.
func (s *Server) Handle(ctx context.Context, st Stream, local, remote, remoteName string) {
	s.active.Add(1)
	defer s.active.Done()
	w := bufio.NewWriterSize(st, 64<<10)
	err := s.serve(ctx, st, w, local, remote, remoteName)
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

func (s *Server) serve(ctx context.Context, st Stream, w *bufio.Writer, local, remote, remoteName string) error {
	st.SetReadDeadline(s.now().Add(HelloTimeout))
	t, p, err := readFrame(st, MaxRequestSize)
	if err != nil {
		return err
	}
	if t != MsgHello || len(p) != len(card.OfferID{})+icrypto.ProofSize {
		return &protocolError{CodeBadRequest, "expected HELLO"}
	}
	var id card.OfferID
	copy(id[:], p)
	proof := p[len(id):]

	s.mu.Lock()
	o := s.offers[id]
	s.mu.Unlock()
	if o == nil {
		s.event(Event{Kind: EventRefused, Offer: id, Remote: remoteName, Err: ErrUnknownOffer})
		return &protocolError{CodeUnknownOffer, ""}
	}
	if !icrypto.VerifyProof(o.Verifier, id[:], local, remote, proof) {
		s.event(Event{Kind: EventRefused, Offer: id, Remote: remoteName, Err: ErrUnauthorized})
		return &protocolError{CodeUnauthorized, ""}
	}
	if !s.now().Before(o.Expires) {
		return &protocolError{CodeExpired, "expired " + o.Expires.UTC().Format(time.RFC3339)}
	}

	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		st.SetReadDeadline(s.now().Add(RequestTimeout))
		t, p, err := readFrame(st, MaxRequestSize)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		st.SetWriteDeadline(s.now().Add(WriteTimeout))
		switch t {
		case MsgGetManifest:
			if len(p) != 0 {
				return &protocolError{CodeBadRequest, "GET_MANIFEST has no payload"}
			}
			if err := writeFrame(w, MsgManifest, o.SealedManifest); err != nil {
				return err
			}
			s.event(Event{Kind: EventManifest, Offer: id, Remote: remoteName})
		case MsgGetChunk:
			if len(p) != 4 {
				return &protocolError{CodeBadRequest, "GET_CHUNK takes a 4-byte index"}
			}
			i := binary.BigEndian.Uint32(p)
			if int64(i) >= int64(len(o.Extents)) {
				return &protocolError{CodeBadRequest, fmt.Sprintf("no chunk %d", i)}
			}
			e := o.Extents[i]
			buf := make([]byte, 4+e.Length)
			binary.BigEndian.PutUint32(buf, i)
			if _, err := o.Data.ReadAt(buf[4:], e.Offset); err != nil {
				return &protocolError{CodeUnavailable, fmt.Sprintf("chunk %d", i)}
			}
			if err := writeFrame(w, MsgChunk, buf); err != nil {
				return err
			}
			s.event(Event{Kind: EventChunk, Offer: id, Remote: remoteName, Bytes: e.Length})
		case MsgReceipt:
			if len(p) != 13 || p[0] != 0 {
				return &protocolError{CodeBadRequest, "bad RECEIPT"}
			}
			files := binary.BigEndian.Uint32(p[1:])
			total := binary.BigEndian.Uint64(p[5:])
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
