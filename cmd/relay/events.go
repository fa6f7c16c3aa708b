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

// The events --json writes, each with the time it happened.
type (
	// Stamp is when an event happened, RFC 3339 in UTC.
	Stamp struct {
		Time string `json:"time"`
	}
	// ReservationRequest: a peer asked to be reachable through the relay.
	ReservationRequest struct {
		Stamp
		Peer string `json:"peer"`
		Addr string `json:"addr"`
	}
	// CircuitRequest: a peer asked for a relayed connection to another.
	CircuitRequest struct {
		Stamp
		Src     string `json:"src"`
		SrcAddr string `json:"src_addr"`
		Dst     string `json:"dst"`
	}
	// ReservationGranted: a new reservation; Held counts them.
	ReservationGranted struct {
		Stamp
		Held int `json:"held"`
	}
	// ReservationsEnded: Count reservations expired or lost their peer.
	ReservationsEnded struct {
		Stamp
		Count int `json:"count"`
		Held  int `json:"held"`
	}
	// ReservationRefused: a reservation was refused, and why.
	ReservationRefused struct {
		Stamp
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	// CircuitOpened: a relayed connection opened; Open counts them.
	CircuitOpened struct {
		Stamp
		Open int `json:"open"`
	}
	// CircuitClosed: a relayed connection closed after Seconds.
	CircuitClosed struct {
		Stamp
		Seconds      float64 `json:"seconds"`
		Open         int     `json:"open"`
		BytesRelayed int64   `json:"bytes_relayed"`
	}
	// CircuitRefused: a relayed connection was refused, and why.
	CircuitRefused struct {
		Stamp
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	// Ready: the relay serves, as PeerID at Addrs.
	Ready struct {
		PeerID string   `json:"peer_id"`
		Addrs  []string `json:"addrs"`
	}
	// Stopped: the relay stopped, having relayed BytesRelayed.
	Stopped struct {
		BytesRelayed int64 `json:"bytes_relayed"`
	}
	// ID: the relay's peer ID, and the file of its identity.
	ID struct {
		PeerID   string `json:"peer_id"`
		Identity string `json:"identity"`
	}
)

func (ReservationRequest) EventType() string { return "reservation_request" }
func (CircuitRequest) EventType() string     { return "circuit_request" }
func (ReservationGranted) EventType() string { return "reservation_granted" }
func (ReservationsEnded) EventType() string  { return "reservations_ended" }
func (ReservationRefused) EventType() string { return "reservation_refused" }
func (CircuitOpened) EventType() string      { return "circuit_opened" }
func (CircuitClosed) EventType() string      { return "circuit_closed" }
func (CircuitRefused) EventType() string     { return "circuit_refused" }
func (Ready) EventType() string              { return "ready" }
func (Stopped) EventType() string            { return "stopped" }
func (ID) EventType() string                 { return "id" }

func (s *Stamp) stamp(t time.Time) { s.Time = t.UTC().Format(time.RFC3339Nano) }

// stamped is an event that carries its time.
type stamped interface {
	console.Event
	stamp(time.Time)
}

// emit writes one event: msg on the text writer, or ev, stamped with the
// time, as a JSON line.
func (e *events) emit(ev stamped, msg string) {
	if e.js != nil {
		ev.stamp(e.now())
		e.js.Emit(ev)
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
		e.emit(&ReservationRequest{Peer: p.String(), Addr: a.String()},
			fmt.Sprintf("reservation asked for by %s from %s", p, a))
	}
	return true
}

// AllowConnect logs a request for a relayed connection.
func (e *events) AllowConnect(src peer.ID, srcAddr ma.Multiaddr, dst peer.ID) bool {
	e.emit(&CircuitRequest{Src: src.String(), SrcAddr: srcAddr.String(), Dst: dst.String()},
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
	e.emit(&ReservationGranted{Held: held},
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
	e.emit(&ReservationsEnded{Count: n, Held: held},
		fmt.Sprintf("%d reservation(s) ended, by expiry or disconnection (%d held)", n, held))
}

// ReservationRequestHandled logs refusals.
func (e *events) ReservationRequestHandled(status pbv2.Status) {
	if status == pbv2.Status_OK {
		return
	}
	reason := refusalReason(status)
	e.emit(&ReservationRefused{Status: status.String(), Reason: reason},
		fmt.Sprintf("reservation refused: %s (%s)", reason, status))
}

// ConnectionOpened logs a relayed connection that opened.
func (e *events) ConnectionOpened() {
	e.mu.Lock()
	e.open++
	open := e.open
	e.mu.Unlock()
	e.emit(&CircuitOpened{Open: open},
		fmt.Sprintf("relayed connection opened (%d open)", open))
}

// ConnectionClosed logs a relayed connection that closed.
func (e *events) ConnectionClosed(d time.Duration) {
	e.mu.Lock()
	e.open = max(e.open-1, 0)
	open := e.open
	e.mu.Unlock()
	total := e.bytes.Load()
	e.emit(&CircuitClosed{Seconds: d.Seconds(), Open: open, BytesRelayed: total},
		fmt.Sprintf("relayed connection closed after %v (%d open, %s relayed since start)", d.Round(time.Second), open, formatBytes(total)))
}

// ConnectionRequestHandled logs refusals.
func (e *events) ConnectionRequestHandled(status pbv2.Status) {
	if status == pbv2.Status_OK {
		return
	}
	reason := refusalReason(status)
	e.emit(&CircuitRefused{Status: status.String(), Reason: reason},
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
