package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/client"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
	ma "github.com/multiformats/go-multiaddr"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader at once.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// relayUnderTest is `relay --json` running in this process.
type relayUnderTest struct {
	events chan map[string]any // the JSON lines, in order
	stderr *syncBuffer
	// stopWith ends it with a cause (nil for Ctrl-C, errTerminated for
	// SIGTERM) and returns its exit code.
	stopWith func(cause error) int
}

// stop ends the relay as Ctrl-C does and returns its exit code.
func (r *relayUnderTest) stop() int { return r.stopWith(nil) }

func startRelay(t *testing.T, args ...string) *relayUnderTest {
	t.Helper()
	ctx, cancel := context.WithCancelCause(context.Background())
	pr, pw := io.Pipe()
	r := &relayUnderTest{events: make(chan map[string]any, 1000), stderr: &syncBuffer{}}
	exit := make(chan int, 1)
	args = append([]string{"--json", "--identity", filepath.Join(t.TempDir(), "relay.key")}, args...)
	go func() {
		exit <- run(ctx, args, nil, pw, r.stderr)
		pw.Close()
	}()
	go func() {
		defer close(r.events)
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("stdout is not JSON Lines: %q: %v", sc.Text(), err)
				continue
			}
			r.events <- m
		}
	}()
	var once sync.Once
	code := -1
	r.stopWith = func(cause error) int {
		once.Do(func() {
			cancel(cause)
			select {
			case code = <-exit:
			case <-time.After(10 * time.Second):
				t.Error("the relay did not stop within 10s")
			}
		})
		return code
	}
	t.Cleanup(func() { r.stop() })
	return r
}

// next returns the next event of type typ, skipping others.
func (r *relayUnderTest) next(t *testing.T, typ string) map[string]any {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-r.events:
			if !ok {
				t.Fatalf("the relay stopped before a %q event; stderr:\n%s", typ, r.stderr.String())
			}
			if m["type"] == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("no %q event within 10s; stderr:\n%s", typ, r.stderr.String())
		}
	}
}

func newTestHost(t *testing.T) host.Host {
	t.Helper()
	// The relay transport is on by default, as it is for senders and
	// receivers.
	h, err := libp2p.New(
		libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"),
		libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableMetrics(),
	)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

// TestRelayCarriesWholeStudies sends more through the relay than libp2p's
// default limit (128 KiB each way) allows, and checks that it arrives
// byte for byte over a relayed connection that is not marked limited.
func TestRelayCarriesWholeStudies(t *testing.T) {
	const size = 3<<20 + 12345
	const proto = "/imageshare/relay-test/1.0.0"

	relay := startRelay(t, "--listen", "/ip4/127.0.0.1/tcp/0")
	ready := relay.next(t, "ready")
	addrs, _ := ready["addrs"].([]any)
	if len(addrs) != 1 {
		t.Fatalf("ready lists addresses %v, want the one loopback address", ready["addrs"])
	}
	relayAddr := addrs[0].(string)
	relayInfo, err := peer.AddrInfoFromString(relayAddr)
	if err != nil {
		t.Fatalf("the relay's address %q: %v", relayAddr, err)
	}
	if relayInfo.ID.String() != ready["peer_id"] {
		t.Fatalf("address %s does not end in the peer ID %v", relayAddr, ready["peer_id"])
	}
	if !strings.Contains(relay.stderr.String(), "address for senders: "+relayAddr) {
		t.Errorf("stderr does not list %s:\n%s", relayAddr, relay.stderr.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// A, the sender behind a NAT, reserves a slot.
	a := newTestHost(t)
	received := make(chan []byte, 1)
	a.SetStreamHandler(proto, func(s network.Stream) {
		s.SetDeadline(time.Now().Add(20 * time.Second))
		b, err := io.ReadAll(s)
		if err != nil {
			t.Errorf("A reading: %v", err)
			s.Reset()
			received <- nil
			return
		}
		received <- b
		s.Write([]byte("ok"))
		s.Close()
	})
	if _, err := client.Reserve(ctx, a, *relayInfo); err != nil {
		t.Fatalf("A reserving: %v", err)
	}
	relay.next(t, "reservation_request")
	relay.next(t, "reservation_granted")

	// B, the receiver, reaches A through the relay only.
	b := newTestHost(t)
	circuit := ma.StringCast(relayAddr + "/p2p-circuit")
	if err := b.Connect(ctx, peer.AddrInfo{ID: a.ID(), Addrs: []ma.Multiaddr{circuit}}); err != nil {
		t.Fatalf("B connecting to A through %s: %v", circuit, err)
	}
	// No network.WithAllowLimitedConn: with no relay limit the
	// connection is not limited, and streams open as on any other.
	s, err := b.NewStream(ctx, a.ID(), proto)
	if err != nil {
		t.Fatalf("B opening a stream to A: %v", err)
	}
	if !strings.Contains(s.Conn().RemoteMultiaddr().String(), "/p2p-circuit") {
		t.Errorf("the stream's connection is %s, not relayed", s.Conn().RemoteMultiaddr())
	}
	if s.Conn().Stat().Limited {
		t.Error("the relayed connection is marked limited")
	}
	data := make([]byte, size)
	rand.Read(data)
	s.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := s.Write(data); err != nil {
		t.Fatalf("B writing: %v", err)
	}
	if err := s.CloseWrite(); err != nil {
		t.Fatalf("B closing: %v", err)
	}
	ack, err := io.ReadAll(s)
	if err != nil || string(ack) != "ok" {
		t.Fatalf("B's ack: %q, %v", ack, err)
	}
	s.Close()
	if got := <-received; !bytes.Equal(got, data) {
		t.Fatalf("A received %d bytes, not the %d sent", len(got), len(data))
	}

	relay.next(t, "circuit_request")
	relay.next(t, "circuit_opened")
	b.Close()
	closed := relay.next(t, "circuit_closed")
	if n, _ := closed["bytes_relayed"].(float64); n < size {
		t.Errorf("the relay counted %v bytes relayed, want at least %d", closed["bytes_relayed"], size)
	}
	// Ctrl-C stops a service as cleanly as SIGTERM does, as the README says.
	if code := relay.stop(); code != exitOK {
		t.Errorf("after Ctrl-C the relay exited %d, want %d", code, exitOK)
	}
	relay.next(t, "stopped")
}

func TestSIGTERMStopsCleanly(t *testing.T) {
	relay := startRelay(t, "--listen", "/ip4/127.0.0.1/tcp/0", "--listen", "/ip4/127.0.0.1/udp/0/quic-v1")
	ready := relay.next(t, "ready")
	addrs, _ := ready["addrs"].([]any)
	var tcp, quic bool
	for _, a := range addrs {
		tcp = tcp || strings.Contains(a.(string), "/tcp/")
		quic = quic || strings.Contains(a.(string), "/quic-v1/")
	}
	if !tcp || !quic {
		t.Errorf("ready lists %v, want a TCP and a QUIC loopback address", addrs)
	}
	if code := relay.stopWith(errTerminated); code != exitOK {
		t.Errorf("after SIGTERM the relay exited %d, want %d; stderr:\n%s", code, exitOK, relay.stderr.String())
	}
	relay.next(t, "stopped")
}
