package dimse

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Implementation identity, announced in every association (PS3.7 D.3.3.2).
const (
	ImplementationClassUID    = "2.25.264098716452413498470335811434725611027"
	ImplementationVersionName = "IMAGESHARE_1"
)

// Default timeouts.
const (
	// DefaultARTIM bounds the wait for an association request after a
	// connection opens, for its answer, and for the end of a release.
	DefaultARTIM = 30 * time.Second
	// DefaultIdle bounds the wait for the next PDU of an association.
	DefaultIdle = 5 * time.Minute
)

// ErrReleased is returned by reads when the peer asked to release the
// association between messages.
var ErrReleased = errors.New("association released by the peer")

// errCancelled is the I/O error of an association whose operation's
// context is done.
var errCancelled = errors.New("association's operation cancelled")

// Assoc is an established association, requested (Dialer.Dial) or accepted
// (Server). Its methods are for one goroutine at a time, but Abort, which
// any goroutine may call.
type Assoc struct {
	conn     net.Conn
	br       *bufio.Reader
	calling  string
	called   string
	peerAddr string
	contexts map[byte]Context // accepted ones only
	roles    map[string]Role  // granted by the acceptor, by SOP class
	// ended, on the server side, gives the association's serving slot
	// back before its last event is reported; nil for an SCU.
	ended func()
	// maxSend is the largest P-DATA-TF length the peer takes;
	// maxRecv the largest this side announced.
	maxSend, maxRecv uint32
	peerImplUID      string
	peerImplVersion  string
	idle             time.Duration
	artim            time.Duration

	msgID uint16

	// The P-DATA-TF being read, and where in it.
	pdu    []byte
	pduOff int

	// cancelled is set when a context given to an operation is done:
	// the association's I/O fails from then on, and deadlines set later
	// do not revive it.
	cancelled atomic.Bool

	closeOnce sync.Once
}

// CallingAE and CalledAE are the association's AE titles.
func (a *Assoc) CallingAE() string { return a.calling }
func (a *Assoc) CalledAE() string  { return a.called }

// RemoteAddr is the peer's address.
func (a *Assoc) RemoteAddr() string { return a.peerAddr }

// PeerImplementation returns the peer's implementation class UID and
// version name.
func (a *Assoc) PeerImplementation() (uid, version string) {
	return a.peerImplUID, a.peerImplVersion
}

// Contexts returns the accepted presentation contexts.
func (a *Assoc) Contexts() []Context {
	cs := make([]Context, 0, len(a.contexts))
	for id := 0; id < 256; id++ {
		if c, ok := a.contexts[byte(id)]; ok {
			cs = append(cs, c)
		}
	}
	return cs
}

// ContextFor returns the accepted context of abstract syntax sop whose
// transfer syntax is one of ts, in ts's order; with no ts, the first
// accepted context of sop.
func (a *Assoc) ContextFor(sop string, ts ...string) (Context, bool) {
	cs := a.Contexts()
	if len(ts) == 0 {
		for _, c := range cs {
			if c.AbstractSyntax == sop {
				return c, true
			}
		}
		return Context{}, false
	}
	for _, want := range ts {
		for _, c := range cs {
			if c.AbstractSyntax == sop && c.TransferSyntax() == want {
				return c, true
			}
		}
	}
	return Context{}, false
}

// watch makes a cancelled ctx interrupt the association's I/O; the
// returned function stops that.
func (a *Assoc) watch(ctx context.Context) func() bool {
	return context.AfterFunc(ctx, func() {
		a.cancelled.Store(true)
		a.conn.SetDeadline(time.Unix(1, 0))
	})
}

