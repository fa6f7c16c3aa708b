package netsim

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imageshare/internal/testenv"
)

// The interfaces of hosts and routers, for tests that add their own rules.
const (
	HostIf      = "eth0" // a host's leg on its segment
	RouterLANIf = "lan"  // a router's leg on the LAN it serves
	RouterWANIf = "wan"  // a router's leg towards the internet
)

const (
	bridge = "br0"
	// firstHost is the last byte of a segment's first host address.
	firstHost = 10
	// cmdTimeout bounds each setup and clean-up command.
	cmdTimeout = 30 * time.Second
	// tbfLatency is how long a packet may wait in a shaped port's queue.
	tbfLatency = "50ms"
)

// nets counts the Nets of this process, to name their namespaces apart.
var nets atomic.Int64

// A Net is a set of namespaces built for one test; Close removes them all.
// Its methods fail the test on error, so they must be called from the
// test's goroutine.
type Net struct {
	t          testing.TB
	prefix     string
	namespaces []string // in the order made
	names      map[string]bool
	internet   *Segment
	lans       int
	legs       int

	mu   sync.Mutex
	cmds []*exec.Cmd // made by Host.Command, for Close to kill
}

// New returns an empty Net whose namespaces t's clean-up removes. It skips
// t when this is not root on Linux with ip and iptables, and fails it then
// when the environment variable CI is "true": CI runs as root and must run
// the network tests.
func New(t testing.TB) *Net {
	t.Helper()
	if why := unavailable(); why != "" {
		testenv.Missing(t, "netsim: %s (CI must run the network tests)", why)
	}
	n := &Net{
		t:      t,
		prefix: fmt.Sprintf("nsim%d-%d", os.Getpid(), nets.Add(1)),
		names:  map[string]bool{},
	}
	t.Cleanup(n.Close)
	return n
}

// unavailable says why namespaces cannot be built here, or "" when they can.
func unavailable() string {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		return "needs root: network namespaces, veth and iptables"
	}
	for _, prog := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Sprintf("needs %s (Debian packages iproute2 and iptables)", prog)
		}
	}
	return ""
}

// Namespaces lists the namespaces made so far, in the order made.
func (n *Net) Namespaces() []string {
	return append([]string(nil), n.namespaces...)
}

// Close kills what runs in the Net's namespaces and deletes them. Errors
// fail the test; a second Close does nothing.
func (n *Net) Close() {
	// A command just started may not have entered its namespace yet, so
	// ip netns pids would miss it: kill what Host.Command made first.
	n.mu.Lock()
	for _, c := range n.cmds {
		if c.Process != nil {
			c.Process.Kill()
		}
	}
	n.cmds = nil
	n.mu.Unlock()
	for i := len(n.namespaces) - 1; i >= 0; i-- {
		ns := n.namespaces[i]
		ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
		if out, err := exec.CommandContext(ctx, "ip", "netns", "pids", ns).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
					if p, err := os.FindProcess(pid); err == nil {
						p.Kill()
					}
				}
			}
		}
		if err := command(ctx, "ip", "netns", "del", ns); err != nil {
			n.t.Errorf("netsim: removing namespace: %v", err)
		}
		cancel()
	}
	n.namespaces = nil
}

// A Segment is one link layer: a bridge in a namespace of its own.
type Segment struct {
	n       *Net
	ns      string
	net     netip.Prefix // a /24
	gateway string       // the router's address, or ""
	next    int          // the last byte of the next address to hand out
	used    map[string]bool
	hosts   []*Host
	ports   []string
	rate    string // what Shape set, or ""
}

// Internet returns the public segment, 11.0.0.0/24, making it on the first
// call.
func (n *Net) Internet() *Segment {
	if n.internet == nil {
		n.internet = n.segment("inet", netip.MustParsePrefix("11.0.0.0/24"))
	}
	return n.internet
}

