package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	ma "github.com/multiformats/go-multiaddr"
	"golang.org/x/term"
	"golang.org/x/time/rate"

	"imageshare/audit"
	"imageshare/card"
	"imageshare/console"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/internal/cli"
	"imageshare/internal/printable"
	"imageshare/study"
	"imageshare/transfer"
)

type fetchOptions struct {
	out, qr, uriFile  string
	yes, json, quiet  bool
	verbose           bool // libp2p's detail of each failed attempt
	stdin             bool
	timeout, retryFor time.Duration
	passcodeFile      string
	audit             string
	first             cli.StringList // series to fetch first
	trail             *audit.Trail   // opened from audit
	maxRate           float64        // bytes a second, 0 for no limit
	connections       int            // to the sender, on a direct path
	pacs              pacsOptions
	configFile        string // --config: the station's receiver.toml
	configUsed        string // the configuration read, "" if none
	// freeSpace tells the bytes free on the disk that holds a folder, and
	// whether it could; nil is study.FreeBytes. Tests set it.
	freeSpace func(dir string) (uint64, bool)
}

// maxConnections bounds --connections: the sender serves at most 16
// streams an offer.
const maxConnections = 8

func newFlags(name string, o *fetchOptions) *flag.FlagSet {
	o.connections = 1
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.out, "out", "", "")
	fs.BoolVar(&o.yes, "yes", false, "")
	fs.BoolVar(&o.yes, "y", false, "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.BoolVar(&o.quiet, "q", false, "")
	fs.BoolVar(&o.verbose, "verbose", false, "")
	fs.BoolVar(&o.verbose, "v", false, "")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Second, "")
	fs.DurationVar(&o.retryFor, "retry-for", 10*time.Minute, "")
	fs.StringVar(&o.passcodeFile, "passcode-file", "", "")
	fs.StringVar(&o.audit, "audit", "", "")
	fs.Var(&o.first, "first", "")
	fs.Func("connections", "", func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxConnections {
			return fmt.Errorf("--connections %q: give a number from 1 to %d", v, maxConnections)
		}
		o.connections = n
		return nil
	})
	fs.StringVar(&o.pacs.url, "to-dicomweb", "", "")
	fs.StringVar(&o.pacs.credentialsFile, "dicomweb-credentials", "", "")
	fs.StringVar(&o.pacs.patientID, "local-patient-id", "", "")
	fs.StringVar(&o.pacs.issuer, "issuer", "", "")
	fs.StringVar(&o.pacs.accession, "local-accession", "", "")
	fs.StringVar(&o.pacs.name, "local-name", "", "")
	fs.StringVar(&o.pacs.birthDate, "local-birth-date", "", "")
	fs.StringVar(&o.pacs.sex, "local-sex", "", "")
	fs.StringVar(&o.configFile, "config", "", "")
	fs.Func("stow-batch", "", func(v string) error {
		n, err := parseRate(v)
		if err == nil && n < 64e3 {
			err = fmt.Errorf("--stow-batch %s: at least 64KB", v)
		}
		o.pacs.batch = n
		return err
	})
	fs.Func("max-rate", "", func(v string) error {
		r, err := parseRate(v)
		o.maxRate = r
		return err
	})
	return fs
}

func parseCommon(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := cli.ParseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, errHelp
	}
	if err != nil {
		return nil, &usageError{cli.FlagMessage(err)}
	}
	return pos, nil
}

func runFetch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	o := &fetchOptions{}
	fs := newFlags("receiver fetch", o)
	fs.StringVar(&o.qr, "qr", "", "")
	fs.StringVar(&o.uriFile, "uri-file", "", "")
	pos, err := parseCommon(fs, args)
	if err != nil {
		return err
	}
	for _, p := range pos {
		switch {
		case p == "-":
			o.stdin = true
		default:
			// run has refused any argument that may hold a card.
			return &usageError{fmt.Sprintf("unexpected argument %q", p)}
		}
	}
	sources := 0
	for _, set := range []bool{o.qr != "", o.uriFile != "", o.stdin} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return &usageError{"give the card exactly one way: --qr IMAGE, --uri-file FILE, or - for standard input"}
	}
	if o.out == "" {
		return &usageError{"--out DIR is required: the folder to save the study in"}
	}
	if err := applyConfig(fs, o); err != nil {
		return err
	}
	if err := o.pacs.check(o.configUsed); err != nil {
		return err
	}
	text, err := readCard(o, stdin)
	if err != nil {
		return err
	}
	js := jsonOut(o, stdout)
	if o.trail, err = audit.OpenTrail("receiver", o.audit, stderr); err != nil {
		return err
	}
	defer o.trail.Close()
	app := audit.Local("receiver", "")
	o.trail.Record(audit.ApplicationStart(app))
	defer o.trail.Record(audit.ApplicationStop(app))
	_, err = fetch(ctx, o, text, confirmer(o, stdin, stderr), stdout, stderr, js)
	if err != nil {
		js.Emit(map[string]any{"type": "error", "exit_code": exitCode(err), "message": err.Error()})
	}
	return err
}

