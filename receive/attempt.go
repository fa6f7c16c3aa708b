package receive

import (
	"context"
	"errors"
	"fmt"
	"time"

	"imageshare/audit"
	"imageshare/discovery"
	"imageshare/transfer"
)

// run is the fetch once its host is up: the attempts, then the checks of
// what arrived, the move into place and the receipt.
func (s *session) run(ctx context.Context) (*Result, error) {
	retry := backoff{until: time.Now().Add(s.o.RetryFor), first: s.o.retryDelay}
	unknown := 0
	// Until the sender answers once, it is given up on sooner: the
	// computer is off, its network closed, or the card wrong.
	reachBy := time.Now().Add(min(reachAttempts*s.o.Timeout, s.o.RetryFor))
	for {
		err := s.attempt(ctx)
		if err == nil {
			break
		}
		if !s.reached && errors.Is(err, discovery.ErrUnreachable) && !permanent(err) {
			// Not an impostor: nothing answered at all.
			if time.Now().After(s.offer.Expires) {
				return nil, &CardExpiredError{Expires: s.offer.Expires, Err: err}
			}
			if !time.Now().Before(reachBy) || !retry.waitUntil(ctx, reachBy, err, s.emit) {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, &NeverReachedError{Attempts: s.attempts, Err: err}
			}
			continue
		}
		if errors.Is(err, errUpgraded) {
			// Hole punching opened a direct connection: go on over it at
			// once, with what is already verified kept.
			s.emit(Upgraded{})
			continue
		}
		if s.offer.Passcode && errors.Is(err, transfer.ErrUnauthorized) {
			err = fmt.Errorf("%w; check the passcode with the sending hospital", err)
		}
		if errors.Is(err, transfer.ErrUnknownOffer) {
			// Not final at once: another process with the card's peer ID
			// may have answered (found by mDNS), or the sender was just
			// starting. Believed when the sender keeps saying it.
			if unknown++; unknown > unknownOfferRetries {
				return nil, err
			}
		}
		if permanent(err) || !retry.wait(ctx, err, s.emit) {
			return nil, err
		}
		s.dropSuspectConns(err)
	}
	return s.finish(ctx, retry.attempts+1)
}

// attempt connects and fetches what is still needed. The first attempt
// to reach the sender also fetches the manifest, reports the study and
// asks.
func (s *session) attempt(ctx context.Context) error {
	if s.attempts == 0 || s.reached {
		s.emit(Connecting{PeerID: s.offer.Peer.String(), Attempt: s.attempts + 1})
	}
	s.attempts++
	timeout := s.o.Timeout
	if !s.reached && time.Now().After(s.offer.Expires) {
		// A sender still serving an expired card answers at once; one
		// that stopped, as it does at expiry, should not cost staff the
		// whole timeout.
		timeout = min(timeout, expiredCardTimeout)
	}
	conn, err := discovery.Connect(ctx, s.h, s.offer.Peer, s.offer.Addrs, timeout, s.lan)
	if err != nil {
		return err
	}
	s.reached = true
	switch {
	case s.relayed(conn):
		s.path = "relayed"
		s.wasRelayed = true
	case s.wasRelayed:
		s.path = "hole-punched"
	default:
		s.path = "direct"
	}
	s.addr = conn.RemoteMultiaddr().String()
	s.emit(Connected{Addr: s.addr, Path: s.path, Seconds: s.elapsed().Seconds()})
	s.client = s.newClient(s.h)
	if s.path == "direct" {
		s.client.Extra = s.connectExtra(ctx, conn.RemoteMultiaddr())
	}
	if s.m == nil {
		m, err := s.client.Manifest(ctx)
		if err != nil {
			return err
		}
		if err := s.accept(m); err != nil {
			return err
		}
	}
	need := transfer.Order(s.m, s.store.Need(), s.o.First)
	if len(need) == 0 {
		return nil
	}
	// Over a relay, the fetch stops and goes on over a direct connection
	// as soon as hole punching opens one.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if s.path == "relayed" {
		go func() {
			select {
			case <-s.direct:
				cancel(errUpgraded)
			case <-ctx.Done():
			}
		}()
	}
	if s.o.onAttempt != nil {
		s.o.onAttempt(s)
	}
	err = s.client.Fetch(ctx, s.m, need, s.store.Put, func(n int64) {
		s.fetched += n
		s.done += n
		s.emit(Progress{Done: s.done, Total: s.m.StoredSize()})
		if s.limit != nil {
			s.limit.WaitN(ctx, int(n))
		}
	})
	var ce *transfer.ChunkError
	if errors.As(err, &ce) {
		// Damaged on the way: fetched again, a few times at most.
		if s.corrupt == nil {
			s.corrupt = map[int]int{}
		}
		if s.corrupt[ce.Index]++; s.corrupt[ce.Index] >= maxCorrupt {
			return fmt.Errorf("%w: %w (%d times)", ErrDamagedAtSender, err, maxCorrupt)
		}
		s.emit(Warning{Message: err.Error() + "; fetching it again"})
	}
	return err
}