// LAN makes a private segment, 10.X.0.0/24 for the Xth LAN of the Net.
func (n *Net) LAN(name string) *Segment {
	n.lans++
	if n.lans > 254 {
		n.t.Fatalf("netsim: LAN %q: a Net has at most 254 LANs", name)
	}
	return n.segment(name, netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(n.lans), 0, 0}), 24))
}

func (n *Net) segment(name string, prefix netip.Prefix) *Segment {
	n.t.Helper()
	s := &Segment{n: n, ns: n.namespace("br-" + name), net: prefix, next: firstHost, used: map[string]bool{}}
	n.ip("-n", s.ns, "link", "add", bridge, "type", "bridge", "mcast_snooping", "0")
	n.ip("-n", s.ns, "link", "set", bridge, "up")
	// With br_netfilter loaded, bridged packets would go through the
	// segment's iptables and conntrack; a switch does neither.
	if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err == nil {
		for _, key := range []string{"bridge-nf-call-iptables", "bridge-nf-call-ip6tables", "bridge-nf-call-arptables"} {
			n.sysctl(s.ns, "net/bridge/"+key, "0")
		}
	}
	return s
}

// Addr returns the segment's address whose last byte is i.
func (s *Segment) Addr(i int) string {
	a := s.net.Addr().As4()
	a[3] = byte(i)
	return netip.AddrFrom4(a).String()
}

// Subnet returns the segment's network, as 10.1.0.0/24.
func (s *Segment) Subnet() string { return s.net.String() }

// Shape limits each of the segment's ports, those made later too, to rate
// (in tc's terms, as "40mbit") towards the leg it leads to: whatever
// crosses the segment is shaped once, where it leaves the bridge.
func (s *Segment) Shape(t testing.TB, rate string) {
	t.Helper()
	if _, err := rateBytes(rate); err != nil {
		t.Fatalf("netsim: shaping: %v", err)
	}
	s.rate = rate
	for _, port := range s.ports {
		if err := s.shape(port); err != nil {
			t.Fatalf("netsim: %v", err)
		}
	}
}

func (s *Segment) shape(port string) error {
	bps, err := rateBytes(s.rate)
	if err != nil {
		return err
	}
	// The bucket holds a millisecond at the rate, and at least a few
	// full-size packets.
	burst := strconv.Itoa(max(32<<10, int(bps/1000)))
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	return command(ctx, "tc", "-n", s.ns, "qdisc", "replace", "dev", port, "root",
		"tbf", "rate", s.rate, "burst", burst, "latency", tbfLatency)
}

// rateBytes returns a tc rate ("100kbit", "40mbit", "1gbit") in bytes a
// second.
func rateBytes(rate string) (float64, error) {
	units := []struct {
		suffix string
		bits   float64
	}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}
	for _, u := range units {
		if num, ok := strings.CutSuffix(rate, u.suffix); ok {
			v, err := strconv.ParseFloat(num, 64)
			if err != nil || v <= 0 {
				break
			}
			return v * u.bits / 8, nil
		}
	}
	return 0, fmt.Errorf("rate %q is not a number followed by bit, kbit, mbit or gbit", rate)
}

// allocate hands out the segment's next free host address.
func (s *Segment) allocate() string {
	for ; s.next < 255; s.next++ {
		if a := s.Addr(s.next); !s.used[a] {
			s.used[a] = true
			return a
		}
	}
	s.n.t.Fatalf("netsim: %s: no address left", s.net)
	return ""
}

// A Host is a namespace with a leg on a segment.
type Host struct {
	n   *Net
	ns  string
	seg *Segment
	dev string
	ip  string
}

// Host makes a host on seg: a namespace with one veth, HostIf, its address
// the segment's next, and a default route through the segment's router if
// it has one.
func (n *Net) Host(name string, seg *Segment) *Host {
	n.t.Helper()
	h := &Host{n: n, ns: n.namespace(name), seg: seg, dev: HostIf}
	h.ip = n.attach(h.ns, name, HostIf, seg, seg.allocate())
	if seg.gateway != "" {
		n.ip("-n", h.ns, "route", "replace", "default", "via", seg.gateway)
	}
	seg.hosts = append(seg.hosts, h)
	return h
}

