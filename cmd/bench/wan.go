//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The emulated WAN: three network namespaces, the sender's and the
// receiver's joined through a router's.
//
//	isbench-sender            isbench-router                isbench-receiver
//	isb-s 10.77.1.1 ── veth ── isb-rs 10.77.1.2
//	                           isb-rr 10.77.2.1 ── veth ── isb-r 10.77.2.2
//
// The router shapes both of its links with tbf at the link's rate (the
// data leaves through isb-rr, the acknowledgements through isb-rs), and
// queues up to tbfLatency at that rate, dropping beyond, as a router does.
// For the runs with delay, policy routing sends what crosses the router
// through two TUN devices, isb-ts (from the sender) and isb-tr (from the
// receiver), and the delay role of this program holds each packet for the
// one-way delay (see delay.go).
const (
	nsSender   = "isbench-sender"
	nsRouter   = "isbench-router"
	nsReceiver = "isbench-receiver"

	senderIP         = "10.77.1.1"
	routerSenderIP   = "10.77.1.2"
	routerReceiverIP = "10.77.2.1"
	receiverIP       = "10.77.2.2"

	devSender         = "isb-s"
	devRouterSender   = "isb-rs"
	devRouterReceiver = "isb-rr"
	devReceiver       = "isb-r"
	tunFromSender     = "isb-ts"
	tunFromReceiver   = "isb-tr"

	tableFromSender   = "7701"
	tableFromReceiver = "7702"

	// tbfLatency is how long a packet may wait in the router's queue.
	tbfLatency = "50ms"
)

var namespaces = []string{nsSender, nsRouter, nsReceiver}

// wanUnavailable says why the WAN part cannot run, or "" when it can.
func wanUnavailable(c *config) string {
	switch {
	case c.skipWAN:
		return "-skip-wan given"
	case os.Geteuid() != 0:
		return "not root: network namespaces, veth and tc need root"
	case len(c.rates) == 0:
		return "-rates lists no rate"
	}
	for _, prog := range []string{"ip", "tc"} {
		if _, err := exec.LookPath(prog); err != nil {
			return fmt.Sprintf("%s not found (Debian package iproute2)", prog)
		}
	}
	return ""
}

// wan measures every rate, without and with delay.
func (b *bench) wan(ctx context.Context, r *report) (err error) {
	teardownWAN() // what a crashed run left
	defer teardownWAN()
	b.logf("WAN: setting up namespaces %s", strings.Join(namespaces, ", "))
	if err := setupWAN(ctx); err != nil {
		return fmt.Errorf("setting up the namespaces: %w", err)
	}
	delays := []time.Duration{0}
	if b.c.delay > 0 {
		if _, err := os.Stat("/dev/net/tun"); err != nil {
			b.logf("WAN: runs with delay skipped: /dev/net/tun: %v", err)
			r.skipped("wan delay", "no /dev/net/tun for the delaying forwarder")
		} else {
			delays = append(delays, b.c.delay)
		}
	}
	for _, rate := range b.c.rates {
		bps, _ := parseLinkRate(rate)
		if err := shape(ctx, rate, bps); err != nil {
			return fmt.Errorf("shaping at %s: %w", rate, err)
		}
		for _, d := range delays {
			if err := b.wanRun(ctx, r, rate, bps, d); err != nil {
				return err
			}
		}
	}
	return nil
}

