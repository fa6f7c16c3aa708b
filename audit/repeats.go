package audit

import (
	"cmp"
	"slices"
	"time"
)

// Summaries of repeated failures.
const (
	// RepeatInterval is how long failures of one kind from one peer are
	// counted before their summary is written: the window in which the
	// sender rate-limits failed proofs.
	RepeatInterval = time.Minute
	// MaxRepeatPeers caps the pairs of a kind and a peer counted apart in
	// an interval; failures from further peers are counted together, by
	// kind, without their peers, so that a flood from ever new peer IDs is
	// bounded too.
	MaxRepeatPeers = 32
	// maxSummaryOffers caps the offers a summary lists.
	maxSummaryOffers = 8
)

// Aggregated reports whether repeats of e are counted into a summary rather
// than each written: a failed User Authentication or a Security Alert that
// is not informative, which a peer can cause once a stream. Successes and
// clinical events (an export, an import, instances transferred) are always
// written one by one.
func (e Event) Aggregated() bool {
	switch e.EventID.Code {
	case CodeSecurityAlert, CodeUserAuthentication:
		return e.Outcome != Success
	}
	return false
}

// IsApplicationStop reports whether e says that the application stopped.
func (e Event) IsApplicationStop() bool {
	return e.EventID.Code == CodeApplicationActivity && e.EventType != nil && *e.EventType == typeApplicationStop
}

// Repeats counts repeated failures, so that a peer that opens thousands of
// streams leaves a few lines in the trail and not thousands. The first
// failure of a kind from a peer in an interval is written at once; the
// repeats until the interval ends are counted, and then written as one
// summary: the first failure's event with "count" (how many events the
// summary stands for), "first" and "last" (their times) in its detail, and
// the offers they named as its objects. A kind is the event ID, type,
// alert, outcome and description; a peer its peer ID and address.
//
// Adding up Count over the lines of a trail gives the number of events
// recorded. Repeats is not safe for concurrent use.
type Repeats struct {
	interval time.Duration
	open     map[repeatKey]*repeat
	peers    int // open keys that name a peer, at most MaxRepeatPeers
}

type repeatKey struct {
	kind  kindKey
	peers string // the remote participants' roles, peer IDs and addresses; "" for other peers
}

type kindKey struct {
	id, typ, alert, description string
	outcome                     Outcome
}

type repeat struct {
	event       Event // the first failure
	until       time.Time
	count       int // events counted into the summary
	first, last time.Time
	offers      []Object
	unlisted    int  // counted events whose offer is not in offers
	otherPeers  bool // the key counts peers beyond MaxRepeatPeers
}

// NewRepeats returns a Repeats that counts over interval (RepeatInterval
// when 0).
func NewRepeats(interval time.Duration) *Repeats {
	if interval <= 0 {
		interval = RepeatInterval
	}
	return &Repeats{interval: interval, open: map[repeatKey]*repeat{}}
}

