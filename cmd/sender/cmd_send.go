package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
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
	"imageshare/spool"
	"imageshare/study"
	"imageshare/transfer"
)

var (
	errHelp     = errors.New("help shown")
	errBadInput = errors.New("input refused")
)

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

// readStudy scans the paths, refuses bad input, picks the studies and adds
// the report.
func readStudy(ctx context.Context, o *sendOptions, src *sources, stderr io.Writer, showProgress bool, js *console.JSON) ([]*study.Study, []study.File, error) {
	var bar *console.Progress
	scan, err := study.ScanPaths(ctx, src.paths, study.ScanOptions{Progress: func(done, total int) {
		if bar == nil {
			bar = console.NewCounter(stderr, int64(total), "reading", "files", showProgress && total > 50)
		}
		bar.Set(int64(done))
	}})
	bar.Finish()
	var de *study.DICOMDIRError
	if errors.As(err, &de) {
		de.Path = src.shown(de.Path)
		return nil, nil, &hintedError{
			err:  fmt.Errorf("%w: %w", errBadInput, err),
			hint: "the files can also be sent by naming them, or a folder below the DICOMDIR that holds them",
		}
	}
	if err != nil {
		return nil, nil, err
	}
	for _, m := range scan.Media {
		fmt.Fprintf(stderr, "sender: %s lists %d files: only those are read; %d other files of the medium (a viewer, the DICOMDIR itself) are not sent\n",
			src.shown(m.DICOMDIR), m.Listed, m.Unlisted)
		js.Emit(map[string]any{"type": "dicomdir", "path": src.shown(m.DICOMDIR), "listed": m.Listed, "unlisted": m.Unlisted})
	}
	if len(scan.Problems) > 0 {
		const show = 20
		onMedium := false
		for i, p := range scan.Problems {
			onMedium = onMedium || errors.Is(p, study.ErrNotOnMedium)
			if i >= show {
				continue
			}
			p.Path = src.shown(p.Path)
			fmt.Fprintf(stderr, "sender: error: %s\n", printable.String(p.Error())) // names from the medium
			js.Emit(map[string]any{"type": "problem", "path": p.Path, "message": p.Err.Error()})
		}
		if len(scan.Problems) > show {
			fmt.Fprintf(stderr, "sender: ... and %d more\n", len(scan.Problems)-show)
		}
		if onMedium {
			fmt.Fprintln(stderr, "hint: the medium lacks files that its DICOMDIR lists (a damaged or partial copy?); the files can also be sent by naming them")
		} else {
			fmt.Fprintln(stderr, "hint: move files that are not part of the study out of the folder, or name the study's files; a report goes with --report")
		}
		return nil, nil, fmt.Errorf("%w: %d file(s) cannot be sent", errBadInput, len(scan.Problems))
	}
	studies, err := study.Select(scan, o.studies, o.allStudies)
	if err != nil {
		return nil, nil, err
	}
	var files []study.File
	for _, s := range studies {
		files = append(files, s.Files...)
	}
	if o.report != "" {
		// A text report not in UTF-8 goes as a UTF-8 copy, made in the
		// staging folder and removed with it once the offer is packed:
		// <spool>/staging/<random>/report/<its name>, beside the numbered
		// folders of the zips.
		if err := src.makeStaging(filepath.Join(o.spool, "staging")); err != nil {
			return nil, nil, fmt.Errorf("making the staging folder for the report: %w", err)
		}
		r, from, err := study.Report(o.report, filepath.Join(src.staging, "report"))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errBadInput, err)
		}
		if from != "" {
			fmt.Fprintf(stderr, "sender: the report %s is not UTF-8; read as %s and sent as UTF-8\n", o.report, from)
			js.Emit(map[string]any{"type": "report_converted", "path": o.report, "from": from})
		}
		for _, f := range files {
			if f.Rel == r.Rel {
				r.Rel = "report-" + r.Rel
			}
		}
		files = append(files, r)
	}
	for _, s := range studies {
		fmt.Fprintln(stderr)
		study.WriteSummary(stderr, s.Summary)
		js.Emit(map[string]any{"type": "study", "study": s.Summary})
	}
	if o.report != "" {
		fmt.Fprintf(stderr, "Report:       %s\n", filepath.Base(o.report))
	}
	fmt.Fprintln(stderr)
	return studies, files, nil
}

