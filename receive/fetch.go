package receive

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"golang.org/x/time/rate"

	"imageshare/audit"
	"imageshare/card"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/transfer"
)

// Options are what a fetch needs besides its card.
type Options struct {
	// Out is the folder studies are saved in; each in a folder of its own,
	// built in Out/.incoming and moved into Out once whole.
	Out string
	// Timeout is how long one attempt tries to reach the sender; a sender
	// that never answered is given up on after 3 × Timeout.
	Timeout time.Duration
	// RetryFor is how long to keep trying after a failure once the
	// sender has answered.
	RetryFor time.Duration
	// First are series (numbers or UIDs) to fetch before the others.
	First []string
	// MaxRate is the most bytes a second to fetch; 0 for no limit.
	MaxRate float64
	// Connections to the sender on a direct path: 1 or more.
	Connections int
	// Trail is the audit trail; nil records nothing.
	Trail *audit.Trail
	// FreeSpace tells the bytes free on the disk that holds a folder, and
	// whether it could; nil is study.FreeBytes.
	FreeSpace func(dir string) (uint64, bool)

	// Passcode is asked for the passcode of a card that needs one; nil
	// means none can be had (ErrPasscode).
	Passcode func() (string, error)
	// CheckOffer, if set, may refuse the study once it is reported
	// (Manifest event) and before anything is asked: e.g. local values
	// that cannot apply to it. Its error ends the fetch.
	CheckOffer func(m *transfer.Manifest) error
	// Confirm asks whether to fetch the study, once it is reported and
	// found to fit on the disk; nil fetches without asking. The time spent
	// in it is not counted in the fetch's seconds.
	Confirm func(m *transfer.Manifest) (bool, error)
	// CheckArrived, if set, is given the study whole and verified, still
	// in the incoming folder: an error keeps it out of place, and the
	// sender is not told it arrived. The faces call CheckArrived: every
	// header read again against what was shown, and the record written.
	CheckArrived func(ctx context.Context, a *Arrived) error

	// Tests only.
	isRelayed  func(network.Conn) bool // nil: discovery.IsRelayedConn
	retryDelay time.Duration           // the first wait between attempts; 1 s if 0
	noLAN      bool                    // no mDNS
	onAttempt  func(s *session)        // before each attempt's fetch of chunks
	clock      func() time.Time        // nil: time.Now
}

// Arrived is a study whole and verified, not yet in place.
type Arrived struct {
	Dir      string // in the incoming folder
	Manifest *transfer.Manifest
	OfferID  string
	Me, From audit.Participant // this receiver and the sender, for the audit trail
}

// Result is what a fetch that succeeded did.
type Result struct {
	Dir         string // the study's folder, in place
	Manifest    *transfer.Manifest
	OfferID     string
	Path        string // "direct", "relayed" or "hole-punched"
	Fetched     int64  // bytes over the network
	Reused      int64  // files' bytes found on disk verified already
	Attempts    int
	Connections int
	// Seconds is the time from the start of the fetch until the study
	// was in place, less the time spent waiting for staff (the passcode,
	// the question).
	Seconds     float64
	FirstSeries float64 // as Seconds, until the first series was complete; 0 if none
	Me, From    audit.Participant
}

// Summary is the fetch's summary event, without the face's import.
func (r *Result) Summary() Summary {
	m := r.Manifest
	uids := make([]string, len(m.Studies))
	for i, s := range m.Studies {
		uids[i] = s.StudyUID
	}
	return Summary{OfferID: r.OfferID, StudyUID: uids[0], StudyUIDs: uids, Files: len(m.Files), Bytes: m.TotalSize(),
		Fetched: r.Fetched, Reused: r.Reused, Dir: r.Dir, Path: r.Path, Seconds: r.Seconds, Verified: true,
		Attempts: r.Attempts, FirstSeries: r.FirstSeries, Connections: r.Connections}
}

// session is one card's fetch across its attempts: the state each step
// reads and leaves for the next.
type session struct {
	o      Options
	offer  *card.Offer
	keys   *icrypto.Keys
	h      host.Host
	lan    *discovery.LAN
	limit  *rate.Limiter
	emitMu sync.Mutex
	events func(Event)

	start  time.Time
	waited time.Duration // for staff: the passcode, the question

	// Connection.
	attempts   int
	reached    bool // the sender answered once
	wasRelayed bool
	path       string
	addr       string
	extra      []host.Host   // further connections' hosts
	direct     chan struct{} // a direct connection to the sender opened
	client     *transfer.Client

	// The study, once its manifest is fetched and accepted.
	m               *transfer.Manifest
	store           *transfer.Store
	fetched, reused int64
	done            int64 // network bytes verified, for Progress
	corrupt         map[int]int

	mu          sync.Mutex // OnFile runs on the fetch's goroutines
	seriesLeft  map[string]int
	firstSeries time.Duration

	me, from audit.Participant
}