func jsonOut(o *fetchOptions, stdout io.Writer) *console.JSON {
	if o.json {
		return console.NewJSON(stdout)
	}
	return nil
}

// readCard returns the card's text from where the options say.
func readCard(o *fetchOptions, stdin io.Reader) (string, error) {
	switch {
	case o.qr != "":
		f, err := os.Open(o.qr)
		if err != nil {
			return "", fmt.Errorf("%w: %v", errCardRead, err)
		}
		defer f.Close()
		text, err := card.DecodeImage(f)
		if err != nil {
			return "", fmt.Errorf("%w from %s: %w", errCardRead, o.qr, err)
		}
		return text, nil
	case o.uriFile != "":
		b, err := readLimited(o.uriFile)
		if err != nil {
			return "", fmt.Errorf("%w: %v", errCardRead, err)
		}
		return string(b), nil
	default:
		sc := bufio.NewScanner(io.LimitReader(stdin, 64<<10))
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" {
				return line, nil
			}
		}
		return "", fmt.Errorf("%w: standard input held no card", errCardRead)
	}
}

func readLimited(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 64<<10))
	return bytes.TrimSpace(b), err
}

// confirmer returns the question asked before fetching, or nil when none
// is to be asked: with --yes, or with no terminal to ask on.
func confirmer(o *fetchOptions, stdin io.Reader, stderr io.Writer) func(string) (bool, error) {
	if o.yes || !console.IsTerminal(stderr) {
		return nil
	}
	return func(q string) (bool, error) {
		if !o.stdin && console.IsTerminal(stdin) {
			return console.Confirm(stdin, stderr, q)
		}
		tty, err := console.OpenTTY()
		if err != nil {
			return true, nil // no terminal to ask on
		}
		defer tty.Close()
		return console.Confirm(tty, stderr, q)
	}
}

// fetchResult is what one fetch did.
type fetchResult struct {
	Dir   string
	Files int
	Bytes int64
}

// fetch does one card's work: connect, prove, show, confirm, fetch, verify,
// confirm receipt. A lost connection or a sender that restarts is retried
// with backoff for --retry-for; a fetch run again into the same folder
// resumes, fetching only what is not on disk verified already.
func fetch(ctx context.Context, o *fetchOptions, text string, confirm func(string) (bool, error), stdout, stderr io.Writer, js *console.JSON) (*fetchResult, error) {
	start := time.Now()
	offer, err := card.ParseURI(text)
	if err != nil {
		return nil, err
	}
	me := audit.Local("receiver", "")
	from := audit.Participant{PeerID: offer.Peer.String()}
	res, err := fetchOffer(ctx, o, offer, confirm, stdout, stderr, js, &me, &from, start)
	auditOutcome(o.trail, me, from, offer.ID.String(), err)
	return res, err
}

// auditOutcome records why a fetch failed, where that matters to security.
func auditOutcome(t *audit.Trail, me, from audit.Participant, offerID string, err error) {
	switch {
	case err == nil:
	case errors.Is(err, discovery.ErrImpostor):
		t.Record(audit.SecurityAlert(audit.AlertImpostor, me, from, offerID, err.Error()))
	case errors.Is(err, transfer.ErrUnauthorized):
		t.Record(audit.UserAuthentication(me, from, offerID, err))
	case errors.Is(err, transfer.ErrManifestMismatch):
		t.Record(audit.SecurityAlert(audit.AlertManifestMismatch, me, from, offerID, err.Error()))
	case errors.Is(err, transfer.ErrCorrupt), errors.Is(err, errDamagedAtSender):
		t.Record(audit.SecurityAlert(audit.AlertTampered, me, from, offerID, err.Error()))
	}
}

