package main

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/p2p/net/connmgr"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	libp2pquic "github.com/libp2p/go-libp2p/p2p/transport/quic"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	"github.com/libp2p/go-libp2p/x/rate"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// defaultPort is the relay's TCP and UDP port unless told otherwise, next
// to the sender's 7471, so that a firewall can open it by name.
const defaultPort = 7472

// The relay's limits and why they differ from libp2p's. libp2p's defaults
// (relayv2.DefaultResources) suit a public relay that helps strangers for
// a moment; this relay carries whole studies (1 to 4 GB, minutes long) for
// the hospitals of one health network, many of them behind one NAT.
//
//   - A relayed connection has no time or data limit (Resources.Limit is
//     nil). libp2p's 2 minutes or 128 KiB each way would cut every study.
//     With no limit, the two ends do not mark the connection "limited",
//     so streams open on it as on any other and hole punching still
//     upgrades it to a direct one.
//   - defaultMaxReservations: 1024 senders at once, not 128. A reservation
//     costs the relay one connection and a map entry.
//   - defaultMaxReservationsPerIP: 256, not 8. The relay counts
//     reservations by the IP address it sees, and every sender behind a
//     hospital's NAT has the same one.
//   - The per-ASN limit (32, applied to IPv6 only) is raised to the total:
//     the hospitals of a national health network may all share one ASN.
//   - defaultMaxCircuits: 64 relayed connections at once per peer, not
//     16. A sender that serves several receivers at once needs one each.
//   - defaultBufferSize: 64 KiB copies, not 2 KiB: a 4 GB study in 65536
//     copies instead of two million. Each relayed connection holds twice
//     this much memory while it is open.
//   - defaultReservationTTL: 1 hour, libp2p's. Senders renew at half-time
//     and at once after a lost connection, and the relay forgets a
//     sender's reservation as soon as it disconnects, so a longer TTL
//     would hold no slot longer.
const (
	defaultMaxReservations      = 1024
	defaultMaxReservationsPerIP = 256
	defaultMaxCircuits          = 64
	defaultBufferSize           = 64 << 10
	defaultReservationTTL       = time.Hour

	minBufferSize     = 1 << 10
	maxBufferSize     = 16 << 20
	minReservationTTL = time.Minute

	// connsPerReservation bounds the connections one IP address may hold,
	// as a multiple of --max-reservations-per-ip: a sender may connect by
	// TCP and QUIC at once, and receivers at the same site come in from
	// the same address.
	connsPerReservation = 4
)

// limits are the relay's limits, set by flags.
type limits struct {
	maxReservations      int
	maxReservationsPerIP int
	maxCircuits          int
	bufferSize           int
	reservationTTL       time.Duration
}

// resources are the relay service's resources for l. WithResources
// replaces the whole struct, and a zero MaxCircuits or ReservationTTL
// would refuse everything, so it starts from libp2p's defaults.
func (l limits) resources() relayv2.Resources {
	rc := relayv2.DefaultResources()
	rc.Limit = nil
	rc.MaxReservations = l.maxReservations
	rc.MaxReservationsPerIP = l.maxReservationsPerIP
	rc.MaxReservationsPerASN = l.maxReservations
	rc.MaxCircuits = l.maxCircuits
	rc.BufferSize = l.bufferSize
	rc.ReservationTTL = l.reservationTTL
	return rc
}

