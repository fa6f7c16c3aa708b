package dimse

import (
	"context"
	"errors"
	"fmt"

	"imageshare/internal/dataset"
)

// GetContexts returns what a Dialer proposes for C-GET: the Study Root GET
// context, and for each storage SOP class a context in the transfer
// syntaxes ts (in order of preference) with the SCP role (PS3.4 C.4.3.1:
// the instances come back as C-STORE sub-operations on the same
// association, this side their SCP). The SOP classes must be known
// beforehand: a C-FIND at IMAGE level gives them.
func GetContexts(sopClasses []string, ts ...string) ([]Context, []Role) {
	if len(ts) == 0 {
		ts = []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian}
	}
	cs := []Context{{AbstractSyntax: StudyRootGet, TransferSyntaxes: []string{ExplicitVRLittleEndian, ImplicitVRLittleEndian}}}
	var roles []Role
	seen := map[string]bool{}
	for _, sop := range sopClasses {
		if seen[sop] {
			continue
		}
		seen[sop] = true
		cs = append(cs, Context{AbstractSyntax: sop, TransferSyntaxes: ts})
		roles = append(roles, Role{SOPClassUID: sop, SCP: true})
	}
	return cs, roles
}

// Get sends a C-GET-RQ of the Study Root model and stores the instances
// the peer sends back on this association with store, answering each
// C-STORE-RQ with its status, as a Server does; events (if not nil) is
// told of each InstanceStored or StoreFailed. Each pending C-GET response
// goes to progress (if not nil). It returns the final response's counts; a
// final status other than success is a *RetrieveError. A cancelled ctx
// sends a C-CANCEL-RQ.
func (a *Assoc) Get(ctx context.Context, r *Retrieve, store StoreHandler, events func(Event), progress func(*RetrieveProgress)) (SubOps, error) {
	pc, ok := a.ContextFor(StudyRootGet)
	if !ok {
		return SubOps{}, fmt.Errorf("C-GET: %w for Study Root Query/Retrieve - GET", ErrNoContext)
	}
	scp := false
	for _, role := range a.roles {
		scp = scp || role.SCP
	}
	if !scp {
		return SubOps{}, fmt.Errorf("C-GET of %s: %w", r, ErrNoSCPRole)
	}
	ident, err := r.identifier(dataset.SyntaxOf(pc.TransferSyntax()))
	if err != nil {
		return SubOps{}, fmt.Errorf("C-GET: %w", err)
	}
	s := &Server{Store: store, Events: events}
	peer := Peer{CallingAE: a.called, CalledAE: a.calling, Addr: a.peerAddr}
	rq := &Command{Field: CGetRQ, MessageID: a.nextMessageID(), AffectedSOPClassUID: StudyRootGet, Priority: PriorityMedium, HasDataSet: true}
	return a.retrieve(ctx, "C-GET", r, "", pc, rq, ident, progress, func(m *Message) (*Command, error) {
		c := m.Command
		if m.Data == nil {
			return nil, fmt.Errorf("C-STORE-RQ: %w: no data set", ErrMalformed)
		}
		rsp := &Command{
			Field:                  CStoreRSP,
			MessageIDRespondedTo:   c.MessageID,
			AffectedSOPClassUID:    c.AffectedSOPClassUID,
			AffectedSOPInstanceUID: c.AffectedSOPInstanceUID,
			Status:                 StatusSuccess,
		}
		var err error
		if !a.roles[m.Context.AbstractSyntax].SCP {
			// PS3.7 D.3.3.4: without the SCP role granted, this side
			// does not take C-STORE for the SOP class.
			err = s.refuse(peer, m, StatusSOPClassNotSupported, fmt.Errorf("SCP role for %s not negotiated", m.Context.AbstractSyntax))
		} else {
			err = s.store(ctx, peer, m)
		}
		var se *StatusError
		switch {
		case err == nil:
		case errors.As(err, &se):
			rsp.Status = se.Status
		default:
			return nil, err
		}
		return rsp, nil
	})
}

// ErrNoSCPRole is returned by Get when the peer granted the SCP role for
// no storage SOP class: it could send nothing back.
var ErrNoSCPRole = errors.New("the peer granted the SCP role for no storage SOP class (role selection, PS3.7 D.3.3.4)")

// refuse drains a C-STORE data set and reports it refused with status.
func (s *Server) refuse(peer Peer, m *Message, status uint16, err error) error {
	if derr := drain(m); derr != nil {
		return derr
	}
	s.emit(&StoreFailed{Peer: peer, SOPInstanceUID: m.Command.AffectedSOPInstanceUID, Status: status, Error: err.Error()})
	return &StatusError{Status: status, Err: err}
}