func fetchOffer(ctx context.Context, o *fetchOptions, offer *card.Offer, confirm func(string) (bool, error), stdout, stderr io.Writer, js *console.JSON, me, from *audit.Participant, start time.Time) (*fetchResult, error) {
	var err error
	js.Emit(map[string]any{"type": "card", "offer_id": offer.ID.String(), "peer_id": offer.Peer.String(), "expires": offer.Expires, "passcode": offer.Passcode})
	// Found now, not after connecting and showing the study.
	if err := checkWritable(o.out); err != nil {
		return nil, err
	}
	if time.Now().After(offer.Expires) {
		fmt.Fprintf(stderr, "receiver: warning: the card says it expired at %s; asking the sender anyway\n", offer.Expires.Local().Format("2006-01-02 15:04 MST"))
	}
	keySecret := &offer.Secret
	if offer.Passcode {
		p, err := readPasscode(o)
		if err != nil {
			return nil, err
		}
		if keySecret, err = icrypto.WithPasscode(&offer.Secret, p, offer.ID[:]); err != nil {
			return nil, fmt.Errorf("%w: %v", errPasscode, err)
		}
	}
	keys, err := icrypto.DeriveKeys(keySecret)
	if err != nil {
		return nil, err
	}
	h, err := discovery.NewHost(discovery.HostOptions{Listen: discovery.ReceiverListen})
	if err != nil {
		return nil, err
	}
	defer h.Close()
	me.PeerID = h.ID().String()
	// The sender announces itself on the LAN: found there, it is reached
	// even when the card's addresses are stale.
	lan, err := discovery.StartLAN(h)
	if err == nil {
		defer lan.Close()
	}

	r := &receive{o: o, offer: offer, keys: keys, h: h, lan: lan, stderr: stderr, js: js, start: start}
	r.watchDirect()
	if o.maxRate > 0 {
		r.limit = rate.NewLimiter(rate.Limit(o.maxRate), transfer.MaxSealedChunkSize)
		r.limit.AllowN(time.Now(), transfer.MaxSealedChunkSize) // start with no burst
	}
	defer r.close()
	res, err := r.run(ctx, confirm, stdout, stderr, js, me, from)
	if errors.Is(err, context.Canceled) && r.store != nil {
		err = &interruptedError{verified: r.store.Verified(), files: len(r.store.Manifest().Files), dir: r.store.Dir(), err: err}
	}
	return res, err
}

