package discovery

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/sec"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"imageshare/card"
	"imageshare/transfer"
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
	// Listen addresses; none for a receiver.
	Listen []string
}

// NewHost starts a libp2p host with TCP and QUIC transports only.
func NewHost(opts HostOptions) (host.Host, error) {
	id := opts.Identity
	if id == nil {
		var err error
		id, _, err = crypto.GenerateEd25519Key(nil)
		if err != nil {
			return nil, fmt.Errorf("generating peer identity: %w", err)
		}
	}
	o := []libp2p.Option{
		libp2p.Identity(id),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.Transport(libp2pquic.NewTransport),
		libp2p.DisableRelay(),
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
		return nil, fmt.Errorf("starting libp2p host: %w", err)
	}
	return h, nil
}

// IsAddrInUse reports whether err says a listen port is taken.
func IsAddrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "address already in use")
}

// CardAddrs chooses the addresses that go on the card: routable ones
// before private ones before loopback, TCP before QUIC for each IP, no
// link-local, at most card.MaxAddrs.
func CardAddrs(h host.Host) []ma.Multiaddr {
	type ranked struct {
		a    ma.Multiaddr
		rank int
	}
	var rs []ranked
	seen := map[string]bool{}
	for _, a := range h.Addrs() {
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

// Connect dials the peer on the card at all its addresses at once and
// returns the connection that libp2p authenticated as that peer.
func Connect(ctx context.Context, h host.Host, id peer.ID, addrs []ma.Multiaddr, timeout time.Duration) (network.Conn, error) {
	if len(addrs) == 0 {
		return nil, ErrNoAddrs
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	h.Peerstore().AddAddrs(id, addrs, time.Hour)
	err := h.Connect(network.WithForceDirectDial(ctx, "card addresses"), peer.AddrInfo{ID: id, Addrs: addrs})
	if err != nil {
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
	conns := h.Network().ConnsToPeer(id)
	if len(conns) == 0 {
		return nil, &ConnectError{Peer: id, Addrs: addrs, Err: errors.New("connection closed at once")}
	}
	return conns[0], nil
}

// StreamPeer describes the two ends of a stream's connection for the
// transfer server: the peer IDs that libp2p authenticated, and the remote
// IP address, by which failed proofs are rate-limited.
func StreamPeer(s network.Stream) transfer.Peer {
	c := s.Conn()
	host := c.RemoteMultiaddr().String()
	if ip, err := manet.ToIP(c.RemoteMultiaddr()); err == nil {
		host = ip.String()
	}
	return transfer.Peer{
		Local:  string(c.LocalPeer()),
		Remote: string(c.RemotePeer()),
		Name:   c.RemotePeer().String(),
		Host:   host,
	}
}
