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
	"strings"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/network"
	ma "github.com/multiformats/go-multiaddr"

	"imageshare/card"
	"imageshare/console"
	icrypto "imageshare/crypto"
	"imageshare/discovery"
	"imageshare/study"
	"imageshare/transfer"
)

var (
	errHelp     = errors.New("help shown")
	errBadInput = errors.New("input refused")
)

type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(s string) error { *l = append(*l, s); return nil }

type sendOptions struct {
	site, cardPNG, uriFile, report, spool string
	studies, listen                       stringList
	allStudies, keep, json, quiet         bool
	expires                               time.Duration
	paths                                 []string
}

// parseInterleaved parses flags that may come before, between or after
// the positional arguments, as staff type them in any order.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
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
	fs.BoolVar(&o.allStudies, "all-studies", false, "")
	fs.BoolVar(&o.keep, "keep", false, "")
	fs.BoolVar(&o.json, "json", false, "")
	fs.BoolVar(&o.quiet, "quiet", false, "")
	fs.BoolVar(&o.quiet, "q", false, "")
	fs.DurationVar(&o.expires, "expires", 72*time.Hour, "")
	pos, err := parseInterleaved(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, usage, discovery.DefaultPort)
		return nil, errHelp
	}
	if err != nil {
		return nil, &usageError{err.Error()}
	}
	if len(pos) == 0 {
		return nil, &usageError{"no study given: name a folder or files, e.g. sender send ./CT_series"}
	}
	if o.expires <= 0 {
		return nil, &usageError{fmt.Sprintf("--expires %v: must be positive", o.expires)}
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
	o.paths = pos
	return o, nil
}

func defaultSpool() string {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "imageshare", "spool")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "imageshare", "spool")
	}
	return filepath.Join(os.TempDir(), "imageshare-spool")
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

	// 1. Read and check the study.
	studies, files, err := readStudy(ctx, o, stderr, showProgress, js)
	if err != nil {
		return err
	}

	// 2. Encrypt it into the spool.
	secret, err := icrypto.NewSecret()
	if err != nil {
		return err
	}
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		return err
	}
	var offerID card.OfferID
	if _, err := rand.Read(offerID[:]); err != nil {
		return err
	}
	spool := o.spool
	if spool == "" {
		spool = defaultSpool()
	}
	if err := os.MkdirAll(spool, 0o700); err != nil {
		return fmt.Errorf("creating spool folder: %w", err)
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
		Dir:       filepath.Join(spool, offerID.String()),
		OfferID:   offerID,
		Recipient: keys.Recipient,
		Created:   now,
		Expires:   now.Add(o.expires),
		Site:      o.site,
		Studies:   summaries,
		Progress:  func(done, _ int64) { bar.Set(done) },
	})
	bar.Finish()
	if err != nil {
		return err
	}
	defer os.RemoveAll(packed.Dir)
	packTime := time.Since(packStart)

	// 3. Start the host and serve the offer.
	h, err := startHost(o.listen, stderr)
	if err != nil {
		return err
	}
	defer h.Close()
	data, err := os.Open(filepath.Join(packed.Dir, transfer.DataFile))
	if err != nil {
		return err
	}
	defer data.Close()

	offer := &card.Offer{
		Peer:         h.ID(),
		Addrs:        discovery.CardAddrs(h),
		Secret:       secret,
		ID:           offerID,
		Expires:      packed.Manifest.Expires,
		ManifestHash: packed.ManifestHash,
	}
	uri, err := offer.URI()
	if err != nil {
		return err
	}
	// From here on the sender keeps what serves ciphertext and checks
	// proofs, and nothing that decrypts the study.
	verifier := keys.Verifier
	keys, secret, offer.Secret = nil, icrypto.Secret{}, icrypto.Secret{}

	d := &deliveries{stderr: stderr, js: js, bar: console.NewProgress(stderr, packed.Manifest.StoredSize(), "sending", showProgress)}
	d.done = make(chan struct{})
	srv := &transfer.Server{OnEvent: d.event}
	srv.Add(&transfer.Offer{
		ID:             offerID,
		Verifier:       verifier,
		Expires:        packed.Manifest.Expires,
		SealedManifest: packed.SealedManifest,
		Extents:        packed.Extents,
		Data:           data,
	})
	srvCtx, cancelSrv := context.WithCancel(ctx)
	defer cancelSrv()
	h.SetStreamHandler(transfer.ProtocolID, func(s network.Stream) {
		srv.Handle(srvCtx, s, string(h.ID()), string(s.Conn().RemotePeer()), s.Conn().RemotePeer().String())
	})

	// 4. Issue the card.
	if err := issueCard(o, uri, offer, packed.Manifest, stdout, stderr, js); err != nil {
		return err
	}
	addrs := make([]string, len(offer.Addrs))
	for i, a := range offer.Addrs {
		addrs[i] = a.String()
	}
	js.Emit(map[string]any{
		"type": "offer", "offer_id": offerID.String(), "uri": uri, "expires": offer.Expires,
		"peer_id": h.ID().String(), "addrs": addrs, "card": o.cardPNG, "uri_file": o.uriFile,
		"files": len(packed.Manifest.Files), "bytes": total, "stored_bytes": packed.Manifest.StoredSize(),
		"pack_seconds": packTime.Seconds(),
	})
	fmt.Fprintf(stderr, "sender: serving offer %s as %s until %s\n", offerID, h.ID(), offer.Expires.Local().Format("2006-01-02 15:04 MST"))
	if !o.keep {
		fmt.Fprintln(stderr, "sender: waiting for the receiving hospital; this stops once they confirm receipt (Ctrl-C to stop now)")
	}

	// 5. Serve until receipt, expiry or interruption.
	expiry := time.NewTimer(time.Until(offer.Expires))
	defer expiry.Stop()
	var result error
	done := d.done
