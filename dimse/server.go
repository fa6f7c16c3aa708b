package dimse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Allow names a calling AE title allowed to associate, and the host it
// must call from: an IP address, a host name (looked up for each
// association), or "" for any host.
type Allow struct {
	AETitle string
	Host    string
}

// ParseAllow parses "AET@HOST" or "AET".
func ParseAllow(s string) (Allow, error) {
	ae, host, _ := strings.Cut(s, "@")
	if err := checkAE(ae); err != nil {
		return Allow{}, fmt.Errorf("allowed caller %q: %w", s, err)
	}
	return Allow{AETitle: ae, Host: host}, nil
}

// DefaultMaxAssociations bounds the associations a Server serves at once.
const DefaultMaxAssociations = 16

// Server is a service class provider: it accepts associations from the
// callers it allows, answers C-ECHO, and hands C-STORE data sets to Store.
// Its fields must not change while it serves.
type Server struct {
	// AETitle is the called AE title answered; a request for another is
	// rejected (called AE title not recognized).
	AETitle string
	// Allow lists the callers accepted; every other gets an
	// A-ASSOCIATE-RJ (rejected-permanent, calling AE title not
	// recognized).
	Allow []Allow
	// Policy says which presentation contexts are accepted.
	Policy Policy
	// Store receives C-STORE data sets; nil refuses them (status 0122).
	Store StoreHandler
	// MaxAssociations bounds the associations served at once (default
	// DefaultMaxAssociations); beyond it, callers are rejected
	// transiently (local limit exceeded).
	MaxAssociations int
	// MaxPDU is the maximum P-DATA-TF length announced (default
	// DefaultMaxPDU).
	MaxPDU uint32
	// ARTIM bounds the wait for the association request and the end of
	// a release (default DefaultARTIM); Idle the wait for any other PDU
	// (default DefaultIdle).
	ARTIM, Idle time.Duration
	// Events, if not nil, is told what happens; it is called from the
	// goroutines of several associations at once.
	Events func(Event)
}

// StoreRequest is a C-STORE request received.
type StoreRequest struct {
	Peer
	SOPClassUID       string
	SOPInstanceUID    string
	TransferSyntaxUID string // negotiated: the data set's encoding
	Priority          uint16
	MoveOriginatorAE  string
	MoveOriginatorID  uint16
}

// StoreHandler stores a C-STORE data set. It returns where it stored it,
// or an error: a *StatusError gives the status answered; any other error
// is answered A700 (out of resources). A handler need not read data to
// its end.
type StoreHandler interface {
	HandleStore(ctx context.Context, req *StoreRequest, data io.Reader) (path string, err error)
}

// StatusError is a DIMSE status other than success or a warning.
type StatusError struct {
	Status uint16
	Err    error
}

func (e *StatusError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("status %04XH", e.Status)
	}
	return fmt.Sprintf("status %04XH: %v", e.Status, e.Err)
}

func (e *StatusError) Unwrap() error { return e.Err }

func (s *Server) emit(e Event) {
	if s.Events != nil {
		s.Events(e)
	}
}

// Serve accepts associations on ln until ctx is done, then aborts those
// in progress, waits for them and returns nil; or returns ln's error.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	if err := checkAE(s.AETitle); err != nil {
		return fmt.Errorf("server %w", err)
	}
	if s.MaxPDU != 0 && s.MaxPDU < MinMaxPDU {
		return fmt.Errorf("server maximum PDU length %d below %d", s.MaxPDU, MinMaxPDU)
	}
	n := s.MaxAssociations
	if n <= 0 {
		n = DefaultMaxAssociations
	}
	serving := make(chan struct{}, n)
	refusing := make(chan struct{}, n)
	var wg sync.WaitGroup
	defer wg.Wait()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return fmt.Errorf("accepting DICOM associations: %w", err)
		}
		select {
		case serving <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				var once sync.Once
				free := func() { once.Do(func() { <-serving }) }
				defer free()
				s.serve(ctx, conn, free)
			}()
			continue
		default:
		}
		select {
		case refusing <- struct{}{}:
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-refusing }()
				s.refuseBusy(conn)
			}()
		default:
			conn.Close()
		}
	}
}