// run is fetchOffer once its host is up: the attempts, then the checks of
// what arrived.
func (r *receive) run(ctx context.Context, confirm func(string) (bool, error), stdout, stderr io.Writer, js *console.JSON, me, from *audit.Participant) (*fetchResult, error) {
	o, offer, start := r.o, r.offer, r.start
	var m *transfer.Manifest
	var path string
	retry := backoff{until: time.Now().Add(o.retryFor), verbose: o.verbose}
	unknown := 0
	// Until the sender answers once, it is given up on sooner: the
	// computer is off, its network closed, or the card wrong.
	reachBy := time.Now().Add(min(reachAttempts*o.timeout, o.retryFor))
	for {
		err := r.attempt(ctx, &m, &path, confirm)
		if err == nil {
			break
		}
		if !r.reached && errors.Is(err, discovery.ErrUnreachable) && !permanent(err) {
			// Not an impostor: nothing answered at all.
			if time.Now().After(offer.Expires) {
				return nil, &cardExpiredError{expires: offer.Expires, err: err}
			}
			if !time.Now().Before(reachBy) || !retry.waitUntil(ctx, reachBy, err, stderr, js) {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, &neverReachedError{attempts: r.attempts, err: err}
			}
			continue
		}
		if errors.Is(err, errUpgraded) {
			// Hole punching opened a direct connection: go on over it at
			// once, with what is already verified kept.
			fmt.Fprintln(stderr, "receiver: a direct connection to the sender opened (hole punched); going on over it")
			continue
		}
		if offer.Passcode && errors.Is(err, transfer.ErrUnauthorized) {
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
		if permanent(err) || !retry.wait(ctx, err, stderr, js) {
			return nil, err
		}
		dropSuspectConns(r.h, offer.Peer, err)
	}
	if err := r.store.Finish(); err != nil {
		return nil, err
	}
	// Still in the incoming folder: nothing watching --out sees the study
	// until its headers are checked too, and its record is written.
	dir := r.store.Dir()
	from.Site, from.Address = m.Site, r.addr
	// Every file matched its hash, but the hashes came from the sender's
	// manifest: the headers must also be the study staff were shown.
	if err := study.CheckReceived(ctx, dir, m.Studies, manifestExpected(m)); err != nil {
		var mismatch *study.MismatchError
		if errors.As(err, &mismatch) {
			reportMismatch(o, stderr, js, mismatch, *me, *from, offer.ID.String())
			if refused, rerr := quarantine(dir); rerr == nil {
				fmt.Fprintf(stderr, "receiver: the files are kept for inspection in %s; nothing was sent to the PACS, and the sender was not told the study arrived\n", refused)
			} else {
				fmt.Fprintf(stderr, "receiver: warning: the files stay in %s (%v): do not import them\n", dir, rerr)
			}
		}
		return nil, err
	}
	if err := newReceivedRecord(m).write(dir); err != nil {
		return nil, fmt.Errorf("%w: %v", transfer.ErrDisk, err)
	}
	dir, err := r.store.Commit()
	if err != nil {
		return nil, err
	}
	elapsed := time.Since(start)
	fmt.Fprintf(stderr, "receiver: %d files (%s) verified against their hashes in %s\n", len(m.Files), study.FormatBytes(m.TotalSize()), elapsed.Round(time.Millisecond))
	if r.reused > 0 {
		// reused counts the files' bytes, fetched the network's (sealed,
		// compressed): say so, rather than add one to the other.
		fmt.Fprintf(stderr, "receiver: resumed: %s of the files were already here and %s fetched (%s over the network)\n",
			study.FormatBytes(r.reused), study.FormatBytes(m.TotalSize()-r.reused), study.FormatBytes(r.fetched))
	}
	if err := r.confirm(ctx); err != nil {
		fmt.Fprintf(stderr, "receiver: warning: the study is complete here, but the sender was not told: %v\n", err)
	}
	fmt.Fprintf(stderr, "receiver: study saved in %s\n", dir)
	uids := make([]string, len(m.Studies))
	for i, s := range m.Studies {
		uids[i] = s.StudyUID
	}
	subj := audit.Subject{PatientID: m.Studies[0].PatientID, PatientIDIssuer: m.Studies[0].IssuerOfPatientID,
		PatientName: m.Studies[0].PatientName, StudyUIDs: uids, OfferID: offer.ID.String(), Files: len(m.Files), Bytes: m.TotalSize()}
	o.trail.Record(audit.InstancesReceived(*from, *me, subj).With("path", path).With("fetched_bytes", r.fetched).With("reused_bytes", r.reused))
	o.trail.Record(audit.Import(*me, *from, subj, dir))
	var imported *importResult
	var importErr error
	if o.pacs.url != "" {
		imported, importErr = importToPACS(ctx, o, manifestInput(m, dir), stderr, js, *me)
	}
	summary := map[string]any{
		"type": "summary", "offer_id": offer.ID.String(), "study_uid": uids[0], "study_uids": uids,
		"files": len(m.Files), "bytes": m.TotalSize(), "fetched_bytes": r.fetched, "reused_bytes": r.reused,
		"dir": dir, "path": path, "seconds": elapsed.Seconds(), "verified": true, "attempts": retry.attempts + 1,
		"first_series_seconds": r.firstSeries.Seconds(), "connections": 1 + len(r.extra),
	}
	if o.pacs.url != "" {
		summary["pacs"] = imported
	}
	js.Emit(summary)
	if js == nil {
		fmt.Fprintln(stdout, dir)
	}
	return &fetchResult{Dir: dir, Files: len(m.Files), Bytes: m.TotalSize()}, importErr
}

// receive is one card's fetch across its attempts.
type receive struct {
	o      *fetchOptions
	offer  *card.Offer
	keys   *icrypto.Keys
	h      host.Host
	stderr io.Writer
	js     *console.JSON
	limit  *rate.Limiter

	addr            string
	client          *transfer.Client
	extra           []host.Host // further connections' hosts
	lan             *discovery.LAN
	direct          chan struct{} // a direct connection to the sender opened
	wasRelayed      bool
	reached         bool // the sender answered once
	attempts        int
	store           *transfer.Store
	bar             *console.Progress
	fetched, reused int64
	corrupt         map[int]int

	start       time.Time
	mu          sync.Mutex
	seriesLeft  map[string]int // files still to verify, by series
	firstSeries time.Duration
}

// watchSeries reports each series as soon as all its files are verified:
// the clinician can open it while the rest arrives.
func (r *receive) watchSeries(m *transfer.Manifest, st *transfer.Store) {
	r.seriesLeft = map[string]int{}
	placed := st.Placed()
	for i, f := range m.Files {
		if f.Series != "" && !placed[i] {
			r.seriesLeft[f.Series]++
		}
	}
	info := map[string]study.Series{}
	for _, s := range m.Studies {
		for _, se := range s.Series {
			info[se.UID] = se
		}
	}
	st.OnFile = func(f transfer.File) {
		r.mu.Lock()
		defer r.mu.Unlock()
		if f.Series == "" {
			return
		}
		if r.seriesLeft[f.Series]--; r.seriesLeft[f.Series] != 0 {
			return
		}
		after := time.Since(r.start)
		if r.firstSeries == 0 {
			r.firstSeries = after
		}
		se := info[f.Series]
		// Where the series can be opened now: the study's folder is
		// moved into place only once the whole study is verified.
		at := filepath.Join(st.Dir(), filepath.FromSlash(path.Dir(f.Path)))
		r.bar.Clear()
		fmt.Fprintf(r.stderr, "receiver: series %d (%s, %d images) is complete and verified, after %s, in %s\n", se.Number, printable.String(se.Description), se.Images, after.Round(10*time.Millisecond), printable.String(at))
		r.js.Emit(map[string]any{"type": "series_complete", "series_uid": f.Series, "number": se.Number, "description": se.Description, "images": se.Images, "seconds": after.Seconds(), "dir": at})
	}
}

func (r *receive) close() {
	r.closeExtra()
	r.bar.Finish()
	if r.store != nil {
		r.store.Close()
	}
}

// attempt connects and fetches what is still needed. The first attempt
// also fetches the manifest, shows the study and asks.
func (r *receive) attempt(ctx context.Context, m **transfer.Manifest, path *string, confirm func(string) (bool, error)) error {
	if r.attempts == 0 || r.reached {
		fmt.Fprintf(r.stderr, "receiver: connecting to %s ...\n", r.offer.Peer)
	}
	r.attempts++
	timeout := r.o.timeout
	if !r.reached && time.Now().After(r.offer.Expires) {
		// A sender still serving an expired card answers at once; one
		// that stopped, as it does at expiry, should not cost staff the
		// whole --timeout.
		timeout = min(timeout, expiredCardTimeout)
	}
	conn, err := discovery.Connect(ctx, r.h, r.offer.Peer, r.offer.Addrs, timeout, r.lan)
	if err != nil {
		return err
	}
	r.reached = true
	switch {
	case discovery.IsRelayedConn(conn):
		*path = "relayed"
		r.wasRelayed = true
	case r.wasRelayed:
		*path = "hole-punched"
	default:
		*path = "direct"
	}

	r.addr = conn.RemoteMultiaddr().String()
	r.js.Emit(map[string]any{"type": "connected", "addr": r.addr, "path": *path, "seconds": time.Since(r.start).Seconds()})
	r.client = &transfer.Client{
		Open: func(ctx context.Context) (transfer.Stream, error) {
			// A relay that limits its connections marks them limited;
			// imageshare's streams may use them all the same.
			return r.h.NewStream(network.WithAllowLimitedConn(ctx, "imageshare"), r.offer.Peer, protocol.ID(transfer.ProtocolID))
		},
		Local:  string(r.h.ID()),
		Remote: string(r.offer.Peer),
		Offer:  r.offer.Ref(),
		Keys:   r.keys,
	}
	if *path == "direct" {
		r.client.Extra = r.connectExtra(ctx, conn.RemoteMultiaddr())
	}
	if *m == nil {
		mm, err := r.client.Manifest(ctx)
		if err != nil {
			return err
		}
		if err := r.show(mm, confirm); err != nil {
			return err
		}
		// Only a folder that holds this very manifest's files is resumed
		// into; the name alone comes from the card.
		dir, err := transfer.ClaimFolder(r.o.out, studyFolder(mm), r.offer.ManifestHash)
		if err != nil {
			return err
		}
		st, err := transfer.OpenStore(dir, mm)
		if errors.Is(err, transfer.ErrFolderBusy) {
			return fmt.Errorf("%w into %s", err, r.o.out)
		}
		if err != nil {
			return err
		}
		reused, err := st.Resume()
		if err != nil {
			st.Close()
			return err
		}
		r.store, r.reused, *m = st, reused, mm
		r.watchSeries(mm, st)
		r.bar = console.NewProgress(r.stderr, mm.StoredSize(), "receiving", !r.o.quiet && !r.o.json)
		var have int64
		done := map[int]bool{}
		for _, i := range st.Need() {
			done[i] = true
		}
		for i, c := range mm.Chunks {
			if !done[i] {
				have += c.Stored
			}
		}
		r.bar.Set(have)
	}
	need := transfer.Order(*m, r.store.Need(), r.o.first)
	if len(need) == 0 {
		return nil
	}
	// Over a relay, the fetch stops and goes on over a direct connection
	// as soon as hole punching opens one.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	if *path == "relayed" {
		go func() {
			select {
			case <-r.direct:
				cancel(errUpgraded)
			case <-ctx.Done():
			}
		}()
	}
	err = r.client.Fetch(ctx, *m, need, r.store.Put, func(n int64) {
		r.fetched += n
		r.bar.Add(n)
		if r.limit != nil {
			r.limit.WaitN(ctx, int(n))
		}
	})
	var ce *transfer.ChunkError
	if errors.As(err, &ce) {
		// Damaged on the way: fetched again, a few times at most.
		if r.corrupt == nil {
			r.corrupt = map[int]int{}
		}
		if r.corrupt[ce.Index]++; r.corrupt[ce.Index] >= maxCorrupt {
			return fmt.Errorf("%w: %w (%d times)", errDamagedAtSender, err, maxCorrupt)
		}
		fmt.Fprintf(r.stderr, "receiver: warning: %v; fetching it again\n", err)
	}
	return err
}

