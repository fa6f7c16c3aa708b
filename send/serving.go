package send

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"

	"imageshare/audit"
	"imageshare/discovery"
	"imageshare/internal/streampeer"
	"imageshare/spool"
	"imageshare/transfer"
)

// ListenError is a failure to listen on the network.
type ListenError struct{ Err error }

func (e *ListenError) Error() string { return e.Err.Error() }
func (e *ListenError) Unwrap() error { return e.Err }

// server is a libp2p host serving every offer of a spool, in `sender
// serve` or in a send that found no one serving its spool.
type server struct {
	host   host.Host
	relays []peer.AddrInfo
	lan    *discovery.LAN // nil when mDNS could not start
	svc    *spool.Service
	srv    *transfer.Server
	t      *tracker
	ctx    context.Context
	cancel context.CancelFunc
	runs   sync.WaitGroup
}

// serverOptions says how to serve a spool.
type serverOptions struct {
	listen []string
	relays []peer.AddrInfo
	// identity is the host's key: the spool's, or a fresh one for a send
	// that finds the spool's identity in use by another send.
	identity crypto.PrivKey
	// only, when set, limits the process to one offer (a send).
	only *transfer.OfferID
	// mode, when set ("serve" or "send"), records the process in
	// serving.json: the caller holds the spool's lock and its identity.
	mode  string
	trail *audit.Trail
	me    audit.Participant
	emit  func(Event)
}

// startServer starts the host and serves the spool's offers, or only
// opt.only. The process holding the spool's lock records who serves it,
// for sends to hand their offers to (sender serve) or to know that the
// spool's identity is taken (a send).
func startServer(ctx context.Context, sp *spool.Spool, opt serverOptions) (*server, error) {
	h, err := startHost(opt.listen, opt.identity, opt.emit)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	me := opt.me
	me.PeerID = h.ID().String()
	s := &server{host: h, relays: opt.relays, srv: &transfer.Server{}, ctx: ctx, cancel: cancel,
		t: &tracker{emit: opt.emit, trail: opt.trail, me: me}}
	// Announced on the LAN, for receivers whose card's addresses are
	// stale. A host that listens on loopback only has nothing to announce.
	if lan, err := discovery.StartLAN(h); err == nil {
		s.lan = lan
	}
	s.keepReservations(ctx)
	s.svc = &spool.Service{Spool: sp, Server: s.srv, OnEvent: s.t.event, OnEnd: s.t.ended, OnLocked: s.t.locked, Only: opt.only}
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

func (s *server) warn(err error) { s.t.emit(Warning{Message: err.Error()}) }

// run keeps the served offers in line with the spool until the server
// is closed.
func (s *server) run(interval time.Duration) {
	s.runs.Add(1)
	go func() {
		defer s.runs.Done()
		s.svc.Run(s.ctx, interval, s.warn)
	}()
}

// listening is the addresses the host listens on.
func (s *server) listening() []string {
	var addrs []string
	for _, a := range s.host.Addrs() {
		addrs = append(addrs, a.String())
	}
	return addrs
}

// drain lets the last receipt's acknowledgement reach the receiver: it
// waits for the streams to end and the receivers to hang up, a few
// seconds at most.
func (s *server) drain(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s.srv.Wait(ctx)
	for ctx.Err() == nil && len(s.host.Network().Conns()) > 0 {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (s *server) close() {
	s.cancel()
	s.runs.Wait()
	if s.lan != nil {
		s.lan.Close()
	}
	s.host.Close()
	s.svc.Close()
}

// keepReservations keeps a reservation with each relay, and waits a few
// seconds for the first answer from each, so that the card is printed
// with relays that work. A relay that cannot be reached goes on the card
// all the same: the sender keeps trying it.
func (s *server) keepReservations(ctx context.Context) {
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
			s.t.emit(Relay{Relay: e.Relay.String(), Error: e.Err.Error()})
		case e.Err == nil && (failing[e.Relay] || !answered[e.Relay]):
			failing[e.Relay] = false
			s.t.emit(Relay{Relay: e.Relay.String(), Reserved: true, Expires: e.Expires})
		}
		if !answered[e.Relay] {
			answered[e.Relay] = true
			if len(answered) == len(s.relays) {
				close(all)
			}
		}
	})
	t := time.NewTimer(relayWait)
	defer t.Stop()
	select {
	case <-all:
	case <-t.C:
	case <-ctx.Done():
	}
}

// relayWait bounds how long the sender waits for its relays before it
// gives out the card.
const relayWait = 10 * time.Second

// startHost listens where asked, or on the default port, falling back to
// any free port when another program has it.
func startHost(listen []string, id crypto.PrivKey, emit func(Event)) (host.Host, error) {
	if len(listen) > 0 {
		h, err := discovery.NewHost(discovery.HostOptions{Identity: id, Listen: listen})
		if err != nil {
			return nil, &ListenError{err}
		}
		return h, nil
	}
	h, err := discovery.NewHost(discovery.HostOptions{Identity: id, Listen: discovery.DefaultListen})
	if err == nil {
		return h, nil
	}
	emit(Warning{Message: fmt.Sprintf("port %d is taken (%v); using a free port, which the card lists", discovery.DefaultPort, err)})
	anyPort := []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1", "/ip6/::/tcp/0", "/ip6/::/udp/0/quic-v1"}
	h, err = discovery.NewHost(discovery.HostOptions{Identity: id, Listen: anyPort})
	if err != nil {
		return nil, &ListenError{err}
	}
	return h, nil
}
