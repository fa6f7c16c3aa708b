package dimse

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// readAbort reads what the server sends to a hostile client: an A-ABORT,
// then the end of the connection.
func readAbort(t *testing.T, c net.Conn) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(wait))
	b, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading the server's answer: %v", err)
	}
	if len(b) != 10 || b[0] != pduAbort {
		t.Fatalf("server answered % x, not an A-ABORT", b)
	}
}

func TestHostilePeers(t *testing.T) {
	s, _ := storeServer(t)
	s.MaxPDU = 16384
	s.ARTIM = 500 * time.Millisecond
	addr, port, rec := serve(t, s)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// associate opens an association by the book and returns its
	// connection, for raw PDUs to follow.
	open := func() (*Assoc, net.Conn) {
		d := &Dialer{CallingAE: "TESTSCU", CalledAE: "IMAGESHARE", Contexts: []Context{{AbstractSyntax: Verification, TransferSyntaxes: []string{ImplicitVRLittleEndian}}}}
		a, err := d.Dial(context.Background(), addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { a.close() })
		return a, a.conn
	}
	aborted := func(t *testing.T, substr string) {
		t.Helper()
		rec.waitFor(t, 1, "aborted for "+substr, func(e Event) bool {
			ev, ok := e.(*AssociationAborted)
			return ok && !ev.ByPeer && strings.Contains(ev.Reason, substr)
		})
	}
	cases := []struct {
		name, reason string
		send         func() net.Conn
	}{
		{"A-ASSOCIATE-RQ beyond the cap", "length 2147483647 exceeds maximum 1048576", func() net.Conn {
			c := dial()
			c.Write([]byte{pduAssociateRQ, 0, 0x7F, 0xFF, 0xFF, 0xFF})
			return c
		}},
		{"truncated A-ASSOCIATE-RQ", "truncated: 50 of 200 bytes", func() net.Conn {
			c := dial()
			c.Write(append([]byte{pduAssociateRQ, 0, 0, 0, 0, 200}, make([]byte, 50)...))
			c.(*net.TCPConn).CloseWrite()
			return c
		}},
		{"A-ASSOCIATE-RQ with a bad item length", "item 10H length 65535 exceeds", func() net.Conn {
			c := dial()
			rq := (&associate{CalledAE: "IMAGESHARE", CallingAE: "TESTSCU", ApplicationContext: ApplicationContext, ImplementationUID: "1.2"}).encode(pduAssociateRQ)
			binary.BigEndian.PutUint16(rq[pduHeaderLen+68+2:], 0xFFFF)
			c.Write(rq)
			return c
		}},
		{"no A-ASSOCIATE-RQ", "ARTIM", func() net.Conn { return dial() }},
		{"P-DATA-TF beyond the negotiated maximum", "P-DATA-TF at offset 2: malformed: length 16385 exceeds maximum 16384", func() net.Conn {
			_, c := open()
			c.Write(append([]byte{pduDataTF, 0, 0, 0, 0x40, 0x01}, make([]byte, 100)...))
			return c
		}},
		{"command set with a wrong group length", "group length 99", func() net.Conn {
			a, c := open()
			cmd := (&Command{Field: CEchoRQ, MessageID: 1, AffectedSOPClassUID: Verification}).Encode()
			binary.LittleEndian.PutUint32(cmd[8:], 99)
			w := a.newWriter(1, true)
			w.Write(cmd)
			w.Close()
			return c
		}},
		{"data set PDV on an unaccepted context", "presentation context 3 not accepted", func() net.Conn {
			_, c := open()
			c.Write([]byte{pduDataTF, 0, 0, 0, 0, 8, 0, 0, 0, 4, 3, 2, 0, 0})
			return c
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.send()
			readAbort(t, c)
			aborted(t, tc.reason)
		})
	}
	// The server still serves a well-behaved caller.
	if out, err := run(t, "echoscu", "-aet", "TESTSCU", "-aec", "IMAGESHARE", "127.0.0.1", port); err != nil {
		t.Fatalf("echoscu after hostile peers: %v\n%s", err, out)
	}
}

func TestIdleAssociationAborted(t *testing.T) {
	s, _ := storeServer(t)
	s.Idle = 300 * time.Millisecond
	addr, _, rec := serve(t, s)
	d := &Dialer{CallingAE: "TESTSCU", CalledAE: "IMAGESHARE", Contexts: []Context{{AbstractSyntax: Verification, TransferSyntaxes: []string{ImplicitVRLittleEndian}}}}
	a, err := d.Dial(context.Background(), addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	readAbort(t, a.conn)
	rec.waitFor(t, 1, "aborted when idle", func(e Event) bool {
		ev, ok := e.(*AssociationAborted)
		return ok && strings.HasPrefix(ev.Reason, "idle for")
	})
}

func TestBusyServerRejectsTransiently(t *testing.T) {
	s, _ := storeServer(t)
	s.MaxAssociations = 1
	addr, _, rec := serve(t, s)
	d := &Dialer{CallingAE: "TESTSCU", CalledAE: "IMAGESHARE", Contexts: []Context{{AbstractSyntax: Verification, TransferSyntaxes: []string{ImplicitVRLittleEndian}}}}
	ctx := context.Background()
	a, err := d.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Dial(ctx, addr)
	var rj *RejectedError
	if !errorsAs(err, &rj) || rj.Result != RejectTransient || rj.Reason != ReasonLocalLimitExceeded {
		t.Fatalf("second association: %v, want a transient rejection, local limit exceeded", err)
	}
	if err := a.Echo(ctx); err != nil {
		t.Fatal(err)
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, 1, "released", func(e Event) bool { _, ok := e.(*AssociationReleased); return ok })
	// The slot is free again.
	a, err = d.Dial(ctx, addr)
	if err != nil {
		t.Fatal(err)
	}
	a.Release(ctx)
}