// finish takes the study from its last chunk verified to the receipt:
// every file whole, the face's check (CheckArrived), the move into place,
// the sender told, the audit trail.
func (s *session) finish(ctx context.Context, attempts int) (*Result, error) {
	m := s.m
	if err := s.store.Finish(); err != nil {
		return nil, err
	}
	s.from.Site, s.from.Address = m.Site, s.addr
	// Still in the incoming folder: nothing watching Out sees the study
	// until the face's checks are done.
	if s.o.CheckArrived != nil {
		a := &Arrived{Dir: s.store.Dir(), Manifest: m, OfferID: s.offer.ID.String(), Me: s.me, From: s.from}
		if err := s.o.CheckArrived(ctx, a); err != nil {
			return nil, err
		}
	}
	dir, err := s.store.Commit()
	if err != nil {
		return nil, err
	}
	elapsed := s.elapsed()
	s.emit(Verified{Files: len(m.Files), Bytes: m.TotalSize(), Dir: dir, Fetched: s.fetched, Reused: s.reused, Seconds: elapsed.Seconds()})
	if err := s.confirm(ctx); err != nil {
		s.emit(Warning{Message: fmt.Sprintf("the study is complete here, but the sender was not told: %v", err)})
	}
	s.emit(Saved{Dir: dir})
	uids := make([]string, len(m.Studies))
	for i, st := range m.Studies {
		uids[i] = st.StudyUID
	}
	subj := audit.Subject{PatientID: m.Studies[0].PatientID, PatientIDIssuer: m.Studies[0].IssuerOfPatientID,
		PatientName: m.Studies[0].PatientName, StudyUIDs: uids, OfferID: s.offer.ID.String(), Files: len(m.Files), Bytes: m.TotalSize()}
	s.o.Trail.Record(audit.InstancesReceived(s.from, s.me, subj).With("path", s.path).With("fetched_bytes", s.fetched).With("reused_bytes", s.reused))
	s.o.Trail.Record(audit.Import(s.me, s.from, subj, dir))
	s.mu.Lock()
	first := s.firstSeries
	s.mu.Unlock()
	return &Result{Dir: dir, Manifest: m, OfferID: s.offer.ID.String(), Path: s.path, Fetched: s.fetched, Reused: s.reused,
		Attempts: attempts, Connections: 1 + len(s.extra), Seconds: elapsed.Seconds(), FirstSeries: first.Seconds(),
		Me: s.me, From: s.from}, nil
}

// confirm tells the sender, retrying briefly, that the study arrived.
func (s *session) confirm(ctx context.Context) error {
	var err error
	for i := range 3 {
		if err = s.client.Confirm(ctx, len(s.m.Files), s.m.TotalSize()); err == nil {
			return nil
		}
		t := time.NewTimer(time.Duration(i+1) * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	return err
}