// connectExtra opens the further connections --connections asks for, to
// the address that worked, each from a host of its own: streams on one
// connection share one TCP window, which limits a long, fast path (54 MB/s
// at 1 Gbit/s and 50 ms with Linux's default buffers), while on a slower
// link two connections compete with each other (docs/PERFORMANCE.md). A
// connection that fails is done without.
func (r *receive) connectExtra(ctx context.Context, addr ma.Multiaddr) []transfer.Conn {
	r.closeExtra()
	var conns []transfer.Conn
	for range r.o.connections - 1 {
		h, err := discovery.NewHost(discovery.HostOptions{})
		if err != nil {
			break
		}
		cctx, cancel := context.WithTimeout(ctx, r.o.timeout)
		err = h.Connect(cctx, peer.AddrInfo{ID: r.offer.Peer, Addrs: []ma.Multiaddr{addr}})
		cancel()
		if err != nil {
			h.Close()
			break
		}
		r.extra = append(r.extra, h)
		conns = append(conns, transfer.Conn{
			Open: func(ctx context.Context) (transfer.Stream, error) {
				return h.NewStream(ctx, r.offer.Peer, protocol.ID(transfer.ProtocolID))
			},
			Local: string(h.ID()),
		})
	}
	return conns
}

func (r *receive) closeExtra() {
	for _, h := range r.extra {
		h.Close()
	}
	r.extra = nil
}