// newResourceManager returns libp2p's resource manager with limits fit
// for a relay. libp2p's defaults would get in the way at every level: 8
// connections and 0.2 new ones a second (burst 16) per IPv4 address, which
// a whole NAT'd hospital shares; 64 inbound connections in all, plus 64
// per GiB; and 256 streams and 16 MiB for the relay service, about 128
// relayed connections. The relay's own limits (the flags) decide whom it
// serves, so every count here is unlimited but two:
//
//   - connections per IP address (IPv4 /32, IPv6 /56), and new ones a
//     second, sized from --max-reservations-per-ip, so that one address
//     cannot take every file descriptor;
//   - memory, libp2p's own share for a dedicated node (an eighth of RAM,
//     plus 128 MiB). When it runs short, new relayed connections are
//     refused and the stream windows of open ones stop growing, which is
//     better than the kernel's OOM killer ending every transfer at once.
//
// network.NullResourceManager would be simpler, but it bounds nothing.
func newResourceManager(l limits) (network.ResourceManager, error) {
	scaled := rcmgr.DefaultLimits
	memory := scaled.AutoScale().ToPartialLimitConfig().System.Memory
	fixed := rcmgr.PartialLimitConfig{System: rcmgr.ResourceLimits{Memory: memory}}.Build(rcmgr.InfiniteLimits)

	conns := connsPerReservation * l.maxReservationsPerIP
	perSubnet := func(prefix int) []rcmgr.ConnLimitPerSubnet {
		return []rcmgr.ConnLimitPerSubnet{{PrefixLength: prefix, ConnCount: conns}}
	}
	// A burst as large as the connections allowed lets every sender
	// behind a NAT reconnect at once after the NAT restarts.
	perSecond := func(prefix int) []rate.SubnetLimit {
		return []rate.SubnetLimit{{PrefixLength: prefix, Limit: rate.Limit{RPS: 10, Burst: conns}}}
	}
	rateLimiter := &rate.Limiter{
		// Loopback is unlimited, as in libp2p's default (a zero Limit).
		NetworkPrefixLimits: []rate.PrefixLimit{
			{Prefix: netip.MustParsePrefix("127.0.0.0/8")},
			{Prefix: netip.MustParsePrefix("::1/128")},
		},
		SubnetRateLimiter: rate.SubnetLimiter{
			IPv4SubnetLimits: perSecond(32),
			IPv6SubnetLimits: perSecond(56),
			GracePeriod:      time.Minute,
		},
	}
	return rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(fixed),
		rcmgr.WithLimitPerSubnet(perSubnet(32), perSubnet(56)),
		rcmgr.WithConnRateLimiters(rateLimiter))
}

// listenAddr is an address to listen on. An optional one (the default
// IPv6 addresses, on a machine that may have no IPv6) is skipped with a
// warning when it cannot be used for any reason but a taken port.
type listenAddr struct {
	addr     ma.Multiaddr
	optional bool
}

// defaultListen are TCP and QUIC on defaultPort of every interface.
func defaultListen() []listenAddr {
	return []listenAddr{
		{addr: ma.StringCast(fmt.Sprintf("/ip4/0.0.0.0/tcp/%d", defaultPort))},
		{addr: ma.StringCast(fmt.Sprintf("/ip4/0.0.0.0/udp/%d/quic-v1", defaultPort))},
		{addr: ma.StringCast(fmt.Sprintf("/ip6/::/tcp/%d", defaultPort)), optional: true},
		{addr: ma.StringCast(fmt.Sprintf("/ip6/::/udp/%d/quic-v1", defaultPort)), optional: true},
	}
}

// parseListen reads a --listen address: IPv4 or IPv6, then TCP or QUIC.
func parseListen(s string) (ma.Multiaddr, error) {
	a, err := ma.NewMultiaddr(s)
	if err != nil {
		return nil, fmt.Errorf("--listen %q: %w", s, err)
	}
	var codes []int
	for _, p := range a.Protocols() {
		codes = append(codes, p.Code)
	}
	ip := len(codes) > 0 && (codes[0] == ma.P_IP4 || codes[0] == ma.P_IP6)
	if !ip || !slices.Equal(codes[1:], []int{ma.P_TCP}) && !slices.Equal(codes[1:], []int{ma.P_UDP, ma.P_QUIC_V1}) {
		return nil, fmt.Errorf("--listen %q: the relay listens on an IP address by TCP or QUIC only, e.g. /ip4/0.0.0.0/tcp/%d or /ip6/::/udp/%d/quic-v1", s, defaultPort, defaultPort)
	}
	return a, nil
}

// server is a running relay: a libp2p host and the relay service on it.
type server struct {
	host  host.Host
	relay *relayv2.Relay
}

