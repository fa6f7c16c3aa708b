package discovery

import (
	"math"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	rcmgr "github.com/libp2p/go-libp2p/p2p/host/resource-manager"
	"github.com/libp2p/go-libp2p/x/rate"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/transfer"
)

// A host's limits on connections, and why they differ from libp2p's.
//
// libp2p's resource manager counts connections by the remote IP address:
// 8 at once and 0.2 new ones a second (burst 16) per IPv4 address. A
// relayed connection's address is the relay's, so every receiver that
// comes through one relay shares that count with the sender's own
// connection to it: 7 receivers at once and 12 new ones a minute, and a
// stranger who held 7 relayed connections blocked every relayed
// delivery. Here:
//
//   - Relayed connections through the relays this host keeps reservations
//     with (KeepReservations) are counted under an address of their own,
//     relayedIP, not the relay's: MaxRelayedConns at once in all, and as
//     many new ones a second as the relays let through (a shared rate
//     would be a bucket for a stranger to empty). Of those, at most
//     MaxUnprovenRelayed that have not proved a card: a new one beyond
//     that closes the oldest unproven one, so that a stranger holding
//     relayed connections is pushed out by the next receiver, and cannot
//     fill the relay's circuits to this host (64 a peer by default, see
//     cmd/relay) with his own.
//   - On a host that serves studies (transfer.ProtocolID), an inbound
//     connection on which no stream has proved a card within
//     transfer.HelloTimeout is closed.
//   - Direct connections keep libp2p's limits per address: 8 at once, 0.2
//     new ones a second (burst 16), per IPv4 address or IPv6 /56; loopback
//     is not limited.
//   - Every other count is libp2p's default scaled to the machine (about
//     250 inbound connections in all, 8 a peer), with a peer's inbound
//     streams capped lower: it has not proved anything when it opens them.
const (
	MaxRelayedConns    = 128
	MaxUnprovenRelayed = 32
	// maxPeerStreamsInbound bounds the streams one peer may open: a
	// receiver uses a few (transfer.DefaultStreams, identify, hole
	// punching). A relay is one peer too, each connection it relays
	// holding one of its streams: 128 is above the 64 circuits a relay
	// gives one peer (cmd/relay's --max-circuits).
	maxPeerStreamsInbound = 128
)

// relayedIP stands for the remote address of connections relayed by this
// host's relays, in the resource manager's counts. It is in 100::/64, the
// IPv6 prefix for discarding traffic (RFC 6666), which no peer can have.
var relayedIP = netip.MustParsePrefix("100::/64")

// resourceManager is libp2p's resource manager with the limits above. It
// hands out connection scopes of its own, by which a connection is marked
// proved (MarkProved, which streampeer's transfer.Peer.Proved calls).
type resourceManager struct {
	network.ResourceManager

	mu       sync.Mutex
	relays   map[peer.ID]bool // the relays this host keeps reservations with
	unproven []*connScope     // inbound relayed ones not yet proved, oldest first; at most MaxRelayedConns
}

var _ network.ResourceManager = (*resourceManager)(nil)

func newResourceManager() (*resourceManager, error) {
	limits := rcmgr.DefaultLimits
	libp2p.SetDefaultServiceLimits(&limits)
	cfg := rcmgr.PartialLimitConfig{
		PeerDefault: rcmgr.ResourceLimits{StreamsInbound: maxPeerStreamsInbound},
	}.Build(limits.AutoScale())
	loopback4, loopback6 := netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")
	limiter := &rate.Limiter{
		// A zero Limit is no limit.
		NetworkPrefixLimits: []rate.PrefixLimit{{Prefix: loopback4}, {Prefix: loopback6}, {Prefix: relayedIP}},
		SubnetRateLimiter: rate.SubnetLimiter{
			IPv4SubnetLimits: []rate.SubnetLimit{{PrefixLength: 32, Limit: rate.Limit{RPS: 0.2, Burst: 16}}},
			IPv6SubnetLimits: []rate.SubnetLimit{
				{PrefixLength: 56, Limit: rate.Limit{RPS: 0.2, Burst: 16}},
				{PrefixLength: 48, Limit: rate.Limit{RPS: 0.5, Burst: 80}},
			},
			GracePeriod: time.Minute,
		},
	}
	rm, err := rcmgr.NewResourceManager(rcmgr.NewFixedLimiter(cfg), rcmgr.WithMetricsDisabled(),
		rcmgr.WithNetworkPrefixLimit(
			[]rcmgr.NetworkPrefixLimit{{Network: loopback4, ConnCount: math.MaxInt}},
			[]rcmgr.NetworkPrefixLimit{{Network: loopback6, ConnCount: math.MaxInt}, {Network: relayedIP, ConnCount: MaxRelayedConns}}),
		rcmgr.WithConnRateLimiters(limiter))
	if err != nil {
		return nil, err
	}
	return &resourceManager{ResourceManager: rm, relays: map[peer.ID]bool{}}, nil
}

