package dimse

import (
	"context"
	"fmt"

	"imageshare/internal/dataset"
)

// Retrieve names what a C-MOVE or C-GET of the Study Root model fetches:
// a study, or a series of it.
type Retrieve struct {
	Level             Level // StudyLevel or SeriesLevel
	StudyInstanceUID  string
	SeriesInstanceUID string // at SeriesLevel
}

func (r *Retrieve) identifier(ts dataset.Syntax) ([]byte, error) {
	if !validUID(r.StudyInstanceUID) {
		return nil, fmt.Errorf("study instance UID %q is not a UID", r.StudyInstanceUID)
	}
	id := &identifier{ts: ts}
	id.add(tagQueryRetrieveLevel, "CS", string(r.Level))
	id.add(tagStudyInstanceUID, "UI", r.StudyInstanceUID)
	switch r.Level {
	case StudyLevel:
	case SeriesLevel:
		if !validUID(r.SeriesInstanceUID) {
			return nil, fmt.Errorf("series instance UID %q is not a UID", r.SeriesInstanceUID)
		}
		id.add(tagSeriesInstanceUID, "UI", r.SeriesInstanceUID)
	default:
		return nil, fmt.Errorf("retrieve level %q, not STUDY or SERIES", r.Level)
	}
	return id.b, id.err
}

func (r *Retrieve) String() string {
	if r.Level == SeriesLevel {
		return "series " + r.SeriesInstanceUID
	}
	return "study " + r.StudyInstanceUID
}

// RetrieveProgress reports a pending C-MOVE or C-GET response: the
// sub-operations (C-STORE of each instance) so far.
type RetrieveProgress struct {
	Service     string `json:"service"` // "C-MOVE" or "C-GET"
	What        string `json:"what"`    // "study UID" or "series UID"
	Destination string `json:"destination,omitempty"`
	SubOps
}

func (*RetrieveProgress) EventType() string { return "dimse_retrieve_progress" }

// RetrieveError is the final status of a C-MOVE or C-GET that is not
// success: a failure, or the warning B000 (some sub-operations failed),
// with the counts of the final response.
type RetrieveError struct {
	Service     string
	What        string
	Destination string
	SubOps      SubOps
	Err         *StatusError
}

func (e *RetrieveError) Error() string {
	to := ""
	if e.Destination != "" {
		to = " to " + e.Destination
	}
	s := fmt.Sprintf("%s of %s%s: %v", e.Service, e.What, to, e.Err)
	switch e.Err.Status {
	case StatusMoveDestUnknown:
		s += fmt.Sprintf(" (move destination %s unknown to the peer)", e.Destination)
	case StatusSubOpsFailed:
		s += fmt.Sprintf(" (%d sub-operations failed, %d completed)", e.SubOps.Failed, e.SubOps.Completed)
	}
	return s
}

func (e *RetrieveError) Unwrap() error { return e.Err }

// Move sends a C-MOVE-RQ of the Study Root model asking the peer to store
// r's instances to the AE title dest, which it knows by its own
// configuration; they arrive on associations the peer opens, to a
// Server. Each pending response goes to progress (if not nil). It returns
// the final response's counts; a final status other than success is a
// *RetrieveError. A cancelled ctx sends a C-CANCEL-RQ.
func (a *Assoc) Move(ctx context.Context, r *Retrieve, dest string, progress func(*RetrieveProgress)) (SubOps, error) {
	if err := checkAE(dest); err != nil {
		return SubOps{}, fmt.Errorf("C-MOVE of %s: move destination %w", r, err)
	}
	pc, ok := a.ContextFor(StudyRootMove)
	if !ok {
		return SubOps{}, fmt.Errorf("C-MOVE: %w for Study Root Query/Retrieve - MOVE", ErrNoContext)
	}
	ident, err := r.identifier(dataset.SyntaxOf(pc.TransferSyntax()))
	if err != nil {
		return SubOps{}, fmt.Errorf("C-MOVE: %w", err)
	}
	rq := &Command{Field: CMoveRQ, MessageID: a.nextMessageID(), AffectedSOPClassUID: StudyRootMove, Priority: PriorityMedium, MoveDestination: dest, HasDataSet: true}
	return a.retrieve(ctx, "C-MOVE", r, dest, pc, rq, ident, progress, nil)
}

func (a *Assoc) retrieve(ctx context.Context, service string, r *Retrieve, dest string, pc Context, rq *Command, ident []byte, progress func(*RetrieveProgress), store func(*Message) (*Command, error)) (SubOps, error) {
	var last SubOps
	rsp, err := a.exchange(ctx, pc, rq, ident, func(m *Message) error {
		last = m.Command.SubOps
		if progress != nil {
			progress(&RetrieveProgress{Service: service, What: r.String(), Destination: dest, SubOps: m.Command.SubOps})
		}
		return nil
	}, store)
	if err != nil {
		return last, fmt.Errorf("%s of %s: %w", service, r, err)
	}
	if rsp.HasSubOps {
		last = rsp.SubOps
	}
	if rsp.Status != StatusSuccess {
		return last, &RetrieveError{Service: service, What: r.String(), Destination: dest, SubOps: last,
			Err: &StatusError{Status: rsp.Status, Err: errComment(rsp.ErrorComment)}}
	}
	return last, nil
}
