// Command cardless is a stranger to a sender: it knows the sender's peer
// ID and a relay's address (both are on every card) but holds no card. The
// network tests run it to measure what a sender accepts through a relay
// and to try to crowd out a card holder.
//
// Usage:
//
//	cardless -relay ADDR -peer ID -hold N -for DURATION
//	cardless -relay ADDR -peer ID -churn -for DURATION
//
// With -hold, it keeps up to N relayed connections to the sender open at
// once, each from a peer ID of its own, each with a transfer stream that
// never says HELLO; when the sender drops one, it dials again. With
// -churn, it opens one relayed connection after another, each closed once
// the sender has answered a ping, and counts those the sender accepted.
// It prints JSON lines: "holding" once every slot has tried once, then
// "done" with its counts.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/ping"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/transfer"
)

// Bounds on what one run does.
const (
	maxHold     = 256
	maxDials    = 20000
	dialTimeout = 10 * time.Second
	// redialPause is how long a slot waits after a refused dial.
	redialPause = 250 * time.Millisecond
)

func main() {
	relay := flag.String("relay", "", "the relay's address, ending in /p2p/ID")
	target := flag.String("peer", "", "the sender's peer ID")
	hold := flag.Int("hold", 0, "relayed connections to hold at once")
	churn := flag.Bool("churn", false, "open and close relayed connections one after another")
	dur := flag.Duration("for", time.Minute, "how long to run")
	flag.Parse()
	if err := run(*relay, *target, *hold, *churn, *dur); err != nil {
		fmt.Fprintf(os.Stderr, "cardless: error: %v\n", err)
		os.Exit(1)
	}
}

func run(relay, target string, hold int, churn bool, dur time.Duration) error {
	ra, err := ma.NewMultiaddr(relay)
	if err != nil {
		return err
	}
	sender, err := peer.Decode(target)
	if err != nil {
		return err
	}
	circuit := ra.Encapsulate(ma.StringCast("/p2p-circuit"))
	// An interrupt ends the run early, with its counts.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, dur)
	defer cancel()
	out := json.NewEncoder(os.Stdout)
	var s stats
	switch {
	case churn:
		s.churn(ctx, sender, circuit)
	case hold > 0 && hold <= maxHold:
		s.hold(ctx, sender, circuit, hold, func() {
			out.Encode(map[string]any{"type": "holding", "open": s.open.Load(), "accepted": s.accepted.Load(), "dials": s.dials.Load()})
		})
	default:
		return fmt.Errorf("want -churn, or -hold between 1 and %d", maxHold)
	}
	return out.Encode(map[string]any{"type": "done", "dials": s.dials.Load(), "accepted": s.accepted.Load(),
		"dropped": s.dropped.Load(), "max_open": s.maxOpen.Load(), "first_error": s.firstErr.Load()})
}

type stats struct {
	dials, accepted, dropped, open, maxOpen atomic.Int64
	firstErr                                atomic.Value // string: why the first refused dial failed
}

func (s *stats) refused(err error) {
	s.firstErr.CompareAndSwap(nil, err.Error())
}

// dial opens a relayed connection to sender from a new peer ID, and
// reports whether the sender accepted it: it answered a ping.
func (s *stats) dial(ctx context.Context, sender peer.ID, circuit ma.Multiaddr) (host.Host, bool) {
	if s.dials.Add(1) > maxDials {
		return nil, false
	}
	h, err := libp2p.New(libp2p.NoListenAddrs, libp2p.DisableMetrics(), libp2p.EnableRelay(),
		libp2p.ResourceManager(&network.NullResourceManager{}))
	if err != nil {
		s.refused(err)
		return nil, false
	}
	dctx, cancel := context.WithTimeout(network.WithAllowLimitedConn(ctx, "cardless"), dialTimeout)
	defer cancel()
	if err := h.Connect(dctx, peer.AddrInfo{ID: sender, Addrs: []ma.Multiaddr{circuit}}); err != nil {
		s.refused(err)
		h.Close()
		return nil, false
	}
	if r := <-ping.Ping(dctx, h, sender); r.Error != nil {
		s.refused(r.Error)
		h.Close()
		return nil, false
	}
	s.accepted.Add(1)
	return h, true
}

func (s *stats) churn(ctx context.Context, sender peer.ID, circuit ma.Multiaddr) {
	for ctx.Err() == nil && s.dials.Load() < maxDials {
		if h, ok := s.dial(ctx, sender, circuit); ok {
			h.Close()
		}
	}
}

func (s *stats) hold(ctx context.Context, sender peer.ID, circuit ma.Multiaddr, n int, holding func()) {
	var first, all sync.WaitGroup
	first.Add(n)
	for range n {
		all.Add(1)
		go func() {
			defer all.Done()
			once := sync.OnceFunc(first.Done)
			defer once()
			for ctx.Err() == nil && s.dials.Load() < maxDials {
				h, ok := s.dial(ctx, sender, circuit)
				if !ok {
					once()
					select {
					case <-ctx.Done():
					case <-time.After(redialPause):
					}
					continue
				}
				gone := make(chan struct{})
				var closed sync.Once
				h.Network().Notify(&network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) {
					if c.RemotePeer() == sender {
						closed.Do(func() { close(gone) })
					}
				}})
				// A transfer stream that never says HELLO.
				st, _ := h.NewStream(network.WithAllowLimitedConn(ctx, "cardless"), sender, transfer.ProtocolID)
				for o := s.open.Add(1); ; {
					m := s.maxOpen.Load()
					if o <= m || s.maxOpen.CompareAndSwap(m, o) {
						break
					}
				}
				once()
				select {
				case <-gone:
					s.dropped.Add(1)
				case <-ctx.Done():
				}
				s.open.Add(-1)
				if st != nil {
					st.Reset()
				}
				h.Close()
			}
		}()
	}
	first.Wait()
	holding()
	all.Wait()
}
