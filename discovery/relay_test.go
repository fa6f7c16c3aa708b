package discovery

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/card"
)

// startRelay starts a circuit relay v2 on loopback with the limits off,
// as cmd/relay runs it.
func startRelay(t *testing.T, listen string) (host.Host, peer.AddrInfo) {
	t.Helper()
	h, err := NewHost(HostOptions{Listen: []string{listen}})
	if err != nil {
		t.Fatal(err)
	}
	rc := relayv2.DefaultResources()
	rc.Limit = nil
	r, err := relayv2.New(h, relayv2.WithResources(rc), relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); h.Close() })
	return h, peer.AddrInfo{ID: h.ID(), Addrs: h.Addrs()}
}

// A sender that only a relay can reach keeps a reservation there, its
// card lists the relayed address, and a receiver reaches it through it:
// more than the 128 KiB that a default relay would let through.
func TestReachedThroughRelay(t *testing.T) {
	_, relay := startRelay(t, "/ip4/127.0.0.1/tcp/0")
	sender, err := NewHost(HostOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	const size = 1 << 20
	sender.SetStreamHandler("/test/sink", func(s network.Stream) {
		n, _ := io.Copy(io.Discard, s)
		s.Write([]byte{byte(n >> 20)})
		s.Close()
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reserved := make(chan ReservationEvent, 4)
	KeepReservations(ctx, sender, []peer.AddrInfo{relay}, func(e ReservationEvent) { reserved <- e })
	select {
	case e := <-reserved:
		if e.Err != nil {
			t.Fatalf("reservation: %v", e.Err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no reservation within 10s")
	}

	addrs := CardAddrs(sender, []peer.AddrInfo{relay})
	var circuit []ma.Multiaddr
	for _, a := range addrs {
		if IsRelayed(a) {
			circuit = append(circuit, a)
		}
	}
	if len(circuit) == 0 || len(addrs) > card.MaxAddrs {
		t.Fatalf("card addresses %v: want a relayed one, at most %d", addrs, card.MaxAddrs)
	}

	receiver, err := NewHost(HostOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer receiver.Close()
	conn, err := Connect(ctx, receiver, sender.ID(), circuit, 10*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !IsRelayedConn(conn) || !strings.Contains(conn.RemoteMultiaddr().String(), "/p2p-circuit") {
		t.Fatalf("connection over %s, want a relayed one", conn.RemoteMultiaddr())
	}
	s, err := receiver.NewStream(network.WithAllowLimitedConn(ctx, "test"), sender.ID(), "/test/sink")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write(make([]byte, size)); err != nil {
		t.Fatal(err)
	}
	s.CloseWrite()
	var got [1]byte
	if _, err := io.ReadFull(s, got[:]); err != nil || got[0] != size>>20 {
		t.Fatalf("the sender got %d MiB (%v), want 1", got[0], err)
	}
}

// After the relay restarts, the sender reserves again without being told.
func TestReservationRenewedAfterRelayRestart(t *testing.T) {
	rh, relay := startRelay(t, "/ip4/127.0.0.1/tcp/0")
	sender, err := NewHost(HostOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan ReservationEvent, 16)
	KeepReservations(ctx, sender, []peer.AddrInfo{relay}, func(e ReservationEvent) { events <- e })
	waitReserved := func(what string) {
		t.Helper()
		deadline := time.After(40 * time.Second)
		for {
			select {
			case e := <-events:
				if e.Err == nil {
					return
				}
			case <-deadline:
				t.Fatalf("no reservation %s", what)
			}
		}
	}
	waitReserved("at first")
	// The same relay, same identity and port, started again.
	addr := rh.Addrs()[0]
	key := rh.Peerstore().PrivKey(rh.ID())
	rh.Close()
	h2, err := NewHost(HostOptions{Identity: key, Listen: []string{addr.String()}})
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	rc := relayv2.DefaultResources()
	rc.Limit = nil
	r2, err := relayv2.New(h2, relayv2.WithResources(rc), relayv2.WithReservationAddressFilter(func(ma.Multiaddr) bool { return true }))
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	waitReserved("after the relay restarted")
}

func TestParseRelay(t *testing.T) {
	if _, err := ParseRelay("/ip4/192.0.2.7/tcp/7472"); err == nil || !strings.Contains(err.Error(), "/p2p/") {
		t.Fatalf("a relay address without its peer ID: got %v", err)
	}
	if _, err := ParseRelay("not an address"); err == nil {
		t.Fatal("garbage accepted")
	}
	r, err := ParseRelay("/ip4/192.0.2.7/tcp/7472/p2p/12D3KooWRtkPatHW6TBZGPvraJKJDuMQV3qUeRsxaxgXbxZ9NC3z")
	if err != nil || len(r.Addrs) != 1 || r.ID.String() != "12D3KooWRtkPatHW6TBZGPvraJKJDuMQV3qUeRsxaxgXbxZ9NC3z" {
		t.Fatalf("got %v, %v", r, err)
	}
}