// wanRun measures the raw baseline and an end-to-end run at one rate and
// delay.
func (b *bench) wanRun(ctx context.Context, r *report, rate string, bps float64, delay time.Duration) error {
	name := fmt.Sprintf("wan-%s-%s", rate, delay)
	section := fmt.Sprintf("WAN %s, +%v each way", rate, delay)
	if delay > 0 {
		fwd, err := b.startDelay(ctx, delay)
		if err != nil {
			return fmt.Errorf("delaying by %v: %w", delay, err)
		}
		defer func() { r.addRun(section, "delay forwarder", b.stopDelay(fwd)) }()
	}
	b.logf("%s: raw TCP ...", section)
	raw, err := b.raw(ctx, name+"-raw", protoTCP, nsSender, nsReceiver, senderIP+":0")
	if err != nil {
		return fmt.Errorf("%s: raw TCP: %w", section, err)
	}
	b.logf("%s: raw TCP: %.1f s (%.1f MB/s), round trip %.1f ms", section, raw.Seconds, raw.rate(), raw.ConnectSeconds*1e3)
	r.addRun(section, "raw tcp", raw)

	b.logf("%s: end to end ...", section)
	e, err := b.endToEnd(ctx, placement{name: name, senderNS: nsSender, receiverNS: nsReceiver,
		listen: []string{"/ip4/" + senderIP + "/tcp/0"}})
	if err != nil {
		return fmt.Errorf("%s: end to end: %w", section, err)
	}
	b.logf("%s: end to end: %.1f s (%.1f MB/s)", section, e.Seconds, e.rate())
	r.addRun(section, "end to end tcp", e)
	r.wanRows(section, bps, e, raw)

	// A card carries QUIC addresses too, and libp2p dials QUIC first: a
	// receiver whose site lets UDP out gets this path.
	b.logf("%s: end to end over QUIC ...", section)
	q, err := b.endToEnd(ctx, placement{name: name + "-quic", senderNS: nsSender, receiverNS: nsReceiver,
		listen: []string{"/ip4/" + senderIP + "/udp/0/quic-v1"}})
	if err != nil {
		return fmt.Errorf("%s: end to end over QUIC: %w", section, err)
	}
	b.logf("%s: end to end over QUIC: %.1f s (%.1f MB/s)", section, q.Seconds, q.rate())
	r.addRun(section, "end to end quic", q)
	r.wanQUICRows(section, bps, q, raw)
	return nil
}

// setupWAN makes the namespaces, links and routes. Only the router
// forwards.
func setupWAN(ctx context.Context) error {
	cmds := [][]string{}
	for _, ns := range namespaces {
		cmds = append(cmds, []string{"ip", "netns", "add", ns}, []string{"ip", "-n", ns, "link", "set", "lo", "up"})
	}
	cmds = append(cmds,
		[]string{"ip", "link", "add", devSender, "netns", nsSender, "type", "veth", "peer", "name", devRouterSender, "netns", nsRouter},
		[]string{"ip", "link", "add", devRouterReceiver, "netns", nsRouter, "type", "veth", "peer", "name", devReceiver, "netns", nsReceiver},
		[]string{"ip", "-n", nsSender, "addr", "add", senderIP + "/24", "dev", devSender},
		[]string{"ip", "-n", nsRouter, "addr", "add", routerSenderIP + "/24", "dev", devRouterSender},
		[]string{"ip", "-n", nsRouter, "addr", "add", routerReceiverIP + "/24", "dev", devRouterReceiver},
		[]string{"ip", "-n", nsReceiver, "addr", "add", receiverIP + "/24", "dev", devReceiver},
		[]string{"ip", "-n", nsSender, "link", "set", devSender, "up"},
		[]string{"ip", "-n", nsRouter, "link", "set", devRouterSender, "up"},
		[]string{"ip", "-n", nsRouter, "link", "set", devRouterReceiver, "up"},
		[]string{"ip", "-n", nsReceiver, "link", "set", devReceiver, "up"},
		[]string{"ip", "-n", nsSender, "route", "add", "default", "via", routerSenderIP},
		[]string{"ip", "-n", nsReceiver, "route", "add", "default", "via", routerReceiverIP},
		// The router forwards, and takes packets back from the TUN
		// devices whatever their source.
		[]string{"ip", "netns", "exec", nsRouter, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1",
			"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"},
	)
	if _, err := os.Stat("/dev/net/tun"); err == nil {
		for _, tun := range []string{tunFromSender, tunFromReceiver} {
			cmds = append(cmds,
				[]string{"ip", "-n", nsRouter, "tuntap", "add", "dev", tun, "mode", "tun", "vnet_hdr"},
				[]string{"ip", "netns", "exec", nsRouter, "sysctl", "-q", "-w", "net.ipv4.conf." + tun + ".rp_filter=0"},
				[]string{"ip", "-n", nsRouter, "link", "set", tun, "up"},
				// txqueuelen is in packets; GSO packets are up to 64 KiB.
				[]string{"ip", "-n", nsRouter, "link", "set", tun, "txqueuelen", "1000"},
			)
		}
		cmds = append(cmds,
			[]string{"ip", "-n", nsRouter, "route", "add", "default", "dev", tunFromSender, "table", tableFromSender},
			[]string{"ip", "-n", nsRouter, "route", "add", "default", "dev", tunFromReceiver, "table", tableFromReceiver},
		)
	}
	for _, c := range cmds {
		if err := command(ctx, c...); err != nil {
			return err
		}
	}
	return nil
}