// startServer starts the relay with identity key on the listen
// addresses; warn is told of optional addresses skipped. The relay
// reports to ev.
func startServer(key crypto.PrivKey, listen []listenAddr, l limits, ev *events, warn func(string)) (*server, error) {
	rm, err := newResourceManager(l)
	if err != nil {
		return nil, fmt.Errorf("starting the resource manager: %w", err)
	}
	// libp2p's connection manager trims connections above 192, and with
	// them the reservations of the senders it cuts off. The watermarks
	// leave room for every reservation and a relayed connection for each.
	cm, err := connmgr.NewConnManager(2*l.maxReservations, 3*l.maxReservations)
	if err != nil {
		rm.Close()
		return nil, fmt.Errorf("starting the connection manager: %w", err)
	}
	h, err := libp2p.New(
		libp2p.Identity(key),
		// No SO_REUSEPORT: with it a second relay could bind the same
		// TCP port and take half the connections instead of failing.
		// Reuseport serves hole punching, which the relay takes no part in.
		libp2p.Transport(tcp.NewTCPTransport, tcp.DisableReuseport()),
		libp2p.Transport(libp2pquic.NewTransport),
		// Listening happens below, one address at a time, so that an
		// address that fails can be named.
		libp2p.NoListenAddrs,
		// The relay *transport* dials and accepts through other relays;
		// the relay needs none. relayv2.New serves the hop protocol on
		// its own, whatever this says.
		libp2p.DisableRelay(),
		// The relay is reachable by design: this tells AutoNAT so rather
		// than have it probe the peers. Nothing here waits for it.
		libp2p.ForceReachabilityPublic(),
		libp2p.ResourceManager(rm),
		libp2p.ConnectionManager(cm),
		libp2p.DisableMetrics(),
		libp2p.UserAgent("imageshare-relay"),
	)
	if err != nil {
		rm.Close()
		cm.Close()
		return nil, fmt.Errorf("starting libp2p: %w", err)
	}
	for _, la := range listen {
		err := h.Network().Listen(la.addr)
		switch {
		case err == nil:
		case la.optional && !isAddrInUse(err):
			warn(fmt.Sprintf("not listening on %s: %v", la.addr, err))
		default:
			h.Close()
			return nil, &listenError{addr: la.addr.String(), err: err}
		}
	}
	ev.watch(h.Network())
	r, err := relayv2.New(h,
		relayv2.WithResources(l.resources()),
		// Reservations carry every address of the relay, not only public
		// ones: a health network's relay may have a private address only.
		relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }),
		relayv2.WithACL(ev),
		relayv2.WithMetricsTracer(ev),
	)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("starting the relay service: %w", err)
	}
	return &server{host: h, relay: r}, nil
}

// close stops the relay service, then the host and its connections.
func (s *server) close() error {
	s.relay.Close()
	return s.host.Close()
}

// senderAddrs are the addresses to give senders, each ending in /p2p/ and
// the relay's peer ID: public before private, IPv4 before IPv6, TCP before
// QUIC; no link-local address, and loopback only when there is no other.
func (s *server) senderAddrs() []ma.Multiaddr {
	type ranked struct {
		a    ma.Multiaddr
		rank int
	}
	var rs []ranked
	for _, a := range s.host.Addrs() {
		ip, err := manet.ToIP(a)
		if err != nil || ip.IsUnspecified() || ip.IsLinkLocalUnicast() {
			continue
		}
		rank := 0
		switch {
		case ip.IsLoopback():
			rank = 40
		case !manet.IsPublicAddr(a):
			rank = 20
		}
		if ip.To4() == nil {
			rank += 10
		}
		if _, err := a.ValueForProtocol(ma.P_QUIC_V1); err == nil {
			rank++
		}
		rs = append(rs, ranked{a, rank})
	}
	slices.SortStableFunc(rs, func(x, y ranked) int { return x.rank - y.rank })
	self := ma.StringCast("/p2p/" + s.host.ID().String())
	onlyLoopback := len(rs) > 0 && rs[0].rank >= 40
	var out []ma.Multiaddr
	for _, r := range rs {
		if r.rank >= 40 && !onlyLoopback {
			break
		}
		out = append(out, r.a.Encapsulate(self))
	}
	return out
}

// isAddrInUse reports whether err says a port is taken.
func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || err != nil && strings.Contains(err.Error(), "address already in use")
}