// dropSuspectConns closes the connections to the sender that the next
// attempt should not reuse after err: a path that fell silent may be dead
// without libp2p knowing it for 30 s or more (a relay gone, seen only by
// keepalives), and so may a relayed one after any failure (a relay
// restarted). A direct connection that did not stall stays: it may be the
// one hole punching has just opened.
func dropSuspectConns(h host.Host, sender peer.ID, err error) {
	for _, c := range h.Network().ConnsToPeer(sender) {
		if errors.Is(err, transfer.ErrStalled) || discovery.IsRelayedConn(c) {
			c.Close()
		}
	}
}

// errUpgraded ends an attempt over a relay when a direct connection to
// the sender has opened; the next attempt goes on over it.
var errUpgraded = errors.New("a direct connection opened")

// watchDirect signals r.direct whenever a direct connection to the sender
// opens, as hole punching does while a relayed one carries the fetch.
func (r *receive) watchDirect() {
	r.direct = make(chan struct{}, 1)
	r.h.Network().Notify(&network.NotifyBundle{
		ConnectedF: func(_ network.Network, c network.Conn) {
			if c.RemotePeer() == r.offer.Peer && !discovery.IsRelayedConn(c) {
				select {
				case r.direct <- struct{}{}:
				default:
				}
			}
		},
	})
}

// errDamagedAtSender: one chunk failed verification every time it came.
var errDamagedAtSender = errors.New("the sender's copy may be damaged")

// maxCorrupt is how many times one chunk may fail verification before the
// fetch gives up.
const maxCorrupt = 3

// show prints who and what the study is, before any image is fetched, and
// asks when there is someone to ask. Every value is the sender's, shown
// with printable.String (WriteSummary does so too): none may draw on the
// terminal above the question.
func (r *receive) show(m *transfer.Manifest, confirm func(string) (bool, error)) error {
	stderr := r.stderr
	if m.Site != "" {
		fmt.Fprintf(stderr, "\nFrom:         %s\n", printable.String(m.Site))
	}
	for _, s := range m.Studies {
		fmt.Fprintln(stderr)
		study.WriteSummary(stderr, s)
	}
	report := "no"
	if rf, ok := m.Report(); ok {
		report = fmt.Sprintf("yes (%s, %s)", printable.String(rf.Path), study.FormatBytes(rf.Size))
	}
	fmt.Fprintf(stderr, "Report:       %s\nTransfer:     %s to fetch (%s of files)\n", report, study.FormatBytes(m.StoredSize()), study.FormatBytes(m.TotalSize()))
	if err := r.o.pacs.checkStudies(m.Studies); err != nil {
		return err
	}
	if p := &r.o.pacs; p.url != "" {
		fmt.Fprintf(stderr, "Then PACS:    %s", p.redactedURL())
		if p.reconciles() {
			fmt.Fprintf(stderr, ", filed as %s", describeChanges(m.Studies[0], p.changes()))
		}
		fmt.Fprintln(stderr)
	}
	fmt.Fprintln(stderr)
	r.js.Emit(map[string]any{"type": "manifest", "site": m.Site, "studies": m.Studies, "files": len(m.Files), "bytes": m.TotalSize(), "stored_bytes": m.StoredSize(), "report": report != "no", "seconds": time.Since(r.start).Seconds()})
	if err := r.checkSpace(m); err != nil {
		return err
	}
	if confirm != nil {
		ok, err := confirm("Receive this study?")
		if err != nil {
			return err
		}
		if !ok {
			return errDeclined
		}
	}
	return nil
}