// trustRelays counts connections relayed by relays under relayedIP, not
// the relays' addresses, on a host that NewHost made.
func trustRelays(h host.Host, relays []peer.AddrInfo) {
	rm, ok := h.Network().ResourceManager().(*resourceManager)
	if !ok {
		return
	}
	rm.mu.Lock()
	defer rm.mu.Unlock()
	for _, r := range relays {
		rm.relays[r.ID] = true
	}
}

// relayOf returns the relay's peer ID in a relayed address
// (/ip4/…/p2p/RELAY/p2p-circuit…) and the address from /p2p/RELAY on.
func relayOf(a ma.Multiaddr) (peer.ID, ma.Multiaddr, bool) {
	var relay peer.ID
	for i, c := range a {
		switch c.Code() {
		case ma.P_P2P:
			id, err := peer.IDFromBytes(c.RawValue())
			if err != nil {
				return "", nil, false
			}
			relay = id
			if i+1 < len(a) && a[i+1].Code() == ma.P_CIRCUIT {
				return relay, a[i:], true
			}
		case ma.P_CIRCUIT:
			return "", nil, false
		}
	}
	return "", nil, false
}

func (rm *resourceManager) OpenConnection(dir network.Direction, usefd bool, endpoint ma.Multiaddr) (network.ConnManagementScope, error) {
	relay, rest, relayed := relayOf(endpoint)
	rm.mu.Lock()
	relayed = relayed && rm.relays[relay]
	var victim network.Conn
	if relayed && dir == network.DirInbound && len(rm.unproven) >= MaxUnprovenRelayed {
		victim = rm.evictLocked()
	}
	rm.mu.Unlock()
	if victim != nil {
		go victim.Close()
	}
	if relayed {
		endpoint = ma.Join(relayedAddr, rest)
	}
	inner, err := rm.ResourceManager.OpenConnection(dir, usefd, endpoint)
	if err != nil {
		return nil, err
	}
	s := &connScope{ConnManagementScope: inner, rm: rm, opened: time.Now()}
	if relayed && dir == network.DirInbound {
		rm.mu.Lock()
		rm.unproven = append(rm.unproven, s)
		rm.mu.Unlock()
	}
	return s, nil
}

// relayedAddr is relayedIP as a multiaddr.
var relayedAddr = ma.StringCast("/ip6/" + relayedIP.Addr().String())

// evictLocked takes the oldest unproven relayed connection whose
// handshake has finished off the list and returns it, to be closed.
func (rm *resourceManager) evictLocked() network.Conn {
	for i, s := range rm.unproven {
		if s.conn != nil {
			rm.unproven = slices.Delete(rm.unproven, i, i+1)
			return s.conn
		}
	}
	return nil
}

func (rm *resourceManager) forgetLocked(s *connScope) {
	if i := slices.Index(rm.unproven, s); i >= 0 {
		rm.unproven = slices.Delete(rm.unproven, i, i+1)
	}
}

// connected starts the HELLO deadline of an inbound connection on h.
func (rm *resourceManager) connected(h host.Host, c network.Conn) {
	s, ok := c.Scope().(*connScope)
	if !ok || c.Stat().Direction != network.DirInbound {
		return
	}
	rm.mu.Lock()
	s.conn = c
	rm.mu.Unlock()
	time.AfterFunc(time.Until(s.opened.Add(transfer.HelloTimeout)), func() {
		if !s.proved.Load() && slices.Contains(h.Mux().Protocols(), transfer.ProtocolID) {
			c.Close()
		}
	})
}

// connScope is a connection's scope, which knows whether a stream on the
// connection has proved a card.
type connScope struct {
	network.ConnManagementScope
	rm     *resourceManager
	opened time.Time
	proved atomic.Bool
	conn   network.Conn // once connected; under rm.mu
	done   sync.Once
}

// prove marks the connection as one on which a card was proved.
func (s *connScope) prove() {
	if s.proved.Swap(true) {
		return
	}
	s.rm.mu.Lock()
	defer s.rm.mu.Unlock()
	s.rm.forgetLocked(s)
}

func (s *connScope) Done() {
	s.done.Do(func() {
		s.rm.mu.Lock()
		s.rm.forgetLocked(s)
		s.conn = nil
		s.rm.mu.Unlock()
	})
	s.ConnManagementScope.Done()
}

// MarkProved marks c as a connection on which a card was proved, when
// NewHost made its host: it stays open past transfer.HelloTimeout and no
// longer counts among the unproven relayed ones. On another host's
// connection it does nothing.
func MarkProved(c network.Conn) {
	if s, ok := c.Scope().(*connScope); ok {
		s.prove()
	}
}