// Fetch does one card's work: connect, prove, report the study and ask,
// fetch, verify, check, move into place, confirm receipt. A lost
// connection or a sender that restarts is retried with backoff for
// Options.RetryFor; a fetch run again into the same folder resumes,
// fetching only what is not on disk verified already. events, if not nil,
// is called with each event, one at a time.
func Fetch(ctx context.Context, o Options, offer *card.Offer, events func(Event)) (*Result, error) {
	if o.Connections < 1 {
		o.Connections = 1
	}
	if events == nil {
		events = func(Event) {}
	}
	s := &session{o: o, offer: offer, events: events,
		me: audit.Local("receiver", ""), from: audit.Participant{PeerID: offer.Peer.String()}}
	s.start = s.now()
	res, err := s.fetch(ctx)
	s.auditOutcome(err)
	return res, err
}

func (s *session) emit(e Event) {
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	s.events(e)
}

// elapsed is the time since the fetch began, less the time spent waiting
// for staff.
func (s *session) elapsed() time.Duration { return s.now().Sub(s.start) - s.waited }

func (s *session) now() time.Time {
	if s.o.clock != nil {
		return s.o.clock()
	}
	return time.Now()
}

// ask runs a question to staff, its time not counted in elapsed.
func (s *session) ask(f func() error) error {
	t := s.now()
	defer func() { s.waited += s.now().Sub(t) }()
	return f()
}

func (s *session) fetch(ctx context.Context) (*Result, error) {
	offer := s.offer
	s.emit(Card{OfferID: offer.ID.String(), PeerID: offer.Peer.String(), Expires: offer.Expires, Passcode: offer.Passcode})
	// Found now, not after connecting and showing the study.
	if err := checkWritable(s.o.Out); err != nil {
		return nil, err
	}
	if time.Now().After(offer.Expires) {
		s.emit(Warning{Message: fmt.Sprintf("the card says it expired at %s; asking the sender anyway", offer.Expires.Local().Format("2006-01-02 15:04 MST"))})
	}
	keys, err := s.deriveKeys()
	if err != nil {
		return nil, err
	}
	s.keys = keys
	h, err := discovery.NewHost(discovery.HostOptions{Listen: discovery.ReceiverListen})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	s.h = h
	s.me.PeerID = h.ID().String()
	if !s.o.noLAN {
		// The sender announces itself on the LAN: found there, it is
		// reached even when the card's addresses are stale.
		if lan, err := discovery.StartLAN(h); err == nil {
			defer lan.Close()
			s.lan = lan
		}
	}
	s.watchDirect()
	if s.o.MaxRate > 0 {
		s.limit = rate.NewLimiter(rate.Limit(s.o.MaxRate), transfer.MaxSealedChunkSize)
		s.limit.AllowN(time.Now(), transfer.MaxSealedChunkSize) // start with no burst
	}
	defer s.close()
	res, err := s.run(ctx)
	if errors.Is(err, context.Canceled) && s.store != nil {
		err = &InterruptedError{Verified: s.store.Verified(), Files: len(s.store.Manifest().Files), Dir: s.store.Dir(), Err: err}
	}
	return res, err
}

// deriveKeys derives the card's keys, with its passcode if it needs one.
func (s *session) deriveKeys() (*icrypto.Keys, error) {
	secret := &s.offer.Secret
	if s.offer.Passcode {
		if s.o.Passcode == nil {
			return nil, ErrPasscode
		}
		var p string
		err := s.ask(func() (err error) { p, err = s.o.Passcode(); return err })
		if err != nil {
			return nil, err
		}
		if secret, err = icrypto.WithPasscode(&s.offer.Secret, p, s.offer.ID[:]); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrPasscode, err)
		}
	}
	return icrypto.DeriveKeys(secret)
}

func (s *session) close() {
	s.closeExtra()
	if s.store != nil {
		s.store.Close()
	}
}

// auditOutcome records why a fetch failed, where that matters to security.
func (s *session) auditOutcome(err error) {
	t, me, from, offerID := s.o.Trail, s.me, s.from, s.offer.ID.String()
	switch {
	case err == nil:
	case errors.Is(err, discovery.ErrImpostor):
		t.Record(audit.SecurityAlert(audit.AlertImpostor, me, from, offerID, err.Error()))
	case errors.Is(err, transfer.ErrUnauthorized):
		t.Record(audit.UserAuthentication(me, from, offerID, err))
	case errors.Is(err, transfer.ErrManifestMismatch):
		t.Record(audit.SecurityAlert(audit.AlertManifestMismatch, me, from, offerID, err.Error()))
	case errors.Is(err, transfer.ErrCorrupt), errors.Is(err, ErrDamagedAtSender):
		t.Record(audit.SecurityAlert(audit.AlertTampered, me, from, offerID, err.Error()))
	}
}
