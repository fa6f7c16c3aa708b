package discovery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	"github.com/libp2p/go-libp2p/p2p/protocol/holepunch"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"imageshare/card"
)

// DefaultPort is the TCP and UDP port a sender listens on unless told
// otherwise. Hospital firewalls can open it by name.
const DefaultPort = 7471

// DefaultListen are the sender's default listen addresses: TCP and QUIC on
// every IPv4 and IPv6 interface.
var DefaultListen = []string{
	fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", DefaultPort),
	fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", DefaultPort),
	fmt.Sprintf("/ip6/::/tcp/%d", DefaultPort),
	fmt.Sprintf("/ip6/::/udp/%d/quic-v1", DefaultPort),
}

// HostOptions configure a host.
type HostOptions struct {
	// Identity is the host's key; a fresh Ed25519 key when nil.
	Identity crypto.PrivKey
	// Listen addresses. A receiver listens on ephemeral ports
	// (ReceiverListen), which hole punching and mDNS need.
	Listen []string
}

// ReceiverListen are a receiver's listen addresses: any free port, TCP and
// QUIC. The receiver serves no study on them; hole punching needs a host
// that listens (its outgoing TCP connections leave from the listening
// port, which lets a relay tell it its public address).
var ReceiverListen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1", "/ip6/::/tcp/0", "/ip6/::/udp/0/quic-v1"}

// NewHost starts a libp2p host with TCP and QUIC transports only, and the
// connection limits that limits.go explains.
func NewHost(opts HostOptions) (host.Host, error) {
	id := opts.Identity
	if id == nil {
		var err error
		id, _, err = crypto.GenerateEd25519Key(nil)
		if err != nil {
			return nil, fmt.Errorf("generating peer identity: %w", err)
		}
	}
	rm, err := newResourceManager()
	if err != nil {
		return nil, fmt.Errorf("starting libp2p's resource manager: %w", err)
	}
	o := []libp2p.Option{
		libp2p.Identity(id),
		libp2p.ResourceManager(rm),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		// The relay transport (dialing and accepting through a relay) and
		// hole punching, which upgrades a relayed connection to a direct
		// one where the NATs allow it.
		libp2p.EnableRelay(),
		libp2p.EnableHolePunching(),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("imageshare"),
	}
	for _, s := range opts.Listen {
		if _, err := ma.NewMultiaddr(s); err != nil {
			return nil, fmt.Errorf("listen address %q: %w", s, err)
		}
	}
	if len(opts.Listen) == 0 {
		o = append(o, libp2p.NoListenAddrs)
	} else {
		o = append(o, libp2p.ListenAddrStrings(opts.Listen...))
	}
	h, err := libp2p.New(o...)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("starting libp2p host: %w", err)
	}
	h.Network().Notify(&network.NotifyBundle{ConnectedF: func(_ network.Network, c network.Conn) { rm.connected(h, c) }})
	return h, nil
}

// IsAddrInUse reports whether err says a listen port is taken.
func IsAddrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}

// CardAddrs chooses the addresses that go on the card: routable ones,
// then the relays' (which reach a sender behind a NAT), then private ones,
// then loopback; TCP before QUIC for each IP; no link-local; at most
// card.MaxAddrs.
func CardAddrs(h host.Host, relays []peer.AddrInfo) []ma.Multiaddr {
	type ranked struct {
		a    ma.Multiaddr
		rank int
	}
	var rs []ranked
	for _, a := range CircuitAddrs(relays) {
		rank := 5
		if isQUIC(a) {
			rank++
		}
		rs = append(rs, ranked{a, rank})
	}
	seen := map[string]bool{}
	for _, a := range h.Addrs() {
		if IsRelayed(a) {
			continue
		}
		ip, err := manet.ToIP(a)
		if err != nil || ip.IsLinkLocalUnicast() || ip.IsUnspecified() || seen[a.String()] {
			continue
		}
		seen[a.String()] = true
		rank := 0
		switch {
		case ip.IsLoopback():
			rank = 40
		case ip.IsPrivate():
			rank = 20
		}
		if ip.To4() == nil {
			rank += 10
		}
		if isQUIC(a) {
			rank += 1
		}
		rs = append(rs, ranked{a, rank})
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].rank < rs[j].rank })
	var out []ma.Multiaddr
	for _, r := range rs {
		if len(out) == card.MaxAddrs {
			break
		}
		out = append(out, r.a)
	}
	return out
}

func isQUIC(a ma.Multiaddr) bool {
	_, err := a.ValueForProtocol(ma.P_QUIC_V1)
	return err == nil
}

// Errors connecting to the sender.
var (
	ErrNoAddrs     = errors.New("the card lists no address for the sender")
	ErrUnreachable = errors.New("cannot reach the sender")
	ErrImpostor    = errors.New("a different computer answered at the sender's address")
)

// ConnectError says which addresses were tried and why none worked.
type ConnectError struct {
	Peer  peer.ID
	Addrs []ma.Multiaddr
	Err   error
}

func (e *ConnectError) Error() string {
	var as []string
	for _, a := range e.Addrs {
		as = append(as, a.String())
	}
	return fmt.Sprintf("%v (tried %s): %v", ErrUnreachable, strings.Join(as, ", "), e.Err)
}

