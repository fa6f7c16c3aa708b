package sending

import (
	"context"
	"fmt"
	"time"

	"imageshare/send"
	"imageshare/spool"
	"imageshare/study"
	"imageshare/transfer"
)

// progress is what the serve's events said of an offer since the station
// started.
type progress struct {
	connected bool  // a receiver opened the offer
	stored    int64 // one whole copy of its sealed chunks
	sent      int64 // sealed bytes sent, in all
	receipts  int
	refused   int
}

// servingView says who serves the spool's offers.
type servingView struct {
	State  string   `json:"state"` // starting, serving, other, failed
	Text   string   `json:"text,omitempty"`
	PeerID string   `json:"peer_id,omitempty"`
	Addrs  []string `json:"addrs,omitempty"`
}

// note is something staff should know: a warning, a refused peer.
type note struct {
	Time  time.Time `json:"time"`
	Level string    `json:"level"` // warning, alert
	Text  string    `json:"text"`
}

// offerView is an offer as the page lists it.
type offerView struct {
	ID           string    `json:"id"`
	State        string    `json:"state"` // waiting, connected, fetching, delivered, expired, revoked, used, locked
	StateText    string    `json:"state_text"`
	Percent      int       `json:"percent"` // of one copy sent; -1 when nothing is being sent
	Live         bool      `json:"live"`
	Patient      string    `json:"patient"`
	PatientID    string    `json:"patient_id"`
	Study        string    `json:"study"`
	Created      time.Time `json:"created"`
	Expires      time.Time `json:"expires"`
	Downloads    int       `json:"downloads"`
	MaxDownloads int       `json:"max_downloads"`
	Receipts     int       `json:"receipts"`
	Keep         bool      `json:"keep"`
	Passcode     bool      `json:"passcode"`
	Card         bool      `json:"card"` // this station holds its image
}

// state is the page's live state (api/state).
type state struct {
	Serving servingView `json:"serving"`
	Offers  []offerView `json:"offers"`
	Sends   []job       `json:"sends"`
	Notes   []note      `json:"notes"`
	Error   string      `json:"error,omitempty"`
}

const (
	shownOffers = 50 // the newest offers listed
	shownNotes  = 10
	// publishGap spaces the states published while chunks fly, so that a
	// poll is not answered for every chunk.
	publishGap = 300 * time.Millisecond
	// refresh republishes the state now and then, for the offers that
	// expire while nothing else happens.
	refresh = 15 * time.Second
)

// event follows the events of the spool's serve.
func (p *Page) event(e send.Event) {
	p.mu.Lock()
	pr := func(id string) *progress {
		if p.live[id] == nil {
			p.live[id] = &progress{}
		}
		return p.live[id]
	}
	switch e := e.(type) {
	case send.Serving:
		p.serving = servingView{State: "serving", PeerID: e.PeerID, Addrs: e.Addrs}
	case send.Stopped:
		p.serving = servingView{State: "starting"}
	case send.Manifest:
		g := pr(e.OfferID)
		g.connected, g.stored = true, e.StoredBytes
	case send.Sent:
		pr(e.OfferID).sent += e.Bytes
	case send.Receipt:
		pr(e.OfferID).receipts++
	case send.Refused:
		pr(e.OfferID).refused++
		p.addNote("alert", fmt.Sprintf("A peer was refused for offer %s: %s", e.OfferID, e.Reason))
	case send.Locked:
		p.addNote("alert", fmt.Sprintf("Offer %s is LOCKED after %d failed attempts to open it: it serves no one now. If the receiving hospital mistyped the passcode, run sender unlock %s; otherwise send the study again with a new card.",
			e.OfferID, e.FailedProofs, e.OfferID))
	case send.Damaged:
		p.addNote("alert", fmt.Sprintf("Offer %s is damaged in the spool (%s): send the study again.", e.OfferID, e.Message))
	case send.Warning:
		p.addNote("warning", e.Message)
	case send.Relay:
		if !e.Reserved {
			p.addNote("warning", fmt.Sprintf("relay %s: %s; trying again", e.Relay, e.Error))
		}
	case send.Ended:
		if id, err := transfer.ParseOfferID(e.OfferID); err == nil {
			delete(p.cards, id)
		}
	}
	p.mu.Unlock()
	p.changed()
}

