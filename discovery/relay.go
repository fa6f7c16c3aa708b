package discovery

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	ma "github.com/multiformats/go-multiaddr"
)

// ParseRelay reads a relay's address as `relay` prints it: a multiaddr
// ending in /p2p/ and the relay's peer ID.
func ParseRelay(s string) (peer.AddrInfo, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("relay address %q: %w", s, err)
	}
	if IsRelayed(a) {
		return peer.AddrInfo{}, fmt.Errorf("relay address %q is itself relayed", s)
	}
	ai, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil || len(ai.Addrs) == 0 {
		return peer.AddrInfo{}, fmt.Errorf("relay address %q must end in /p2p/ and the relay's peer ID, e.g. /ip4/203.0.113.7/tcp/7472/p2p/12D3KooW... (relay prints it)", s)
	}
	return *ai, nil
}

// CircuitAddrs are the addresses by which receivers reach this host
// through the relays: each relay address followed by /p2p/RELAY/p2p-circuit.
// The card carries the sender's peer ID beside them.
func CircuitAddrs(relays []peer.AddrInfo) []ma.Multiaddr {
	var out []ma.Multiaddr
	for _, r := range relays {
		suffix, err := ma.NewMultiaddr("/p2p/" + r.ID.String() + "/p2p-circuit")
		if err != nil {
			continue
		}
		for _, a := range r.Addrs {
			out = append(out, a.Encapsulate(suffix))
		}
	}
	return out
}

// IsRelayed reports whether an address goes through a relay.
func IsRelayed(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_CIRCUIT)
	return err == nil
}

// IsRelayedConn reports whether a connection goes through a relay.
func IsRelayedConn(c network.Conn) bool {
	return IsRelayed(c.RemoteMultiaddr()) || c.Stat().Limited
}

// ReservationEvent reports a reservation made, or one that failed.
type ReservationEvent struct {
	Relay   peer.ID
	Expires time.Time
	Err     error
}

// KeepReservations keeps a reservation with each relay until ctx ends, so
// that receivers can reach this host through it: it reserves at once,
// again before each reservation expires, and again as soon as the
// connection to a relay is lost (the relay forgets the reservation then).
// A relay that cannot be reached is tried again every retry interval,
// from 1 s up to 30 s. report, if set, is told of each attempt. From now
// on, h does not count connections relayed by them against their IP
// addresses (limits.go).
func KeepReservations(ctx context.Context, h host.Host, relays []peer.AddrInfo, report func(ReservationEvent)) {
	trustRelays(h, relays)
	for _, r := range relays {
		go keepReservation(ctx, h, r, report)
	}
}

// forgetBackoff clears libp2p's dial backoff for id, which would otherwise
// refuse to dial a peer for seconds after a failed dial: a relay restarted,
// or a sender that was briefly unreachable, is tried again at once.
func forgetBackoff(h host.Host, id peer.ID) {
	if sw, ok := h.Network().(*swarm.Swarm); ok {
		sw.Backoff().Clear(id)
	}
}

func keepReservation(ctx context.Context, h host.Host, relay peer.AddrInfo, report func(ReservationEvent)) {
	const tag = "imageshare-relay"
	h.ConnManager().Protect(relay.ID, tag)
	defer h.ConnManager().Unprotect(relay.ID, tag)
	sub, err := h.EventBus().Subscribe(new(event.EvtPeerConnectednessChanged), eventbus.BufSize(16))
	if err != nil {
		if report != nil {
			report(ReservationEvent{Relay: relay.ID, Err: err})
		}
		return
	}
	defer sub.Close()
	retry := time.Second
	for {
		// A relay that was down leaves a dial backoff behind; the relay
		// may be back already.
		forgetBackoff(h, relay.ID)
		rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
		rsvp, err := client.Reserve(rctx, h, relay)
		cancel()
		if ctx.Err() != nil {
			return
		}
		wait := retry
		if err == nil {
			retry = time.Second
			wait = max(time.Until(rsvp.Expiration)/2, time.Second)
			if report != nil {
				report(ReservationEvent{Relay: relay.ID, Expires: rsvp.Expiration})
			}
		} else {
			retry = min(2*retry, 30*time.Second)
			if report != nil {
				report(ReservationEvent{Relay: relay.ID, Err: err})
			}
		}
		t := time.NewTimer(wait)
	wait:
		for {
			select {
			case <-ctx.Done():
				t.Stop()
				return
			case <-t.C:
				break wait
			case e := <-sub.Out():
				ev := e.(event.EvtPeerConnectednessChanged)
				if ev.Peer == relay.ID && ev.Connectedness == network.NotConnected {
					t.Stop()
					break wait
				}
			}
		}
	}
}
