package transfer

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	icrypto "imageshare/crypto"
)

// hostilePeer speaks raw frames to a sender, as a hostile program would.
type hostilePeer struct {
	t  *testing.T
	st Stream
	w  *bufio.Writer
}

func dialRaw(t *testing.T, open func(context.Context) (Stream, error)) *hostilePeer {
	t.Helper()
	st, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &hostilePeer{t: t, st: st, w: bufio.NewWriter(st)}
}

func (h *hostilePeer) send(t MsgType, p []byte) {
	writeFrame(h.w, t, p)
	h.w.Flush()
}

func (h *hostilePeer) raw(b []byte) {
	h.st.Write(b)
}

// answer reads the sender's next frame: its type, or an error when the
// stream was reset or closed.
func (h *hostilePeer) answer() (MsgType, []byte, error) {
	h.st.SetReadDeadline(time.Now().Add(10 * time.Second))
	return readFrame(h.st, MaxResponseSize)
}

func (fx *fixture) hello(remote string) []byte {
	return append(append([]byte{}, fx.offer.ID[:]...), icrypto.Prove(fx.keys.Auth, fx.offer.ID[:], senderID, remote)...)
}

// stillServes checks that the sender serves a card holder after the abuse.
func stillServes(t *testing.T, fx *fixture) {
	t.Helper()
	dir, err := receive(t, fx.client(t))
	if err != nil {
		t.Fatalf("after the hostile peer, a card holder is not served: %v", err)
	}
	checkReceived(t, dir, fx.data)
}

func TestHostileFrames(t *testing.T) {
	fx := newFixture(t, []int{3000, 2000}, 1000)
	fx.srv.HelloTimeout = 300 * time.Millisecond
	fx.srv.RequestTimeout = 300 * time.Millisecond
	open := listen(t, fx.srv, receiverID)

	t.Run("oversized frame", func(t *testing.T) {
		h := dialRaw(t, open)
		hdr := []byte{byte(MsgHello)}
		h.raw(binary.BigEndian.AppendUint32(hdr, 1<<30))
		if typ, _, err := h.answer(); err == nil && typ != MsgError {
			t.Fatalf("sender answered %v to a 1 GiB HELLO", typ)
		}
	})
	t.Run("unknown message type", func(t *testing.T) {
		h := dialRaw(t, open)
		h.send(MsgHello, fx.hello(receiverID))
		h.send(MsgType(0x42), []byte("?"))
		typ, p, err := h.answer()
		if err != nil || typ != MsgError || decodeError(p).Code != CodeBadRequest {
			t.Fatalf("got %v %v, want ERROR bad request", typ, err)
		}
	})
	t.Run("response type sent as request", func(t *testing.T) {
		h := dialRaw(t, open)
		h.send(MsgHello, fx.hello(receiverID))
		h.send(MsgChunk, make([]byte, 100))
		if typ, _, _ := h.answer(); typ != MsgError {
			t.Fatalf("got %v, want ERROR", typ)
		}
	})
	t.Run("chunk index out of range", func(t *testing.T) {
		h := dialRaw(t, open)
		h.send(MsgHello, fx.hello(receiverID))
		h.send(MsgGetChunk, []byte{0xff, 0xff, 0xff, 0xff})
		typ, p, err := h.answer()
		if err != nil || typ != MsgError || decodeError(p).Code != CodeBadRequest {
			t.Fatalf("got %v %v, want ERROR bad request", typ, err)
		}
	})
	t.Run("stall before hello", func(t *testing.T) {
		h := dialRaw(t, open)
		start := time.Now()
		_, _, err := h.answer()
		if err == nil {
			t.Fatal("a stalled peer got an answer")
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("the sender kept a stalled stream open past its deadline")
		}
	})
	t.Run("stall after hello", func(t *testing.T) {
		h := dialRaw(t, open)
		h.send(MsgHello, fx.hello(receiverID))
		start := time.Now()
		if _, _, err := h.answer(); err == nil {
			t.Fatal("a stalled peer got an answer")
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("the sender kept a stalled stream open past its deadline")
		}
	})
	t.Run("truncated frame", func(t *testing.T) {
		h := dialRaw(t, open)
		h.raw([]byte{byte(MsgHello), 0, 0, 0, 72, 1, 2, 3})
		h.st.CloseWrite()
		if typ, _, err := h.answer(); err == nil {
			t.Fatalf("sender answered %v to a cut-off HELLO", typ)
		}
	})
	stillServes(t, fx)
}

