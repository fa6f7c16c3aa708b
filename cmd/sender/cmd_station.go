package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/audit"
	"imageshare/console"
	"imageshare/dicomweb"
	"imageshare/internal/cli"
	"imageshare/send"
	"imageshare/spool"
	"imageshare/station"
	"imageshare/station/sending"
)

// DefaultStationListen is where the sender station listens by default.
const DefaultStationListen = "127.0.0.1:7481"

// stationOptions are sender station's flags.
type stationOptions struct {
	spool, listen, cert, key, passwordFile string
	selfSigned                             bool
	pacs, pacsCredentials                  string
	relay, p2pListen                       cli.StringList
	relays                                 []peer.AddrInfo
	site, audit                            string
	expires                                time.Duration
	json                                   bool
}

func parseStation(args []string) (*stationOptions, error) {
	o := &stationOptions{}
	fs := flag.NewFlagSet("sender station", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.spool, "spool", spool.DefaultDir(), "")
	fs.StringVar(&o.listen, "listen", DefaultStationListen, "")
	fs.StringVar(&o.cert, "cert", "", "")
	fs.StringVar(&o.key, "key", "", "")
	fs.BoolVar(&o.selfSigned, "self-signed", false, "")
	fs.StringVar(&o.passwordFile, "password-file", "", "")
	fs.StringVar(&o.pacs, "from-dicomweb", "", "")
	fs.StringVar(&o.pacsCredentials, "dicomweb-credentials", "", "")
	fs.Var(&o.relay, "relay", "")
	fs.Var(&o.p2pListen, "p2p-listen", "")
	fs.StringVar(&o.site, "site", "", "")
	fs.StringVar(&o.audit, "audit", "", "")
	fs.DurationVar(&o.expires, "expires", sending.DefaultExpires, "")
	fs.BoolVar(&o.json, "json", false, "")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, &usageError{"sender station takes no arguments: the study is chosen in the page"}
	}
	if o.pacs != "" {
		if err := dicomweb.CheckRoot(o.pacs); err != nil {
			return nil, &usageError{"--from-dicomweb: " + err.Error()}
		}
	} else if o.pacsCredentials != "" {
		return nil, &usageError{"--dicomweb-credentials goes with --from-dicomweb URL"}
	}
	if o.expires <= 0 {
		return nil, &usageError{fmt.Sprintf("--expires %v: must be positive", o.expires)}
	}
	for _, l := range o.p2pListen {
		if _, err := ma.NewMultiaddr(l); err != nil {
			return nil, &usageError{fmt.Sprintf("--p2p-listen %s: %v (example: /ip4/0.0.0.0/tcp/7471)", l, err)}
		}
	}
	if o.relays, err = parseRelays(o.relay); err != nil {
		return nil, err
	}
	return o, nil
}

// runStation is `sender station`: the sending site's web page, which
// finds, checks and sends studies, shows their cards, and serves the
// spool's offers, until Ctrl-C.
func runStation(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "password" {
		err := cli.PasswordCommand("sender", args[1:], stdin, stderr, func(msg string) error { return &usageError{msg} })
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return err
	}
	o, err := parseStation(args)
	if err != nil {
		return err
	}
	sp, err := spool.Open(o.spool)
	if err != nil {
		return err
	}
	trail, err := audit.OpenTrail("sender", o.audit, stderr)
	if err != nil {
		return err
	}
	defer trail.Close()
	me := audit.Local("sender", o.site)
	page, err := sending.New(sending.Config{
		Spool: sp, Site: o.site, PACS: send.PACS{URL: o.pacs, CredentialsFile: o.pacsCredentials},
		Listen: o.p2pListen, Relays: o.relays, Trail: trail, AuditPath: o.audit, Me: me, Expires: o.expires,
	})
	if err != nil {
		return err
	}
	srv, err := station.New(station.Config{
		Name: "sender station", Listen: o.listen, CertFile: o.cert, KeyFile: o.key, SelfSigned: o.selfSigned,
		Dir: filepath.Dir(filepath.Clean(sp.Dir)), PasswordFile: o.passwordFile, Trail: trail, Me: me, ErrorLog: stderr,
	}, page)
	if err != nil {
		return err
	}
	trail.Record(audit.ApplicationStart(me))
	defer func() { trail.Record(audit.ApplicationStop(me)) }()

	if o.json {
		console.NewJSON(stdout).Emit(srv.Ready())
	} else {
		srv.Ready().WriteText(stdout, "Sender station")
		fmt.Fprintln(stderr, "sender: open the address above in the station's browser; Ctrl-C stops the station")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	served := make(chan error, 1)
	go func() {
		err := page.Run(ctx)
		if err != nil {
			cancel() // the page cannot serve offers: stop the station
		}
		served <- err
	}()
	err = srv.Serve(ctx)
	cancel()
	if perr := <-served; err == nil {
		err = perr
	}
	if err == nil {
		fmt.Fprintln(stderr, "sender: the station stopped; the offers stay in the spool and are served again at the next start (or by sender serve)")
	}
	return err
}
