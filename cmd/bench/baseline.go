//go:build linux

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/discovery"
)

// The raw baselines send the study's files one after another over one
// connection, with nothing added: no compression, no encryption, no
// hashing, and the receiving side throws the bytes away. The serving side
// plays the sender and listens, the fetching side plays the receiver and
// dials, as in an end-to-end run; the time is the fetcher's, from dialling
// to the last byte.
const (
	protoTCP        = "tcp"         // a TCP socket, io.Copy (sendfile) from each file
	protoLibp2pTCP  = "libp2p-tcp"  // one stream over libp2p's TCP (Noise, yamux)
	protoLibp2pQUIC = "libp2p-quic" // one stream over libp2p's QUIC
)

// rawProtocolID is the libp2p protocol of the raw baseline.
const rawProtocolID = "/imageshare-bench/raw/1.0.0"

// copyBufferSize is the libp2p baseline's write size: the 1 MiB of the
// transfer protocol's chunks.
const copyBufferSize = 1 << 20

// rawRun is one raw baseline run.
type rawRun struct {
	Proto          string  `json:"proto"`
	Bytes          int64   `json:"bytes"`
	Seconds        float64 `json:"seconds"`
	ConnectSeconds float64 `json:"connect_seconds"` // dialling to connected: a round trip or more
}

// rate is bytes a second, in MB/s.
func (r *rawRun) rate() float64 { return float64(r.Bytes) / r.Seconds / 1e6 }

// raw runs one raw baseline: this program's serve role in serveNS
// listening on listen, its fetch role in fetchNS.
func (b *bench) raw(ctx context.Context, name, proto, serveNS, fetchNS, listen string) (*rawRun, error) {
	dir, err := b.runDir(name)
	if err != nil {
		return nil, err
	}
	defer b.doneWith(dir)
	list := filepath.Join(dir, "files.txt")
	if err := os.WriteFile(list, []byte(strings.Join(b.st.paths(), "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	srv, err := startChild(ctx, serveNS, nil, filepath.Join(dir, "serve"),
		b.self, internalRole, "serve", "-proto", proto, "-listen", listen, "-files", list)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	addr, err := srv.firstLine(ctx, 30*time.Second)
	if err != nil {
		return nil, err
	}
	f, err := startChild(ctx, fetchNS, nil, filepath.Join(dir, "fetch"),
		b.self, internalRole, "fetch", "-proto", proto, "-addr", addr)
	if err != nil {
		return nil, err
	}
	defer f.stop()
	if _, err := f.wait(2*time.Minute + time.Duration(float64(b.st.Bytes)/1e6)*time.Second); err != nil {
		return nil, err
	}
	if _, err := srv.wait(30 * time.Second); err != nil {
		return nil, err
	}
	out, err := os.ReadFile(f.stdout)
	if err != nil {
		return nil, err
	}
	r := &rawRun{}
	if err := json.Unmarshal(out, r); err != nil {
		return nil, fmt.Errorf("reading the fetcher's result: %w", err)
	}
	if r.Bytes != b.st.Bytes {
		return nil, fmt.Errorf("%s: %d bytes arrived of %d", proto, r.Bytes, b.st.Bytes)
	}
	return r, nil
}

// runServe is the serve role: it listens, prints the address to dial on
// its first line, sends the files to the first that connects, and exits.
func runServe(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	proto := fs.String("proto", protoTCP, "")
	listen := fs.String("listen", "", "")
	list := fs.String("files", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*list)
	if err != nil {
		return err
	}
	files := strings.Fields(string(b))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	switch *proto {
	case protoTCP:
		return serveTCP(ctx, *listen, files, stdout)
	case protoLibp2pTCP, protoLibp2pQUIC:
		return serveLibp2p(ctx, *listen, files, stdout)
	}
	return fmt.Errorf("unknown -proto %q", *proto)
}

func serveTCP(ctx context.Context, listen string, files []string, stdout io.Writer) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	context.AfterFunc(ctx, func() { ln.Close() })
	fmt.Fprintln(stdout, ln.Addr())
	conn, err := ln.Accept()
	if err != nil {
		return err
	}
	defer conn.Close()
	tc := conn.(*net.TCPConn)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		_, err = io.Copy(tc, f)
		f.Close()
		if err != nil {
			return err
		}
	}
	if err := tc.CloseWrite(); err != nil {
		return err
	}
	// The fetcher hangs up once it has every byte.
	conn.SetReadDeadline(time.Now().Add(time.Minute))
	_, err = io.Copy(io.Discard, conn)
	return err
}

