package main

import (
	"context"
	"errors"
	"flag"
	"io"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/internal/cli"
	"imageshare/send"
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
	trail, err := audit.OpenTrail("sender", auditPath, stderr)
	if err != nil {
		return err
	}
	defer trail.Close()
	p := &printer{text: newTextPrinter(stderr, false, false), js: js}
	err = send.Serve(ctx, send.ServeOptions{Spool: sp, Listen: listen, Relays: relays, Trail: trail, Me: audit.Local("sender", site), Events: p.event})
	var held *send.SpoolHeldError
	if errors.As(err, &held) && held.Mode == "send" {
		return &hintedError{err, "start sender serve once that send has ended; sends started meanwhile take an identity of their own"}
	}
	return err
}
