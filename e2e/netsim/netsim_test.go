package netsim_test

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"imageshare/e2e/netsim"
)

// The tests run this test binary in the namespaces as a small TCP tool:
// with NETSIM_HELPER=listen it listens on its argument and prints the
// address of each peer; with NETSIM_HELPER=dial it dials its first
// argument within its second and prints how that went.
const helperEnv = "NETSIM_HELPER"

func TestMain(m *testing.M) {
	switch os.Getenv(helperEnv) {
	case "":
		os.Exit(m.Run())
	case "listen":
		os.Exit(helperListen(os.Args[1]))
	case "dial":
		os.Exit(helperDial(os.Args[1], os.Args[2]))
	}
	fmt.Fprintf(os.Stderr, "unknown %s=%s\n", helperEnv, os.Getenv(helperEnv))
	os.Exit(2)
}

// helperListen prints "listening ADDR", then "peer ADDR" for each
// connection, and gives up after a minute in case it is forgotten.
func helperListen(addr string) int {
	time.AfterFunc(time.Minute, func() { os.Exit(3) })
	l, err := net.Listen("tcp4", addr)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("listening", l.Addr())
	for {
		c, err := l.Accept()
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		fmt.Println("peer", c.RemoteAddr())
		c.Close()
	}
}

// helperDial prints "connected LOCAL-ADDR", "refused", "timeout" or
// "error ...".
func helperDial(addr, timeout string) int {
	d, err := time.ParseDuration(timeout)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	c, err := net.DialTimeout("tcp4", addr, d)
	var ne net.Error
	switch {
	case err == nil:
		fmt.Println("connected", c.LocalAddr())
		c.Close()
	case errors.Is(err, syscall.ECONNREFUSED):
		fmt.Println("refused")
	case errors.As(err, &ne) && ne.Timeout():
		fmt.Println("timeout")
	default:
		fmt.Println("error", err)
	}
	return 0
}

// helper returns a command that runs the test binary as the helper on h.
func helper(t *testing.T, h *netsim.Host, role string, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := h.Command(t.Context(), self, args...)
	// Under -race, a process sleeps a second before it exits, unless
	// told not to.
	cmd.Env = append(os.Environ(), helperEnv+"="+role, "GORACE="+os.Getenv("GORACE")+" atexit_sleep_ms=0")
	return cmd
}

// listen starts a listener on h and returns its port and the addresses of
// its peers as they connect.
func listen(t *testing.T, h *netsim.Host) (port string, peers <-chan string) {
	t.Helper()
	cmd := helper(t, h, "listen", "0.0.0.0:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() {
		t.Fatalf("the listener on %s said nothing", h.Namespace())
	}
	addr, ok := strings.CutPrefix(sc.Text(), "listening ")
	if !ok {
		t.Fatalf("the listener on %s: %s", h.Namespace(), sc.Text())
	}
	_, port, _ = net.SplitHostPort(addr)
	ch := make(chan string, 10)
	go func() {
		for sc.Scan() {
			if p, ok := strings.CutPrefix(sc.Text(), "peer "); ok {
				ch <- p
			}
		}
	}()
	return port, ch
}

// dial dials ip:port from h and returns "connected", "refused" or
// "timeout", and the local address when it connected.
func dial(t *testing.T, h *netsim.Host, ip, port string, timeout time.Duration) (result, local string) {
	t.Helper()
	out, err := helper(t, h, "dial", net.JoinHostPort(ip, port), timeout.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("dialing from %s: %v\n%s", h.Namespace(), err, out)
	}
	result, local, _ = strings.Cut(strings.TrimSpace(string(out)), " ")
	if result == "error" {
		t.Fatalf("dialing %s:%s from %s: %s", ip, port, h.Namespace(), out)
	}
	return result, local
}

// peer waits for the listener's next peer.
func peer(t *testing.T, peers <-chan string) string {
	t.Helper()
	select {
	case p := <-peers:
		return p
	case <-time.After(10 * time.Second):
		t.Fatal("the listener saw no connection")
		return ""
	}
}

func port(t *testing.T, addr string) string {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ping(t *testing.T, h *netsim.Host, ip string) error {
	out, err := h.Command(t.Context(), "ping", "-c1", "-W2", ip).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ping %s from %s: %w\n%s", ip, h.Namespace(), err, out)
	}
	return nil
}

func TestSameLAN(t *testing.T) {
	n := netsim.New(t)
	lan := n.LAN("lan")
	a, b := n.Host("a", lan), n.Host("b", lan)
	if a.IP() != "10.1.0.10" || b.IP() != "10.1.0.11" {
		t.Errorf("addresses %s and %s, want 10.1.0.10 and 10.1.0.11", a.IP(), b.IP())
	}
	for _, p := range [][2]*netsim.Host{{a, b}, {b, a}} {
		if err := ping(t, p[0], p[1].IP()); err != nil {
			t.Error(err)
		}
	}
	if link := a.Run(t, "ip", "link", "show", netsim.HostIf); !strings.Contains(link, "MULTICAST") {
		t.Errorf("%s is not multicast, mDNS needs it: %s", netsim.HostIf, link)
	}
}

