package receive

import (
	"context"
	"errors"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/discovery"
	"imageshare/transfer"
)

// A libp2p stream is what the transfer protocol runs on.
var _ transfer.Stream = (network.Stream)(nil)

// client is the transfer client for the connection to the sender that
// h has: its streams may use a limited (relayed) connection, as a relay
// that limits its connections marks them.
func (s *session) newClient(h host.Host) *transfer.Client {
	return &transfer.Client{
		Open: func(ctx context.Context) (transfer.Stream, error) {
			return h.NewStream(network.WithAllowLimitedConn(ctx, "imageshare"), s.offer.Peer, protocol.ID(transfer.ProtocolID))
		},
		Local:  string(h.ID()),
		Remote: string(s.offer.Peer),
		Offer:  s.offer.Ref(),
		Keys:   s.keys,
	}
}

// connectExtra opens the further connections Options.Connections asks
// for, to the address that worked, each from a host of its own: streams on
// one connection share one TCP window, which limits a long, fast path (54
// MB/s at 1 Gbit/s and 50 ms with Linux's default buffers), while on a
// slower link two connections compete with each other
// (docs/PERFORMANCE.md). A connection that fails is done without.
func (s *session) connectExtra(ctx context.Context, addr ma.Multiaddr) []transfer.Conn {
	s.closeExtra()
	var conns []transfer.Conn
	for range s.o.Connections - 1 {
		h, err := discovery.NewHost(discovery.HostOptions{})
		if err != nil {
			break
		}
		cctx, cancel := context.WithTimeout(ctx, s.o.Timeout)
		err = h.Connect(cctx, peer.AddrInfo{ID: s.offer.Peer, Addrs: []ma.Multiaddr{addr}})
		cancel()
		if err != nil {
			h.Close()
			break
		}
		s.extra = append(s.extra, h)
		c := s.newClient(h)
		conns = append(conns, transfer.Conn{Open: c.Open, Local: c.Local})
	}
	return conns
}

func (s *session) closeExtra() {
	for _, h := range s.extra {
		h.Close()
	}
	s.extra = nil
}

// dropSuspectConns closes the connections to the sender that the next
// attempt should not reuse after err: a path that fell silent may be dead
// without libp2p knowing it for 30 s or more (a relay gone, seen only by
// keepalives), and so may a relayed one after any failure (a relay
// restarted). A direct connection that did not stall stays: it may be the
// one hole punching has just opened.
func (s *session) dropSuspectConns(err error) {
	for _, c := range s.h.Network().ConnsToPeer(s.offer.Peer) {
		if errors.Is(err, transfer.ErrStalled) || s.relayed(c) {
			c.Close()
		}
	}
}

// watchDirect signals s.direct whenever a direct connection to the sender
// opens, as hole punching does while a relayed one carries the fetch.
func (s *session) watchDirect() {
	s.direct = make(chan struct{}, 1)
	s.h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			if c.RemotePeer() == s.offer.Peer && !s.relayed(c) {
				s.directOpened()
			}
		},
	})
}

// directOpened tells the attempt under way, if it is relayed, to go on
// over the direct connection that has just opened.
func (s *session) directOpened() {
	select {
	case s.direct <- struct{}{}:
	default:
	}
}

// relayed reports whether c goes through a relay.
func (s *session) relayed(c network.Conn) bool {
	if s.o.isRelayed != nil {
		return s.o.isRelayed(c)
	}
	return discovery.IsRelayedConn(c)
}
