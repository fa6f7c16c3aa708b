package discovery

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/zeroconf/v2"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// LANService is the mDNS service name imageshare hosts announce
// themselves under. It is not libp2p's default, so that the hosts of other
// libp2p programs on the LAN do not answer. The records are those of
// libp2p's mDNS discovery: one TXT string "dnsaddr=MULTIADDR/p2p/ID" for
// each address.
const LANService = "_imageshare._udp"

const (
	lanDomain     = "local"
	dnsaddrPrefix = "dnsaddr="
)

// LAN finds imageshare hosts on the local network by mDNS, and announces
// this one, so that a receiver on the same network finds the sender even
// when the card's addresses are stale (a DHCP change, a laptop moved to
// another socket). mDNS stays on the local link: it never crosses a router.
//
// It speaks mDNS with zeroconf itself rather than through libp2p's mdns
// package, because that one announces the swarm's interface addresses,
// which libp2p caches for a minute: a sender whose address changed would
// announce the old one for up to a minute.
type LAN struct {
	h      host.Host
	cancel context.CancelFunc
	done   sync.WaitGroup

	mu     sync.Mutex
	server *zeroconf.Server
	found  map[peer.ID][]ma.Multiaddr
	wait   map[peer.ID][]chan []ma.Multiaddr
}

// StartLAN announces h and listens for others. h must listen on a
// non-loopback address.
func StartLAN(h host.Host) (*LAN, error) {
	ctx, cancel := context.WithCancel(context.Background())
	l := &LAN{h: h, cancel: cancel,
		found: map[peer.ID][]ma.Multiaddr{}, wait: map[peer.ID][]chan []ma.Multiaddr{}}
	addrs := lanAddrs(h)
	server, err := l.announce(addrs)
	if err != nil {
		cancel()
		return nil, err
	}
	l.server = server
	entries := make(chan *zeroconf.ServiceEntry, 64)
	l.done.Add(3)
	go func() {
		defer l.done.Done()
		// Browse closes entries when ctx ends.
		zeroconf.Browse(ctx, LANService, lanDomain, entries)
	}()
	go func() {
		defer l.done.Done()
		for e := range entries {
			l.heard(e)
		}
	}()
	go func() {
		defer l.done.Done()
		l.follow(ctx, addrs)
	}()
	return l, nil
}

// lanAddrs is the addresses h can be reached at on its LANs now, read
// from the interfaces each time (libp2p caches them), with /p2p/ID.
func lanAddrs(h host.Host) []string {
	ifaces, err := manet.InterfaceMultiaddrs()
	if err != nil {
		return nil
	}
	resolved, err := manet.ResolveUnspecifiedAddresses(h.Network().ListenAddresses(), ifaces)
	if err != nil {
		return nil
	}
	var out []string
	for _, a := range resolved {
		if ip, err := manet.ToIP(a); err != nil || ip.IsLoopback() || IsRelayed(a) {
			continue
		}
		out = append(out, a.String()+"/p2p/"+h.ID().String())
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// announce registers the service with addrs. The instance name is random,
// as in libp2p's mDNS: it says nothing about the host or the patient.
func (l *LAN) announce(addrs []string) (*zeroconf.Server, error) {
	var ips, txt []string
	for _, a := range addrs {
		txt = append(txt, dnsaddrPrefix+a)
		m, err := ma.NewMultiaddr(a)
		if err != nil {
			continue
		}
		if ip, err := manet.ToIP(m); err == nil && !slices.Contains(ips, ip.String()) {
			ips = append(ips, ip.String())
		}
	}
	if len(ips) == 0 {
		// zeroconf wants an address record; the TXT strings are what
		// counts, and there are none to give.
		ips = []string{"127.0.0.1"}
	}
	var b [16]byte
	rand.Read(b[:])
	name := hex.EncodeToString(b[:])
	// libp2p's mDNS also passes port 4001: the TXT records carry the
	// real ports.
	return zeroconf.RegisterProxy(name, LANService, lanDomain, 4001, name, ips, txt, nil)
}

// follow announces again when the host's addresses change (a DHCP lease,
// a cable moved).
func (l *LAN) follow(ctx context.Context, announced []string) {
	tick := time.NewTicker(lanRecheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := lanAddrs(l.h)
		if slices.Equal(now, announced) {
			continue
		}
		server, err := l.announce(now)
		if err != nil {
			continue
		}
		announced = now
		l.mu.Lock()
		old := l.server
		l.server = server
		l.mu.Unlock()
		old.Shutdown()
	}
}

// lanRecheck is how often the host's addresses are compared with those
// announced.
const lanRecheck = time.Second

// Close stops announcing and listening.
func (l *LAN) Close() error {
	l.cancel()
	l.done.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.server.Shutdown()
	return nil
}

// heard takes the addresses of an announcement.
func (l *LAN) heard(e *zeroconf.ServiceEntry) {
	byPeer := map[peer.ID][]ma.Multiaddr{}
	for _, s := range e.Text {
		if !strings.HasPrefix(s, dnsaddrPrefix) {
			continue
		}
		m, err := ma.NewMultiaddr(strings.TrimPrefix(s, dnsaddrPrefix))
		if err != nil {
			continue
		}
		ai, err := peer.AddrInfoFromP2pAddr(m)
		if err != nil || ai.ID == l.h.ID() {
			continue
		}
		for _, a := range ai.Addrs {
			// Another host's loopback is not this host's.
			if ip, err := manet.ToIP(a); err == nil && !ip.IsLoopback() && !ip.IsUnspecified() {
				byPeer[ai.ID] = append(byPeer[ai.ID], a)
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, addrs := range byPeer {
		l.found[id] = addrs
		for _, c := range l.wait[id] {
			select {
			case c <- addrs:
			default: // the watcher has not taken the last ones yet
			}
		}
	}
}

// Watch yields the addresses id announces: those heard already, if any,
// and again each time it announces, as when its address has just changed
// and the old announcement was heard first. stop ends the watch.
func (l *LAN) Watch(id peer.ID) (addrs <-chan []ma.Multiaddr, stop func()) {
	c := make(chan []ma.Multiaddr, 4)
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.found[id]; ok {
		c <- a
	}
	l.wait[id] = append(l.wait[id], c)
	return c, func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.wait[id] = slices.DeleteFunc(l.wait[id], func(w chan []ma.Multiaddr) bool { return w == c })
	}
}
