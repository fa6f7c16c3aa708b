package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/internal/cli"
	"imageshare/spool"
)

// runServe is `sender serve`: the long-running service that serves every
// live offer of a spool with one stable identity, picks up offers that
// `sender send` hands it, and resumes them after a restart.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var listen, relay cli.StringList
	var dir, auditPath, site string
	var asJSON bool
	fs := flag.NewFlagSet("sender serve", flag.ContinueOnError)
	fs.StringVar(&auditPath, "audit", "", "")
	fs.StringVar(&site, "site", "", "")
	fs.SetOutput(io.Discard)
	fs.StringVar(&dir, "spool", spool.DefaultDir(), "")
	fs.Var(&listen, "listen", "")
	fs.Var(&relay, "relay", "")
	fs.BoolVar(&asJSON, "json", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return &usageError{cli.FlagMessage(err)}
	}
	if fs.NArg() > 0 {
		return &usageError{"sender serve takes no arguments"}
	}
	relays, err := parseRelays(relay)
	if err != nil {
		return err
	}
	var js *console.JSON
	if asJSON {
		js = console.NewJSON(stdout)
	}
	sp, err := spool.Open(dir)
	if err != nil {
		return err
	}
	unlock, held, err := sp.Lock()
	if err != nil {
		return err
	}
	if held {
		who := "another process"
		if sv, err := sp.ReadServing(time.Second); err == nil {
			who = fmt.Sprintf("sender %s (pid %d)", sv.Mode, sv.PID)
			if sv.Mode == "send" {
				return &hintedError{fmt.Errorf("%s serves with the spool's identity: %s", who, sp.Dir),
					"start sender serve once that send has ended; sends started meanwhile take an identity of their own"}
			}
		}
		return fmt.Errorf("%s already serves the spool %s", who, sp.Dir)
	}
	defer unlock()
	trail, err := audit.OpenTrail("sender", auditPath, stderr)
	if err != nil {
		return err
	}
	defer trail.Close()
	me := audit.Local("sender", site)
	id, err := sp.Identity()
	if err != nil {
		return err
	}
	srv, err := startServing(ctx, sp, servingOptions{listen: listen, relays: relays, identity: id, mode: "serve", quiet: true, js: js, trail: trail, me: me}, stderr)
	if err != nil {
		return err
	}
	defer srv.close()
	trail.Record(audit.ApplicationStart(srv.d.me))
	defer trail.Record(audit.ApplicationStop(srv.d.me))
	recs, _ := sp.List()
	live := 0
	for _, r := range recs {
		if r.State(time.Now()) == spool.Live {
			live++
		}
	}
	fmt.Fprintf(stderr, "sender: serving %d live offer(s) from %s as %s\n", live, sp.Dir, srv.host.ID())
	printListening(stderr, srv.host.Addrs())
	js.Emit(map[string]any{"type": "serving", "spool": sp.Dir, "peer_id": srv.host.ID().String(), "live_offers": live})
	srv.svc.Run(ctx, time.Second, srv.warn)
	fmt.Fprintln(stderr, "sender: stopped; offers stay in the spool and are served again at the next start")
	return nil
}
