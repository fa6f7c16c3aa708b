package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"imageshare/e2e/netsim"
	"imageshare/synthetic"
)

// The hospital networks of docs/NETWORKS.md, built with network
// namespaces: the real sender, receiver and relay run in them, and each
// case checks that the study arrives byte-identical and which path it
// took. They need root (CI runs as root). IMAGESHARE_NETDEBUG=1 logs the
// sender's and the receiver's standard error in every case; add
// GOLOG_LOG_LEVEL=p2p-holepunch=debug to follow hole punching.

// netCase is one network of the table in docs/NETWORKS.md.
type netCase struct {
	name string
	// build makes the network and returns the sender's and the
	// receiver's hosts, and the relay's host if the case has one.
	build func(n *netsim.Net) (sender, receiver, relay *netsim.Host)
	// paths are the paths the study may take; the first is expected.
	paths []string
	// punch: only a hole-punched path will do, so the study is big
	// enough that its relayed start outlasts the punch (which took more
	// than the 2 s an 8 MiB study takes at wanRate in one CI run).
	punch bool
}

func TestNetworks(t *testing.T) {
	cases := []netCase{
		{name: "same LAN", paths: []string{"direct"}, build: func(n *netsim.Net) (*netsim.Host, *netsim.Host, *netsim.Host) {
			lan := n.LAN("lan")
			return n.Host("snd", lan), n.Host("rcv", lan), nil
		}},
		{name: "receiver behind NAT", paths: []string{"direct"}, build: func(n *netsim.Net) (*netsim.Host, *netsim.Host, *netsim.Host) {
			inet := n.Internet()
			lan := n.LAN("tc")
			n.NAT("tcnat", lan, inet, netsim.PortPreserving)
			return n.Host("snd", inet), n.Host("rcv", lan), nil
		}},
		{name: "sender behind NAT", paths: []string{"hole-punched", "relayed"}, build: func(n *netsim.Net) (*netsim.Host, *netsim.Host, *netsim.Host) {
			inet := n.Internet()
			lan := n.LAN("sh")
			n.NAT("shnat", lan, inet, netsim.PortPreserving)
			return n.Host("snd", lan), n.Host("rcv", inet), n.Host("relay", inet)
		}},
		{name: "both behind port-preserving NAT", paths: []string{"hole-punched"}, punch: true, build: func(n *netsim.Net) (*netsim.Host, *netsim.Host, *netsim.Host) {
			inet := n.Internet()
			a, b := n.LAN("sh"), n.LAN("tc")
			n.NAT("shnat", a, inet, netsim.PortPreserving)
			n.NAT("tcnat", b, inet, netsim.PortPreserving)
			return n.Host("snd", a), n.Host("rcv", b), n.Host("relay", inet)
		}},
		{name: "both behind port-randomising NAT", paths: []string{"relayed"}, build: func(n *netsim.Net) (*netsim.Host, *netsim.Host, *netsim.Host) {
			inet := n.Internet()
			a, b := n.LAN("sh"), n.LAN("tc")
			n.NAT("shnat", a, inet, netsim.RandomPorts)
			n.NAT("tcnat", b, inet, netsim.RandomPorts)
			return n.Host("snd", a), n.Host("rcv", b), n.Host("relay", inet)
		}},
		{name: "outbound-only firewalls", paths: []string{"hole-punched", "relayed"}, build: func(n *netsim.Net) (*netsim.Host, *netsim.Host, *netsim.Host) {
			inet := n.Internet()
			a, b := n.LAN("sh"), n.LAN("tc")
			n.NAT("shnat", a, inet, netsim.OutboundOnly)
			n.NAT("tcnat", b, inet, netsim.OutboundOnly)
			return n.Host("snd", a), n.Host("rcv", b), n.Host("relay", inet)
		}},
	}
	study := netStudy(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := netsim.New(t)
			snd, rcv, rly := c.build(n)
			if c.name != "same LAN" {
				// A hospital's share of its uplink: slow enough that a
				// relayed transfer lasts the few round trips hole
				// punching takes, as a real study would.
				n.Internet().Shape(t, wanRate)
			}
			var relays []string
			if rly != nil {
				relays = startRelay(t, rly)
			}
			src := study
			if c.punch {
				src = netStudyOfSize(t, 48<<20)
			}
			res := transferOver(t, src, snd, rcv, relays, nil)
			t.Logf("%s: path %s, %.1f s, %.1f MB/s", c.name, res.Path, res.Seconds, float64(res.Bytes)/res.Seconds/1e6)
			if res.Path != c.paths[0] {
				if !contains(c.paths, res.Path) {
					t.Fatalf("path %q, want %s", res.Path, strings.Join(c.paths, " or "))
				}
				t.Logf("path %q, not the %q expected first", res.Path, c.paths[0])
			}
		})
	}

	// The card's addresses are stale: the sender's address changed after
	// the card was made, just now or a while ago. A receiver on its LAN
	// finds it by mDNS.
	for _, c := range []struct {
		name    string
		settled time.Duration // since the change
	}{{"stale addresses on the card, changed just now", 0}, {"stale addresses on the card, changed a while ago", 4 * time.Second}} {
		t.Run(c.name, func(t *testing.T) {
			n := netsim.New(t)
			lan := n.LAN("lan")
			snd, rcv := n.Host("snd", lan), n.Host("rcv", lan)
			res := transferOver(t, study, snd, rcv, nil, func() {
				snd.Renumber(t, lan.Addr(200))
				time.Sleep(c.settled)
			})
			t.Logf("%s: path %s, %.1f s", c.name, res.Path, res.Seconds)
			if res.Path != "direct" {
				t.Fatalf("path %q, want direct", res.Path)
			}
		})
	}

	// The relay restarts while it carries a transfer: the sender reserves
	// again, the receiver reconnects through it and resumes.
	t.Run("relay restarted mid-transfer", func(t *testing.T) {
		n, inet, snd, rcv := relayOnlySites(t)
		rly := n.Host("relay", inet)
		big := netStudyOfSize(t, 60<<20)
		relay := startRelayProcess(t, rly)
		res := transferOver(t, big, snd, rcv, relay.addrs, nil, withDuring(func(progress func() int64) {
			// Once a fifth has arrived, restart the relay.
			for progress() < 12<<20 {
				time.Sleep(100 * time.Millisecond)
			}
			relay.restart(t)
		}))
		t.Logf("relay restarted mid-transfer: path %s after %d attempts, %.1f s, %.1f MB/s", res.Path, res.Attempts, res.Seconds, float64(res.Bytes)/res.Seconds/1e6)
		if res.Path != "relayed" || res.Attempts < 2 {
			t.Fatalf("path %q after %d attempts, want relayed after at least 2", res.Path, res.Attempts)
		}
	})

	// The relay carrying the transfer goes away for good; the card has a
	// second relay's address, through which the receiver resumes.
	t.Run("relay gone for good mid-transfer", func(t *testing.T) {
		n, inet, snd, rcv := relayOnlySites(t)
		relays := []*relayProcess{startRelayProcess(t, n.Host("relay1", inet)), startRelayProcess(t, n.Host("relay2", inet))}
		big := netStudyOfSize(t, 40<<20)
		stopped := -1
		res := transferOver(t, big, snd, rcv, append(relays[0].addrs, relays[1].addrs...), nil, withDuring(func(progress func() int64) {
			before := []int64{relays[0].sent(), relays[1].sent()}
			for progress() < 8<<20 {
				time.Sleep(100 * time.Millisecond)
			}
			// Both relays may hold a circuit, one of them idle: the one
			// carrying the study is the one that has sent the most since
			// the fetch began.
			carrying, most := -1, int64(0)
			for i, r := range relays {
				if d := r.sent() - before[i]; r.circuits.Load() > 0 && d > most {
					carrying, most = i, d
				}
			}
			if carrying >= 0 {
				relays[carrying].stop()
				stopped = carrying
			}
		}))
		if stopped < 0 {
			t.Fatal("neither relay reported a circuit open while the study was relayed")
		}
		t.Logf("relay %d of 2 gone for good mid-transfer: path %s after %d attempts, %.1f s", stopped+1, res.Path, res.Attempts, res.Seconds)
		if res.Path != "relayed" || res.Attempts < 2 {
			t.Fatalf("path %q after %d attempts, want relayed after at least 2", res.Path, res.Attempts)
		}
	})
}

