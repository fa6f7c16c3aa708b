package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	pbv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/pb"
	relayv2 "github.com/libp2p/go-libp2p/p2p/protocol/circuitv2/relay"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/console"
)

// events reports what the relay does, one line an event: text on stderr,
// or JSON Lines with --json. The relay package has two hooks, and events
// is both: its ACL, which sees the peers asking (and here allows them
// all), and its metrics tracer, which sees outcomes and counts but no
// peers. So a request and its outcome are two lines.
type events struct {
	text io.Writer     // nil with --json
	js   *console.JSON // nil without --json
	now  func() time.Time

	mu sync.Mutex
	// asked are the peers that asked for a reservation on their present
	// connection; their renewals are not logged.
	asked map[peer.ID]bool
	held  int // reservations held
	open  int // relayed connections open

	bytes atomic.Int64 // relayed since the start
}

var (
	_ relayv2.ACLFilter     = (*events)(nil)
	_ relayv2.MetricsTracer = (*events)(nil)
)

func newEvents(text io.Writer, js *console.JSON) *events {
	return &events{text: text, js: js, now: time.Now, asked: map[peer.ID]bool{}}
}

// emit writes one event: msg on the text writer, or fields with their
// type and time as a JSON line.
func (e *events) emit(typ string, fields map[string]any, msg string) {
	if e.js != nil {
		fields["type"] = typ
		fields["time"] = e.now().UTC().Format(time.RFC3339Nano)
		e.js.Emit(fields)
		return
	}
	if e.text != nil {
		fmt.Fprintf(e.text, "relay: %s\n", msg)
	}
}

// watch forgets the peers of n that disconnect, so that their next
// reservation is logged.
func (e *events) watch(n network.Network) {
	n.Notify(&network.NotifyBundle{DisconnectedF: func(n network.Network, c network.Conn) {
		p := c.RemotePeer()
		if n.Connectedness(p) == network.Connected {
			return
		}
		e.mu.Lock()
		delete(e.asked, p)
		e.mu.Unlock()
	}})
}

// AllowReserve logs a peer's first reservation request on a connection.
func (e *events) AllowReserve(p peer.ID, a ma.Multiaddr) bool {
	e.mu.Lock()
	first := !e.asked[p]
	e.asked[p] = true
	e.mu.Unlock()
	if first {
		e.emit("reservation_request", map[string]any{"peer": p.String(), "addr": a.String()},
			fmt.Sprintf("reservation asked for by %s from %s", p, a))
	}
	return true
}

// AllowConnect logs a request for a relayed connection.
func (e *events) AllowConnect(src peer.ID, srcAddr ma.Multiaddr, dst peer.ID) bool {
	e.emit("circuit_request", map[string]any{"src": src.String(), "src_addr": srcAddr.String(), "dst": dst.String()},
		fmt.Sprintf("relayed connection asked for by %s (%s) to %s", src, srcAddr, dst))
	return true
}

// RelayStatus is told when the relay service starts and stops; the
// command reports those itself.
func (e *events) RelayStatus(bool) {}

// ReservationAllowed logs a new reservation; renewals are silent.
func (e *events) ReservationAllowed(isRenewal bool) {
	if isRenewal {
		return
	}
	e.mu.Lock()
	e.held++
	held := e.held
	e.mu.Unlock()
	e.emit("reservation_granted", map[string]any{"held": held},
		fmt.Sprintf("reservation granted (%d held)", held))
}

// ReservationClosed logs reservations that ended: expired, or their
// sender disconnected.
func (e *events) ReservationClosed(n int) {
	if n == 0 {
		return
	}
	e.mu.Lock()
	e.held = max(e.held-n, 0)
	held := e.held
	e.mu.Unlock()
	e.emit("reservations_ended", map[string]any{"count": n, "held": held},
		fmt.Sprintf("%d reservation(s) ended, by expiry or disconnection (%d held)", n, held))
}

// ReservationRequestHandled logs refusals.
func (e *events) ReservationRequestHandled(status pbv2.Status) {
	if status == pbv2.Status_OK {
		return
	}
	reason := refusalReason(status)
	e.emit("reservation_refused", map[string]any{"status": status.String(), "reason": reason},
		fmt.Sprintf("reservation refused: %s (%s)", reason, status))
}

// ConnectionOpened logs a relayed connection that opened.
func (e *events) ConnectionOpened() {
	e.mu.Lock()
	e.open++
	open := e.open
	e.mu.Unlock()
	e.emit("circuit_opened", map[string]any{"open": open},
		fmt.Sprintf("relayed connection opened (%d open)", open))
}

// ConnectionClosed logs a relayed connection that closed.
func (e *events) ConnectionClosed(d time.Duration) {
	e.mu.Lock()
	e.open = max(e.open-1, 0)
	open := e.open
	e.mu.Unlock()
	total := e.bytes.Load()
	e.emit("circuit_closed", map[string]any{"seconds": d.Seconds(), "open": open, "bytes_relayed": total},
		fmt.Sprintf("relayed connection closed after %v (%d open, %s relayed since start)", d.Round(time.Second), open, formatBytes(total)))
}

// ConnectionRequestHandled logs refusals.
func (e *events) ConnectionRequestHandled(status pbv2.Status) {
	if status == pbv2.Status_OK {
		return
	}
	reason := refusalReason(status)
	e.emit("circuit_refused", map[string]any{"status": status.String(), "reason": reason},
		fmt.Sprintf("relayed connection refused: %s (%s)", reason, status))
}

// BytesTransferred counts relayed bytes; it is called for every copy.
func (e *events) BytesTransferred(n int) { e.bytes.Add(int64(n)) }

// refusalReason says what a refusal means here, and which limit to raise.
func refusalReason(s pbv2.Status) string {
	switch s {
	case pbv2.Status_RESERVATION_REFUSED:
		return "the relay holds --max-reservations reservations, or --max-reservations-per-ip from that address"
	case pbv2.Status_RESOURCE_LIMIT_EXCEEDED:
		return "a peer has --max-circuits relayed connections open, or the relay is short of memory"
	case pbv2.Status_NO_RESERVATION:
		return "the sender holds no reservation here: it is not running with --relay, or lost its connection"
	case pbv2.Status_PERMISSION_DENIED:
		return "asked for through another relay, or the relay is stopping"
	case pbv2.Status_CONNECTION_FAILED:
		return "the other peer did not answer, or the request broke off"
	case pbv2.Status_MALFORMED_MESSAGE, pbv2.Status_UNEXPECTED_MESSAGE:
		return "malformed request"
	}
	return "refused"
}

// formatBytes writes n in IEC units.
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