// ctxErr prefers ctx's error to the I/O error a cancellation caused.
func ctxErr(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// write sends b, a whole PDU, within the idle timeout.
func (a *Assoc) write(b []byte) error {
	if a.cancelled.Load() {
		return errCancelled
	}
	if a.idle > 0 {
		a.conn.SetWriteDeadline(time.Now().Add(a.idle))
	}
	_, err := a.conn.Write(b)
	return err
}

// readPDU reads the next PDU within the idle timeout.
func (a *Assoc) readPDU(timeout time.Duration) (byte, []byte, error) {
	if a.cancelled.Load() {
		return 0, nil, errCancelled
	}
	if timeout > 0 {
		a.conn.SetReadDeadline(time.Now().Add(timeout))
	}
	return readPDU(a.br, a.pdu[:0], a.maxRecv)
}

// Abort sends an A-ABORT (service-user) and closes the connection.
func (a *Assoc) Abort() error {
	return a.abort(AbortSourceUser, AbortNotSpecified)
}

func (a *Assoc) abort(source, reason byte) error {
	var err error
	a.closeOnce.Do(func() {
		a.conn.SetWriteDeadline(time.Now().Add(time.Second))
		_, err = a.conn.Write(encodeAbort(source, reason))
		if cerr := a.conn.Close(); err == nil {
			err = cerr
		}
	})
	return err
}

func (a *Assoc) close() {
	a.closeOnce.Do(func() { a.conn.Close() })
}

// Release asks the peer to release the association, waits (ARTIM) for
// its answer and closes the connection.
func (a *Assoc) Release(ctx context.Context) error {
	defer a.watch(ctx)()
	defer a.close()
	if err := a.write(encodeRelease(pduReleaseRQ)); err != nil {
		return ctxErr(ctx, fmt.Errorf("sending A-RELEASE-RQ: %w", err))
	}
	for {
		t, b, err := a.readPDU(a.artim)
		if err != nil {
			return ctxErr(ctx, fmt.Errorf("waiting for A-RELEASE-RP: %w", err))
		}
		switch t {
		case pduReleaseRP:
			return nil
		case pduAbort:
			return &AbortedError{Source: b[2], Reason: b[3]}
		case pduDataTF:
			// The peer may still finish a message it was sending
			// (PS3.8 9.1.3); nothing here waits for one.
			continue
		case pduReleaseRQ:
			// Release collision (PS3.8 9.2.2.3): the requestor answers.
			if err := a.write(encodeRelease(pduReleaseRP)); err != nil {
				return fmt.Errorf("answering A-RELEASE-RQ: %w", err)
			}
			continue
		}
		a.abort(AbortSourceProvider, AbortUnexpectedPDU)
		return fmt.Errorf("waiting for A-RELEASE-RP: unexpected %s", pduName(t))
	}
}

// pdv is a presentation data value being read.
type pdv struct {
	ctx     byte
	command bool
	last    bool
	data    []byte
}

// nextPDV returns the next PDV of the association, reading a P-DATA-TF
// when the last one is used up. Between PDUs, an A-RELEASE-RQ is
// ErrReleased when atMessageStart, an A-ABORT an *AbortedError.
func (a *Assoc) nextPDV(atMessageStart bool) (pdv, error) {
	for a.pduOff >= len(a.pdu) {
		t, b, err := a.readPDU(a.idle)
		if err != nil {
			return pdv{}, err
		}
		switch t {
		case pduDataTF:
			if len(b) == 0 {
				return pdv{}, malformed("P-DATA-TF", 0, "no PDV")
			}
			a.pdu, a.pduOff = b, 0
		case pduReleaseRQ:
			if !atMessageStart {
				return pdv{}, malformed("A-RELEASE-RQ", 0, "in the middle of a message")
			}
			return pdv{}, ErrReleased
		case pduAbort:
			a.close()
			return pdv{}, &AbortedError{Source: b[2], Reason: b[3]}
		default:
			return pdv{}, malformed(pduName(t), 0, "unexpected on an established association")
		}
	}
	b, off := a.pdu[a.pduOff:], pduHeaderLen+a.pduOff
	if len(b) < 6 {
		return pdv{}, malformed("P-DATA-TF", off, "PDV header truncated")
	}
	n := binary.BigEndian.Uint32(b)
	if n < 2 || uint64(n) > uint64(len(b)-4) {
		return pdv{}, malformed("P-DATA-TF", off, "PDV length %d outside 2..%d", n, len(b)-4)
	}
	p := pdv{ctx: b[4], command: b[5]&1 != 0, last: b[5]&2 != 0, data: b[6 : 4+n]}
	if b[5]&^3 != 0 {
		return pdv{}, malformed("P-DATA-TF", off+5, "message control header %02XH", b[5])
	}
	if _, ok := a.contexts[p.ctx]; !ok {
		return pdv{}, malformed("P-DATA-TF", off+4, "presentation context %d not accepted", p.ctx)
	}
	a.pduOff += 4 + int(n)
	return p, nil
}

// Message is a DIMSE message received: its command, and its data set, if
// any, streamed from the association. Data must be read to its end (or the
// message discarded with Discard) before the next message is read.
type Message struct {
	Command *Command
	Context Context
	Data    io.Reader // nil without a data set
}

// readMessage reads the next message's command set and returns it with a
// reader of its data set.
func (a *Assoc) readMessage() (*Message, error) {
	var cmd []byte
	var ctxID byte
	first := true
	for {
		p, err := a.nextPDV(first)
		if err != nil {
			return nil, err
		}
		if !p.command {
			return nil, malformed("P-DATA-TF", 0, "data PDV where a command was expected")
		}
		if !first && p.ctx != ctxID {
			return nil, malformed("P-DATA-TF", 0, "command fragment on context %d, not %d", p.ctx, ctxID)
		}
		ctxID, first = p.ctx, false
		if len(cmd)+len(p.data) > MaxCommandSet {
			return nil, fmt.Errorf("command set: %w: length exceeds maximum %d", ErrMalformed, MaxCommandSet)
		}
		cmd = append(cmd, p.data...)
		if p.last {
			break
		}
	}
	c, err := DecodeCommand(cmd)
	if err != nil {
		return nil, err
	}
	m := &Message{Command: c, Context: a.contexts[ctxID]}
	if c.HasDataSet {
		m.Data = &dataReader{a: a, ctx: ctxID}
	}
	return m, nil
}

// dataReader reads a data set's PDVs.
type dataReader struct {
	a    *Assoc
	ctx  byte
	cur  []byte
	last bool
	err  error
}

func (r *dataReader) Read(b []byte) (int, error) {
	for len(r.cur) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		if r.last {
			return 0, io.EOF
		}
		p, err := r.a.nextPDV(false)
		if err != nil {
			r.err = err
			return 0, err
		}
		if p.command || p.ctx != r.ctx {
			r.err = malformed("P-DATA-TF", 0, "a command PDV or another context (%d) inside a data set", p.ctx)
			return 0, r.err
		}
		r.cur, r.last = p.data, p.last
	}
	n := copy(b, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// drain reads the rest of a message's data set.
func drain(m *Message) error {
	if m.Data == nil {
		return nil
	}
	_, err := io.Copy(io.Discard, m.Data)
	return err
}

// fragment returns the largest PDV fragment that fits the peer's maximum
// P-DATA-TF length, one PDV a PDU.
func (a *Assoc) fragment() int {
	max := a.maxSend
	if max == 0 || max > DefaultMaxPDU {
		max = DefaultMaxPDU
	}
	return int(max) - 6
}

// pdvWriter writes a command or data set as PDVs of one context, one PDU
// each, holding back one fragment so that the last can be flagged.
type pdvWriter struct {
	a       *Assoc
	ctx     byte
	control byte   // 1 for a command
	buf     []byte // PDU header, PDV header, fragment
	max     int
	err     error
}

const pdvHeaderLen = pduHeaderLen + 6

func (a *Assoc) newWriter(ctx byte, command bool) *pdvWriter {
	w := &pdvWriter{a: a, ctx: ctx, max: a.fragment()}
	if command {
		w.control = 1
	}
	w.buf = make([]byte, pdvHeaderLen, pdvHeaderLen+min(w.max, 64<<10))
	return w
}

func (w *pdvWriter) Write(b []byte) (int, error) {
	n := 0
	for len(b) > 0 {
		if w.err != nil {
			return n, w.err
		}
		if len(w.buf) == pdvHeaderLen+w.max {
			w.flush(false)
			continue
		}
		k := min(len(b), pdvHeaderLen+w.max-len(w.buf))
		w.buf = append(w.buf, b[:k]...)
		b, n = b[k:], n+k
	}
	return n, w.err
}

// ReadFrom fills fragments straight from r, without an extra copy.
func (w *pdvWriter) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for w.err == nil {
		if len(w.buf) == pdvHeaderLen+w.max {
			w.flush(false)
			continue
		}
		if cap(w.buf) < pdvHeaderLen+w.max {
			nb := make([]byte, len(w.buf), pdvHeaderLen+w.max)
			copy(nb, w.buf)
			w.buf = nb
		}
		k, err := r.Read(w.buf[len(w.buf) : pdvHeaderLen+w.max])
		w.buf = w.buf[:len(w.buf)+k]
		total += int64(k)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
	return total, w.err
}

func (w *pdvWriter) flush(last bool) {
	if w.err != nil {
		return
	}
	n := len(w.buf) - pdvHeaderLen
	b := w.buf
	b[0], b[1] = pduDataTF, 0
	binary.BigEndian.PutUint32(b[2:], uint32(n+6))
	binary.BigEndian.PutUint32(b[6:], uint32(n+2))
	b[10] = w.ctx
	b[11] = w.control
	if last {
		b[11] |= 2
	}
	w.err = w.a.write(b)
	w.buf = w.buf[:pdvHeaderLen]
}

// Close sends the last fragment.
func (w *pdvWriter) Close() error {
	w.flush(true)
	return w.err
}

// sendCommand sends a command set on context ctx.
func (a *Assoc) sendCommand(ctx byte, c *Command) error {
	w := a.newWriter(ctx, true)
	w.Write(c.Encode())
	if err := w.Close(); err != nil {
		return fmt.Errorf("sending command %04XH: %w", c.Field, err)
	}
	return nil
}

func (a *Assoc) nextMessageID() uint16 {
	a.msgID++
	if a.msgID == 0 {
		a.msgID = 1
	}
	return a.msgID
}
