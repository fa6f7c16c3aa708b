package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"github.com/libp2p/go-libp2p/core/peer"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/internal/cli"
	"imageshare/send"
	"imageshare/spool"
)

// serveOptions are sender serve's flags.
type serveOptions struct {
	listen               cli.StringList
	relays               []peer.AddrInfo
	dir, auditPath, site string
	json                 bool
}

// parseServe parses sender serve's flags; sender service install checks
// a service's flags with it too.
func parseServe(args []string) (*serveOptions, error) {
	o := &serveOptions{}
	var relay cli.StringList
	fs := flag.NewFlagSet("sender serve", flag.ContinueOnError)
	fs.StringVar(&o.auditPath, "audit", "", "")
	fs.StringVar(&o.site, "site", "", "")
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.dir, "spool", spool.DefaultDir(), "")
	fs.Var(&o.listen, "listen", "")
	fs.Var(&relay, "relay", "")
	fs.BoolVar(&o.json, "json", false, "")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, errHelp
		}
		return nil, &usageError{cli.FlagMessage(err)}
	}
	if fs.NArg() > 0 {
		return nil, &usageError{"sender serve takes no arguments"}
	}
	var err error
	if o.relays, err = parseRelays(relay); err != nil {
		return nil, err
	}
	return o, nil
}

// runServe is `sender serve`: the long-running service that serves every
// live offer of a spool with one stable identity, picks up offers that
// `sender send` hands it, and resumes them after a restart.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseServe(args)
	if err != nil {
		return err
	}
	var js *console.JSON
	if o.json {
		js = console.NewJSON(stdout)
	}
	sp, err := spool.Open(o.dir)
	if err != nil {
		return err
	}
	trail, err := audit.OpenTrail("sender", o.auditPath, stderr)
	if err != nil {
		return err
	}
	defer trail.Close()
	p := &printer{text: newTextPrinter(stderr, false, false), js: js}
	err = send.Serve(ctx, send.ServeOptions{Spool: sp, Listen: o.listen, Relays: o.relays, Trail: trail, Me: audit.Local("sender", o.site), Events: p.event})
	var held *send.SpoolHeldError
	if errors.As(err, &held) && held.Mode == "send" {
		return &hintedError{err, "start sender serve once that send has ended; sends started meanwhile take an identity of their own"}
	}
	return err
}