// refuseBusy rejects a caller beyond MaxAssociations, without reading its
// request.
func (s *Server) refuseBusy(conn net.Conn) {
	defer conn.Close()
	conn.SetWriteDeadline(time.Now().Add(time.Second))
	conn.Write(encodeReject(RejectTransient, SourceProviderPresent, ReasonLocalLimitExceeded))
	s.emit(&AssociationRejected{Peer: Peer{Addr: conn.RemoteAddr().String()}, Reason: rejectReason(SourceProviderPresent, ReasonLocalLimitExceeded)})
}

// serve runs one association, from its request to its end. free gives
// its serving slot back: it is called before the association's last event
// (released, aborted, rejected), so that whoever sees that event can
// associate again at once.
func (s *Server) serve(ctx context.Context, conn net.Conn, free func()) {
	a := &Assoc{
		conn:     conn,
		br:       bufio.NewReaderSize(conn, 64<<10),
		peerAddr: conn.RemoteAddr().String(),
		contexts: map[byte]Context{},
		maxRecv:  orDefault(s.MaxPDU, DefaultMaxPDU),
		idle:     orDefaultDuration(s.Idle, DefaultIdle),
		artim:    orDefaultDuration(s.ARTIM, DefaultARTIM),
		ended:    free,
	}
	defer a.close()
	defer a.watch(ctx)()
	peer := Peer{Addr: a.peerAddr}
	aborted := func(reason string, err error) {
		if err != nil {
			reason = fmt.Sprintf("%s: %v", reason, err)
		}
		s.end(a, &AssociationAborted{Peer: peer, Reason: reason})
	}

	t, b, err := a.readPDU(a.artim)
	if err != nil {
		if isTimeout(err) {
			a.abort(AbortSourceProvider, AbortNotSpecified)
			aborted("no A-ASSOCIATE-RQ within the ARTIM timeout", nil)
			return
		}
		a.abort(AbortSourceProvider, abortReasonOf(err))
		aborted("reading A-ASSOCIATE-RQ", err)
		return
	}
	if t != pduAssociateRQ {
		a.abort(AbortSourceProvider, AbortUnexpectedPDU)
		aborted(pduName(t)+" where an A-ASSOCIATE-RQ was expected", nil)
		return
	}
	rq, err := decodeAssociate(t, b)
	if errors.Is(err, errProtocolVersion) {
		s.reject(a, peer, RejectPermanent, SourceProviderACSE, ReasonProtocolVersion)
		return
	}
	if err != nil {
		a.abort(AbortSourceProvider, abortReasonOf(err))
		aborted("reading A-ASSOCIATE-RQ", err)
		return
	}
	peer.CallingAE, peer.CalledAE = rq.CallingAE, rq.CalledAE
	a.calling, a.called = rq.CallingAE, rq.CalledAE
	a.peerImplUID, a.peerImplVersion = rq.ImplementationUID, rq.ImplementationVersion
	switch {
	case rq.ApplicationContext != ApplicationContext:
		s.reject(a, peer, RejectPermanent, SourceUser, ReasonApplicationContext)
		return
	case rq.CalledAE != s.AETitle:
		s.reject(a, peer, RejectPermanent, SourceUser, ReasonCalledAENotRecognized)
		return
	case !s.allowed(ctx, rq.CallingAE, conn.RemoteAddr()):
		s.reject(a, peer, RejectPermanent, SourceUser, ReasonCallingAENotRecognized)
		return
	case rq.MaxLength != 0 && rq.MaxLength < MinMaxPDU:
		a.abort(AbortSourceProvider, AbortInvalidParam)
		aborted(fmt.Sprintf("maximum PDU length %d below %d", rq.MaxLength, MinMaxPDU), nil)
		return
	}
	a.maxSend = rq.MaxLength
	ac := &associate{
		CalledAE:              rq.CalledAE,
		CallingAE:             rq.CallingAE,
		ApplicationContext:    ApplicationContext,
		MaxLength:             a.maxRecv,
		ImplementationUID:     ImplementationClassUID,
		ImplementationVersion: ImplementationVersionName,
	}
	for _, c := range rq.Contexts {
		ans := s.Policy.Accept(c)
		if _, dup := a.contexts[c.ID]; dup || c.ID%2 == 0 {
			ans.Result, ans.TransferSyntaxes = NoReason, c.TransferSyntaxes[:1]
		}
		ac.Contexts = append(ac.Contexts, ans)
		if ans.Result == Acceptance {
			a.contexts[c.ID] = ans
		}
	}
	if err := a.write(ac.encode(pduAssociateAC)); err != nil {
		aborted("sending A-ASSOCIATE-AC", err)
		return
	}
	s.emit(&AssociationAccepted{Peer: peer, Contexts: len(a.contexts)})

	for {
		m, err := a.readMessage()
		var ab *AbortedError
		switch {
		case err == nil:
		case errors.Is(err, ErrReleased):
			a.write(encodeRelease(pduReleaseRP))
			a.waitClose()
			s.end(a, &AssociationReleased{Peer: peer})
			return
		case errors.As(err, &ab):
			s.end(a, &AssociationAborted{Peer: peer, ByPeer: true, Reason: ab.Error()})
			return
		case errors.Is(err, io.EOF):
			aborted("connection closed without a release", nil)
			return
		case ctx.Err() != nil:
			a.abort(AbortSourceProvider, AbortNotSpecified)
			aborted("server stopping", nil)
			return
		case isTimeout(err):
			a.abort(AbortSourceProvider, AbortNotSpecified)
			aborted(fmt.Sprintf("idle for %v", a.idle), nil)
			return
		default:
			a.abort(AbortSourceProvider, abortReasonOf(err))
			aborted("reading a message", err)
			return
		}
		if err := s.dispatch(ctx, a, peer, m); err != nil {
			if errors.As(err, &ab) {
				s.end(a, &AssociationAborted{Peer: peer, ByPeer: true, Reason: ab.Error()})
				return
			}
			a.abort(AbortSourceProvider, abortReasonOf(err))
			aborted(fmt.Sprintf("in %04XH message", m.Command.Field), err)
			return
		}
	}
}