// teardownWAN removes the namespaces, ending what still runs in them:
// only this program's children, or those of a run that crashed, run
// there. Deleting a namespace deletes its links.
func teardownWAN() {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, ns := range namespaces {
		if out, err := exec.CommandContext(ctx, "ip", "netns", "pids", ns).Output(); err == nil {
			for _, f := range strings.Fields(string(out)) {
				if pid, err := strconv.Atoi(f); err == nil && pid != os.Getpid() {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			}
		}
		exec.CommandContext(ctx, "ip", "netns", "del", ns).Run()
	}
}

// shape sets the router's two links to rate, in tc's terms; bps is the
// same in bytes a second.
func shape(ctx context.Context, rate string, bps float64) error {
	// The bucket holds a millisecond at the rate, and at least a few
	// full-size packets.
	burst := strconv.Itoa(max(32<<10, int(bps/1000)))
	for _, dev := range []string{devRouterReceiver, devRouterSender} {
		if err := command(ctx, "tc", "-n", nsRouter, "qdisc", "replace", "dev", dev, "root",
			"tbf", "rate", rate, "burst", burst, "latency", tbfLatency); err != nil {
			return err
		}
	}
	return nil
}

// startDelay routes what crosses the router through the TUN devices and
// starts the forwarder that delays it.
func (b *bench) startDelay(ctx context.Context, delay time.Duration) (*child, error) {
	dir, err := b.runDir("delay")
	if err != nil {
		return nil, err
	}
	fwd, err := startChild(ctx, nsRouter, nil, filepath.Join(dir, "delay"),
		b.self, internalRole, "delay", "-a", tunFromSender, "-b", tunFromReceiver, "-delay", delay.String())
	if err != nil {
		return nil, err
	}
	if line, err := fwd.firstLine(ctx, 10*time.Second); err != nil || line != "ready" {
		fwd.stop()
		return nil, errors.Join(err, fmt.Errorf("the forwarder said %q", line))
	}
	for _, rule := range [][2]string{{devRouterSender, tableFromSender}, {devRouterReceiver, tableFromReceiver}} {
		if err := command(ctx, "ip", "-n", nsRouter, "rule", "add", "iif", rule[0], "lookup", rule[1]); err != nil {
			fwd.stop()
			return nil, err
		}
	}
	return fwd, nil
}

// stopDelay routes the router's traffic directly again, stops the
// forwarder, and returns what it forwarded and what it used.
func (b *bench) stopDelay(fwd *child) any {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, rule := range [][2]string{{devRouterSender, tableFromSender}, {devRouterReceiver, tableFromReceiver}} {
		command(ctx, "ip", "-n", nsRouter, "rule", "del", "iif", rule[0], "lookup", rule[1])
	}
	fwd.stop()
	res, err := fwd.wait(10 * time.Second)
	rec := map[string]any{"resources": res}
	if err != nil {
		rec["error"] = err.Error()
	}
	if lines, err := jsonLines(fwd.stdout); err == nil && len(lines) > 0 {
		rec["forwarded"] = lines[len(lines)-1]
	}
	b.doneWith(filepath.Dir(fwd.stdout))
	return rec
}

// command runs a setup command, and says what it printed when it fails.
func command(ctx context.Context, argv ...string) error {
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