// TestNAT checks each kind of router from both sides: a host behind it
// reaches the internet under the router's address, with its own port or
// not; and what the internet sends in, to the router or routed to the LAN
// behind it, gets in or not.
func TestNAT(t *testing.T) {
	cases := []struct {
		kind         netsim.NATKind
		samePort     bool   // the internet sees the host's own port
		toLAN, toWAN string // what an unsolicited dial gets
	}{
		{netsim.PortPreserving, true, "connected", "timeout"},
		{netsim.RandomPorts, false, "connected", "timeout"},
		{netsim.OutboundOnly, true, "timeout", "timeout"},
	}
	for _, c := range cases {
		t.Run(c.kind.String(), func(t *testing.T) {
			n := netsim.New(t)
			inet, lan := n.Internet(), n.LAN("lan")
			r := n.NAT("gw", lan, inet, c.kind)
			inside, outside := n.Host("inside", lan), n.Host("outside", inet)

			// Out, three times: a random port may be the host's by chance.
			outPort, peers := listen(t, outside)
			samePort := 0
			for range 3 {
				res, local := dial(t, inside, outside.IP(), outPort, 5*time.Second)
				if res != "connected" {
					t.Fatalf("dialing out: %s", res)
				}
				p := peer(t, peers)
				if ip, _, _ := net.SplitHostPort(p); ip != r.WANIP() {
					t.Errorf("the internet saw %s, want the router's %s", p, r.WANIP())
				}
				if port(t, p) == port(t, local) {
					samePort++
				}
			}
			if c.samePort && samePort != 3 {
				t.Errorf("the router kept the source port %d times out of 3, want 3", samePort)
			}
			if !c.samePort && samePort == 3 {
				t.Errorf("the router kept the source port 3 times out of 3, want a random port")
			}

			// In: to the router itself, and to the LAN by a host that
			// routes it through the router.
			inPort, _ := listen(t, inside)
			if res, _ := dial(t, outside, r.WANIP(), inPort, time.Second); res != c.toWAN {
				t.Errorf("dialing the router from the internet: %s, want %s", res, c.toWAN)
			}
			outside.Run(t, "ip", "route", "add", lan.Subnet(), "via", r.WANIP())
			if res, _ := dial(t, outside, inside.IP(), inPort, time.Second); res != c.toLAN {
				t.Errorf("dialing the LAN from the internet through the router: %s, want %s", res, c.toLAN)
			}
		})
	}
}

func TestRenumber(t *testing.T) {
	n := netsim.New(t)
	inet, lan := n.Internet(), n.LAN("lan")
	a := n.Host("a", lan) // made before the router: NAT routes it too
	n.NAT("gw", lan, inet, netsim.PortPreserving)
	b, far := n.Host("b", lan), n.Host("far", inet)
	old := a.IP()
	a.Renumber(t, lan.Addr(200))
	if a.IP() != "10.1.0.200" {
		t.Errorf("renumbered to %s, want 10.1.0.200", a.IP())
	}
	if addrs := a.Run(t, "ip", "-4", "-o", "addr", "show", netsim.HostIf); strings.Contains(addrs, old+"/") || !strings.Contains(addrs, a.IP()+"/24") {
		t.Errorf("addresses after renumbering %s to %s:\n%s", old, a.IP(), addrs)
	}
	if err := ping(t, b, a.IP()); err != nil {
		t.Error(err)
	}
	if err := ping(t, b, old); err == nil {
		t.Errorf("the old address %s still answers", old)
	}
	if err := ping(t, a, far.IP()); err != nil {
		t.Errorf("the default route is lost: %v", err)
	}
	if c := n.Host("c", lan); c.IP() == old || c.IP() == a.IP() {
		t.Errorf("a new host got %s, an address in use", c.IP())
	}
}

func TestShape(t *testing.T) {
	n := netsim.New(t)
	inet := n.Internet()
	a := n.Host("a", inet)
	inet.Shape(t, "10mbit")
	b := n.Host("b", inet) // made after: shaped too
	if err := ping(t, a, b.IP()); err != nil {
		t.Fatal(err)
	}
	var seg string
	for _, ns := range n.Namespaces() {
		if strings.HasSuffix(ns, "-br-inet") {
			seg = ns
		}
	}
	out, err := exec.Command("tc", "-n", seg, "qdisc", "show").CombinedOutput()
	if err != nil {
		t.Fatalf("tc: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), "qdisc tbf"); got != 2 {
		t.Errorf("%d ports shaped, want 2:\n%s", got, out)
	}
}

func TestClose(t *testing.T) {
	n := netsim.New(t)
	inet, lan := n.Internet(), n.LAN("lan")
	n.NAT("gw", lan, inet, netsim.OutboundOnly)
	h := n.Host("h", lan)
	sleep := h.Command(t.Context(), "sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sleep.Wait() }()
	made := n.Namespaces()
	if len(made) != 4 {
		t.Errorf("namespaces %v, want 4", made)
	}

	n.Close()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		sleep.Process.Kill()
		t.Error("what ran in a namespace still runs after Close")
	}
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v\n%s", err, out)
	}
	left := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			left[f[0]] = true
		}
	}
	for _, ns := range made {
		if left[ns] {
			t.Errorf("namespace %s left after Close", ns)
		}
	}
	if len(n.Namespaces()) != 0 {
		t.Errorf("Close forgot nothing: %v", n.Namespaces())
	}
}
