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
	"imageshare/internal/appdir"
	"imageshare/internal/cli"
	"imageshare/receive"
	"imageshare/station"
	"imageshare/station/receiving"
)

// defaultStationListen is where receiver station listens without
// --listen: this machine only.
const defaultStationListen = "127.0.0.1:7480"

// stationOptions are receiver station's own flags; the fetch and PACS
// flags it shares with receiver fetch are in fetchOptions.
type stationOptions struct {
	listen, certFile, keyFile string
	selfSigned                bool
	passwordFile              string
}

// runStation is `receiver station`: the trauma center's web page, served
// until Ctrl-C. `receiver station password` sets a login.
func runStation(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "password" {
		err := cli.PasswordCommand("receiver", args[1:], stdin, stderr, func(msg string) error { return &usageError{msg} })
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	o := &fetchOptions{}
	so := &stationOptions{}
	fs := flag.NewFlagSet("receiver station", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.out, "out", "", "")
	fs.StringVar(&so.listen, "listen", defaultStationListen, "")
	fs.StringVar(&so.certFile, "cert", "", "")
	fs.StringVar(&so.keyFile, "key", "", "")
	fs.BoolVar(&so.selfSigned, "self-signed", false, "")
	fs.StringVar(&so.passwordFile, "password-file", "", "")
	fs.StringVar(&o.pacs.url, "to-dicomweb", "", "")
	fs.StringVar(&o.pacs.credentialsFile, "dicomweb-credentials", "", "")
	fs.StringVar(&o.pacs.issuer, "issuer", "", "")
	fs.StringVar(&o.configFile, "config", "", "")
	fs.StringVar(&o.audit, "audit", "", "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "")
	fs.DurationVar(&o.retryFor, "retry-for", 10*time.Minute, "")
	pos, err := parseCommon(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return &usageError{fmt.Sprintf("unexpected argument %q: receiver station reads cards in its page", pos[0])}
	}
	if o.out == "" {
		return &usageError{"--out DIR is required: the folder to save studies in"}
	}
	if err := applyConfig(fs, o); err != nil {
		return err
	}
	// The station's issuer, from a flag or the configuration, is what the
	// page offers beside a local patient ID: it names no patient.
	o.pacs.issuerFromConfig = o.pacs.issuer != ""
	if err := o.pacs.check(o.configUsed); err != nil {
		return err
	}
	if o.trail, err = audit.OpenTrail("receiver", o.audit, stderr); err != nil {
		return err
	}
	defer o.trail.Close()
	me := audit.Local("receiver", "")
	o.trail.Record(audit.ApplicationStart(me))
	defer o.trail.Record(audit.ApplicationStop(me))

	page, err := receiving.New(receiving.Config{Context: ctx, Out: o.out,
		Fetch: receive.Options{Timeout: o.timeout, RetryFor: o.retryFor, Connections: 1},
		PACS:  o.pacs.url, CredentialsFile: o.pacs.credentialsFile, Issuer: o.pacs.issuer,
		Trail: o.trail, AuditFile: o.audit, Me: me})
	if err != nil {
		return err
	}
	dir, _ := appdir.State(false) // for a self-signed certificate, if asked for
	srv, err := station.New(station.Config{Name: "receiver station", Listen: so.listen, CertFile: so.certFile, KeyFile: so.keyFile,
		SelfSigned: so.selfSigned, Dir: dir, PasswordFile: so.passwordFile, Trail: o.trail, Me: me}, page)
	var refused *station.RefusedError
	if errors.As(err, &refused) {
		return &usageError{refused.Error()}
	}
	if err != nil {
		return err
	}
	if o.json {
		console.NewJSON(stdout).Emit(srv.Ready())
	} else {
		srv.Ready().WriteText(stdout, "Receiver station")
		fmt.Fprintln(stderr, "receiver: open the address above in the station's browser; Ctrl-C stops the station")
	}
	return srv.Serve(ctx)
}