// IP returns the host's address on its segment; a router's host's is its
// wan leg's.
func (h *Host) IP() string { return h.ip }

// Namespace returns the name of the host's namespace.
func (h *Host) Namespace() string { return h.ns }

// Command returns a command that runs name in the host's namespace. The
// Net's Close kills it if it still runs.
func (h *Host) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	// ip netns exec execs name in its own process, so the Cmd's process is
	// name's.
	c := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", h.ns, name}, args...)...)
	h.n.mu.Lock()
	h.n.cmds = append(h.n.cmds, c)
	h.n.mu.Unlock()
	return c
}

// Run runs name in the host's namespace and returns what it printed, or
// fails t with that when it fails. It ends with t.Context, so it cannot
// run in t's clean-up.
func (h *Host) Run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := h.Command(t.Context(), name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("netsim: %s on %s: %v\n%s", strings.Join(append([]string{name}, args...), " "), h.ns, err, out)
	}
	return string(out)
}

// Renumber changes the host's address on its segment to ip, as when a
// DHCP server hands out another: the old address is gone, connections
// made from it are dead, the default route is kept.
func (h *Host) Renumber(t testing.TB, ip string) {
	t.Helper()
	a, err := netip.ParseAddr(ip)
	if err != nil || !h.seg.net.Contains(a) {
		t.Fatalf("netsim: renumbering %s: %q is not an address in %s", h.ns, ip, h.seg.net)
	}
	if h.seg.used[ip] && ip != h.ip {
		t.Fatalf("netsim: renumbering %s: %s is taken", h.ns, ip)
	}
	h.seg.used[ip] = true
	delete(h.seg.used, h.ip)
	h.n.ip("-n", h.ns, "-4", "addr", "flush", "dev", h.dev)
	h.n.ip("-n", h.ns, "addr", "add", ip+"/24", "dev", h.dev)
	h.ip = ip
	if h.seg.gateway != "" {
		h.n.ip("-n", h.ns, "route", "replace", "default", "via", h.seg.gateway)
	}
}

// NATKind says how a router translates and filters.
type NATKind int

const (
	// PortPreserving masquerades, keeping a connection's source port
	// when it is free: hole punching works through it.
	PortPreserving NATKind = iota
	// RandomPorts masquerades with a random source port for each
	// connection, so the public port depends on the destination: hole
	// punching fails through it.
	RandomPorts
	// OutboundOnly is a PortPreserving router that drops every new
	// connection coming in by its wan leg: a firewall that lets
	// connections out and nothing in.
	OutboundOnly
)

func (k NATKind) String() string {
	switch k {
	case PortPreserving:
		return "port-preserving NAT"
	case RandomPorts:
		return "port-randomising NAT"
	case OutboundOnly:
		return "outbound-only firewall"
	}
	return fmt.Sprintf("NATKind(%d)", int(k))
}

// A Router forwards between a LAN and a wider segment, translating what
// goes out.
type Router struct {
	host *Host
}