// issue makes the card's URI and gives it out: standard output (or the
// JSON offer line), --uri-file, --card, and the terminal.
func issue(o *sendOptions, offer *card.Offer, packed *transfer.Packed, packTime time.Duration, stdout, stderr io.Writer, js *console.JSON) error {
	uri, err := offer.URI()
	if err != nil {
		return err
	}
	m := packed.Manifest
	first := m.Studies[0]
	desc := first.Description
	if len(m.Studies) > 1 {
		desc = fmt.Sprintf("%s (+%d more studies)", desc, len(m.Studies)-1)
	}
	details := card.Details{
		Site:        o.site,
		PatientName: first.PatientName,
		StudyDate:   first.StudyDate,
		Description: desc,
		Expires:     offer.Expires,
		Passcode:    offer.Passcode,
	}
	if o.uriFile != "" {
		if err := writePrivate(o.uriFile, []byte(uri+"\n")); err != nil {
			return fmt.Errorf("writing --uri-file: %w", err)
		}
	}
	if o.cardPNG != "" {
		if err := writeCardPNG(o.cardPNG, uri, details); err != nil {
			return fmt.Errorf("writing --card: %w", err)
		}
		fmt.Fprintf(stderr, "sender: card written to %s\n", o.cardPNG)
	}
	if !o.quiet && console.IsTerminal(stderr) {
		if qr, err := card.TerminalQR(uri); err == nil {
			fmt.Fprint(stderr, qr)
		}
	}
	addrs := make([]string, len(offer.Addrs))
	for i, a := range offer.Addrs {
		addrs[i] = a.String()
	}
	if o.json {
		js.Emit(map[string]any{
			"type": "offer", "offer_id": offer.ID.String(), "uri": uri, "expires": offer.Expires,
			"peer_id": offer.Peer.String(), "addrs": addrs, "card": o.cardPNG, "uri_file": o.uriFile,
			"files": len(m.Files), "bytes": m.TotalSize(), "stored_bytes": m.StoredSize(),
			"pack_seconds": packTime.Seconds(), "max_downloads": o.maxDownloads,
		})
	} else {
		fmt.Fprintln(stdout, uri)
	}
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
	var buf bytes.Buffer
	if err := card.WritePNG(&buf, uri, d); err != nil {
		return err
	}
	if got, err := card.DecodeImage(bytes.NewReader(buf.Bytes())); err != nil || got != uri {
		return fmt.Errorf("the card image does not read back as the card (%v); send again", err)
	}
	return writePrivate(name, buf.Bytes())
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

	// 2. Encrypt it into the spool.
	secret, err := icrypto.NewSecret()
	if err != nil {
		return err
	}
	var offerID transfer.OfferID
	if _, err := rand.Read(offerID[:]); err != nil {
		return err
	}
	keySecret := &secret
	if o.passcode != "" {
		if keySecret, err = icrypto.WithPasscode(&secret, o.passcode, offerID[:]); err != nil {
			return err
		}
	}
	keys, err := icrypto.DeriveKeys(keySecret)
	if err != nil {
		return err
	}
	now := time.Now()
	var total int64
	for _, f := range files {
		total += f.Size
	}
	bar := console.NewProgress(stderr, total, "encrypting", showProgress)
	summaries := make([]study.Summary, len(studies))
	for i, s := range studies {
		summaries[i] = s.Summary
	}
	packStart := time.Now()
	packed, err := transfer.Pack(ctx, files, transfer.PackOptions{
		Dir:       sp.OfferDir(offerID),
		OfferID:   offerID,
		Recipient: keys.Recipient,
		Created:   now,
		Expires:   now.Add(o.expires),
		Site:      o.site,
		Studies:   summaries,
		Progress:  func(done, _ int64) { bar.Set(done) },
	})
	bar.Finish()
	src.cleanup(stderr) // the offer holds what was extracted now
	if err != nil {
		return err
	}
	packTime := time.Since(packStart)
	rec := newRecord(offerID, packed, keys, o, summaries)
	rec.Passcode = o.passcode != ""
	// From here on the sender keeps what serves ciphertext and checks
	// proofs, and nothing that decrypts the study.
	keys = nil

	// 3. Hand it to the sender serve of the spool, or serve it here.
	if err := sp.Save(rec); err != nil {
		return err
	}
	unlock, held, err := sp.Lock()
	if err != nil {
		return err
	}
	opt := servingOptions{listen: o.listen, relays: o.relays, only: &offerID, quiet: o.quiet, js: js, trail: trail, me: me}
	if held {
		sv, err := sp.ReadServing(15 * time.Second)
		if err != nil {
			return fmt.Errorf("another process holds the spool %s but says nothing of itself: %w", sp.Dir, err)
		}
		if sv.Mode != "send" {
			if err := handOff(sp, sv, rec, &secret, o, packed, packTime, stdout, stderr, js); err != nil {
				return err
			}
			me.PeerID = sv.PeerID
			trail.Record(audit.Export(me, subject(rec)).With("served_by_pid", sv.PID))
			return nil
		}
		// Another send serves with the spool's identity, and answers
		// only for its own offer: a card naming that identity could reach
		// it (by mDNS, by an address it took over) and be told the offer
		// is unknown, and it goes away when its send ends. This send
		// takes an identity of its own, for this card only.
		fmt.Fprintf(stderr, "sender: sender send (pid %d) serves with the spool's identity; this offer is served with an identity of its own, while this command runs\n", sv.PID)
		if opt.identity, _, err = crypto.GenerateEd25519Key(nil); err != nil {
			return err
		}
	} else {
		// The spool's identity is this process's while it runs: a sender
		// serve started later serves this offer too, under the card's
		// peer ID.
		defer unlock()
		if opt.identity, err = sp.Identity(); err != nil {
			return err
		}
		opt.mode = "send"
	}
	srv, err := startServing(ctx, sp, opt, stderr)
	if err != nil {
		return err
	}
	defer srv.close()
	offer := &card.Offer{
		Peer:         srv.host.ID(),
		Addrs:        discovery.CardAddrs(srv.host, srv.relays),
		Secret:       secret,
		ID:           offerID,
		Expires:      rec.Expires,
		ManifestHash: packed.ManifestHash,
		Passcode:     rec.Passcode,
	}
	if err := issue(o, offer, packed, packTime, stdout, stderr, js); err != nil {
		return err
	}
	secret, offer.Secret = icrypto.Secret{}, icrypto.Secret{}
	trail.Record(audit.Export(srv.d.me, subject(rec)))
	go srv.svc.Run(ctx, time.Second, srv.warn)
	fmt.Fprintf(stderr, "sender: serving offer %s as %s until %s\n", offerID, srv.host.ID(), rec.Expires.Local().Format("2006-01-02 15:04 MST"))
	printListening(stderr, srv.host.Addrs())
	if !o.keep {
		fmt.Fprintln(stderr, "sender: waiting for the receiving hospital; this stops once they confirm receipt (Ctrl-C to stop now)")
	}

	// 4. Serve until receipt, expiry or interruption.
	expiry := time.NewTimer(time.Until(rec.Expires))
	defer expiry.Stop()
	var result error
	done := srv.d.receiptChan(offerID)
wait:
	for {
		select {
		case <-done:
			if !o.keep {
				break wait
			}
			done = nil // keep serving until expiry
		case <-expiry.C:
			if srv.d.receiptsFor(offerID) == 0 {
				result = errExpired
			}
			srv.svc.Sync() // ends the offer and deletes its data now
			break wait
		case <-ctx.Done():
			result = ctx.Err()
			break wait
		}
	}
	if result == nil {
		srv.drain()
	}
	srv.d.report(offerID)
	return result
}