// reject sends an A-ASSOCIATE-RJ and waits (ARTIM) for the peer to close.
func (s *Server) reject(a *Assoc, peer Peer, result, source, reason byte) {
	a.write(encodeReject(result, source, reason))
	a.waitClose()
	s.end(a, &AssociationRejected{Peer: peer, Reason: rejectReason(source, reason)})
}

// end reports an association's last event, once its serving slot is free.
func (s *Server) end(a *Assoc, e Event) {
	if a.ended != nil {
		a.ended()
	}
	s.emit(e)
}

// waitClose waits, at most ARTIM, for the peer to close the connection
// after a release or a rejection (PS3.8 9.2.3, state Sta13).
func (a *Assoc) waitClose() {
	a.conn.SetReadDeadline(time.Now().Add(a.artim))
	io.Copy(io.Discard, io.LimitReader(a.br, 1<<20))
}

func (s *Server) allowed(ctx context.Context, ae string, addr net.Addr) bool {
	ip := ""
	if ta, ok := addr.(*net.TCPAddr); ok {
		ip = ta.IP.String()
	}
	for _, al := range s.Allow {
		if al.AETitle != ae {
			continue
		}
		if al.Host == "" || al.Host == ip {
			return true
		}
		if net.ParseIP(al.Host) != nil {
			continue
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		addrs, err := net.DefaultResolver.LookupHost(lctx, al.Host)
		cancel()
		if err == nil && slices.Contains(addrs, ip) {
			return true
		}
	}
	return false
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// abortReasonOf maps an error to the A-ABORT reason sent for it.
func abortReasonOf(err error) byte {
	var pe *PDUError
	if errors.As(err, &pe) && strings.HasPrefix(pe.PDU, "PDU type") {
		return AbortUnrecognizedPDU
	}
	if errors.Is(err, ErrMalformed) {
		return AbortInvalidParam
	}
	return AbortNotSpecified
}

// dispatch answers one message. An error is a protocol error: the caller
// aborts the association.
func (s *Server) dispatch(ctx context.Context, a *Assoc, peer Peer, m *Message) error {
	c := m.Command
	rsp := &Command{
		Field:                  c.Field | 0x8000,
		MessageIDRespondedTo:   c.MessageID,
		AffectedSOPClassUID:    c.AffectedSOPClassUID,
		AffectedSOPInstanceUID: c.AffectedSOPInstanceUID,
	}
	switch c.Field {
	case CEchoRQ:
		if err := drain(m); err != nil {
			return err
		}
		rsp.Status = StatusSuccess
		if err := a.sendCommand(m.Context.ID, rsp); err != nil {
			return err
		}
		s.emit(&Echoed{Peer: peer})
		return nil
	case CStoreRQ:
		if m.Data == nil {
			return fmt.Errorf("C-STORE-RQ: %w: no data set", ErrMalformed)
		}
		err := s.store(ctx, peer, m)
		var se *StatusError
		switch {
		case err == nil:
			rsp.Status = StatusSuccess
		case errors.As(err, &se):
			rsp.Status = se.Status
		default:
			return err
		}
		return a.sendCommand(m.Context.ID, rsp)
	}
	if c.isResponse() {
		return fmt.Errorf("%w: unexpected response %04XH", ErrMalformed, c.Field)
	}
	if err := drain(m); err != nil {
		return err
	}
	rsp.Status = StatusUnrecognizedOperation
	return a.sendCommand(m.Context.ID, rsp)
}

// store runs the Store handler on a C-STORE-RQ. A *StatusError is what to
// answer; any other error is the peer's, a reason to abort.
func (s *Server) store(ctx context.Context, peer Peer, m *Message) error {
	c := m.Command
	fail := func(status uint16, err error) error {
		if err == nil {
			err = fmt.Errorf("status %04XH", status)
		}
		if derr := drain(m); derr != nil {
			return derr
		}
		s.emit(&StoreFailed{Peer: peer, SOPInstanceUID: c.AffectedSOPInstanceUID, Status: status, Error: err.Error()})
		return &StatusError{Status: status, Err: err}
	}
	if c.AffectedSOPClassUID != m.Context.AbstractSyntax {
		return fail(StatusDataSetMismatch, fmt.Errorf("SOP class %s on a context for %s", c.AffectedSOPClassUID, m.Context.AbstractSyntax))
	}
	if s.Store == nil {
		return fail(StatusSOPClassNotSupported, errors.New("this node stores nothing"))
	}
	req := &StoreRequest{
		Peer:              peer,
		SOPClassUID:       c.AffectedSOPClassUID,
		SOPInstanceUID:    c.AffectedSOPInstanceUID,
		TransferSyntaxUID: m.Context.TransferSyntax(),
		Priority:          c.Priority,
		MoveOriginatorAE:  c.MoveOriginatorAE,
		MoveOriginatorID:  c.MoveOriginatorID,
	}
	dr := m.Data.(*dataReader)
	cr := &countingReader{r: dr}
	path, err := s.Store.HandleStore(ctx, req, cr)
	if dr.err != nil {
		// The peer broke the protocol inside the data set; whatever the
		// handler kept of it, it has removed.
		return fmt.Errorf("data set of %s: %w", c.AffectedSOPInstanceUID, dr.err)
	}
	if err != nil {
		var se *StatusError
		if !errors.As(err, &se) {
			se = &StatusError{Status: StatusOutOfResources, Err: err}
		}
		return fail(se.Status, se.Err)
	}
	if derr := drain(m); derr != nil {
		return derr
	}
	s.emit(&InstanceStored{
		Peer:              peer,
		SOPClassUID:       req.SOPClassUID,
		SOPInstanceUID:    req.SOPInstanceUID,
		TransferSyntaxUID: req.TransferSyntaxUID,
		Path:              path,
		Bytes:             cr.n,
	})
	return nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}