func (p *Page) note(level, text string) {
	p.mu.Lock()
	p.addNote(level, text)
	p.mu.Unlock()
	p.changed()
}

func (p *Page) addNote(level, text string) {
	p.notes = append(p.notes, note{Time: time.Now(), Level: level, Text: text})
	if len(p.notes) > shownNotes {
		p.notes = p.notes[len(p.notes)-shownNotes:]
	}
}

func (p *Page) setServing(v servingView) {
	p.mu.Lock()
	p.serving = v
	p.mu.Unlock()
	p.changed()
}

// changed asks the publisher for a new state.
func (p *Page) changed() {
	select {
	case p.touch <- struct{}{}:
	default:
	}
}

// publisher publishes the state when it changed, publishGap apart at
// most, and every refresh, until ctx is done.
func (p *Page) publisher(ctx context.Context) {
	t := time.NewTicker(refresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.touch:
		case <-t.C:
		}
		p.publish()
		select {
		case <-ctx.Done():
			return
		case <-time.After(publishGap):
		}
	}
}

// publish sets the board to the state as it is now.
func (p *Page) publish() {
	var st state
	recs, err := p.cfg.Spool.List()
	if err != nil {
		st.Error = "The spool cannot be read: " + err.Error()
	}
	if len(recs) > shownOffers {
		recs = recs[:shownOffers]
	}
	now := time.Now()
	p.mu.Lock()
	st.Serving = p.serving
	for _, r := range recs {
		st.Offers = append(st.Offers, p.view(r, now))
	}
	for i := len(p.jobs) - 1; i >= 0; i-- {
		st.Sends = append(st.Sends, *p.jobs[i])
	}
	st.Notes = append(st.Notes, p.notes...)
	p.mu.Unlock()
	p.board.Set(st)
}

// view is an offer as the page lists it: its record, and what the serve's
// events said of it.
func (p *Page) view(r *spool.Record, now time.Time) offerView {
	v := offerView{ID: r.ID.String(), Patient: study.FormatName(r.PatientName), PatientID: r.PatientID,
		Study: study.FormatDate(r.StudyDate) + " " + r.Description, Created: r.Created, Expires: r.Expires,
		Downloads: r.Downloads(), MaxDownloads: r.MaxDownloads, Receipts: len(r.Receipts), Keep: r.Keep,
		Passcode: r.Passcode, Card: p.cards[r.ID] != nil, Percent: -1}
	g := p.live[v.ID]
	if g == nil {
		g = &progress{}
	}
	switch st := r.State(now); {
	case st == spool.Revoked:
		v.State, v.StateText = "revoked", "Revoked: the card no longer works."
	case st == spool.UsedUp || (st == spool.Live && v.Receipts > 0):
		v.State, v.StateText = "delivered", fmt.Sprintf("Delivered: the receiving hospital confirmed every file arrived verified (%d receipt(s)).", v.Receipts)
		if st == spool.Live {
			v.StateText += fmt.Sprintf(" The card still works, up to %d downloads.", r.MaxDownloads)
		} else if v.Receipts == 0 {
			v.StateText = fmt.Sprintf("Used: %d download(s), no receipt.", v.Downloads)
		}
	case st == spool.Expired:
		v.State, v.StateText = "expired", "Expired: no receiver confirmed receipt before the card's time ran out."
	case r.Locked:
		v.State, v.StateText = "locked", "Locked after too many failed attempts to open it (sender unlock, or a new card)."
	case g.connected && g.sent > 0:
		v.State = "fetching"
		if g.stored > 0 {
			v.Percent = min(int(g.sent*100/g.stored), 100)
		}
		v.StateText = fmt.Sprintf("Sending to the receiving hospital: %d%%.", max(v.Percent, 0))
	case g.connected:
		v.State, v.StateText = "connected", "The receiving hospital opened the card."
	default:
		v.State, v.StateText = "waiting", "Waiting for the receiving hospital to read the card."
	}
	v.Live = r.State(now) == spool.Live
	return v
}
