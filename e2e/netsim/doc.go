// Package netsim builds simulated hospital networks out of Linux network
// namespaces, for tests that run the real sender, receiver and relay on
// several hosts. It needs root, ip (iproute2) and iptables; New skips the
// test without them, and fails it instead when CI is "true".
//
// Every piece is a namespace of its own, so nothing touches the machine's
// own network. A segment (a LAN, or the internet) is a bridge br0 in its
// namespace; a host has one veth, eth0, whose peer is a port of the
// bridge; a NAT router has two, lan and wan. Two hospitals behind a NAT
// and a firewall, and a relay on the internet,
//
//	inet := n.Internet()
//	sh, tc := n.LAN("sh"), n.LAN("tc")
//	n.NAT("shnat", sh, inet, netsim.PortPreserving)
//	n.NAT("tcnat", tc, inet, netsim.OutboundOnly)
//	snd, rcv, relay := n.Host("snd", sh), n.Host("rcv", tc), n.Host("relay", inet)
//
// make these namespaces (process 4821, its third Net), each branch a veth
// from a port of a bridge to a leg:
//
//	nsim4821-3-br-inet        bridge br0: the internet, 11.0.0.0/24
//	├── nsim4821-3-shnat      wan 11.0.0.10, router
//	│   └── lan 10.1.0.1 ──── nsim4821-3-br-sh      bridge br0: LAN sh, 10.1.0.0/24
//	│                         └── nsim4821-3-snd    eth0 10.1.0.10
//	├── nsim4821-3-tcnat      wan 11.0.0.11, router
//	│   └── lan 10.2.0.1 ──── nsim4821-3-br-tc      bridge br0: LAN tc, 10.2.0.0/24
//	│                         └── nsim4821-3-rcv    eth0 10.2.0.10
//	└── nsim4821-3-relay      eth0 11.0.0.12
//
// Address plan, one /24 per segment:
//
//	internet     11.0.0.0/24   hosts and routers' wan legs from .10 up
//	LAN number X 10.X.0.0/24   the router's lan leg .1, hosts from .10 up
//
// A host on a LAN with a router routes by default through it; a host on
// the internet has no default route, so a dial from it to a private
// address fails at once (on the real internet it would time out).
//
// The internet is 11.0.0.0/24 because libp2p tries hole punching only
// between public addresses, and 11/8 (a real, routed block) is one to
// manet.IsPublicAddr. To it, carrier-grade NAT space (100.64.0.0/10) is
// private like 10/8, and the blocks set aside for benchmarks and
// documentation (198.18.0.0/15, 198.51.100.0/24, 203.0.113.0/24) are
// unroutable. Nothing leaves the namespaces, so the real 11/8 is never
// reached.
//
// # Names
//
// A Net's namespaces are named nsim<pid>-<n>-<name>, n counting the Nets
// of the test process; segments are nsim<pid>-<n>-br-<name>, the
// internet's name being inet. Namespace names have no length limit that
// matters, but interface names are limited to 15 bytes, so interfaces are
// named within their namespace only: eth0, lan and wan in hosts and
// routers (HostIf, RouterLANIf, RouterWANIf), br0 and one port
// v<k>-<name> for each attached leg (cut to 15 bytes) in a segment.
//
// # NATs
//
// A router forwards, and masquerades what leaves by its wan leg. Linux
// keeps a connection's source port when that port is free on the public
// address, so a PortPreserving router maps a socket to the same public
// port for every destination and hole punching works through it.
// RandomPorts picks a random port for each connection (--random-fully),
// which defeats it. OutboundOnly is a PortPreserving router that also
// drops every new connection coming in by its wan leg, whether to a host
// behind it or to itself: a hospital firewall. Replies, and packets
// matching a connection a host inside opened (a punched hole), still
// pass. Bridges neither filter nor snoop multicast: br_netfilter is off in
// segment namespaces, and multicast (mDNS) floods every port. IPv6 stays
// on: libp2p's mDNS gives up when it cannot join its IPv6 group.
//
// # Clean-up
//
// Close, registered with t.Cleanup by New, kills whatever still runs in
// the Net's namespaces and deletes them, which deletes their links. A test
// process killed before its clean-up (go test -timeout) leaves its
// namespaces behind: `ip netns list | grep ^nsim` shows them, and
// `ip netns del NAME` removes one.
package netsim