// relayOnlySites builds two sites behind port-randomising NATs, which no
// hole punch gets through, on an Internet of 40 Mbit/s: a study between
// them goes through a relay or not at all.
func relayOnlySites(t *testing.T) (n *netsim.Net, inet *netsim.Segment, snd, rcv *netsim.Host) {
	n = netsim.New(t)
	inet = n.Internet()
	a, b := n.LAN("sh"), n.LAN("tc")
	n.NAT("shnat", a, inet, netsim.RandomPorts)
	n.NAT("tcnat", b, inet, netsim.RandomPorts)
	inet.Shape(t, "40mbit")
	return n, inet, n.Host("snd", a), n.Host("rcv", b)
}

// wanRate is the rate of the simulated Internet.
const wanRate = "20mbit"

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// netStudy is the study the network cases send: a synthetic CT series of
// about 8 MB, so that a relayed transfer takes well over the 128 KiB a
// default libp2p relay allows.
func netStudy(t *testing.T) string {
	return netStudyOfSize(t, 8<<20)
}

func netStudyOfSize(t *testing.T, size int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "study")
	images := max(1, size/(512*512*2))
	if _, err := synthetic.Write(synthetic.Options{Dir: dir, Series: 2, Images: (images + 1) / 2, Rows: 512, Columns: 512, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// summary is the receiver's --json summary line.
type summary struct {
	Path     string  `json:"path"`
	Seconds  float64 `json:"seconds"`
	Bytes    int64   `json:"bytes"`
	Files    int     `json:"files"`
	Dir      string  `json:"dir"`
	Attempts int     `json:"attempts"`
}

type transferOption func(*transferOptions)

type transferOptions struct {
	during func(progress func() int64)
}

func withDuring(f func(progress func() int64)) transferOption {
	return func(o *transferOptions) { o.during = f }
}

// transferOver sends study from snd with the given relays, waits for the
// card, runs beforeFetch if set, fetches with rcv, and checks that the
// study arrived byte-identical.
func transferOver(t *testing.T, study string, snd, rcv *netsim.Host, relays []string, beforeFetch func(), opts ...transferOption) summary {
	t.Helper()
	var o transferOptions
	for _, f := range opts {
		f(&o)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	work := t.TempDir()
	uri := filepath.Join(work, "uri.txt")
	args := []string{"send", "--json", "--quiet", "--site", "netsim", "--uri-file", uri, "--max-downloads", "1",
		"--listen", "/ip4/0.0.0.0/tcp/7471", "--listen", "/ip4/0.0.0.0/udp/7471/quic-v1"}
	for _, r := range relays {
		args = append(args, "--relay", r)
	}
	args = append(args, study)
	sender := snd.Command(ctx, filepath.Join(binDir, "sender"), args...)
	sender.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "sender-state"))
	var senderOut, senderErr strings.Builder
	sender.Stdout, sender.Stderr = &senderOut, &senderErr
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	senderDone := make(chan error, 1)
	go func() { senderDone <- sender.Wait() }()
	defer func() {
		sender.Process.Kill()
		<-senderDone
		if t.Failed() || os.Getenv("IMAGESHARE_NETDEBUG") != "" {
			t.Logf("sender's stderr:\n%s", senderErr.String())
		}
	}()
	for {
		if fi, err := os.Stat(uri); err == nil && fi.Size() > 0 {
			break
		}
		select {
		case err := <-senderDone:
			senderDone <- err
			t.Fatalf("the sender ended before it printed the card: %v\n%s", err, senderErr.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	if beforeFetch != nil {
		beforeFetch()
	}

	out := filepath.Join(work, "in")
	receiver := rcv.Command(ctx, filepath.Join(binDir, "receiver"), "fetch", "--json", "--quiet", "--yes",
		"--timeout", "20s", "--retry-for", "2m", "--out", out, "--uri-file", uri)
	receiver.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "receiver-state"))
	stdout, err := receiver.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var receiverErr strings.Builder
	receiver.Stderr = &receiverErr
	if err := receiver.Start(); err != nil {
		t.Fatal(err)
	}
	var during sync.WaitGroup
	if o.during != nil {
		during.Add(1)
		go func() {
			defer during.Done()
			o.during(func() int64 { return dirSize(out) })
		}()
	}
	var res summary
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["type"] == "summary" {
			json.Unmarshal(sc.Bytes(), &res)
		}
	}
	err = receiver.Wait()
	during.Wait()
	if os.Getenv("IMAGESHARE_NETDEBUG") != "" {
		t.Logf("receiver's stderr:\n%s", receiverErr.String())
	}
	if err != nil {
		t.Fatalf("receiver: %v\n%s", err, receiverErr.String())
	}
	if res.Dir == "" {
		t.Fatalf("the receiver printed no summary\n%s", receiverErr.String())
	}
	compareTrees(t, study, res.Dir)
	return res
}

// dirSize is the bytes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// compareTrees fails unless every file under want is under got with the
// same bytes, and got holds nothing else but the receiver's own record in
// its .imageshare folder.
func compareTrees(t *testing.T, want, got string) {
	t.Helper()
	out, err := exec.Command("diff", "-r", "-x", ".imageshare", want, got).CombinedOutput()
	if err != nil {
		t.Fatalf("the received study differs from the one sent: %v\n%s", err, out)
	}
}

// relayProcess is a running relay.
type relayProcess struct {
	host     *netsim.Host
	identity string
	addrs    []string
	cmd      *exec.Cmd
	done     chan error
	circuits atomic.Int64 // relayed connections open, from its events
}

// startRelay starts a relay on h and returns the addresses a sender
// gives to --relay.
func startRelay(t *testing.T, h *netsim.Host) []string {
	return startRelayProcess(t, h).addrs
}

func startRelayProcess(t *testing.T, h *netsim.Host) *relayProcess {
	t.Helper()
	r := &relayProcess{host: h, identity: filepath.Join(t.TempDir(), "relay.key")}
	r.start(t)
	t.Cleanup(r.stop)
	return r
}

func (r *relayProcess) start(t *testing.T) {
	t.Helper()
	r.cmd = r.host.Command(context.Background(), filepath.Join(binDir, "relay"), "--json", "--identity", r.identity,
		"--listen", fmt.Sprintf("/ip4/%s/tcp/7472", r.host.IP()), "--listen", fmt.Sprintf("/ip4/%s/udp/7472/quic-v1", r.host.IP()))
	stdout, err := r.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	r.cmd.Stderr = &stderr
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.done = make(chan error, 1)
	r.circuits.Store(0)
	ready := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var line struct {
				Type  string   `json:"type"`
				Addrs []string `json:"addrs"`
				Open  int64    `json:"open"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line.Type {
			case "ready":
				ready <- line.Addrs
			case "circuit_opened", "circuit_closed":
				r.circuits.Store(line.Open)
			}
		}
		r.done <- r.cmd.Wait()
	}()
	select {
	case r.addrs = <-ready:
	case err := <-r.done:
		t.Fatalf("the relay ended: %v\n%s", err, stderr.String())
	case <-time.After(20 * time.Second):
		t.Fatalf("the relay was not ready within 20s\n%s", stderr.String())
	}
}

// sent is the bytes the relay's host has sent on its interfaces, from
// its namespace's /proc/net/dev; 0 if it cannot be read.
func (r *relayProcess) sent() int64 {
	out, err := r.host.Command(context.Background(), "cat", "/proc/net/dev").Output()
	if err != nil {
		return 0
	}
	var total int64
	for line := range strings.Lines(string(out)) {
		name, counters, ok := strings.Cut(line, ":")
		if !ok || strings.TrimSpace(name) == "lo" {
			continue
		}
		// Receive: bytes packets errs drop fifo frame compressed
		// multicast; then transmit bytes.
		if f := strings.Fields(counters); len(f) > 8 {
			n, _ := strconv.ParseInt(f[8], 10, 64)
			total += n
		}
	}
	return total
}

func (r *relayProcess) stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		r.cmd.Process.Kill()
		<-r.done
		r.cmd = nil
	}
}

// restart stops the relay and starts it again, with the same identity and
// addresses, after a pause.
func (r *relayProcess) restart(t *testing.T) {
	r.stop()
	time.Sleep(2 * time.Second)
	r.start(t)
}