wait:
	for {
		select {
		case <-done:
			if !o.keep {
				break wait
			}
			done = nil // keep serving until expiry
		case <-expiry.C:
			if d.receipts() == 0 {
				result = errExpired
			}
			break wait
		case <-ctx.Done():
			result = ctx.Err()
			break wait
		}
	}
	if result == nil {
		// Let the receipt's acknowledgement reach the receiver: wait for
		// it to hang up, for a few seconds at most.
		waitCtx, cancelWait := context.WithTimeout(context.Background(), 5*time.Second)
		srv.Wait(waitCtx)
		for waitCtx.Err() == nil && len(h.Network().Conns()) > 0 {
			time.Sleep(50 * time.Millisecond)
		}
		cancelWait()
	}
	cancelSrv()
	d.bar.Clear()
	d.report(offerID)
	return result
}

// readStudy scans the paths, refuses bad input, picks the studies and adds
// the report.
func readStudy(ctx context.Context, o *sendOptions, stderr io.Writer, showProgress bool, js *console.JSON) ([]*study.Study, []study.File, error) {
	var bar *console.Progress
	scan, err := study.ScanPaths(ctx, o.paths, study.ScanOptions{Progress: func(done, total int) {
		if bar == nil {
			bar = console.NewProgress(stderr, int64(total), "reading", showProgress && total > 50)
		}
		bar.Set(int64(done))
	}})
	bar.Finish()
	if err != nil {
		return nil, nil, err
	}
	if len(scan.Problems) > 0 {
		const show = 20
		for i, p := range scan.Problems {
			if i == show {
				fmt.Fprintf(stderr, "sender: ... and %d more\n", len(scan.Problems)-show)
				break
			}
			fmt.Fprintf(stderr, "sender: error: %v\n", p)
			js.Emit(map[string]any{"type": "problem", "path": p.Path, "message": p.Err.Error()})
		}
		fmt.Fprintln(stderr, "hint: move files that are not part of the study out of the folder, or name the study's files; a report goes with --report")
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
		r, err := study.Report(o.report)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: %v", errBadInput, err)
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

// startHost listens where asked, or on the default port, falling back to
// any free port when another sender already has it.
func startHost(listen []string, stderr io.Writer) (host.Host, error) {
	if len(listen) > 0 {
		h, err := discovery.NewHost(discovery.HostOptions{Listen: listen})
		if err != nil {
			return nil, &listenError{err}
		}
		return h, nil
	}
	h, err := discovery.NewHost(discovery.HostOptions{Listen: discovery.DefaultListen})
	if err == nil {
		return h, nil
	}
	fmt.Fprintf(stderr, "sender: warning: port %d is taken (%v); using a free port, which the card lists\n", discovery.DefaultPort, err)
	any := []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1", "/ip6/::/tcp/0", "/ip6/::/udp/0/quic-v1"}
	h, err = discovery.NewHost(discovery.HostOptions{Listen: any})
	if err != nil {
		return nil, &listenError{err}
	}
	return h, nil
}

func issueCard(o *sendOptions, uri string, offer *card.Offer, m *transfer.Manifest, stdout, stderr io.Writer, js *console.JSON) error {
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
	if !o.json {
		fmt.Fprintln(stdout, uri)
	}
	return nil
}

// writePrivate writes a file readable by its owner only, whole or not at all.
func writePrivate(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), ".imageshare-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
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

// deliveries follows what the server did, for the staff and for the exit.
type deliveries struct {
	stderr io.Writer
	js     *console.JSON
	bar    *console.Progress

	mu       sync.Mutex
	sent     int64
	refused  int
	receipt  []transfer.Event
	doneOnce sync.Once
	done     chan struct{}
}

func (d *deliveries) receipts() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.receipt)
}

func (d *deliveries) event(e transfer.Event) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch e.Kind {
	case transfer.EventRefused:
		d.refused++
		d.bar.Clear()
		fmt.Fprintf(d.stderr, "sender: warning: refused peer %s: %v\n", e.Remote, e.Err)
		d.js.Emit(map[string]any{"type": "refused", "peer_id": e.Remote, "reason": e.Err.Error()})
	case transfer.EventManifest:
		d.bar.Clear()
		fmt.Fprintf(d.stderr, "sender: receiver %s opened the card\n", e.Remote)
		d.js.Emit(map[string]any{"type": "manifest", "peer_id": e.Remote})
	case transfer.EventChunk:
		d.sent += e.Bytes
		d.bar.Add(e.Bytes)
	case transfer.EventReceipt:
		d.receipt = append(d.receipt, e)
		d.bar.Clear()
		fmt.Fprintf(d.stderr, "sender: receiver %s confirmed %d files (%s) arrived verified\n", e.Remote, e.Files, study.FormatBytes(e.Total))
		d.js.Emit(map[string]any{"type": "receipt", "peer_id": e.Remote, "files": e.Files, "bytes": e.Total})
		d.doneOnce.Do(func() { close(d.done) })
	}
}

func (d *deliveries) report(id card.OfferID) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch n := len(d.receipt); {
	case n > 0:
		fmt.Fprintf(d.stderr, "sender: delivered: offer %s, %d verified receipt(s)\n", id, n)
	case d.sent > 0:
		fmt.Fprintf(d.stderr, "sender: not delivered: %s of encrypted data sent, but no receiver confirmed receipt\n", study.FormatBytes(d.sent))
	default:
		fmt.Fprintln(d.stderr, "sender: not delivered: no receiver fetched the study")
	}
	d.js.Emit(map[string]any{"type": "done", "offer_id": id.String(), "receipts": len(d.receipt), "sent_bytes": d.sent, "refused": d.refused})
}
