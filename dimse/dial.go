package dimse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"time"
)

// Dialer requests associations.
type Dialer struct {
	CallingAE string
	CalledAE  string
	// Contexts are proposed in order; IDs are assigned (1, 3, 5, …)
	// when left 0.
	Contexts []Context
	// Roles propose SCP/SCU role selections: a C-GET needs the SCP role
	// for the storage SOP classes it retrieves (see GetContexts).
	Roles []Role
	// MaxPDU is the maximum P-DATA-TF length this side takes
	// (default DefaultMaxPDU).
	MaxPDU uint32
	// ARTIM bounds the wait for the association's answer and the
	// release's (default DefaultARTIM); Idle the wait for any later PDU
	// (default DefaultIdle).
	ARTIM, Idle time.Duration
}

// Dial requests an association with the defaults of a Dialer.
func Dial(ctx context.Context, addr, callingAE, calledAE string, contexts []Context) (*Assoc, error) {
	d := &Dialer{CallingAE: callingAE, CalledAE: calledAE, Contexts: contexts}
	return d.Dial(ctx, addr)
}

// Dial connects to addr and requests an association. An A-ASSOCIATE-RJ is
// a *RejectedError.
func (d *Dialer) Dial(ctx context.Context, addr string) (*Assoc, error) {
	if err := checkAE(d.CallingAE); err != nil {
		return nil, fmt.Errorf("calling %w", err)
	}
	if err := checkAE(d.CalledAE); err != nil {
		return nil, fmt.Errorf("called %w", err)
	}
	if len(d.Contexts) == 0 || len(d.Contexts) > 128 {
		return nil, fmt.Errorf("%d presentation contexts proposed, not 1 to 128", len(d.Contexts))
	}
	rq := &associate{
		CalledAE:              d.CalledAE,
		CallingAE:             d.CallingAE,
		ApplicationContext:    ApplicationContext,
		MaxLength:             orDefault(d.MaxPDU, DefaultMaxPDU),
		ImplementationUID:     ImplementationClassUID,
		ImplementationVersion: ImplementationVersionName,
		Roles:                 d.Roles,
	}
	for _, r := range d.Roles {
		if r.SOPClassUID == "" || len(r.SOPClassUID) > 64 {
			return nil, fmt.Errorf("role selection for SOP class %q: not a UID", r.SOPClassUID)
		}
	}
	proposed := map[byte]Context{}
	for i, c := range d.Contexts {
		if c.ID == 0 {
			c.ID = byte(2*i + 1)
		}
		if c.ID%2 == 0 {
			return nil, fmt.Errorf("presentation context ID %d: not odd", c.ID)
		}
		if _, dup := proposed[c.ID]; dup {
			return nil, fmt.Errorf("presentation context ID %d proposed twice", c.ID)
		}
		if c.AbstractSyntax == "" || len(c.TransferSyntaxes) == 0 {
			return nil, fmt.Errorf("presentation context %d: no abstract or transfer syntax", c.ID)
		}
		proposed[c.ID] = c
		rq.Contexts = append(rq.Contexts, c)
	}
	if rq.MaxLength < MinMaxPDU {
		return nil, fmt.Errorf("maximum PDU length %d below %d", rq.MaxLength, MinMaxPDU)
	}

	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("connecting to %s: %w", addr, err)
	}
	a := &Assoc{
		conn:     conn,
		br:       bufio.NewReaderSize(conn, 64<<10),
		calling:  d.CallingAE,
		called:   d.CalledAE,
		peerAddr: conn.RemoteAddr().String(),
		contexts: map[byte]Context{},
		maxRecv:  rq.MaxLength,
		idle:     orDefaultDuration(d.Idle, DefaultIdle),
		artim:    orDefaultDuration(d.ARTIM, DefaultARTIM),
	}
	stop := a.watch(ctx)
	defer stop()
	if err := a.write(rq.encode(pduAssociateRQ)); err != nil {
		a.close()
		return nil, ctxErr(ctx, fmt.Errorf("sending A-ASSOCIATE-RQ to %s: %w", addr, err))
	}
	t, b, err := a.readPDU(a.artim)
	if err != nil {
		a.close()
		return nil, ctxErr(ctx, fmt.Errorf("waiting for %s's answer to A-ASSOCIATE-RQ: %w", addr, err))
	}
	switch t {
	case pduAssociateRJ:
		a.close()
		return nil, &RejectedError{Result: b[1], Source: b[2], Reason: b[3]}
	case pduAbort:
		a.close()
		return nil, &AbortedError{Source: b[2], Reason: b[3]}
	case pduAssociateAC:
	default:
		a.abort(AbortSourceProvider, AbortUnexpectedPDU)
		return nil, fmt.Errorf("answer of %s to A-ASSOCIATE-RQ: unexpected %s", addr, pduName(t))
	}
	ac, err := decodeAssociate(t, b)
	if err != nil {
		a.abort(AbortSourceProvider, AbortInvalidParam)
		return nil, fmt.Errorf("answer of %s: %w", addr, err)
	}
	if ac.ApplicationContext != ApplicationContext {
		a.abort(AbortSourceProvider, AbortInvalidParam)
		return nil, fmt.Errorf("answer of %s: application context %q", addr, ac.ApplicationContext)
	}
	if ac.MaxLength != 0 && ac.MaxLength < MinMaxPDU {
		a.abort(AbortSourceProvider, AbortInvalidParam)
		return nil, fmt.Errorf("answer of %s: maximum PDU length %d below %d", addr, ac.MaxLength, MinMaxPDU)
	}
	a.maxSend = ac.MaxLength
	a.peerImplUID, a.peerImplVersion = ac.ImplementationUID, ac.ImplementationVersion
	for _, r := range ac.Roles {
		// A role granted that was not proposed is not taken.
		for _, p := range d.Roles {
			if p.SOPClassUID == r.SOPClassUID {
				if a.roles == nil {
					a.roles = map[string]Role{}
				}
				a.roles[r.SOPClassUID] = Role{SOPClassUID: r.SOPClassUID, SCU: r.SCU && p.SCU, SCP: r.SCP && p.SCP}
			}
		}
	}
	for _, c := range ac.Contexts {
		p, ok := proposed[c.ID]
		if !ok {
			a.abort(AbortSourceProvider, AbortInvalidParam)
			return nil, fmt.Errorf("answer of %s: presentation context %d was not proposed", addr, c.ID)
		}
		if c.Result != Acceptance {
			continue
		}
		ts := c.TransferSyntax()
		if !slices.Contains(p.TransferSyntaxes, ts) {
			a.abort(AbortSourceProvider, AbortInvalidParam)
			return nil, fmt.Errorf("answer of %s: presentation context %d accepted with transfer syntax %s, not proposed", addr, c.ID, ts)
		}
		a.contexts[c.ID] = Context{ID: c.ID, AbstractSyntax: p.AbstractSyntax, TransferSyntaxes: []string{ts}}
	}
	if len(a.contexts) == 0 {
		a.Release(ctx)
		return nil, ErrNoContext
	}
	return a, nil
}

// ErrNoContext is returned by Dial when the peer accepted the association
// but none of its presentation contexts.
var ErrNoContext = errors.New("no presentation context accepted")

func orDefault(v, d uint32) uint32 {
	if v == 0 {
		return d
	}
	return v
}

func orDefaultDuration(v, d time.Duration) time.Duration {
	if v == 0 {
		return d
	}
	return v
}