// checkSpace refuses, before anything is asked or fetched, a study that
// does not fit on the disk of --out: what the study's folder already
// holds from an earlier run does not count.
func (r *receive) checkSpace(m *transfer.Manifest) error {
	dir, _, err := transfer.FindFolder(r.o.out, studyFolder(m), r.offer.ManifestHash)
	if err != nil {
		return err
	}
	need := transfer.StillNeeded(dir, m)
	free := r.o.freeSpace
	if free == nil {
		free = study.FreeBytes
	}
	// --out may not exist yet: its disk is that of the nearest folder
	// above it that does.
	at := r.o.out
	for {
		if _, err := os.Stat(at); err == nil || filepath.Dir(at) == at {
			break
		}
		at = filepath.Dir(at)
	}
	if n, ok := free(at); ok && need > 0 && uint64(need) > n {
		return fmt.Errorf("%w; free some space there, or choose another --out", &transfer.SpaceError{Dir: r.o.out, Need: need, Free: n})
	}
	return nil
}

// checkWritable makes out if need be and writes a file in it, so that a
// folder that cannot be written is found before anyone is connected to.
func checkWritable(out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("%w into %s: %w", transfer.ErrDisk, out, err)
	}
	f, err := os.CreateTemp(out, ".imageshare-check-")
	if err != nil {
		return fmt.Errorf("%w into %s: %w", transfer.ErrDisk, out, err)
	}
	f.Close()
	return os.Remove(f.Name())
}

// interruptedError: the fetch was cancelled (Ctrl-C). What was verified
// stays, and the same command resumes. It wraps context.Canceled.
type interruptedError struct {
	verified, files int
	dir             string // the study folder
	err             error
}

func (e *interruptedError) Error() string {
	return fmt.Sprintf("interrupted: %d of %d files are verified and kept in %s; the same command resumes, fetching only the rest", e.verified, e.files, e.dir)
}

func (e *interruptedError) Unwrap() error { return e.err }

// confirm tells the sender, retrying briefly, that the study arrived.
func (r *receive) confirm(ctx context.Context) error {
	var err error
	for i := range 3 {
		if err = r.client.Confirm(ctx, len(r.store.Manifest().Files), r.store.Manifest().TotalSize()); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(i+1) * time.Second):
		}
	}
	return err
}

// unknownOfferRetries is how many times a fetch asks again when the
// sender says it does not have the offer.
const unknownOfferRetries = 3

// permanent reports whether err will not go away by trying again.
func permanent(err error) bool {
	var ue *usageError
	if errors.As(err, &ue) {
		return true
	}
	for _, p := range []error{
		context.Canceled, errDeclined, card.ErrMalformed,
		discovery.ErrImpostor, discovery.ErrNoAddrs,
		transfer.ErrUnauthorized, transfer.ErrLocked, transfer.ErrExpired, transfer.ErrRevoked,
		transfer.ErrUsedUp, transfer.ErrManifestMismatch, transfer.ErrCannotDecrypt, transfer.ErrUnavailable,
		transfer.ErrBadRequest, transfer.ErrDisk, transfer.ErrFolderBusy,
	} {
		if errors.Is(err, p) {
			return true
		}
	}
	var me *transfer.ManifestError
	var fe *transfer.FileError
	return errors.Is(err, errDamagedAtSender) || errors.As(err, &me) || errors.As(err, &fe)
}

// reachAttempts × --timeout is how long a sender that never answered is
// tried (90 s by default), before --retry-for applies.
const reachAttempts = 3

// expiredCardTimeout bounds the first attempt for a card whose expiry has
// passed.
const expiredCardTimeout = 10 * time.Second

// neverReachedError: the sender never answered, at any address on the
// card or on the local network. It wraps the last attempt's error
// (discovery.ErrUnreachable), whose libp2p detail --verbose and --json
// show.
type neverReachedError struct {
	attempts int
	err      error
}