func serveLibp2p(ctx context.Context, listen string, files []string, stdout io.Writer) error {
	h, err := discovery.NewHost(discovery.HostOptions{Listen: []string{listen}})
	if err != nil {
		return err
	}
	defer h.Close()
	done := make(chan error, 1)
	var fetcher peer.ID
	h.SetStreamHandler(rawProtocolID, func(s network.Stream) {
		fetcher = s.Conn().RemotePeer()
		done <- sendFiles(s, files)
	})
	addrs := h.Addrs()
	if len(addrs) == 0 {
		return errors.New("the host listens nowhere")
	}
	fmt.Fprintf(stdout, "%s/p2p/%s\n", addrs[0], h.ID())
	select {
	case err = <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err != nil {
		return err
	}
	// Closing the host now could cut off bytes still on their way: the
	// fetcher hangs up once it has them all.
	deadline := time.Now().Add(time.Minute)
	for h.Network().Connectedness(fetcher) == network.Connected && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// sendFiles writes the files to s in 1 MiB writes and closes it.
func sendFiles(s network.Stream, files []string) error {
	s.SetDeadline(time.Now().Add(10 * time.Minute))
	buf := make([]byte, copyBufferSize)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			s.Reset()
			return err
		}
		// Hide WriteTo, so that io.CopyBuffer writes buf-sized pieces.
		_, err = io.CopyBuffer(s, struct{ io.Reader }{f}, buf)
		f.Close()
		if err != nil {
			s.Reset()
			return err
		}
	}
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return err
	}
	_, err := io.Copy(io.Discard, s)
	s.Close()
	return err
}

// runFetch is the fetch role: it dials, reads until the end, and prints a
// rawRun as JSON.
func runFetch(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("fetch", flag.ContinueOnError)
	proto := fs.String("proto", protoTCP, "")
	addr := fs.String("addr", "", "")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	var r *rawRun
	var err error
	switch *proto {
	case protoTCP:
		r, err = fetchTCP(ctx, *addr)
	case protoLibp2pTCP, protoLibp2pQUIC:
		r, err = fetchLibp2p(ctx, *addr)
	default:
		err = fmt.Errorf("unknown -proto %q", *proto)
	}
	if err != nil {
		return err
	}
	r.Proto = *proto
	return json.NewEncoder(stdout).Encode(r)
}

func fetchTCP(ctx context.Context, addr string) (*rawRun, error) {
	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	connected := time.Since(start)
	context.AfterFunc(ctx, func() { conn.Close() })
	n, err := io.Copy(io.Discard, conn)
	if err != nil {
		return nil, err
	}
	return &rawRun{Bytes: n, Seconds: time.Since(start).Seconds(), ConnectSeconds: connected.Seconds()}, nil
}

func fetchLibp2p(ctx context.Context, addr string) (*rawRun, error) {
	a, err := ma.NewMultiaddr(addr)
	if err != nil {
		return nil, err
	}
	ai, err := peer.AddrInfoFromP2pAddr(a)
	if err != nil {
		return nil, err
	}
	var h host.Host
	if h, err = discovery.NewHost(discovery.HostOptions{}); err != nil {
		return nil, err
	}
	defer h.Close()
	start := time.Now()
	if err := h.Connect(ctx, *ai); err != nil {
		return nil, err
	}
	connected := time.Since(start)
	s, err := h.NewStream(ctx, ai.ID, rawProtocolID)
	if err != nil {
		return nil, err
	}
	s.SetDeadline(time.Now().Add(10 * time.Minute))
	if err := s.CloseWrite(); err != nil {
		s.Reset()
		return nil, err
	}
	n, err := io.CopyBuffer(io.Discard, s, make([]byte, copyBufferSize))
	if err != nil {
		s.Reset()
		return nil, err
	}
	elapsed := time.Since(start)
	s.Close()
	return &rawRun{Bytes: n, Seconds: elapsed.Seconds(), ConnectSeconds: connected.Seconds()}, nil
}