// Add notes e, which happened at now, and reports whether e is to be
// written: true for an event that is not Aggregated and for the first of
// its kind from its peer in an interval, false for a repeat, which is
// counted into a summary.
func (r *Repeats) Add(e Event, now time.Time) bool {
	if !e.Aggregated() {
		return true
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	k := repeatKey{kind: kindOf(e), peers: remotePeers(e)}
	if a, ok := r.open[k]; ok {
		a.add(e)
		return false
	}
	if r.peers >= MaxRepeatPeers {
		k.peers = ""
		if a, ok := r.open[k]; ok {
			a.add(e)
			return false
		}
		e = withoutPeers(e)
		r.open[k] = &repeat{event: e, until: now.Add(r.interval), otherPeers: true}
		return true
	}
	r.peers++
	r.open[k] = &repeat{event: e, until: now.Add(r.interval)}
	return true
}

// Missed counts e, which Add said to write but which was not written, into
// its summary, so that no failure goes uncounted.
func (r *Repeats) Missed(e Event, now time.Time) {
	if !e.Aggregated() {
		return
	}
	if e.Time.IsZero() {
		e.Time = now
	}
	k := repeatKey{kind: kindOf(e), peers: remotePeers(e)}
	a, ok := r.open[k]
	if !ok {
		k.peers = ""
		if a, ok = r.open[k]; !ok {
			return
		}
	}
	a.add(e)
}

// Due returns the summaries of the intervals that have ended by now, oldest
// first, and forgets those intervals: the next failure of their kind from
// their peer is written at once again.
func (r *Repeats) Due(now time.Time) []Event {
	return r.take(func(a *repeat) bool { return !now.Before(a.until) })
}

// Flush returns the summaries of all intervals, ended or not, and forgets
// them: for when the application stops.
func (r *Repeats) Flush() []Event {
	return r.take(func(*repeat) bool { return true })
}

func (r *Repeats) take(ended func(*repeat) bool) []Event {
	var done []*repeat
	for k, a := range r.open {
		if !ended(a) {
			continue
		}
		delete(r.open, k)
		if k.peers != "" {
			r.peers--
		}
		if a.count > 0 {
			done = append(done, a)
		}
	}
	slices.SortFunc(done, func(a, b *repeat) int { return cmp.Compare(a.until.UnixNano(), b.until.UnixNano()) })
	var out []Event
	for _, a := range done {
		out = append(out, a.summary())
	}
	return out
}

func (a *repeat) add(e Event) {
	if a.count == 0 || e.Time.Before(a.first) {
		a.first = e.Time
	}
	if a.count == 0 || e.Time.After(a.last) {
		a.last = e.Time
	}
	a.count++
	listed := true
	for _, o := range e.Objects {
		if slices.Contains(a.offers, o) {
			continue
		}
		if len(a.offers) < maxSummaryOffers {
			a.offers = append(a.offers, o)
		} else {
			listed = false
		}
	}
	if !listed {
		a.unlisted++
	}
}

// summary is the line that stands for the events counted in a.
func (a *repeat) summary() Event {
	e := a.event
	e.Time = a.last
	e.Objects = slices.Clone(a.offers)
	e = e.With("count", a.count).
		With("first", a.first.UTC().Format(timeLayout)).
		With("last", a.last.UTC().Format(timeLayout))
	if a.unlisted > 0 {
		e = e.With("offers_not_listed", a.unlisted)
	}
	if a.otherPeers {
		e = e.With("other_peers", true)
	}
	return e
}

func kindOf(e Event) kindKey {
	k := kindKey{id: e.EventID.Code, outcome: e.Outcome, description: e.OutcomeDescription}
	if e.EventType != nil {
		k.typ = e.EventType.Scheme + "/" + e.EventType.Code
	}
	k.alert, _ = e.Detail["alert"].(string)
	return k
}

// remotePeers names the participants other than the program that recorded
// e: the peer that failed.
func remotePeers(e Event) string {
	var s string
	for _, p := range e.Participants {
		if p.Program != "" {
			continue
		}
		s += string(p.Role) + "\x00" + p.PeerID + "\x00" + p.Address + "\x00"
	}
	if s == "" {
		s = "\x00" // no peer named, which is a peer of its own
	}
	return s
}

// withoutPeers returns e without what names the remote participants, for
// the summary of failures from peers beyond MaxRepeatPeers.
func withoutPeers(e Event) Event {
	parts := make([]Participant, len(e.Participants))
	for i, p := range e.Participants {
		if p.Program == "" {
			p = Participant{Role: p.Role, Requestor: p.Requestor}
		}
		parts[i] = p
	}
	e.Participants = parts
	return e
}

// isSummary reports whether e is a summary that Repeats wrote.
func (e Event) isSummary() bool {
	_, ok := e.Detail["count"]
	return ok && e.Aggregated()
}
