package discovery

import (
	"io"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/transfer"
)

func TestRelayOf(t *testing.T) {
	const relay = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
	const src = "12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK"
	for _, c := range []struct {
		addr, rest string
	}{
		{"/ip4/11.0.0.3/tcp/7472/p2p/" + relay + "/p2p-circuit", "/p2p/" + relay + "/p2p-circuit"},
		{"/ip4/11.0.0.3/udp/7472/quic-v1/p2p/" + relay + "/p2p-circuit/p2p/" + src, "/p2p/" + relay + "/p2p-circuit/p2p/" + src},
		{"/ip4/11.0.0.3/tcp/7472/p2p-circuit", ""},
		{"/ip4/11.0.0.3/tcp/7472/p2p/" + relay, ""},
		{"/ip4/11.0.0.3/tcp/7471", ""},
	} {
		id, rest, ok := relayOf(ma.StringCast(c.addr))
		if ok != (c.rest != "") {
			t.Errorf("%s: relayed %v, want %v", c.addr, ok, c.rest != "")
			continue
		}
		if !ok {
			continue
		}
		if id.String() != relay || rest.String() != c.rest {
			t.Errorf("%s: relay %s, rest %s; want %s, %s", c.addr, id, rest, relay, c.rest)
		}
		if _, err := rest.ValueForProtocol(ma.P_IP4); err == nil {
			t.Errorf("%s: rest %s still holds an IP address", c.addr, rest)
		}
	}
}

// TestUnprovenConnectionClosed: a host that serves studies closes an
// inbound connection on which nothing proved a card within the HELLO
// deadline, and keeps one on which a stream did.
func TestUnprovenConnectionClosed(t *testing.T) {
	if testing.Short() {
		t.Skipf("waits out transfer.HelloTimeout (%s)", transfer.HelloTimeout)
	}
	srv, err := NewHost(HostOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.SetStreamHandler(transfer.ProtocolID, func(s network.Stream) {
		// What transfer.Server does, through streampeer, once the HELLO's
		// proof verifies.
		MarkProved(s.Conn())
		s.Close()
	})
	closed := make(chan peer.ID, 2)
	srv.Network().Notify(&network.NotifyBundle{DisconnectedF: func(_ network.Network, c network.Conn) { closed <- c.RemotePeer() }})
	dial := func() host.Host {
		h, err := NewHost(HostOptions{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Close() })
		if err := h.Connect(t.Context(), peer.AddrInfo{ID: srv.ID(), Addrs: srv.Addrs()}); err != nil {
			t.Fatal(err)
		}
		return h
	}
	stranger, holder := dial(), dial()
	s, err := holder.NewStream(t.Context(), srv.ID(), transfer.ProtocolID)
	if err != nil {
		t.Fatal(err)
	}
	io.ReadAll(s) // until the handler has closed it
	start := time.Now()
	select {
	case id := <-closed:
		if id != stranger.ID() {
			t.Fatalf("the card holder's connection was closed first")
		}
		t.Logf("the stranger's connection closed after %s", time.Since(start).Round(100*time.Millisecond))
	case <-time.After(transfer.HelloTimeout + 5*time.Second):
		t.Fatalf("the stranger's connection is open %s after it was made", transfer.HelloTimeout+5*time.Second)
	}
	select {
	case <-closed:
		t.Fatal("the card holder's connection was closed")
	case <-time.After(2 * time.Second): // its deadline was within ms of the stranger's
	}
	if holder.Network().Connectedness(srv.ID()) != network.Connected {
		t.Fatal("the card holder is no longer connected")
	}
}