// newRecord is what the spool keeps of the offer: no key that decrypts.
func newRecord(id transfer.OfferID, p *transfer.Packed, keys *icrypto.Keys, o *sendOptions, studies []study.Summary) *spool.Record {
	first := studies[0]
	desc := first.Description
	if len(studies) > 1 {
		desc = fmt.Sprintf("%s (+%d more studies)", desc, len(studies)-1)
	}
	return &spool.Record{
		ID:           id,
		Created:      p.Manifest.Created,
		Expires:      p.Manifest.Expires,
		MaxDownloads: o.maxDownloads,
		Keep:         o.keep,
		Verifier:     keys.Verifier,
		ManifestHash: p.ManifestHash[:],
		StoredBytes:  p.Manifest.StoredSize(),
		Site:         o.site,
		PatientName:  first.PatientName,
		PatientID:    first.PatientID,
		StudyUID:     first.StudyUID,
		StudyDate:    first.StudyDate,
		Description:  desc,
		Files:        len(p.Manifest.Files),
		Bytes:        p.Manifest.TotalSize(),
	}
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

// handOff gives a packed offer to the process already serving the spool,
// and prints the card with that process's identity and addresses.

func handOff(sp *spool.Spool, sv *spool.Serving, rec *spool.Record, secret *icrypto.Secret, o *sendOptions, packed *transfer.Packed, packTime time.Duration, stdout, stderr io.Writer, js *console.JSON) error {
	if len(o.relays) > 0 {
		fmt.Fprintln(stderr, "sender: warning: a sender serve serves this spool; the card lists its relays, not --relay (give --relay to sender serve)")
	}
	if !sp.WaitLoaded(rec.ID, 15*time.Second) {
		return fmt.Errorf("the sender serving %s (pid %d) did not take the offer within 15s", sp.Dir, sv.PID)
	}
	id, err := peer.Decode(sv.PeerID)
	if err != nil {
		return err
	}
	var addrs []ma.Multiaddr
	for _, s := range sv.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil && len(addrs) < card.MaxAddrs {
			addrs = append(addrs, a)
		}
	}
	offer := &card.Offer{Peer: id, Addrs: addrs, Secret: *secret, ID: rec.ID, Expires: rec.Expires, ManifestHash: packed.ManifestHash, Passcode: rec.Passcode}
	if err := issue(o, offer, packed, packTime, stdout, stderr, js); err != nil {
		return err
	}
	until := "the first verified receipt"
	if rec.Keep {
		until = fmt.Sprintf("%d downloads", rec.MaxDownloads)
	}
	fmt.Fprintf(stderr, "sender: offer %s handed to the sender serving %s (pid %d); it serves it until %s or %s (see sender list)\n",
		rec.ID, sp.Dir, sv.PID, rec.Expires.Local().Format("2006-01-02 15:04 MST"), until)
	return nil
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
		norm, err := icrypto.NormalizePasscode(p)
		if err != nil {
			return &usageError{fmt.Sprintf("--passcode-file %s: %v", o.passcodeFile, err)}
		}
		if len(norm) < icrypto.MinChosenPasscode {
			return &usageError{fmt.Sprintf("--passcode-file %s: the passcode has %d letters or digits; it needs at least %d (or use --passcode, which makes one)",
				o.passcodeFile, len(norm), icrypto.MinChosenPasscode)}
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
