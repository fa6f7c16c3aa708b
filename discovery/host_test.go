package discovery

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"imageshare/card"
)

func TestCardAddrsOrderAndLimit(t *testing.T) {
	h, err := NewHost(HostOptions{Listen: []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	addrs := CardAddrs(h, nil)
	if len(addrs) == 0 || len(addrs) > card.MaxAddrs {
		t.Fatalf("%d addresses on the card", len(addrs))
	}
	seenLoopback := false
	for _, a := range addrs {
		ip, err := manet.ToIP(a)
		if err != nil {
			t.Fatal(err)
		}
		if ip.IsLoopback() {
			seenLoopback = true
		} else if seenLoopback {
			t.Fatalf("routable address %s after a loopback one: %v", a, addrs)
		}
		if ip.IsUnspecified() || ip.IsLinkLocalUnicast() {
			t.Fatalf("address %s cannot be dialled from elsewhere", a)
		}
	}
}

func TestConnectReportsWhatItTried(t *testing.T) {
	h, err := NewHost(HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, pub, _ := crypto.GenerateEd25519Key(nil)
	id, _ := peer.IDFromPublicKey(pub)
	if _, err := Connect(context.Background(), h, id, nil, time.Second, nil); !errors.Is(err, ErrNoAddrs) {
		t.Fatalf("no addresses: got %v", err)
	}
	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	dead, _ := ma.NewMultiaddr(fmt.Sprintf("/ip4/127.0.0.1/tcp/%d", port))
	_, err = Connect(context.Background(), h, id, []ma.Multiaddr{dead}, 5*time.Second, nil)
	var ce *ConnectError
	if !errors.Is(err, ErrUnreachable) || !errors.As(err, &ce) || len(ce.Addrs) != 1 {
		t.Fatalf("closed port: got %v", err)
	}
}

func TestConnectRefusesImpostor(t *testing.T) {
	sender, err := NewHost(HostOptions{Listen: []string{"/ip4/127.0.0.1/tcp/0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sender.Close()
	h, err := NewHost(HostOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := Connect(context.Background(), h, sender.ID(), sender.Addrs(), 10*time.Second, nil); err != nil {
		t.Fatalf("the real sender: %v", err)
	}
	_, pub, _ := crypto.GenerateEd25519Key(nil)
	other, _ := peer.IDFromPublicKey(pub)
	_, err = Connect(context.Background(), h, other, sender.Addrs(), 10*time.Second, nil)
	if !errors.Is(err, ErrImpostor) {
		t.Fatalf("another peer at the sender's address: got %v, want ErrImpostor", err)
	}
}