func TestFailedProofsAreRateLimited(t *testing.T) {
	fx := newFixture(t, []int{2000}, 1000)
	var limited int
	fx.srv.OnEvent = func(e Event) {
		if e.Kind == EventRateLimited {
			limited++
		}
	}
	open := listen(t, fx.srv, receiverID)
	bad := append(append([]byte{}, fx.offer.ID[:]...), make([]byte, icrypto.ProofSize)...)
	for i := range FailedProofLimit {
		h := dialRaw(t, open)
		h.send(MsgHello, bad)
		typ, p, _ := h.answer()
		if typ != MsgError || decodeError(p).Code != CodeUnauthorized {
			t.Fatalf("attempt %d: got %v, want ERROR unauthorized", i, typ)
		}
	}
	// The next attempt from the same address is held back, even with a
	// valid proof, without the proof being checked.
	_, err := fx.client(t).Manifest(context.Background())
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("after %d failed proofs: got %v, want ErrBusy", FailedProofLimit, err)
	}
	if limited == 0 {
		t.Fatal("no rate-limit event")
	}
	// Another address is not.
	other := &Client{Open: listenFrom(t, fx.srv, receiverID, "192.0.2.7"), Local: receiverID, Remote: senderID, Offer: fx.offer, Keys: fx.keys}
	if _, err := other.Manifest(context.Background()); err != nil {
		t.Fatalf("another address is held back too: %v", err)
	}
}

func TestStreamLimits(t *testing.T) {
	fx := newFixture(t, []int{2000}, 1000)
	fx.srv.MaxStreamsPerOffer = 2
	open := listen(t, fx.srv, receiverID)
	// Two streams that said hello and wait hold the offer's slots.
	for range 2 {
		h := dialRaw(t, open)
		h.send(MsgHello, fx.hello(receiverID))
		h.send(MsgGetManifest, nil)
		if typ, _, err := h.answer(); err != nil || typ != MsgManifest {
			t.Fatalf("got %v %v", typ, err)
		}
	}
	h := dialRaw(t, open)
	h.send(MsgHello, fx.hello(receiverID))
	typ, p, err := h.answer()
	if err != nil || typ != MsgError || decodeError(p).Code != CodeBusy {
		t.Fatalf("third stream: got %v %v, want ERROR busy", typ, err)
	}
}

// listenFrom is listen with the connections' address given.
func listenFrom(t testing.TB, srv *Server, remote, host string) func(context.Context) (Stream, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go srv.Handle(ctx, tcpStream{c.(*net.TCPConn)}, Peer{Local: senderID, Remote: remote, Name: remote, Host: host})
		}
	}()
	return func(ctx context.Context) (Stream, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err != nil {
			return nil, err
		}
		return tcpStream{c.(*net.TCPConn)}, nil
	}
}

// A path that dies mid-transfer falls silent rather than closing: the
// receiver gives up on the stream, saying so, and does not wait for its
// context or libp2p's keepalives.
func TestSilentSenderIsAbandoned(t *testing.T) {
	fx := newFixture(t, []int{1500}, 1000)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// Reads the requests, never answers, never closes.
				io.Copy(io.Discard, c)
				<-done
				c.Close()
			}()
		}
	}()
	c := &Client{
		Open: func(ctx context.Context) (Stream, error) {
			nc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				return nil, err
			}
			return tcpStream{nc.(*net.TCPConn)}, nil
		},
		Local: receiverID, Remote: senderID, Offer: fx.offer, Keys: fx.keys,
		Stall: 300 * time.Millisecond,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = c.Manifest(ctx)
	if !errors.Is(err, ErrStalled) || !strings.Contains(err.Error(), "nothing from the sender for 300ms") {
		t.Fatalf("a silent sender gave %v, want the stall named", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the receiver waited for its context, not for the stall")
	}
	err = c.Fetch(ctx, fx.packed.Manifest, []int{0}, func(int, []byte) error { return nil }, nil)
	if !errors.Is(err, ErrStalled) {
		t.Fatalf("a silent sender during a fetch gave %v, want the stall named", err)
	}
}
