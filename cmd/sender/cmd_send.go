package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/audit"
	"imageshare/card"
	"imageshare/console"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/internal/atomicfile"
	"imageshare/internal/cli"
	"imageshare/internal/printable"
	"imageshare/send"
	"imageshare/spool"
	"imageshare/study"
)

var errHelp = errors.New("help shown")

type sendOptions struct {
	site, cardPNG, uriFile, report, spool string
	studies, listen, relay                cli.StringList
	relays                                []peer.AddrInfo
	allStudies, keep, json, quiet         bool
	expires                               time.Duration
	maxDownloads                          int
	newPasscode                           bool
	passcodeFile                          string
	passcode                              string // never printed but on the terminal
	audit                                 string
	paths                                 []string
	pacs                                  pacsSource
}

func parseSend(args []string, stderr io.Writer) (*sendOptions, error) {
	o := &sendOptions{}
	fs := flag.NewFlagSet("sender send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.site, "site", "", "")
	fs.StringVar(&o.cardPNG, "card", "", "")
	fs.StringVar(&o.uriFile, "uri-file", "", "")
	fs.StringVar(&o.report, "report", "", "")
	fs.StringVar(&o.spool, "spool", "", "")
	fs.Var(&o.studies, "study", "")
	fs.Var(&o.listen, "listen", "")
	fs.Var(&o.relay, "relay", "")
	fs.BoolVar(&o.allStudies, "all-studies", false, "")
	fs.BoolVar(&o.keep, "keep", false, "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.BoolVar(&o.quiet, "q", false, "")
	fs.DurationVar(&o.expires, "expires", 72*time.Hour, "")
	fs.IntVar(&o.maxDownloads, "max-downloads", spool.DefaultMaxDownloads, "")
	fs.BoolVar(&o.newPasscode, "passcode", false, "")
	fs.StringVar(&o.audit, "audit", "", "")
	fs.StringVar(&o.passcodeFile, "passcode-file", "", "")
	fs.StringVar(&o.pacs.url, "from-dicomweb", "", "")
	fs.StringVar(&o.pacs.credentialsFile, "dicomweb-credentials", "", "")
	fs.StringVar(&o.pacs.patientID, "patient-id", "", "")
	fs.StringVar(&o.pacs.studyDate, "study-date", "", "")
	pos, err := cli.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, errHelp
	}
	if err != nil {
		return nil, &usageError{cli.FlagMessage(err)}
	}
	o.paths = pos
	if err := o.pacs.check(o); err != nil {
		return nil, err
	}
	if len(pos) == 0 && o.pacs.url == "" {
		return nil, &usageError{"no study given: name a folder, files or a zip, e.g. sender send ./CT_series, or give --from-dicomweb"}
	}
	if o.expires <= 0 {
		return nil, &usageError{fmt.Sprintf("--expires %v: must be positive", o.expires)}
	}
	if o.newPasscode && o.passcodeFile != "" {
		return nil, &usageError{"--passcode makes a passcode and --passcode-file reads one: give one of them"}
	}
	if o.maxDownloads < 1 {
		return nil, &usageError{fmt.Sprintf("--max-downloads %d: must be at least 1", o.maxDownloads)}
	}
	if o.spool == "" {
		o.spool = spool.DefaultDir()
	}
	if len(o.studies) > 0 && o.allStudies {
		return nil, &usageError{"--study and --all-studies exclude each other"}
	}
	if o.cardPNG != "" && !strings.EqualFold(filepath.Ext(o.cardPNG), ".png") {
		return nil, &usageError{fmt.Sprintf("--card %s: the card is written as PNG; name it .png", o.cardPNG)}
	}
	for _, l := range o.listen {
		if _, err := ma.NewMultiaddr(l); err != nil {
			return nil, &usageError{fmt.Sprintf("--listen %s: %v (example: /ip4/0.0.0.0/tcp/7471)", l, err)}
		}
	}
	if o.relays, err = parseRelays(o.relay); err != nil {
		return nil, err
	}
	o.paths = pos
	return o, nil
}

// readStudy reads and checks the study (package send), and prints what
// it found: the media followed, the files refused, the summaries.
func readStudy(ctx context.Context, o *sendOptions, src *sources, stderr io.Writer, showProgress bool, js *console.JSON) ([]*study.Study, []study.File, error) {
	var bar *console.Progress
	r, err := send.ReadStudy(ctx, send.ReadOptions{Paths: src.paths, Staging: src.staging, Studies: o.studies, AllStudies: o.allStudies,
		Progress: func(done, total int) {
			if bar == nil {
				bar = console.NewCounter(stderr, int64(total), "reading", "files", showProgress && total > 50)
			}
			bar.Set(int64(done))
		}})
	bar.Finish()
	if errors.As(err, new(*study.DICOMDIRError)) {
		return nil, nil, &hintedError{
			err:  err,
			hint: "the files can also be sent by naming them, or a folder below the DICOMDIR that holds them",
		}
	}
	if r == nil {
		return nil, nil, err
	}
	for _, m := range r.Media {
		fmt.Fprintf(stderr, "sender: %s lists %d files: only those are read; %d other files of the medium (a viewer, the DICOMDIR itself) are not sent\n",
			m.DICOMDIR, m.Listed, m.Unlisted)
		js.Emit(dicomdirEvent{Path: m.DICOMDIR, Listed: m.Listed, Unlisted: m.Unlisted})
	}
	var pe *send.ProblemsError
	if errors.As(err, &pe) {
		const show = 20
		for i, p := range pe.Problems {
			if i >= show {
				break
			}
			fmt.Fprintf(stderr, "sender: error: %s\n", printable.String(p.Error())) // names from the medium
			js.Emit(problemEvent{Path: p.Path, Message: p.Err.Error()})
		}
		if len(pe.Problems) > show {
			fmt.Fprintf(stderr, "sender: ... and %d more\n", len(pe.Problems)-show)
		}
		if pe.OnMedium {
			fmt.Fprintln(stderr, "hint: the medium lacks files that its DICOMDIR lists (a damaged or partial copy?); the files can also be sent by naming them")
		} else {
			fmt.Fprintln(stderr, "hint: move files that are not part of the study out of the folder, or name the study's files; a report goes with --report")
		}
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	files := r.Files
	if o.report != "" {
		var from string
		if files, from, err = send.AttachReport(files, o.report, src.staging); err != nil {
			return nil, nil, err
		}
		if from != "" {
			fmt.Fprintf(stderr, "sender: the report %s is not UTF-8; read as %s and sent as UTF-8\n", o.report, from)
			js.Emit(reportConvertedEvent{Path: o.report, From: from})
		}
	}
	for _, s := range r.Studies {
		fmt.Fprintln(stderr)
		study.WriteSummary(stderr, s.Summary)
		js.Emit(studyEvent{Study: s.Summary})
	}
	if o.report != "" {
		fmt.Fprintf(stderr, "Report:       %s\n", filepath.Base(o.report))
	}
	fmt.Fprintln(stderr)
	return r.Studies, files, nil
}

// issue makes the card's URI and gives it out: standard output (or the
// JSON offer line), --uri-file, --card, and the terminal.
func issue(o *sendOptions, c send.Card, stdout io.Writer, p *printer) error {
	offer, m := c.Offer, c.Manifest
	uri, err := offer.URI()
	if err != nil {
		return err
	}
	details := c.Details(o.site)
	if o.uriFile != "" {
		if err := writePrivate(o.uriFile, []byte(uri+"\n")); err != nil {
			return fmt.Errorf("writing --uri-file: %w", err)
		}
	}
	if o.cardPNG != "" {
		if err := writeCardPNG(o.cardPNG, uri, details); err != nil {
			return fmt.Errorf("writing --card: %w", err)
		}
	}
	p.text.locked(func() {
		if o.cardPNG != "" {
			fmt.Fprintf(p.text.w, "sender: card written to %s\n", o.cardPNG)
		}
		if !o.quiet && console.IsTerminal(p.text.w) {
			if qr, err := card.TerminalQRFor(uri, console.EnableVT(p.text.w)); err == nil {
				fmt.Fprint(p.text.w, qr)
			}
		}
	})
	if !o.json {
		fmt.Fprintln(stdout, uri)
		return nil
	}
	addrs := make([]string, len(offer.Addrs))
	for i, a := range offer.Addrs {
		addrs[i] = a.String()
	}
	p.js.Emit(cardEvent{
		OfferID: offer.ID.String(), URI: uri, Expires: offer.Expires,
		PeerID: offer.Peer.String(), Addrs: addrs, Card: o.cardPNG, URIFile: o.uriFile,
		Files: len(m.Files), Bytes: m.TotalSize(), StoredBytes: m.StoredSize(),
		PackSeconds: c.PackTime.Seconds(), MaxDownloads: c.MaxDownloads,
	})
	return nil
}

// writePrivate writes a file readable by its owner only, whole or not at all.
func writePrivate(name string, data []byte) error {
	return atomicfile.Write(name, data, 0o600)
}

// writeCardPNG draws the card, checks that it reads back as the URI, and
// writes it whole or not at all: a card that cannot be scanned must never
// leave the sending hospital.
func writeCardPNG(name, uri string, d card.Details) error {
	b, err := send.CardPNG(uri, d)
	if err != nil {
		return err
	}
	return writePrivate(name, b)
}

func runSend(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, err := parseSend(args, stderr)
	if err != nil {
		return err
	}
	var js *console.JSON
	if o.json {
		js = console.NewJSON(stdout)
	}
	showProgress := !o.quiet && console.IsTerminal(stderr)
	p := &printer{text: newTextPrinter(stderr, showProgress, showProgress && !o.json), js: js}
	trail, err := audit.OpenTrail("sender", o.audit, stderr)
	if err != nil {
		return err
	}
	defer trail.Close()
	me := audit.Local("sender", o.site)
	trail.Record(audit.ApplicationStart(me))
	defer func() { trail.Record(audit.ApplicationStop(me)) }()

	// 1. Read and check the study, from a zip's staging folder if need be.
	src, err := stageSources(ctx, o, stderr, showProgress)
	defer src.cleanup(stderr)
	if err != nil {
		return err
	}
	studies, files, err := readStudy(ctx, o, src, stderr, showProgress, js)
	if err != nil {
		return err
	}
	if err := choosePasscode(o); err != nil {
		return err
	}
	sp, err := spool.Open(o.spool)
	if err != nil {
		return err
	}
	summaries := make([]study.Summary, len(studies))
	for i, s := range studies {
		summaries[i] = s.Summary
	}

	// 2. Encrypt it into the spool, and record the offer.
	s, err := send.Pack(ctx, send.Options{
		Spool: sp, Files: files, Studies: summaries, Site: o.site,
		Expires: o.expires, Keep: o.keep, MaxDownloads: o.maxDownloads, Passcode: o.passcode,
		Listen: o.listen, Relays: o.relays, Trail: trail, Me: me,
		Events: p.event,
		Issue:  func(c send.Card) error { return issue(o, c, stdout, p) },
	})
	p.text.endPacking()
	src.cleanup(stderr) // the offer holds what was extracted now
	if err != nil {
		return err
	}

	// 3. Hand it to the sender serve of the spool, or serve it here until
	// receipt, expiry or interruption.
	return s.Deliver(ctx)
}

// parseRelays reads the --relay flags. Addresses of the same relay (its
// TCP and QUIC addresses, say) make one relay with both addresses.
func parseRelays(list []string) ([]peer.AddrInfo, error) {
	var relays []peer.AddrInfo
	for _, s := range list {
		r, err := discovery.ParseRelay(s)
		if err != nil {
			return nil, &usageError{"--relay: " + err.Error()}
		}
		i := slices.IndexFunc(relays, func(o peer.AddrInfo) bool { return o.ID == r.ID })
		if i < 0 {
			relays = append(relays, r)
			continue
		}
		relays[i].Addrs = append(relays[i].Addrs, r.Addrs...)
	}
	return relays, nil
}

// choosePasscode reads the passcode from --passcode-file, or makes one and
// shows it on the terminal only: never on standard output or error, which
// may be logged.
func choosePasscode(o *sendOptions) error {
	switch {
	case o.passcodeFile != "":
		b, err := os.ReadFile(o.passcodeFile)
		if err != nil {
			return fmt.Errorf("reading --passcode-file: %w", err)
		}
		p := strings.TrimSpace(string(b))
		if _, err := icrypto.NormalizePasscode(p); err != nil {
			return &usageError{fmt.Sprintf("--passcode-file %s: %v", o.passcodeFile, err)}
		}
		if err := send.CheckChosenPasscode(p); err != nil {
			return &usageError{fmt.Sprintf("--passcode-file %s: %v (or use --passcode, which makes one)", o.passcodeFile, err)}
		}
		o.passcode = p
	case o.newPasscode:
		tty, err := console.OpenTTY()
		if err != nil {
			return &usageError{"--passcode shows the passcode on the terminal, and there is none: put one in a file and use --passcode-file"}
		}
		defer tty.Close()
		p, err := icrypto.GeneratePasscode()
		if err != nil {
			return err
		}
		fmt.Fprintf(tty, "\nPASSCODE for this card:  %s\nTell it to the receiving staff by phone. Never write it on the card.\n\n", p)
		o.passcode = p
	}
	return nil
}
