package send

import (
	"context"
	"fmt"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"imageshare/audit"
	"imageshare/spool"
)

// ServeOptions says how `sender serve` serves a spool.
type ServeOptions struct {
	Spool  *spool.Spool
	Listen []string
	Relays []peer.AddrInfo
	// Trail records the service's start and stop and every receiver; Me
	// is this sender in it.
	Trail *audit.Trail
	Me    audit.Participant
	// Events, if set, gets every event, one at a time, in order.
	Events func(Event)
	// Interval is how often the spool is read for new and ended offers
	// (default one second).
	Interval time.Duration
}

// SpoolHeldError is returned by Serve when another process serves the
// spool. Mode and PID are what that process said of itself ("send" or
// "serve"), if it did.
type SpoolHeldError struct {
	Dir  string
	Mode string
	PID  int
}

func (e *SpoolHeldError) Error() string {
	who := "another process"
	if e.Mode != "" {
		who = fmt.Sprintf("sender %s (pid %d)", e.Mode, e.PID)
	}
	if e.Mode == "send" {
		return fmt.Sprintf("%s serves with the spool's identity: %s", who, e.Dir)
	}
	return fmt.Sprintf("%s already serves the spool %s", who, e.Dir)
}

// Serve serves every live offer of the spool with the spool's identity,
// takes the offers that sends hand it, and ends offers as they expire, are
// revoked or used up, until ctx is done. It reports Serving once it
// serves, and Stopped at the end.
func Serve(ctx context.Context, o ServeOptions) error {
	sp := o.Spool
	unlock, held, err := sp.Lock()
	if err != nil {
		return err
	}
	if held {
		e := &SpoolHeldError{Dir: sp.Dir}
		if sv, err := sp.ReadServing(time.Second); err == nil {
			e.Mode, e.PID = sv.Mode, sv.PID
		}
		return e
	}
	defer unlock()
	id, err := sp.Identity()
	if err != nil {
		return err
	}
	emit := emitter(o.Events)
	srv, err := startServer(ctx, sp, serverOptions{listen: o.Listen, relays: o.Relays, identity: id, mode: "serve", trail: o.Trail, me: o.Me, emit: emit})
	if err != nil {
		return err
	}
	defer srv.close()
	o.Trail.Record(audit.ApplicationStart(srv.t.me))
	defer o.Trail.Record(audit.ApplicationStop(srv.t.me))
	recs, _ := sp.List()
	live := 0
	for _, r := range recs {
		if r.State(time.Now()) == spool.Live {
			live++
		}
	}
	emit(Serving{Spool: sp.Dir, PeerID: srv.host.ID().String(), LiveOffers: live, Addrs: srv.listening()})
	interval := o.Interval
	if interval <= 0 {
		interval = time.Second
	}
	srv.svc.Run(ctx, interval, srv.warn)
	emit(Stopped{})
	return nil
}
