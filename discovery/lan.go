package discovery

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/discovery/mdns"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
)

// LANService is the mDNS service name imageshare hosts announce
// themselves under. It is not libp2p's default, so that the hosts of other
// libp2p programs on the LAN do not answer.
const LANService = "_imageshare._udp"

// LAN finds imageshare hosts on the local network by mDNS, and announces
// this one, so that a receiver on the same network finds the sender even
// when the card's addresses are stale (a DHCP change, a laptop moved to
// another socket). mDNS stays on the local link: it never crosses a router.
type LAN struct {
	h    host.Host
	stop chan struct{}
	done chan struct{}

	mu    sync.Mutex
	svc   mdns.Service
	found map[peer.ID][]ma.Multiaddr
	wait  map[peer.ID][]chan []ma.Multiaddr
}

// StartLAN announces h and listens for others. h must listen on a
// non-loopback address.
func StartLAN(h host.Host) (*LAN, error) {
	l := &LAN{h: h, stop: make(chan struct{}), done: make(chan struct{}),
		found: map[peer.ID][]ma.Multiaddr{}, wait: map[peer.ID][]chan []ma.Multiaddr{}}
	svc := mdns.NewMdnsService(h, LANService, l)
	if err := svc.Start(); err != nil {
		return nil, err
	}
	l.svc = svc
	go l.follow(addrKey(h))
	return l, nil
}

// follow announces again when the host's addresses change (a DHCP lease,
// a cable moved): the mDNS service announces the addresses it had when it
// started.
func (l *LAN) follow(announced string) {
	defer close(l.done)
	tick := time.NewTicker(lanRecheck)
	defer tick.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
		now := addrKey(l.h)
		if now == announced {
			continue
		}
		svc := mdns.NewMdnsService(l.h, LANService, l)
		if svc.Start() != nil {
			continue
		}
		announced = now
		l.mu.Lock()
		old := l.svc
		l.svc = svc
		l.mu.Unlock()
		old.Close()
	}
}

// lanRecheck is how often the host's addresses are compared with those
// announced.
const lanRecheck = 2 * time.Second

func addrKey(h host.Host) string {
	addrs, _ := h.Network().InterfaceListenAddresses()
	var ss []string
	for _, a := range addrs {
		ss = append(ss, a.String())
	}
	slices.Sort(ss)
	return strings.Join(ss, " ")
}

// Close stops announcing and listening.
func (l *LAN) Close() error {
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.svc.Close()
}

// HandlePeerFound is called by the mDNS service for each host announced.
func (l *LAN) HandlePeerFound(pi peer.AddrInfo) {
	var addrs []ma.Multiaddr
	for _, a := range pi.Addrs {
		// Another host's loopback is not this host's.
		if ip, err := manet.ToIP(a); err == nil && !ip.IsLoopback() && !ip.IsUnspecified() {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.found[pi.ID] = addrs
	for _, c := range l.wait[pi.ID] {
		c <- addrs
	}
	delete(l.wait, pi.ID)
}

// Find returns a channel that yields the addresses id announces, once:
// at once if already heard, else when heard.
func (l *LAN) Find(id peer.ID) <-chan []ma.Multiaddr {
	c := make(chan []ma.Multiaddr, 1)
	l.mu.Lock()
	defer l.mu.Unlock()
	if a, ok := l.found[id]; ok {
		c <- a
		return c
	}
	l.wait[id] = append(l.wait[id], c)
	return c
}