func (e *ConnectError) Unwrap() []error { return []error{ErrUnreachable, e.Err} }

// Connect reaches the peer on the card and returns the connection that
// libp2p authenticated as that peer, direct if there is one. It tries every
// way at once: the card's direct addresses; its relayed addresses, after
// connecting to each relay and waiting briefly until this host can take
// part in hole punching; and, when lan is set, the addresses the peer
// announces on the local network, which may be newer than the card's.
func Connect(ctx context.Context, h host.Host, id peer.ID, addrs []ma.Multiaddr, timeout time.Duration, lan *LAN) (network.Conn, error) {
	if len(addrs) == 0 && lan == nil {
		return nil, ErrNoAddrs
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var direct, relayed []ma.Multiaddr
	for _, a := range addrs {
		if IsRelayed(a) {
			relayed = append(relayed, a)
		} else {
			direct = append(direct, a)
		}
	}
	type result struct{ err error }
	results := make(chan result, 3)
	tries := 0
	try := func(via []ma.Multiaddr, before func() bool) {
		tries++
		go func() {
			if before != nil && !before() {
				results <- result{ctx.Err()}
				return
			}
			forgetBackoff(h, id)
			results <- result{h.Connect(ctx, peer.AddrInfo{ID: id, Addrs: via})}
		}()
	}
	if len(direct) > 0 {
		try(direct, nil)
	}
	if len(relayed) > 0 {
		try(relayed, func() bool { return readyForHolePunch(ctx, h, relayed) })
	}
	if lan != nil {
		tries++
		go func() {
			heard, stop := lan.Watch(id)
			defer stop()
			// Each announcement is dialled at once, beside those before
			// it: the first heard may be the old one of a sender whose
			// address has just changed, whose dial takes seconds to fail.
			dialled := make(chan error)
			pending := 0
			err := fmt.Errorf("not heard on the local network (mDNS)")
			for {
				select {
				case addrs := <-heard:
					h.Peerstore().AddAddrs(id, addrs, time.Hour)
					pending++
					go func() {
						var err error
						// libp2p may join this dial to one under way to
						// the card's addresses; once that fails, again.
						for range 2 {
							forgetBackoff(h, id)
							if err = h.Connect(ctx, peer.AddrInfo{ID: id, Addrs: addrs}); err == nil || ctx.Err() != nil {
								break
							}
						}
						dialled <- err
					}()
				case err = <-dialled:
					pending--
					if err == nil {
						results <- result{nil}
						go drain(dialled, pending)
						return
					}
				case <-ctx.Done():
					results <- result{err}
					go drain(dialled, pending)
					return
				}
			}
		}()
	}
	var errs []error
	for range tries {
		r := <-results
		if r.err == nil {
			break
		}
		errs = append(errs, r.err)
	}
	if c := bestConn(h, id); c != nil {
		return c, nil
	}
	if len(errs) == 0 {
		errs = append(errs, errors.New("connection closed at once"))
	}
	err := errors.Join(errs...)
	var mismatch sec.ErrPeerIDMismatch
	var mismatchp *sec.ErrPeerIDMismatch
	switch {
	case errors.As(err, &mismatch):
		err = fmt.Errorf("%w: it is %s, not %s", ErrImpostor, mismatch.Actual, id)
	case errors.As(err, &mismatchp):
		err = fmt.Errorf("%w: it is %s, not %s", ErrImpostor, mismatchp.Actual, id)
	case strings.Contains(err.Error(), "peer id mismatch"):
		err = fmt.Errorf("%w: %v", ErrImpostor, err)
	}
	return nil, &ConnectError{Peer: id, Addrs: addrs, Err: err}
}

// bestConn is the connection to id that new streams should use: a direct
// one when there is one.
func bestConn(h host.Host, id peer.ID) network.Conn {
	var best network.Conn
	for _, c := range h.Network().ConnsToPeer(id) {
		if best == nil || IsRelayedConn(best) && !IsRelayedConn(c) {
			best = c
		}
	}
	return best
}

// drain takes n results from c, so that the goroutines sending them end.
func drain(c <-chan error, n int) {
	for range n {
		<-c
	}
}

// readyForHolePunch connects to the relays of the relayed addresses and
// waits, a few seconds at most, until this host serves the hole-punching
// protocol: it does once a relay has told it its public address. The
// sender starts hole punching as soon as a relayed connection comes in,
// and does not try again if this side is not ready. It reports false only
// when ctx has ended.
func readyForHolePunch(ctx context.Context, h host.Host, relayed []ma.Multiaddr) bool {
	for _, a := range relayed {
		relayAddr, _ := ma.SplitFunc(a, func(c ma.Component) bool { return c.Protocol().Code == ma.P_CIRCUIT })
		if ai, err := peer.AddrInfoFromP2pAddr(relayAddr); err == nil {
			forgetBackoff(h, ai.ID)
			go h.Connect(ctx, *ai)
		}
	}
	deadline := time.NewTimer(holePunchReadyWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		if slices.Contains(h.Mux().Protocols(), holepunch.Protocol) {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-deadline.C:
			return true
		case <-tick.C:
		}
	}
}

// holePunchReadyWait bounds how long a receiver waits to be ready for hole
// punching before it dials through a relay anyway.
const holePunchReadyWait = 3 * time.Second