// NAT makes a router with leg RouterLANIf on lan, at its address .1, and
// leg RouterWANIf on wan, at wan's next address. It becomes lan's
// default gateway, hosts made on lan before it included.
func (n *Net) NAT(name string, lan, wan *Segment, kind NATKind) *Router {
	n.t.Helper()
	if lan.gateway != "" {
		n.t.Fatalf("netsim: router %q: %s has a router already", name, lan.net)
	}
	if lan == wan {
		n.t.Fatalf("netsim: router %q: the same segment on both legs", name)
	}
	h := &Host{n: n, ns: n.namespace(name), seg: wan, dev: RouterWANIf}
	gateway := lan.Addr(1)
	lan.used[gateway] = true
	n.attach(h.ns, name, RouterLANIf, lan, gateway)
	h.ip = n.attach(h.ns, name, RouterWANIf, wan, wan.allocate())
	if wan.gateway != "" {
		n.ip("-n", h.ns, "route", "replace", "default", "via", wan.gateway)
	}
	n.sysctl(h.ns, "net/ipv4/ip_forward", "1")

	masquerade := []string{"-t", "nat", "-A", "POSTROUTING", "-o", RouterWANIf, "-j", "MASQUERADE"}
	if kind == RandomPorts {
		masquerade = append(masquerade, "--random-fully")
	}
	// Like a real router, it answers nothing that arrives unasked on its wan leg. The
	// drop matters for hole punching too: a packet that reaches the
	// router before the LAN host's own packet has opened the mapping
	// must not leave a connection-tracking entry behind, or the
	// masquerade that follows picks another port (the entry is only
	// kept when the packet gets through).
	rules := [][]string{masquerade,
		{"-A", "INPUT", "-i", RouterWANIf, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"}}
	if kind == OutboundOnly {
		rules = append(rules, []string{"-A", "FORWARD", "-i", RouterWANIf, "-m", "conntrack", "--ctstate", "NEW", "-j", "DROP"})
	}
	for _, r := range rules {
		h.Run(n.t, "iptables", append([]string{"-w"}, r...)...)
	}

	lan.gateway = gateway
	for _, lh := range lan.hosts {
		n.ip("-n", lh.ns, "route", "replace", "default", "via", gateway)
	}
	return &Router{host: h}
}

// Host returns the router's own namespace, as a Host whose IP is its wan
// leg's address.
func (r *Router) Host() *Host { return r.host }

// WANIP returns the router's address on its wan leg: the source address
// that the far side sees for the LAN's connections.
func (r *Router) WANIP() string { return r.host.ip }

// namespace makes the namespace for name, with its loopback up.
func (n *Net) namespace(name string) string {
	n.t.Helper()
	if !validName(name) {
		n.t.Fatalf("netsim: name %q: want lowercase letters, digits and dashes", name)
	}
	if n.names[name] {
		n.t.Fatalf("netsim: name %q used twice", name)
	}
	n.names[name] = true
	ns := n.prefix + "-" + name
	n.ip("netns", "add", ns)
	n.namespaces = append(n.namespaces, ns)
	n.ip("-n", ns, "link", "set", "lo", "up")
	return ns
}

func validName(name string) bool {
	if name == "" || name[0] == '-' {
		return false
	}
	for _, c := range name {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// attach links namespace ns to seg by a veth pair, dev in ns and a port
// of seg's bridge, gives dev the address ip, and returns ip.
func (n *Net) attach(ns, name, dev string, seg *Segment, ip string) string {
	n.t.Helper()
	n.legs++
	port := fmt.Sprintf("v%d-%s", n.legs, name)
	if len(port) > 15 {
		port = port[:15]
	}
	n.ip("link", "add", dev, "netns", ns, "type", "veth", "peer", "name", port, "netns", seg.ns)
	n.ip("-n", seg.ns, "link", "set", port, "master", bridge, "up")
	seg.ports = append(seg.ports, port)
	if seg.rate != "" {
		if err := seg.shape(port); err != nil {
			n.t.Fatalf("netsim: %v", err)
		}
	}
	n.ip("-n", ns, "addr", "add", ip+"/24", "dev", dev)
	n.ip("-n", ns, "link", "set", dev, "up")
	return ip
}

// ip runs ip with args, failing the test when it fails.
func (n *Net) ip(args ...string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	if err := command(ctx, append([]string{"ip"}, args...)...); err != nil {
		n.t.Fatalf("netsim: %v", err)
	}
}

// sysctl sets key, a path under /proc/sys, to value in namespace ns.
func (n *Net) sysctl(ns, key, value string) {
	n.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "tee", "/proc/sys/"+key)
	cmd.Stdin = strings.NewReader(value)
	if out, err := cmd.CombinedOutput(); err != nil {
		n.t.Fatalf("netsim: setting %s to %s in %s: %v: %s", key, value, ns, err, strings.TrimSpace(string(out)))
	}
}

// command runs a setup command, and says what it printed when it fails.
func command(ctx context.Context, argv ...string) error {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
