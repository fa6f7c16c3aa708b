package receive

import (
	"context"
	"errors"
	"fmt"

	"imageshare/audit"
	"imageshare/study"
	"imageshare/transfer"
)

// Quarantined: a study refused after it arrived (Mismatch) was renamed
// out of reach of a folder-watching import, into Dir; or, if it could not
// be (Err set), it stays where it was, in Dir, and must not be imported.
type Quarantined struct {
	Dir string `json:"dir"`
	Err string `json:"error,omitempty"`
}

// EventType names the event in JSON.
func (*Quarantined) EventType() string { return "quarantined" }

var _ ImportEvent = (*Quarantined)(nil)

// CheckArrived is what a study must pass, whole and verified, before it
// is moved into place and the sender told: every file matched its hash,
// but the hashes came from the sender's manifest, so the headers must
// also be the study staff were shown. A study that is not is refused
// (RefuseMismatch: a Mismatch event and a security alert in trail) and
// renamed out of reach of a folder-watching import (Quarantine: a
// Quarantined event). One that is gets its record. A face sets
// Options.CheckArrived to a function that calls it with its events.
func CheckArrived(ctx context.Context, a *Arrived, trail *audit.Trail, events func(ImportEvent)) error {
	if events == nil {
		events = func(ImportEvent) {}
	}
	m := a.Manifest
	if err := study.CheckReceived(ctx, a.Dir, m.Studies, ManifestExpected(m)); err != nil {
		var mismatch *study.MismatchError
		if errors.As(err, &mismatch) {
			events(RefuseMismatch(trail, mismatch, a.Me, a.From, a.OfferID))
			if refused, rerr := Quarantine(a.Dir); rerr == nil {
				events(&Quarantined{Dir: refused})
			} else {
				events(&Quarantined{Dir: a.Dir, Err: rerr.Error()})
			}
		}
		return err
	}
	if err := NewRecord(m).Write(a.Dir); err != nil {
		return fmt.Errorf("%w: %v", transfer.ErrDisk, err)
	}
	return nil
}
