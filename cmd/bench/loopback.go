//go:build linux

package main

import (
	"context"
	"fmt"
)

// loopback measures sender and receiver on 127.0.0.1, over TCP and over
// QUIC, and the raw baselines of the same bytes.
func (b *bench) loopback(ctx context.Context, r *report) error {
	const section = "loopback"
	raws := []struct{ name, proto, listen, what string }{
		{"tcp", protoTCP, "127.0.0.1:0", "raw: one TCP socket"},
		{"libp2p-tcp", protoLibp2pTCP, "/ip4/127.0.0.1/tcp/0", "raw: one libp2p stream over TCP"},
		{"libp2p-quic", protoLibp2pQUIC, "/ip4/127.0.0.1/udp/0/quic-v1", "raw: one libp2p stream over QUIC"},
	}
	rates := map[string]*rawRun{}
	for _, x := range raws {
		b.logf("loopback: %s, raw ...", x.name)
		run, err := b.raw(ctx, "loopback-raw-"+x.name, x.proto, "", "", x.listen)
		if err != nil {
			return fmt.Errorf("raw %s: %w", x.name, err)
		}
		b.logf("loopback: %s, raw: %.1f MB/s", x.name, run.rate())
		rates[x.proto] = run
		r.addRun(section, "raw "+x.name, run)
		r.rawRow(section, x.what, run)
	}

	e2es := []struct{ name, listen, vs string }{
		{"tcp", "/ip4/127.0.0.1/tcp/0", protoLibp2pTCP},
		{"quic", "/ip4/127.0.0.1/udp/0/quic-v1", protoLibp2pQUIC},
	}
	for _, x := range e2es {
		b.logf("loopback: end to end over %s ...", x.name)
		e, err := b.endToEnd(ctx, placement{name: "loopback-" + x.name, listen: []string{x.listen}})
		if err != nil {
			return fmt.Errorf("end to end over %s: %w", x.name, err)
		}
		b.logf("loopback: end to end over %s: %.1f MB/s (%.2f s), card ready after %.2f s",
			x.name, e.rate(), e.Seconds, e.CardReadySeconds)
		r.addRun(section, "end to end "+x.name, e)
		r.loopbackRows(x.name, e, rates[x.vs])
	}
	return nil
}