func (e *neverReachedError) Error() string {
	return "the sending computer did not answer at any address on the card; it may be off or its network closed: call the sending hospital"
}

func (e *neverReachedError) Unwrap() error { return e.err }

// cardExpiredError: the card's own expiry has passed and no address on it
// answered. It wraps transfer.ErrExpired.
type cardExpiredError struct {
	expires time.Time
	err     error // the attempt's, for --verbose and --json
}

func (e *cardExpiredError) Error() string {
	return fmt.Sprintf("this card expired on %s; ask the sending hospital for a new one", e.expires.Local().Format("2006-01-02 15:04 MST"))
}

// Unwrap is ErrExpired only: the exit status is that of an expired offer
// (6), not of an unreachable sender.
func (e *cardExpiredError) Unwrap() error { return transfer.ErrExpired }

// plainError is err as one line for staff: an unreachable sender without
// libp2p's dial errors, which --verbose and --json keep.
func plainError(err error, verbose bool) string {
	if verbose {
		return err.Error()
	}
	if errors.Is(err, discovery.ErrUnreachable) {
		return "the sender did not answer at any address on the card"
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return msg
}

// backoff waits between attempts: 1 s, doubling to 30 s, until a deadline.
type backoff struct {
	until    time.Time
	attempts int
	verbose  bool // libp2p's detail on the terminal too
}

func (b *backoff) wait(ctx context.Context, err error, stderr io.Writer, js *console.JSON) bool {
	return b.waitUntil(ctx, b.until, err, stderr, js)
}

// waitUntil waits before the next attempt, unless that would pass until,
// and says so in one line (the error's detail with --verbose).
func (b *backoff) waitUntil(ctx context.Context, until time.Time, err error, stderr io.Writer, js *console.JSON) bool {
	d := min(time.Second<<min(b.attempts, 5), 30*time.Second)
	if time.Now().Add(d).After(until) {
		d = time.Until(until)
		if d <= 0 || !until.Before(b.until) {
			return false
		}
	}
	b.attempts++
	fmt.Fprintf(stderr, "receiver: %s; trying again in %s (attempt %d; giving up at %s)\n", plainError(err, b.verbose), d.Round(time.Second), b.attempts+1, until.Local().Format("15:04:05"))
	js.Emit(map[string]any{"type": "retry", "attempt": b.attempts + 1, "after_seconds": d.Seconds(), "message": err.Error()})
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// parseRate reads a rate such as 500KB, 20MB or 1.5GB (a second; SI
// units, as link speeds are given).
func parseRate(v string) (float64, error) {
	units := []struct {
		suffix string
		mult   float64
	}{{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}, {"", 1}}
	u := strings.ToUpper(strings.TrimSuffix(strings.TrimSpace(v), "/s"))
	for _, x := range units {
		if strings.HasSuffix(u, x.suffix) {
			n, err := strconv.ParseFloat(strings.TrimSuffix(u, x.suffix), 64)
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%q is not a rate like 20MB", v)
			}
			return n * x.mult, nil
		}
	}
	return 0, fmt.Errorf("%q is not a rate like 20MB", v)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// studyFolder names the study's folder: its date and the offer, which stay
// the same if the same card is fetched again (transfer.ClaimFolder adds
// "-2" for another manifest under that name). No patient data goes into
// the name.
func studyFolder(m *transfer.Manifest) string {
	date := "undated"
	if len(m.Studies) > 0 && m.Studies[0].StudyDate != "" {
		date = unsafeName.ReplaceAllString(m.Studies[0].StudyDate, "_")
	}
	return fmt.Sprintf("study-%s-%s", date, m.OfferID)
}

// A libp2p stream is what the transfer protocol runs on.
var _ transfer.Stream = (network.Stream)(nil)

// errPasscode: the card needs a passcode and none could be had.
var errPasscode = errors.New("this card also needs the passcode that the sending hospital gives by phone")

// readPasscode reads the passcode from --passcode-file, or asks for it on
// the terminal without echoing it.
func readPasscode(o *fetchOptions) (string, error) {
	if o.passcodeFile != "" {
		b, err := readLimited(o.passcodeFile)
		if err != nil {
			return "", fmt.Errorf("%w: %v", errPasscode, err)
		}
		return string(b), nil
	}
	tty, err := console.OpenTTY()
	if err != nil {
		return "", fmt.Errorf("%w: give it with --passcode-file", errPasscode)
	}
	defer tty.Close()
	fmt.Fprint(tty, "This card needs a passcode (ask the sending hospital): ")
	b, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return "", fmt.Errorf("%w: %v", errPasscode, err)
	}
	return string(b), nil
}
